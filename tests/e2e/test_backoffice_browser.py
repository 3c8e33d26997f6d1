"""The back-office page in a real headless Chromium (Debian's, driven by Playwright): support replaces a
participant, a trainer signs the attendance sheet (service fait), finance records a payment; each is named in
the history.

The page runs as `regflow web` in its own process, over the real broker and database, with the consumers
as processes. Without Chromium the tests fail under CI (`scripts/ensure-browser` installs it) and skip
elsewhere.
"""

from __future__ import annotations

import http.client
import io
import mailbox
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from producers.commands import CommandClient
from regflow.web.users import UserStore
from schemas.form import Participant, RegistrationForm
from tests.cli import regflow
from tests.conftest import EventTap, RunningConsumers, load_form, wait_until
from tests.zygote import regflow_process
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# One fleet of processes for the tests that use `consumers`, pristine before each (tests/fleet.py); the others
# (no consumer running, the demo) have their own database and namespace.
SHARE_FLEET = True

CHROMIUM = Path(os.environ.get("REGFLOW_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"
CLAIRE = "claire.durand@valdemarne.fr"
PAUL = "paul.leroy@valdemarne.fr"
INES = "ines.roy@valdemarne.fr"
HANDICAP = "cpom-handicap-2023-09-15"


def _no_browser(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must provide it (scripts/ensure-browser)")
    pytest.skip(f"{reason}: install Debian's `chromium` (scripts/ensure-browser) and `pip install playwright`")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, never a downloaded one (`playwright install` cannot run here)."""
    if not CHROMIUM.exists():
        _no_browser(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _no_browser(f"Playwright for Python is missing ({exc})")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class BackOffice:
    url: str
    users: UserStore

    def login(self, browser: Any, name: str, password: str = PASSWORD) -> Any:
        """A fresh browser context (its own cookies), logged in through the form; returns the page."""
        page = browser.new_context(locale="fr-FR").new_page()  # a French browser: the page in French
        page.set_default_timeout(20_000)
        page.goto(f"{self.url}/registrations")
        assert "/login" in page.url, "an anonymous visitor is sent to the login page"
        page.fill("#name", name)
        page.fill("#password", password)
        page.click("button[type=submit]")
        return page


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def backoffice(settings: Settings, tmp_path: Path) -> Iterator[BackOffice]:
    """`regflow web` in its own process, with three users: one per role."""
    users = UserStore(tmp_path / "web-users.json")
    users.add("alice", PASSWORD, ["support"])
    users.add("fanny", PASSWORD, ["finance"])
    users.add("olga", PASSWORD, ["operations"])
    users.add("tom", PASSWORD, ["trainer"], full_name="Jeanne Martin")
    port = _free_port()
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_BROKER_URL": settings.broker_url,
           "REGFLOW_NAMESPACE": settings.namespace, "REGFLOW_CLOCK": settings.clock, "REGFLOW_LOG_FORMAT": "json",
           "REGFLOW_WEB_USERS_FILE": str(users.path), "REGFLOW_WEB_SECRET": "test-secret-" + tmp_path.name}
    log = tmp_path / "web.log"
    with log.open("ab") as stderr:
        process = regflow_process(["web", "--port", str(port)], env, stdout=stderr, stderr=stderr)
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if process.poll() is not None:
            pytest.fail(f"regflow web exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    wait_until(answering, "the back-office page to answer", timeout=30)
    yield BackOffice(url, users)
    process.terminate()
    process.wait(10)


def submit(settings: Settings, registration_id: str) -> None:
    form = RegistrationForm.model_validate(load_form("handicap-departement.json"))
    with CommandClient(settings) as client:
        client.submit_form(form, registration_id)


def state(deps: Deps, registration_id: str) -> str | None:
    view = registration_timeline(deps.sessions, registration_id)
    return None if view is None else str(view["state"])


def history_actors(deps: Deps, registration_id: str, trigger: str) -> list[str]:
    view = registration_timeline(deps.sessions, registration_id) or {"history": []}
    return [h["by"] for h in view["history"] if h["trigger"] == trigger]


def reload_until(page: Any, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """The consumers work behind the page: reload it until it shows what they did."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for the page to show {what}")
        time.sleep(0.3)
        page.reload()


def actor_of(page: Any, trigger: str) -> str:
    row = page.locator("#history tbody tr", has=page.locator("td", has_text=trigger)).last
    return str(row.locator("td.actor").inner_text()).strip()


def replace_through_the_page(page: Any, replaced: str, *, civilite: str, first_name: str, last_name: str = "",
                             email: str = "") -> None:
    """Support's replacement form on a timeline, filled as a person does (an empty value: left empty)."""
    page.select_option("#replaced", replaced)
    page.select_option("#civilite", civilite)
    for field, value in (("#first_name", first_name), ("#last_name", last_name), ("#email", email)):
        page.fill(field, value)
    page.click("#replace-form button[type=submit]")


def invitations_to(smtp: MailSink, email: str) -> list[EmailMessage]:
    return [m for m in smtp.received if m["X-Regflow-Kind"] == "invitation" and m["To"] == email]


def test_support_replaces_a_participant_the_newcomer_is_invited_and_the_history_names_the_agent(  # noqa: PLR0917 (fixtures)
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink, clock: FileClock,
        backoffice: BackOffice, browser: Any) -> None:
    submit(settings, "dep-94")
    wait_until(lambda: state(deps, "dep-94") == "invoiced" and len(smtp.received) >= 4,
               "dep-94 invoiced, its four e-mails sent")
    clock.set(datetime(2023, 9, 4, 11, tzinfo=PARIS))

    page = backoffice.login(browser, "alice")
    assert "alice (support)" in page.inner_text("#current-user")
    # Find it: the list filtered by state and session.
    page.select_option("#state", "invoiced")
    page.select_option("#session", HANDICAP)
    page.click("form.filters button[type=submit]")
    assert "state=invoiced" in page.url
    page.click("#registrations a:text('dep-94')")
    assert page.inner_text("#state") == "[facturée]"
    assert "submit" in page.inner_text("#history")

    # A form sent with a field missing is answered with the field named, nothing sent.
    replace_through_the_page(page, PAUL, civilite="Mme", first_name="Inès")
    assert page.inner_text("#error-last_name") == "Nom : obligatoire"
    assert page.inner_text("#error-email") == "E-mail : obligatoire"

    replace_through_the_page(page, PAUL, civilite="Mme", first_name="Inès", last_name="Roy", email=INES)
    assert page.inner_text("#outcome") == "appliqué"
    assert "M. Paul LEROY <paul.leroy@valdemarne.fr> replaced by Mme Inès ROY <ines.roy@valdemarne.fr>, " \
           "asked by alice" in page.inner_text("#reason")

    [invitation] = wait_until(lambda: invitations_to(smtp, INES), "the newcomer's invitation")
    assert "Bonjour Mme Inès ROY," in str(invitation.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    page.click("#back-to-timeline")
    assert actor_of(page, "replace_participant") == "alice"
    assert history_actors(deps, "dep-94", "replace_participant") == ["alice"]

    # Support has no payment to record: no link, and the page itself is refused.
    assert page.locator("text=Enregistrer un paiement").count() == 0
    assert page.goto(f"{backoffice.url}/payments/new").status == 403
    refused = page.request.post(f"{backoffice.url}/payments/new", form={"payment_id": "x", "amount": "1"})
    assert refused.status == 400, "no CSRF token: refused before anything else"
    page.goto(f"{backoffice.url}/registrations/dep-94")
    csrf = page.locator("#replace-form input[name=csrf_token]").input_value()
    forbidden = page.request.post(f"{backoffice.url}/payments/new", form={
        "csrf_token": csrf, "payment_id": "x", "amount": "1", "received_on": "2023-09-20"})
    assert forbidden.status == 403, "a valid token, but support records no payment"
    assert page.goto(f"{backoffice.url}/queues").status == 403
    support_finds_exports_and_opens_its_invoice(page, backoffice)
    finance_reads_the_receivables(browser, backoffice)


def support_finds_exports_and_opens_its_invoice(page: Any, backoffice: BackOffice) -> None:
    """In French, support finds dep-94 (invoiced, Inès Roy among its participants) by a participant's name,
    exports the list and opens the invoice's PDF."""
    page.goto(f"{backoffice.url}/registrations")
    page.fill("#q", "Inès Roy")
    page.click("form.filters button[type=submit]")
    assert page.locator("#registrations a:text('dep-94')").count() == 1
    assert page.locator("#registrations tr", has_text="dep-94").locator("td.state").inner_text() == "facturée"
    with page.expect_download() as exported:
        page.click("#registrations-csv")
    lines = Path(exported.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Inscription;État;Séance;Client;Participants;Dernier changement"
    assert [line.split(";")[1] for line in lines if line.startswith("dep-94;")] == ["invoiced"]
    page.click("#registrations a:text('dep-94')")
    opened = page.request.get(f"{backoffice.url}{page.locator('#invoices a').first.get_attribute('href')}")
    assert opened.status == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert "Facture" in PdfReader(io.BytesIO(opened.body())).pages[0].extract_text()


def finance_reads_the_receivables(browser: Any, backoffice: BackOffice) -> None:
    """Finance reads the receivables by age: the chart, and its table beneath in French figures."""
    finance = backoffice.login(browser, "fanny")
    finance.click("text=Tableau de bord")
    receivables = finance.locator("#chart-creances")
    assert receivables.locator("svg[role=img] rect").count() >= 2
    cells = receivables.locator("table tr", has_text="Non échu").locator("td").all_inner_texts()
    assert cells[0] == "Non échu"
    assert int(cells[1]) >= 1
    assert re.fullmatch(r"\d{1,3}( \d{3})*,\d\d €", " ".join(cells[2].split())), cells[2]


WRONG_LOGIN = "Nom ou mot de passe incorrect."


def test_a_wrong_password_is_refused_and_logging_out_ends_the_session_even_for_a_copy_of_its_cookie(
        backoffice: BackOffice, browser: Any) -> None:
    page = backoffice.login(browser, "alice", "not the password at all")
    assert "/login" in page.url
    assert page.inner_text("[role=alert]") == WRONG_LOGIN
    page = backoffice.login(browser, "nobody", PASSWORD)
    assert page.inner_text("[role=alert]") == WRONG_LOGIN

    page = backoffice.login(browser, "alice")
    assert page.url.endswith("/registrations")
    copy = browser.new_context(locale="fr-FR")  # another browser given a copy of the session cookie
    copy.add_cookies(page.context.cookies())
    stolen = copy.new_page()
    stolen.goto(f"{backoffice.url}/registrations")
    assert stolen.inner_text("#current-user") == "alice (support)", "the copy works while the session lives"

    page.click("text=Se déconnecter")
    page.goto(f"{backoffice.url}/registrations")
    assert "/login" in page.url, "logged out: the list needs a login again"
    stolen.goto(f"{backoffice.url}/registrations")
    assert "/login" in stolen.url, "the session ended on the server: its copied cookie logs nobody in"


def test_after_five_wrong_passwords_even_the_right_one_is_refused(backoffice: BackOffice, browser: Any) -> None:
    """The page's defaults (5 failures in 15 minutes), counted by the address of the browser's socket."""
    for _ in range(5):
        page = backoffice.login(browser, "fanny", "not the password at all")
        assert page.inner_text("[role=alert]") == WRONG_LOGIN
    page = backoffice.login(browser, "fanny")
    assert "/login" in page.url
    assert page.inner_text("[role=alert]") == "Trop de connexions échouées : réessayez dans 15 minute(s)."
    page = backoffice.login(browser, "olga")
    assert "/login" in page.url, "the same address guessing: every name is refused from it"
    assert page.inner_text("[role=alert]").startswith("Trop de connexions échouées")


STORY = "cpom-handicap-2023-09-29"  # the session the story creates with the command
ROOM = "https://visio.example.org/b/cpom-handicap-29"
TOKEN = re.compile(r"/j/([A-Za-z0-9_-]{43})")


@pytest.fixture
def join_server(consumers: RunningConsumers, tmp_path: Path) -> Iterator[str]:
    """`regflow join-server` as its own process, with the consumers' database, clock and link secret."""
    port = _free_port()
    log = tmp_path / "join.log"
    with log.open("ab") as output:
        process = regflow_process(["join-server", "--port", str(port)], {**consumers.env, "REGFLOW_LOG_FORMAT": "json"},
                                   stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_until(healthy, "the join service", timeout=30)
    yield url
    process.terminate()
    process.wait(10)


def opened(join_url: str, token: str) -> tuple[int, str]:
    """A personal link opened as a browser would, the redirect not followed: the status and where it sends the
    participant, or which page it shows (its `<main id>`)."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(join_url).netloc, timeout=10)
    try:
        connection.request("GET", f"/j/{token}")
        response = connection.getresponse()
        page = re.search(r'<main id="(\w+)"', response.read().decode("utf-8", "replace"))
        return response.status, response.getheader("Location") or (page.group(1) if page else "")
    finally:
        connection.close()


def token_of(smtp: MailSink, email: str) -> str:
    [invitation] = wait_until(lambda: invitations_to(smtp, email), f"{email}'s invitation")
    found = TOKEN.search(str(invitation.get_body(("plain",)).get_content()))  # type: ignore[union-attr]
    assert found, "the invitation carries the personal link"
    return found.group(1)


def test_a_session_from_its_creation_to_paid_through_the_join_service_and_the_trainers_signed_sheet(  # noqa: PLR0915, PLR0917
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink, clock: FileClock,
        backoffice: BackOffice, browser: Any, join_server: str, tap: EventTap, tmp_path: Path) -> None:
    """Issue #17's story: a session created with the command, a form for it, the invitation's link opened
    before, during and after a replacement, the platform's report imported, the trainer's sheet signed in
    Chromium, `session.held` with the attendance, the registration paid after finance's payment."""
    added = regflow(consumers, "sessions", "add", STORY, "--training", "cpom-handicap", "--date", "2023-09-29",
                    "--capacity", "12", "--join-url", ROOM, "--trainer", "Jeanne Martin")
    assert added.returncode == 0, added.stderr
    form = load_form("handicap-departement.json")
    with CommandClient(settings) as client:
        client.submit_form(RegistrationForm.model_validate({**form, "session_id": STORY}), "dep-94")
    wait_until(lambda: state(deps, "dep-94") == "invoiced", "dep-94 invoiced")
    claire, paul = token_of(smtp, CLAIRE), token_of(smtp, PAUL)
    assert opened(join_server, claire) == (200, "too_early")

    with CommandClient(settings, producer="support") as client:
        client.replace_participant("dep-94", PAUL, Participant(civilite="Mme", first_name="Inès", last_name="Roy",
                                                               email=INES), requested_by="alice")
    ines = token_of(smtp, INES)
    wait_until(lambda: opened(join_server, paul)[0] == 410, "Paul's link revoked")
    assert opened(join_server, paul) == (410, "transferred")

    clock.set(datetime(2023, 9, 29, 9, 40, tzinfo=PARIS))
    assert opened(join_server, claire) == (302, ROOM)
    assert opened(join_server, ines) == (302, ROOM)
    report = tmp_path / "rapport.csv"
    report.write_text("email;nom;arrivée;départ\n"
                      "claire.durand@valdemarne.fr;Claire Durand;29/09/2023 09:35;29/09/2023 12:45\n"
                      "claire.durand@valdemarne.fr;Claire Durand;29/09/2023 13:45;29/09/2023 17:00\n"
                      f"{INES};Inès Roy;29/09/2023 09:40;29/09/2023 11:00\n", encoding="utf-8")
    imported = regflow(consumers, "attendance", "import", STORY, str(report))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "3 ligne(s) ajoutée(s)" in imported.stdout

    clock.set(datetime(2023, 9, 29, 18, tzinfo=PARIS))
    assert opened(join_server, claire) == (410, "ended")
    trainer = backoffice.login(browser, "tom")
    trainer.click("text=Feuilles d'émargement")
    trainer.click(f"#sheet-list a:text('{STORY}')")
    ines_row = trainer.locator("#attendance tbody tr", has_text=INES)
    assert "connecté 80 min" in ines_row.inner_text()
    assert ines_row.locator("select").nth(0).input_value() == "partial"
    assert ines_row.locator("select").nth(1).input_value() == "absent"
    ines_row.locator("input[type=number]").nth(0).fill("75")  # the trainer saw her leave at 10h55
    trainer.fill("#signer_name", "Jeanne Martin")
    trainer.click("#sign button[value=sign]")
    assert trainer.inner_text("[role=alert]") == "cochez l'attestation pour signer"
    trainer.check("#attest")
    trainer.fill("#signer_name", "Jeanne Martin")
    trainer.locator("#attendance tbody tr", has_text=INES).locator("input[type=number]").nth(0).fill("75")
    trainer.click("#sign button[value=sign]")
    reload_until(trainer, lambda: trainer.locator("#outcome").inner_text() == "acceptée", "accepted")
    wait_until(lambda: state(deps, "dep-94") == "session_held", "service fait")
    assert history_actors(deps, "dep-94", "hold_session") == ["tom"]

    held = wait_until(lambda: [e for e in tap.drain() if e["type"] == "session.held"], "session.held")
    payload = held[0]["payload"]
    assert (payload["session_id"], payload["evidence"], payload["signed_by"]) == (STORY, "signed_sheet",
                                                                                  "Jeanne Martin")
    assert sorted((p["presence"], p["minutes_followed"], [m["minutes"] for m in p["parts"]])
                  for p in payload["attendance"]) == [("partial", 75, [75, 0]), ("present", 360, [180, 180])]

    # The certificates of completion: all of them to the gestionnaire in one e-mail, each participant their own.
    [to_gestionnaire] = wait_until(lambda: [m for m in smtp.received if m["X-Regflow-Kind"] == "certificates"],
                                   "the gestionnaire's certificates")
    assert to_gestionnaire["To"] == "formation@valdemarne.fr"
    certified = {}
    for part in to_gestionnaire.iter_attachments():
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(part.get_content())).pages).split())
        certified[text.split("atteste que : ")[1].split(",")[0]] = text.split("Durée effectivement suivie ")[1][:6]
    assert certified == {"Mme Claire DURAND": "6 h (h", "Mme Inès ROY": "1 h 15"}
    wait_until(lambda: [m for m in smtp.received if m["X-Regflow-Kind"] == "certificate" and m["To"] == INES],
               "Inès's own certificate")

    finance = backoffice.login(browser, "fanny")
    finance.click("text=Factures en retard")
    finance.click("text=Toutes les factures")
    assert finance.inner_text("#invoice-list tbody tr .attendance") == "1 présent(s), 1 partiel(s)"
    finance.click("#invoice-list a:text('enregistrer un paiement')")
    finance.fill("#payment_id", "BANK-0001")
    finance.fill("#amount", "11 90,00")
    finance.fill("#received_on", "2023-10-20")
    finance.select_option("#means", "mandat_administratif")
    finance.click("#payment-form button[type=submit]")
    assert finance.inner_text("#error-amount") == "Montant : un montant, par exemple 1 190,00"
    finance.fill("#amount", "1 190,00")  # as a French person types it
    finance.click("#payment-form button[type=submit]")
    assert "Paiement BANK-0001 de 1 190,00 € envoyé" in " ".join(finance.inner_text(".flash").split())
    reload_until(finance, lambda: finance.inner_text("#state") == "[payée]", "the registration paid")
    assert actor_of(finance, "settle") == "fanny"
    assert actor_of(finance, "hold_session") == "tom"
    links = finance.inner_text("#links")
    assert "présent (360 min suivies)" in links
    assert "partiel (75 min suivies)" in links

    operations = backoffice.login(browser, "olga")
    operations.click("text=État des files")
    assert operations.inner_text("#verdict").startswith("OK : rien n'attend d'intervention.")
    for consumer in ("validation", "invoicing", "notifications", "payments"):
        row = operations.locator(f"#queue-{consumer}")
        assert (row.locator(".consumers").inner_text(), row.locator(".parked").inner_text()) == ("1", "0"), consumer
    assert operations.inner_text("#outbox") == "0 événement(s) pas encore publié(s)."
    survey_answered_in_chromium_then_one_reminder(browser, join_server, smtp, clock, operations)


def survey_answered_in_chromium_then_one_reminder(browser: Any, join_server: str, smtp: MailSink, clock: FileClock,
                                                  operations: Any) -> None:
    """Issue #18's survey: both participants present invited after service fait; Claire answers in Chromium on
    the join service; 72 hours later only Inès is reminded; operations read the results."""
    def sent(kind: str, to: str) -> list[EmailMessage]:
        return [m for m in smtp.received if m["X-Regflow-Kind"] == kind and m["To"] == to]

    [invitation] = wait_until(lambda: sent("survey", CLAIRE), "Claire's survey invitation")
    wait_until(lambda: sent("survey", INES), "Inès's survey invitation")
    link = re.search(r"https?://\S+/avis", str(invitation.get_body(("plain",)).get_content()))  # type: ignore[union-attr]
    assert link, "the invitation carries the personal survey link"
    claire = browser.new_context().new_page()
    claire.set_default_timeout(20_000)
    claire.goto(join_server + urllib.parse.urlsplit(link.group()).path)
    assert "Les objectifs annoncés ont été atteints" in claire.inner_text("main")
    for question, rating in (("overall", 5), ("objectives", 4), ("content", 4), ("speaker", 5),
                             ("organisation", 3)):
        claire.check(f"#q-{question} input[value='{rating}']")
    claire.fill("#comment", "Très concret, merci.")
    claire.click("button[type=submit]")
    assert "Merci : votre réponse est enregistrée" in claire.inner_text("main")
    claire.reload()  # the same link again: answered once
    assert "Vous avez déjà répondu à ce questionnaire" in claire.inner_text("main")

    clock.set(datetime(2023, 10, 3, 19, tzinfo=PARIS))  # more than 72 hours after service fait
    wait_until(lambda: sent("survey_reminder", INES), "Inès's one reminder")
    assert sent("survey_reminder", CLAIRE) == []

    operations.click("text=Avis des stagiaires")
    results = operations.inner_text(f"#avis-{STORY}")
    assert "1 réponse(s) sur 2 participant(s) invité(s)" in results
    assert "taux de réponse 50,0 %" in results
    assert "Très concret, merci." in results


def test_the_queue_page_names_what_needs_a_human(
        settings: Settings, deps: Deps, clock: FileClock, backoffice: BackOffice, browser: Any) -> None:
    """No consumer running and a form waiting in validation's queue: the page says so, in words."""
    submit(settings, "dep-94")  # nobody consumes it: validation's queue holds it
    clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
    page = backoffice.login(browser, "olga")
    page.goto(f"{backoffice.url}/queues")
    assert "problème(s) demandent une intervention" in page.inner_text("#verdict")
    assert page.locator("#queue-validation .ready").inner_text() == "1"
    problems = page.inner_text("#problems")
    assert "aucun consommateur validation connecté" in problems  # the page in French, as its staff read it
    assert "aucun consommateur payments connecté" in problems


def test_the_demo_serves_the_page_a_newcomer_replaces_a_participant_and_sees_the_queues(
        settings: Settings, tmp_path: Path, browser: Any) -> None:
    """The README's walkthrough: `regflow demo --serve`, log in with the printed password, follow the Gironde's
    registration, replace a participant (the newcomer's invitation reaches the demo's SMTP server), see the
    queues, then Ctrl-C stops everything cleanly."""
    port = _free_port()
    env = {**os.environ, "REGFLOW_DATABASE_URL": settings.database_url, "REGFLOW_BROKER_URL": settings.broker_url,
           "REGFLOW_NAMESPACE": settings.namespace, "PYTHONUNBUFFERED": "1", "REGFLOW_LOG_FORMAT": "json"}
    env.pop("REGFLOW_CLOCK", None)
    output = tmp_path / "demo.out"
    with output.open("wb") as stdout:
        demo = subprocess.Popen([sys.executable, "-m", "regflow.cli", "demo", "--serve", "--port", str(port),
                                 "--dir", str(tmp_path / "var")], env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    try:
        def serving() -> str | None:
            if demo.poll() is not None:
                pytest.fail(f"the demo exited with {demo.returncode}:\n{output.read_text()}")
            printed = output.read_text()
            return printed.split(", password ", 1)[1].split()[0] if "back office on" in printed else None

        password = wait_until(serving, "the demo to serve the page", timeout=120)
        printed = output.read_text()
        assert "Registration demo-handicap-val-de-marne  [paid]" in printed
        assert re.search(r"Registration [0-9a-f-]{36}  \[paid\]", printed), "the association's, sent online"
        assert "Association Aide et Services à Domicile du Rhône registers online at" in printed
        assert "Registration demo-aide-domicile-gironde  [invoiced]" in printed

        page = BackOffice(f"http://127.0.0.1:{port}", UserStore(tmp_path / "unused.json")).login(
            browser, "alice", password)
        page.click("#registrations a:text('demo-aide-domicile-gironde')")
        assert page.inner_text("#state") == "[facturée]"
        replace_through_the_page(page, "t.roux@gironde.fr", civilite="Mme", first_name="Léa", last_name="Martin",
                                 email="l.martin@gironde.fr")
        assert page.inner_text("#outcome") == "appliqué"

        maildir = mailbox.Maildir(tmp_path / "var" / "demo-mail", create=False)

        def invitation() -> list[str]:
            return [str(m["Subject"]) for m in maildir if m["To"] == "l.martin@gironde.fr"
                    and m["X-Regflow-Kind"] == "invitation"]

        assert len(wait_until(invitation, "Léa Martin's invitation in the demo's Maildir")) == 1

        operations = BackOffice(f"http://127.0.0.1:{port}", UserStore(tmp_path / "unused.json")).login(
            browser, "admin", password)
        operations.goto(f"http://127.0.0.1:{port}/queues")
        assert operations.inner_text("#verdict").startswith("OK")
        assert operations.locator("#queue-notifications .consumers").inner_text() == "1"
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(30)
    assert code == 0, output.read_text()[-2000:]
    assert "consumers stopped (exit code 0)" in output.read_text()
