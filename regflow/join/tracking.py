"""The gestionnaire's private tracking page (issue #19): `/suivi/<registration>/<token>`, the token being the HMAC
of the registration's id under the link secret (43 URL-safe characters, compared in constant time: the
participants' links' rules). It says the state in words, the session, the participants and, while the form waits
for its signature, offers the pre-filled form as a PDF to stamp and sign (`/suivi/.../formulaire.pdf`) and takes the
scan of the signed form back (`POST /suivi/.../scan`: a PDF, JPEG or PNG told by its content, 10 MB at most), kept
in the database for support's check; the page then shows each scan's check (and a refusal's reason)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from flask import Response, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from schemas.limits import REGISTRATION_ID_MAX
from workflow.adapters.document_store import DocumentKind, DocumentNotFoundError, document_name
from workflow.adapters.form_pdf import FilledForm, render_filled_form
from workflow.bootstrap import seller_of
from workflow.domain.access_links import token_for
from workflow.domain.clock import PARIS
from workflow.domain.joining import JoinOutcome
from workflow.domain.machine import STATE_WORDS, State
from workflow.domain.registration import Registration
from workflow.domain.scans import SCAN_MAX_BYTES, ScanError
from workflow.ops.scans import checked_scan, keep_scan
from workflow.persistence.orm import CertificateRow, CreditNoteRow, InvoiceRow, SignatureScanRow
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.persistence.repositories.registrations import RegistrationRepository

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from regflow.join import Links

log = structlog.get_logger("join")
PURPOSE = "suivi:"  # what the token signs, so that it is never a participant's link


def tracking_token(secret: str, registration_id: str) -> str:
    return token_for(secret, PURPOSE + registration_id)


def tracking_path(secret: str, registration_id: str) -> str:
    return f"/suivi/{registration_id}/{tracking_token(secret, registration_id)}"


@dataclass(frozen=True)
class TrackingPages:
    links: Links

    def _genuine(self, registration_id: str, token: str) -> bool:
        return len(registration_id) <= REGISTRATION_ID_MAX and hmac.compare_digest(
            tracking_token(self.links.secret, registration_id).encode(), token.encode())

    def registration(self, registration_id: str, token: str) -> Registration | None:
        if not self._genuine(registration_id, token):
            return None
        with self.links.sessions() as session:
            return RegistrationRepository(session).get(registration_id)

    def page(self, registration_id: str, token: str, *, scan_error: ScanError | None = None, status: int = 200,
             replacement: tuple[dict[str, str], dict[str, tuple[str, str]]] | None = None,
             notice: tuple[str, str] | None = None) -> ResponseReturnValue:
        if not self._genuine(registration_id, token):
            return self.links.page(JoinOutcome.NOT_FOUND, 404)
        registration = self.registration(registration_id, token)
        if registration is None:  # sent a moment ago: the validation consumer has not recorded it yet
            return render_template("suivi.html", outcome="suivi_pending", registration=None,
                                   reference=registration_id, contact=self.links.contact), 200
        state = State(registration.state)
        with self.links.sessions() as session:
            scans = session.execute(select(SignatureScanRow.uploaded_at, SignatureScanRow.status,
                                           SignatureScanRow.reason).where(
                SignatureScanRow.registration_id == registration_id).order_by(SignatureScanRow.id)).all()
            documents = _documents(session, registration_id)
        return render_template("suivi.html", outcome="suivi", registration=registration, reference=registration_id,
                               state=state.value, words=STATE_WORDS[state], session=self._session(registration),
                               path=tracking_path(self.links.secret, registration_id), contact=self.links.contact,
                               scans=scans, scan_error=scan_error, paris=PARIS, documents=documents,
                               max_mb=SCAN_MAX_BYTES // (1024 * 1024), notice=notice,
                               replacing=replacement[0] if replacement else {},
                               replace_errors=replacement[1] if replacement else {},
                               can_replace=state in (State.CONFIRMED, State.INVOICED, State.SETTLED)), status

    def upload(self, registration_id: str, token: str) -> ResponseReturnValue:
        """The signed form's scan, while the registration waits for its signature; kept, then shown as to check."""
        registration = self.registration(registration_id, token)
        if registration is None:
            return self.links.page(JoinOutcome.NOT_FOUND, 404)
        sent = request.files.get("scan")
        content = sent.read(SCAN_MAX_BYTES + 1) if sent is not None else b""
        try:
            if State(registration.state) is not State.RECEIVED:
                raise ScanError("scan_not_waiting", "Cette inscription n'attend plus de signature.",
                                "This registration no longer waits for a signature.")
            media_type = checked_scan(content)
        except ScanError as refused:
            log.info("scan refused", code=refused.code)
            return self.page(registration_id, token, scan_error=refused, status=422)
        with self.links.sessions() as session:
            keep_scan(session, registration_id, content, media_type, self.links.clock.now())
            session.commit()
        log.info("scan received", media_type=media_type, size=len(content))
        return redirect(tracking_path(self.links.secret, registration_id), 303)

    def filled_form(self, registration_id: str, token: str) -> ResponseReturnValue:
        registration = self.registration(registration_id, token)
        session = self._session(registration) if registration is not None else None
        if registration is None or session is None:
            return self.links.page(JoinOutcome.NOT_FOUND, 404)
        pdf = render_filled_form(FilledForm(
            reference=registration.id, form=registration.form, training_title=str(session["title"]),
            session_day=session["day"], unit_price=session["price"],  # type: ignore[arg-type]
            seller=seller_of(self.links.mailroom.settings)))
        return Response(pdf, 200, {"Content-Type": "application/pdf",
                                   "Content-Disposition": 'attachment; filename="formulaire-inscription.pdf"'})

    def document(self, registration_id: str, token: str, kind: str, number: str) -> ResponseReturnValue:
        """An invoice, credit note or certificate of this registration, read from the document store by number."""
        if not self._genuine(registration_id, token):
            return self.links.page(JoinOutcome.NOT_FOUND, 404)
        found: DocumentKind = kind  # type: ignore[assignment]  # checked against the registration's, below
        with self.links.sessions() as session:
            if (kind, number) not in {(d.kind, d.number) for d in _documents(session, registration_id)}:
                return self.links.page(JoinOutcome.NOT_FOUND, 404)
            try:  # the PDF kept with the document in the database (the store's copy follows the commit)
                pdf = self.links.mailroom.document(session, found, number)
            except (OSError, DocumentNotFoundError):
                return self.links.page(JoinOutcome.NOT_FOUND, 404)
        return Response(pdf, 200, {"Content-Type": "application/pdf",
                                   "Content-Disposition": f'attachment; filename="{document_name(found, number)}"'})

    def _session(self, registration: Registration) -> dict[str, object] | None:
        with self.links.sessions() as session:
            found = SqlCatalogue(session).current(self.links.schedule).session(registration.session_id or "")
        if found is None:
            return None
        return {"title": found[0].title, "day": found[1].date, "date": found[1].date.strftime("%d/%m/%Y"),
                "price": found[0].price_per_participant}


@dataclass(frozen=True)
class Document:
    kind: str  # invoice, credit_note, certificate
    number: str
    label: str


def _documents(session: Session, registration_id: str) -> list[Document]:
    """The registration's invoices, credit notes and certificates, in the order they were issued."""
    invoices = session.scalars(select(InvoiceRow).where(InvoiceRow.registration_id == registration_id)
                               .order_by(InvoiceRow.id)).all()
    credits = session.scalars(select(CreditNoteRow).where(CreditNoteRow.registration_id == registration_id)
                              .order_by(CreditNoteRow.id)).all()
    certificates = session.scalars(select(CertificateRow).where(CertificateRow.registration_id == registration_id)
                                   .order_by(CertificateRow.trainee)).all()
    return [*(Document("invoice", i.number, f"Facture n° {i.number} du {i.issued_on:%d/%m/%Y}") for i in invoices),
            *(Document("credit_note", c.number, f"Avoir n° {c.number} (facture {c.invoice_number})") for c in credits),
            *(Document("certificate", c.number, f"Certificat de réalisation de {c.trainee}") for c in certificates)]
