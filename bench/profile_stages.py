"""Where a consumer spends its time: each stage's handler run in-process under cProfile, on a scratch
PostgreSQL database, with no broker in the way (the outbox rows of one stage feed the next).

Run: `.venv/bin/python -m bench.profile_stages [--registrations 300] [--top 25]`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bench.benchmark import FORMS, _unique
from bench.raw_limit import ScratchDatabase
from consumers import invoicing, notifications, payments, validation
from consumers.runner import ConsumerApp, handle_message
from schemas.form import RegistrationForm
from schemas.messages import Envelope, SubmitRegistration
from workflow.adapters.clocks import FixedClock
from workflow.adapters.mail_sink import MailSink
from workflow.adapters.mailroom import deliver_due
from workflow.bootstrap import Deps, bootstrap
from workflow.domain.clock import PARIS
from workflow.persistence.orm import OutboxRow
from workflow.settings import Settings

SORT = "cumulative"
PROFILE = True


def _events(deps_sessions: object, types: set[str], after: int) -> list[tuple[int, bytes]]:
    with deps_sessions() as session:  # type: ignore[operator]
        rows = session.scalars(select(OutboxRow).where(OutboxRow.id > after, OutboxRow.routing_key.in_(types))
                               .order_by(OutboxRow.id)).all()
        return [(row.id, row.body.encode()) for row in rows]


def _profile(name: str, app: ConsumerApp, deps: object, bodies: list[bytes], top: int) -> None:
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.thread_time()
    if PROFILE:
        profiler.enable()
    for body in bodies:
        outcome = handle_message(app, deps, body)  # type: ignore[arg-type]
        assert outcome.kind == "ack", outcome
    profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    print(f"\n=== {name}: {len(bodies)} messages in {elapsed:.2f} s = {len(bodies) / elapsed:.0f} msg/s "
          f"({elapsed / len(bodies) * 1000:.1f} ms each, CPU {cpu / len(bodies) * 1000:.1f} ms each)")
    if not PROFILE:
        return
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(SORT).print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip())[:6000])


def _profile_sending(deps: Deps, top: int) -> None:
    """The e-mails queued so far, sent to the in-process sink: its thread's CPU is not counted."""
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.thread_time()
    if PROFILE:
        profiler.enable()
    sent = 0
    while batch := len(deliver_due(deps.sessions, deps.clock, deps.mail, limit=500).sent):
        sent += batch
    profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    print(f"\n=== notifications (sending): {sent} e-mails in {elapsed:.2f} s = {sent / elapsed:.0f}/s "
          f"(CPU {cpu / sent * 1000:.1f} ms each, the SMTP server's thread not counted)")
    if PROFILE:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(SORT).print_stats(top)
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip())[:6000])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", choices=["cumulative", "tottime"], default="cumulative",
                        help="cumulative: where the time goes from the handler down; tottime: the hot functions")
    parser.add_argument("--no-profile", action="store_true", help="CPU per message only, without cProfile's cost")
    parser.add_argument("--stage", choices=["validation", "invoicing", "notifications", "payments"], action="append")
    args = parser.parse_args(argv)
    global SORT, PROFILE
    SORT, PROFILE = args.sort, not args.no_profile
    stages = set(args.stage or ["validation", "invoicing", "notifications"])
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    now = datetime(2023, 9, 1, 10, tzinfo=PARIS)
    form = RegistrationForm.model_validate_json((FORMS / "handicap-departement.json").read_text(encoding="utf-8"))
    with ScratchDatabase(server) as database, MailSink(port=0) as smtp, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=database.url, smtp_port=smtp.port, documents_dir=Path(tmp) / "docs",
                            chorus_drop_dir=Path(tmp) / "chorus", log_format="json", development=True)
        from workflow.ops.logs import configure_logging

        configure_logging("json")
        deps = bootstrap(settings, clock=FixedClock(now))
        bodies = [Envelope(type="cmd.registration.submit", occurred_at=now.astimezone(UTC),
                           registration_id=f"p-{n:05d}", correlation_id=uuid.uuid4(), producer="bench",
                           payload=SubmitRegistration(form=_unique(form, f"p-{n:05d}")).model_dump(mode="json"))
                  .model_dump_json().encode() for n in range(args.registrations)]
        if "validation" in stages:
            _profile("validation", validation.APP, deps, bodies, args.top)
        else:
            for body in bodies:
                handle_message(validation.APP, deps, body)
        confirmed = _events(deps.sessions, {"registration.confirmed"}, 0)
        if "invoicing" in stages:
            _profile("invoicing", invoicing.APP, deps, [b for _, b in confirmed], args.top)
            _profile("invoicing (after the commit: the store's copy, the deposit)", invoicing.APP, deps,
                     [b for _, b in _events(deps.sessions, {"invoice.issued"}, 0)], args.top)
        else:
            for _, body in confirmed:
                handle_message(invoicing.APP, deps, body)
        if "notifications" in stages:
            inputs = _events(deps.sessions, {"registration.confirmed", "invoice.issued"}, 0)
            _profile("notifications (queueing the e-mails)", notifications.APP, deps, [b for _, b in inputs], args.top)
            _profile_sending(deps, args.top)
        if "payments" in stages:
            issued = _events(deps.sessions, {"invoice.issued"}, 0)
            _profile("payments (receivables)", payments.APP, deps, [b for _, b in issued], args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
