"""The payments consumer's peak memory on service fait, by session size and batch size: one session of N invoiced
registrations (their seats and open receivables) in a scratch database, then
`cmd.session.hold` and every `session.held_batch` it publishes handled in a fresh process, as the runner handles
them; that process's peak resident memory (VmHWM) and time are printed.

Run: `.venv/bin/python -m bench.service_fait_memory --registrations 1000 10000 --batch 200 10000`
(a batch as large as the session is the former single transaction).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from bench.benchmark import FORMS, _unique
from bench.raw_limit import ScratchDatabase
from schemas.form import RegistrationForm
from schemas.messages import Envelope, HoldSession
from workflow.adapters.clocks import FixedClock
from workflow.bootstrap import bootstrap
from workflow.domain.access_links import ACTIVE
from workflow.domain.clock import PARIS
from workflow.domain.machine import State
from workflow.domain.registration import Registration
from workflow.persistence.orm import InvoiceRow, OutboxRow, ParticipantAccessRow, ReceivableRow
from workflow.persistence.unit_of_work import UnitOfWork
from workflow.settings import Settings

SESSION = "cpom-handicap-2023-09-15"
ISSUED = datetime(2023, 9, 1, 10, tzinfo=PARIS)
EVENING = datetime(2023, 9, 15, 18, tzinfo=PARIS)


def seed(url: str, registrations: int, participants: int) -> None:
    """N invoiced registrations of one session, by thousands (the seeding is not what is measured)."""
    form = RegistrationForm.model_validate_json((FORMS / "handicap-departement.json").read_text(encoding="utf-8"))
    deps = bootstrap(Settings(database_url=url, log_format="json"), clock=FixedClock(ISSUED))
    for start in range(0, registrations, 1000):
        ids = [f"m-{n:06d}" for n in range(start, min(start + 1000, registrations))]
        with UnitOfWork(deps.sessions, deps.clock, actor="bench") as uow:
            for rid in ids:
                uow.registrations.add(Registration(id=rid, state=State.INVOICED, form=_unique(form, rid)))
            uow.commit()
        with UnitOfWork(deps.sessions, deps.clock, actor="bench") as uow:
            for rid in ids:
                sequence = int(rid[2:]) + 1
                number = f"2023-{sequence:06d}"
                uow.session.add(InvoiceRow(
                    number=number, year=2023, sequence=sequence, registration_id=rid, issued_on=ISSUED.date(),
                    lines=[], quantity=2, unit_price=Decimal("595.00"), total=Decimal("1190.00"),
                    due_on=date(2023, 10, 15), document_path=None, created_at=ISSUED))
                uow.session.add(ReceivableRow(
                    invoice_number=number, registration_id=rid, client_name="Val-de-Marne",
                    client_category="local_authority", total=Decimal("1190.00"), paid=Decimal("0.00"),
                    sent_on=ISSUED.date(), received_on=None, service_fait_on=None, due_on=date(2023, 10, 15),
                    status="open", updated_at=ISSUED))
                for n in range(participants):
                    uow.session.add(ParticipantAccessRow(
                        id=f"a-{rid}-{n}", registration_id=rid, session_id=SESSION, email=f"{rid}.{n}@bench.example",
                        civilite=None, first_name=None, last_name=None, token_hash=uuid.uuid4().hex * 2,
                        status=ACTIVE, sequence=0, created_at=ISSUED, revoked_at=None, revoked_reason=None))
            uow.commit()
    deps.sessions.kw["bind"].dispose()


def hold(url: str, batch: int, report: multiprocessing.Queue[tuple[float, float, int] | str]) -> None:
    """In a fresh process: the command, then each batch it published, as the payments consumer would; what
    failed, if anything, is reported instead of the figures (the parent is not left waiting)."""
    try:
        report.put(_hold(url, batch))
    except Exception as exc:
        report.put(f"{type(exc).__name__}: {str(exc)[:500]}")


def _hold(url: str, batch: int) -> tuple[float, float, int]:
    from consumers import payments
    from consumers.runner import handle_message

    # Not validated: a batch over the setting's limit stands for the former single transaction.
    settings = Settings(database_url=url, log_format="json").model_copy(update={"hold_batch_size": batch})
    deps = bootstrap(settings, clock=FixedClock(EVENING))
    command = Envelope(type="cmd.session.hold", occurred_at=EVENING, correlation_id=uuid.uuid4(), producer="bench",
                       payload=HoldSession(session_id=SESSION, held_on=EVENING.date(), reason="bench, no sheet")
                       .model_dump(mode="json")).model_dump_json().encode()
    started = time.perf_counter()
    outcome = handle_message(payments.APP, deps, command)
    assert outcome.kind == "ack", outcome
    with deps.sessions() as session:
        batches = [b.encode() for b in session.scalars(select(OutboxRow.body).where(
            OutboxRow.routing_key == "session.held_batch").order_by(OutboxRow.id))]
    for body in batches:
        assert handle_message(payments.APP, deps, body).kind == "ack"
    elapsed = time.perf_counter() - started
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    return peak, elapsed, len(batches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--batch", type=int, nargs="+", default=[200])
    parser.add_argument("--participants", type=int, default=1, help="seats per registration (the form has two)")
    args = parser.parse_args(argv)
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    spawn = multiprocessing.get_context("spawn")
    for registrations in args.registrations:
        for batch in args.batch:
            with ScratchDatabase(server) as database:
                seed(database.url, registrations, args.participants)
                report: multiprocessing.Queue[tuple[float, float, int] | str] = spawn.Queue()
                process = spawn.Process(target=hold, args=(database.url, batch, report))
                process.start()
                figures = report.get(timeout=1800)
                process.join()
            if isinstance(figures, str):
                print(f"{registrations} registrations, batches of {batch}: failed: {figures}", flush=True)
                continue
            peak, elapsed, batches = figures
            print(f"{registrations} registrations, batches of {batch}: peak {peak:.0f} MB, {elapsed:.1f} s, "
                  f"{batches} follow-up batches", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
