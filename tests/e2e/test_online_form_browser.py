"""Issue #19's story in Debian's Chromium, over the real processes and SMTP server: a gestionnaire registers two
participants on the online form as a new user would, sees the error next to a wrong SIRET, corrects it, reaches
the tracking page, downloads the pre-filled form (its text read back), uploads the stamped scan; support accepts
the stamp; the confirmation, the invoice and the invitations arrive; the tracking page says invoiced and serves the
invoice."""

from __future__ import annotations

import io
import re
import urllib.request
from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.conftest import RunningConsumers, wait_until
from tests.e2e.test_backoffice_browser import BackOffice, reload_until
from tests.e2e.test_backoffice_browser import backoffice as backoffice  # noqa: PLC0414 (fixtures)
from tests.e2e.test_backoffice_browser import browser as browser  # noqa: PLC0414
from tests.e2e.test_backoffice_browser import join_server as join_server  # noqa: PLC0414
from workflow.adapters.mail_sink import MailSink

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHARE_FLEET = True
SESSION = "cpom-handicap-2023-09-15"
GESTIONNAIRE = "formation@valdemarne.fr"


def stamped_scan() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 840), "white").save(out, "PNG")
    return out.getvalue()


def pdf_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.read())).pages).split())


def test_a_gestionnaire_registers_online_and_support_accepts_the_stamped_scan(
        consumers: RunningConsumers, smtp: MailSink, backoffice: BackOffice, browser: Any, join_server: str) -> None:
    page = browser.new_context().new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{join_server}/inscription")
    page.click(f"a[href='/inscription/{SESSION}']")
    for field, value in (("client.name", "Département du Val-de-Marne"),
                         ("client.address.street", "Avenue du Général de Gaulle"),
                         ("client.address.postal_code", "94054"), ("client.address.city", "Créteil"),
                         ("client.siret", "22940028800011"), ("gestionnaire.email", GESTIONNAIRE),
                         ("gestionnaire.first_name", "Sophie"), ("gestionnaire.last_name", "MARTIN"),
                         ("gestionnaire.service", "Direction de l'autonomie"),
                         ("gestionnaire.phone", "01 43 99 70 00")):
        page.fill(f"[id='{field}']", value)
    page.select_option("[id='client.category']", "local_authority")
    page.select_option("[name='participants[0].civilite']", "Mme")
    for field, value in (("first_name", "Claire"), ("last_name", "DURAND"), ("email", "claire.durand@valdemarne.fr")):
        page.fill(f"[name='participants[0].{field}']", value)
    page.click("text=Ajouter un participant")
    page.select_option("[name='participants[1].civilite']", "M.")
    for field, value in (("first_name", "Paul"), ("last_name", "LEROY"), ("email", "paul.leroy@valdemarne.fr")):
        page.fill(f"[name='participants[1].{field}']", value)
    # The page's script added the row and keeps the total line as the brochure computes it, without a round trip
    assert (page.inner_text("#count"), page.inner_text("#total-amount")) == ("2", "1 190,00 €")
    page.click("text=Ajouter un participant")
    page.locator("#participant-2 button[name=action]").click()  # a spare row taken out again
    assert page.locator("tr[id^='participant-']").count() == 2
    page.click("#send")

    assert "SIRET" in page.inner_text("[id='error-client.siret']")
    assert page.input_value("[name='participants[1].email']") == "paul.leroy@valdemarne.fr"  # nothing lost
    page.fill("[id='client.siret']", "22940028800010")
    page.click("#send")
    assert "/suivi/" in page.url
    reference = page.inner_text("#reference")
    reload_until(page, lambda: page.locator("#state").count() == 1, "the registration recorded")
    assert page.inner_text("#state").startswith("reçue, en attente de la signature")

    filled = pdf_text(join_server + page.get_attribute("#filled-form", "href"))
    for said in ("Département du Val-de-Marne", "claire.durand@valdemarne.fr", "paul.leroy@valdemarne.fr",
                 "( 2 ) x 595,00 € = 1 190,00 €", "Signature et cachet", f"Réf. {reference}"):
        assert said in filled, said
    page.set_input_files("#scan", files=[{"name": "formulaire-tamponne.png", "mimeType": "image/png",
                                          "buffer": stamped_scan()}])
    page.click("#scan-form button[type=submit]")
    assert "en cours de vérification par nos services" in page.inner_text("#scans")

    support = backoffice.login(browser, "alice")
    support.click("text=Signatures à vérifier")
    scan = support.locator("section.scan", has_text=reference)
    scan.locator("input[name=place]").fill("Créteil")
    scan.locator("input[name=signed_on]").fill(date(2023, 8, 28).isoformat())
    scan.locator("input[name=signatory]").fill("Sophie MARTIN")
    scan.locator("form.accept button").click()
    assert f"la signature de {reference} est envoyée" in support.inner_text(".flash")

    def sent(kind: str, to: str) -> list[EmailMessage]:
        return [m for m in smtp.received if m["X-Regflow-Kind"] == kind and m["To"] == to]

    wait_until(lambda: sent("confirmation", GESTIONNAIRE), "the confirmation")
    [invoice] = wait_until(lambda: sent("invoice", GESTIONNAIRE), "the invoice")
    assert [str(part.get_filename())[:8] for part in invoice.iter_attachments()] == ["facture-"]
    for email in ("claire.durand@valdemarne.fr", "paul.leroy@valdemarne.fr"):
        wait_until(lambda email=email: sent("invitation", email), f"{email}'s invitation")

    reload_until(page, lambda: page.inner_text("#state").startswith("confirmée et facturée"), "invoiced")
    link = page.locator("#documents a", has_text="Facture").get_attribute("href")
    number = re.search(r"/invoice/([0-9-]+)\.pdf$", link)
    assert number, link
    assert number.group(1) in pdf_text(join_server + link)
