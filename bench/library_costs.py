"""The irreducible library calls of each stage, measured alone in the benchmark's own process, in CPU time.

A stage's CPU per unit of work (`bench.benchmark`) is set beside what its libraries cost when called with nothing
around them: the gap is what the framework and our code add. Measured with `time.thread_time` (the calling
thread's CPU, not the wall clock: the figure holds on a busy machine, and the SMTP server answering in another
thread of this process is not counted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

from schemas.form import RegistrationForm
from workflow.adapters.data_files import load_catalogue
from workflow.adapters.email_message import Attachment, Rendered, build_message
from workflow.adapters.facturx_xml import cii_xml, facturx_pdf
from workflow.adapters.invoice_pdf import render_pdf
from workflow.adapters.smtp import SmtpMailer
from workflow.bootstrap import seller_of
from workflow.domain.invoice import InvoiceDocument, invoice_document
from workflow.settings import Settings

ROUNDS = 40


def cpu_ms(call: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Milliseconds of this thread's CPU per call, after one warm-up call (imports, caches, fonts)."""
    call()
    started = time.thread_time()
    for _ in range(rounds):
        call()
    return round((time.thread_time() - started) / rounds * 1000, 2)


def sample_invoice(settings: Settings, form: RegistrationForm) -> InvoiceDocument:
    catalogue = load_catalogue(settings.catalogue_path)
    found = catalogue.session(form.session_id or "")
    assert found is not None, form.session_id
    training, session = found
    return invoice_document(number="2023-000001", issued_on=date(2023, 9, 1), due_on=date(2023, 10, 15),
                            seller=seller_of(settings), registration_id="bench-library", form=form,
                            catalogue=catalogue, training=training, session=session,
                            agreement_mention=settings.agreement_mention)


def _email(settings: Settings, pdf: bytes, n: int) -> EmailMessage:
    rendered = Rendered(subject="Facture 2023-000001", text="Bonjour,\n\nVeuillez trouver la facture.\n" * 20,
                        html="<p>Bonjour,</p><p>Veuillez trouver la facture.</p>" * 20)
    return build_message(rendered, sender_name=settings.seller_name, sender_address="formation@bench.example",
                         recipient=f"library-{n}@bench.example", message_id=f"<library-{n}@bench.example>",
                         sent_at=datetime(2023, 9, 1, 8, tzinfo=UTC),
                         attachments=[Attachment("facture-2023-000001.pdf", pdf, "application", "pdf")])


def library_costs(settings: Settings, form_file: Path) -> dict[str, dict[str, float]]:
    """Per stage: its library calls alone, in CPU ms per unit (one invoice, one e-mail, one form)."""
    text = form_file.read_text(encoding="utf-8")
    form = RegistrationForm.model_validate_json(text)
    doc = sample_invoice(settings, form)
    drawn, xml = render_pdf(doc), cii_xml(doc)
    pdf = facturx_pdf(drawn, xml, title="Facture 2023-000001")
    invoicing = {"pdf_drawn": cpu_ms(lambda: render_pdf(doc)), "cii_xml": cpu_ms(lambda: cii_xml(doc)),
                 "facturx_embedding": cpu_ms(lambda: facturx_pdf(drawn, xml, title="Facture 2023-000001"))}
    counter = iter(range(10**9))
    with SmtpMailer(settings) as mailer:
        notifications = {"message_built": cpu_ms(lambda: _email(settings, pdf, next(counter))),
                         "smtp_sent": cpu_ms(lambda: mailer.send(_email(settings, pdf, next(counter))))}
    notifications["smtp_sent"] = round(notifications["smtp_sent"] - notifications["message_built"], 2)
    validation = {"form_parsed": cpu_ms(lambda: RegistrationForm.model_validate_json(text), rounds=ROUNDS * 5)}
    return {
        "invoicing": {**invoicing, "total": round(sum(invoicing.values()), 2)},
        "notifications": {**notifications, "total": round(sum(notifications.values()), 2)},
        "validation": {**validation, "total": validation["form_parsed"]},
    }
