"""The demo: the source documents' registrations pushed through every consumer to 'paid'.

It runs the real thing: consumers and the relay as separate processes over RabbitMQ, a database
migrated by Alembic (a fresh SQLite file unless REGFLOW_DATABASE_URL says otherwise), a real SMTP
server (the development sink, keeping the messages in var/demo-mail) and a shared file clock moved
from September 2023 to November 2024 so that reminders come due and the seeds' sessions are held.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from regflow.demo_public import answer_survey, open_link, register_online
from regflow.demo_public import wait_until as _wait_until
from regflow.processes import start_process, start_processes, stop_processes
from schemas.form import Participant, RegistrationForm, Signature, SignatureMethod
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.domain.clock import PARIS
from workflow.persistence.db import make_engine, migrate, session_factory
from workflow.persistence.views import format_timeline, registration_timeline
from workflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "tests" / "forms" / "valid"
VAR = ROOT / "var"


def paris(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def run_demo(base: Settings, *, serve_port: int | None = None, var: Path = VAR) -> int:
    """The whole story, then a report; with `serve_port`, the story stops before the October 2024 session
    (the Gironde's registration still invoiced, its participants replaceable) and the back-office page is
    served over the still-running consumers until Ctrl-C. Everything it writes goes under `var`."""
    var.mkdir(parents=True, exist_ok=True)
    explicit_db = "REGFLOW_DATABASE_URL" in os.environ
    database_url = base.database_url if explicit_db else f"sqlite:///{var / 'demo.db'}"
    if not explicit_db:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{var / 'demo.db'}{suffix}").unlink(missing_ok=True)
    clock = FileClock(var / "demo-clock.txt")
    clock.set(paris(2023, 9, 1))
    # The demo runs with the development secrets (REGFLOW_DEVELOPMENT): its links and page are throw-away.
    settings = base.model_copy(update={"database_url": database_url, "clock": f"file:{clock.path}",
                                       "namespace": f"{base.namespace}-demo", "development": True})
    print(f"database: {database_url.split('@')[-1]}\nbroker namespace: {settings.namespace}")
    migrate(database_url, at=clock.now())
    _reset_broker(settings)
    env = {**os.environ, "REGFLOW_DATABASE_URL": database_url, "REGFLOW_CLOCK": settings.clock,
           "REGFLOW_NAMESPACE": settings.namespace, "REGFLOW_LOG_FORMAT": "json", "REGFLOW_DEVELOPMENT": "1",
           "REGFLOW_DOCUMENTS_DIR": str(var / "demo-documents"),
           "REGFLOW_CHORUS_DROP_DIR": str(var / "demo-chorus-pro")}
    logs = var / "demo-logs"
    logs.mkdir(exist_ok=True)
    maildir = var / "demo-mail"
    shutil.rmtree(maildir, ignore_errors=True)
    with MailSink(port=0, maildir=maildir) as sink:
        env.update({"REGFLOW_SMTP_HOST": "127.0.0.1", "REGFLOW_SMTP_PORT": str(sink.port),
                    "REGFLOW_MAIL_POLL_SECONDS": "0.2"})
        join_port = _free_port()
        env.update({"REGFLOW_JOIN_PORT": str(join_port), "REGFLOW_JOIN_BASE_URL": f"http://127.0.0.1:{join_port}/j"})
        settings = settings.model_copy(update={"join_base_url": env["REGFLOW_JOIN_BASE_URL"]})
        processes = start_processes(env, log_dir=logs)
        processes["join"] = start_process("join", env, logs)
        print(f"started {len(processes)} processes: {', '.join(processes)} (logs in {logs}); "
              f"SMTP sink on port {sink.port}; join service on http://127.0.0.1:{join_port}/j/<token>")
        try:
            ids = _story(settings, clock, sink, stop_before_october=serve_port is not None)
            if serve_port is not None:
                _report(settings, ids, clock, sink.received, var)
                _serve(settings, serve_port, ids, var)
        finally:
            code = stop_processes(processes)
        if serve_port is None:
            _report(settings, ids, clock, sink.received, var)
    print(f"consumers stopped (exit code {code})")
    return code


def _report(settings: Settings, ids: list[str], clock: FileClock, received: list[EmailMessage], var: Path
            ) -> None:
    """The timelines, the finance list and the e-mails: what a newcomer reads to see that it worked."""
    sessions = session_factory(make_engine(settings.database_url))
    print()
    for registration_id in ids:
        view = registration_timeline(sessions, registration_id)
        assert view is not None
        print(format_timeline(view), end="\n\n")
    from regflow.cli.catalogue import session_summary
    from workflow.adapters.data_files import load_catalogue
    from workflow.ops.catalogue import CatalogueDesk
    from workflow.persistence.views import invoice_list

    print("Sessions (regflow sessions list):")
    for line in CatalogueDesk(sessions, clock, load_catalogue(settings.catalogue_path).schedule).listing():
        print(f"  {session_summary(line)}")

    from sqlalchemy import select

    from workflow.persistence.orm import JoinRecordRow, ParticipantAccessRow

    print("Attendance (join records of the join service):")
    with sessions() as session:
        rows = session.execute(select(ParticipantAccessRow.email, JoinRecordRow.session_id, JoinRecordRow.joined_at)
                               .join(ParticipantAccessRow, ParticipantAccessRow.id == JoinRecordRow.access_id)
                               .order_by(JoinRecordRow.joined_at)).all()
    for email, session_id, joined_at in rows:
        print(f"  {session_id}  {email:<32} joined at {joined_at.astimezone(PARIS):%Y-%m-%d %H:%M}")
    print("Attendance recorded at service fait, on each participant (the invoice stands whatever it says):")
    with sessions() as session:
        held = session.execute(select(ParticipantAccessRow.session_id, ParticipantAccessRow.email,
                                      ParticipantAccessRow.presence, ParticipantAccessRow.minutes_followed)
                               .where(ParticipantAccessRow.presence.is_not(None))
                               .order_by(ParticipantAccessRow.session_id, ParticipantAccessRow.email)).all()
    for session_id, email, presence, minutes in held:
        followed = "not measured (operations' word)" if minutes is None else f"{minutes} min followed"
        print(f"  {session_id}  {email:<32} {presence:<8} {followed}")
    from workflow.domain.certificate import hours_text
    from workflow.persistence.orm import CertificateRow

    print("Certificates of completion (issued after service fait, e-mailed to the gestionnaire and the trainee):")
    with sessions() as session:
        for c in session.scalars(select(CertificateRow).order_by(CertificateRow.session_id, CertificateRow.trainee)):
            print(f"  {c.session_id}  {c.trainee:<28} {hours_text(c.minutes_followed):>6}  n° {c.number}")
    from workflow.domain.bpf import figure_lines
    from workflow.ops.bpf import year_figures

    schedule = load_catalogue(settings.catalogue_path).schedule
    for year in (2023, 2024):
        print(f"BPF {year} figures (regflow bpf --year {year}; Cerfa 10443 frame and line):")
        for figure in figure_lines(year_figures(sessions, schedule, year)):
            if figure.frame != "hors Cerfa" and str(figure.value) not in ("0", "0.00"):
                print(f"  {figure.frame:<3} {figure.line:<8} {figure.value!s:>10} {figure.unit:<9} {figure.label[:70]}")
    from workflow.ops.surveys import survey_results
    from workflow.persistence.repositories.catalogue import SqlCatalogue

    print("Satisfaction survey (sent after service fait to each trainee present, one reminder; back office /avis):")
    with sessions() as session:
        catalogue = SqlCatalogue(session).current(schedule)
    for group in survey_results(sessions, catalogue, "session"):
        found, averages = group.results, group.results.averages
        print(f"  {found.key:<32} {found.answered}/{found.invited} answered  overall {averages['overall'] or '-'}/5"
              f"  comments {len(found.comments)}")
    print("Invoices (regflow invoices):")
    for row in invoice_list(sessions, clock.now().astimezone(PARIS).date()):
        print(f"  {row['invoice']}  {row['status']:<8} due {row['due_on']}  {row['total']:>8} EUR"
              f"  paid {row['paid']:>8}  {row['client']}")
    print(f"\nE-mails received by the SMTP server ({len(received)}, kept in {var / 'demo-mail'}):")
    for message in received:
        attached = [str(part.get_filename()) for part in message.iter_attachments()]
        print(f"  {message['To']!s:<32} {message['Subject']}" + (f"  [+ {', '.join(attached)}]" if attached else ""))
    drop = var / "demo-chorus-pro"
    deposited = sorted(p.name for p in drop.glob("*.pdf")) if drop.is_dir() else []
    print(f"\ninvoice PDFs (Factur-X) in {var / 'demo-documents'}, Chorus Pro deposits in {drop}: "
          + ", ".join(deposited) + " (the Gironde asked for its evidence pack beside its invoice)")


DEMO_TRAINER = "Jean-François LE TROQUIER"  # every session's trainer in the demo: `tom` signs their sheets
DEMO_USERS = {"alice": ["support"], "fanny": ["finance"], "olga": ["operations"], "tom": ["trainer"],
              "admin": ["support", "finance", "operations", "trainer"]}


def _serve(settings: Settings, port: int, ids: list[str], var: Path) -> None:
    """The back-office page over the demo's database and broker, with one user per role whose password is
    drawn for this run (printed once, stored hashed in var/demo-web-users.json)."""
    import secrets

    import waitress

    from regflow.web import create_app
    from regflow.web.users import UserStore

    users_file = var / "demo-web-users.json"
    users_file.unlink(missing_ok=True)
    password = secrets.token_urlsafe(12)
    store = UserStore(users_file)
    for name, roles in DEMO_USERS.items():
        store.add(name, password, roles, full_name=DEMO_TRAINER if name == "tom" else None)
    served = settings.model_copy(update={"web_users_file": users_file})
    url = f"http://127.0.0.1:{port}"
    logins = ", ".join(f"{name} ({'+'.join(roles)})" for name, roles in DEMO_USERS.items())
    # Bound before it is announced: whoever reads the line (a person, a test) finds the port listening.
    server = waitress.create_server(create_app(served), host="127.0.0.1", port=port, threads=8, ident="regflow")
    print(f"\nback office on {url}/ : log in as {logins}"
          f", password {password}\n  try: {url}/registrations/{ids[-1]} (replace a participant as alice: the "
          f"invitation lands in {var / 'demo-mail'}), {url}/queues (as olga or admin), {url}/invoices (as fanny)\n"
          "  Ctrl-C stops the page and the consumers", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        print("\nstopping")


def _reset_broker(settings: Settings) -> None:
    from workflow.messaging.broker import connect
    from workflow.messaging.topology import Topology

    connection = connect(settings.broker_url)
    topology = Topology(settings.namespace, queue_type=settings.queue_type)
    topology.delete(connection.channel())  # a previous demo's leftovers must not leak in
    connection.close()


def _story(  # noqa: PLR0915 (a story)
        settings: Settings, clock: FileClock, sink: MailSink, *, stop_before_october: bool = False) -> list[str]:
    from producers.commands import CommandClient

    sessions = session_factory(make_engine(settings.database_url))

    def state_of(registration_id: str) -> str | None:
        view = registration_timeline(sessions, registration_id)
        return None if view is None else str(view["state"])

    def wait(registration_id: str, state: str) -> None:
        _wait_until(lambda: state_of(registration_id) == state,
                    f"{registration_id} to reach {state} (now {state_of(registration_id)})")
        print(f"  {clock.now().astimezone(PARIS):%Y-%m-%d}  {registration_id:<34} -> {state}")

    def invoice_number(registration_id: str) -> str:
        view = registration_timeline(sessions, registration_id)
        assert view is not None
        assert view["invoice"] is not None
        return str(view["invoice"]["number"])

    def mails(count: int, what: str) -> None:
        _wait_until(lambda: len(sink.received) >= count, f"{count} e-mails ({what})")
        print(f"  {clock.now().astimezone(PARIS):%Y-%m-%d %H:%M}  {what}: {len(sink.received)} e-mails so far")

    def reminders(day: date, expected: int) -> None:
        clock.set(datetime.combine(day, datetime.min.time().replace(hour=6, minute=31), tzinfo=PARIS))
        mails(len(sink.received) + expected, "reminders 3 hours before the start")
        clock.set(datetime.combine(day, datetime.min.time().replace(hour=9, minute=16), tzinfo=PARIS))
        mails(len(sink.received) + expected, "reminders 15 minutes before the start")

    def form(name: str) -> RegistrationForm:
        return RegistrationForm.model_validate_json((FORMS / name).read_text(encoding="utf-8"))

    _prepare_sessions(settings, sessions, clock)
    handicap, gironde = "demo-handicap-val-de-marne", "demo-aide-domicile-gironde"
    with CommandClient(settings, producer="demo") as client:
        print("1 September 2023: three forms arrive: two as JSON, the association's on the online form (unsigned)")
        client.submit_form(form("handicap-departement.json"), handicap)
        saad = register_online(settings, form("aide-domicile-association-unsigned.json"))
        october = form("aide-domicile-departement-october.json")  # the Gironde asks for the evidence on Chorus Pro
        client.submit_form(october.model_copy(update={"client": october.client.model_copy(
            update={"chorus_attach_evidence": True})}), gironde)
        wait(handicap, "invoiced")
        wait(gironde, "invoiced")
        wait(saad, "received")
        mails(9, "confirmations, invoices and invitations of the two Départements")

        clock.set(paris(2023, 9, 4))
        print("4 September 2023: the association signs electronically")
        client.record_signature(saad, Signature(place="Lyon", signed_on=date(2023, 9, 4),
                                                signatory="Marc BERNARD", method=SignatureMethod.ELECTRONIC,
                                                electronic_reference="YOUSIGN-2023-0904-17"))
        wait(saad, "invoiced")
        mails(12, "confirmations, invoices and invitations")

        print("5 September 2023: support replaces Paul LEROY (Val-de-Marne) by Inès ROY")
        clock.set(paris(2023, 9, 5))
        client.replace_participant(handicap, "paul.leroy@valdemarne.fr", Participant(
            civilite="Mme", first_name="Inès", last_name="ROY", email="ines.roy@valdemarne.fr"),
            requested_by="support:alice")
        mails(15, "invitation to Inès, notices to Paul and to the gestionnaire")

        open_link(settings, sessions, "claire.durand@valdemarne.fr", "5 September 2023")
        reminders(date(2023, 9, 15), 2)
        clock.set(paris(2023, 9, 15, 9, 40))
        for email in ("claire.durand@valdemarne.fr", "ines.roy@valdemarne.fr", "paul.leroy@valdemarne.fr"):
            open_link(settings, sessions, email, "15 September 2023 9h40")
        clock.set(paris(2023, 9, 15, 18))
        open_link(settings, sessions, "claire.durand@valdemarne.fr", "15 September 2023 18h00")
        _sign_the_sheet(settings, sessions, clock, "cpom-handicap-2023-09-15")
        client.hold_session("cpom-handicap-2023-09-15", date(2023, 9, 15), requested_by="jf.letroquier")
        wait(handicap, "session_held")

        clock.set(paris(2023, 9, 20))
        print("20 September 2023: the association (private law) pays on receipt, before its session")
        client.record_payment(payment_id="BANK-2023-09-20-001", invoice_number=invoice_number(saad),
                              amount=Decimal("625.00"), received_on=date(2023, 9, 20), payer="ASD Rhône")
        wait(saad, "settled")

        clock.set(paris(2023, 10, 12))
        print("12 October 2023: the Val-de-Marne pays by mandat administratif, after service fait")
        client.record_payment(payment_id="DGFIP-2023-10-12-4471", invoice_number=invoice_number(handicap),
                              amount=Decimal("1190.00"), received_on=date(2023, 10, 12),
                              payer="Paierie départementale du Val-de-Marne", means="mandat_administratif")
        wait(handicap, "paid")

        reminders(date(2024, 3, 21), 1)
        clock.set(paris(2024, 3, 21, 18))
        print("21 March 2024: the aide à domicile session is held; its sheet was signed on paper, operations "
              "record service fait with the reason (regflow hold-session --reason)")
        client.hold_session("cpom-aide-domicile-2024-03-21", date(2024, 3, 21), requested_by="olga",
                            reason="feuille d'émargement papier signée par le formateur, scannée au dossier")
        wait(saad, "paid")

        if stop_before_october:
            clock.set(paris(2024, 10, 1))
            print("1 October 2024: the story stops here, the Gironde's session is ten days away")
            return [handicap, saad, gironde]
        reminders(date(2024, 10, 11), 3)
        clock.set(paris(2024, 10, 11, 18))
        print("11 October 2024: the October session is held (paper sheet; T. Roux was absent: the registration "
              "is final, its invoice stands), the Gironde pays in November")
        client.hold_session("cpom-aide-domicile-2024-10-11", date(2024, 10, 11), ["t.roux@gironde.fr"],
                            requested_by="olga",
                            reason="feuille d'émargement papier signée par le formateur, scannée au dossier")
        wait(gironde, "session_held")
        clock.set(paris(2024, 11, 5))
        client.record_payment(payment_id="DGFIP-2024-11-05-0912", invoice_number=invoice_number(gironde),
                              amount=Decimal("1875.00"), received_on=date(2024, 11, 5),
                              payer="Paierie départementale de la Gironde", means="mandat_administratif")
        wait(gironde, "paid")
        _wait_until(lambda: sum(m["X-Regflow-Kind"] in ("certificate", "certificates") for m in sink.received) >= 8,
                    "the certificates e-mailed: one e-mail per registration to its gestionnaire, one per trainee")
        print("  every certificate of completion e-mailed: the gestionnaires have theirs, each trainee their own "
              "(T. Roux, absent all day, has none)")
        answer_survey(settings, sessions, "claire.durand@valdemarne.fr")
    return [handicap, saad, gironde]


def _prepare_sessions(settings: Settings, sessions: sessionmaker[Session], clock: FileClock) -> None:
    """Operations give each session of the catalogue its seats, trainer and video-conference room, as
    `regflow sessions edit` does (the same code), and list them as `regflow sessions list` does."""
    from regflow.cli.catalogue import session_summary
    from workflow.adapters.data_files import load_catalogue
    from workflow.domain.catalogue import SessionDate
    from workflow.ops.catalogue import CatalogueDesk

    desk = CatalogueDesk(sessions, clock, load_catalogue(settings.catalogue_path).schedule)
    print("1 September 2023: operations set each session's seats, trainer and video-conference room "
          "(regflow sessions edit)")
    for line in desk.listing():
        desk.edit_session(line["id"], {"capacity": 30, "trainer": DEMO_TRAINER,
                                       "join_url": f"https://visio.example.org/salle/{line['id']}"})
    print("  and add a new date of the Handicap training (regflow sessions add)")
    desk.add_session("cpom-handicap", SessionDate(
        id="cpom-handicap-2024-11-28", date=date(2024, 11, 28), capacity=20, trainer=DEMO_TRAINER,
        join_url="https://visio.example.org/salle/cpom-handicap-2024-11-28"))
    for line in desk.listing():
        print(f"  {session_summary(line)}")


HANDICAP_REPORT = (  # the platform's attendance report of 15 September 2023, as a generic CSV export
    "email,name,join,leave\n"
    "claire.durand@valdemarne.fr,Claire DURAND,2023-09-15 09:31:00,2023-09-15 12:46:00\n"
    "claire.durand@valdemarne.fr,Claire DURAND,2023-09-15 13:44:00,2023-09-15 17:00:00\n"
    "ines.roy@valdemarne.fr,Inès ROY,2023-09-15 09:40:00,2023-09-15 12:45:00\n"
    "ines.roy@valdemarne.fr,Inès ROY,2023-09-15 15:10:00,2023-09-15 17:00:00\n"
    "invite@example.org,Un invité,2023-09-15 10:00:00,2023-09-15 10:30:00\n")


def _sign_the_sheet(settings: Settings, sessions: sessionmaker[Session], clock: FileClock, session_id: str) -> None:
    """After the session: the report imported (`regflow attendance import`), then the trainer's sheet, corrected
    and signed as on the back office's page (the same code); service fait follows its signature."""
    from workflow.adapters.data_files import load_catalogue
    from workflow.ops.attendance import import_report
    from workflow.ops.attendance_sheet import SheetDesk

    done = import_report(sessions, clock, session_id, HANDICAP_REPORT.encode())
    print(f"15 September 2023 18h00: the platform's attendance report imported: {done.added} line(s), "
          f"{len(done.unmatched)} without a participant (kept and listed)")
    desk = SheetDesk(sessions, clock, load_catalogue(settings.catalogue_path).schedule,
                     settings.attendance_present_minutes)
    sheet = desk.sheet(session_id)
    ines = next(p for p in sheet["participants"] if p["email"] == "ines.roy@valdemarne.fr")
    desk.correct(session_id, {(ines["access_id"], 1): ("partial", 105)}, by="jf.letroquier")
    signed = desk.sign(session_id, signer=DEMO_TRAINER, attested=True, by="jf.letroquier")
    print(f"  the trainer corrects Inès's afternoon (partial, 105 min) and signs the sheet "
          f"(SHA-256 {signed.sheet_sha256[:12]}…): service fait is sent")
    for person in desk.sheet(session_id)["participants"]:
        marks = "  ".join(f"{'matin' if m['part'] == 0 else 'après-midi'} {m['presence']} {m['minutes']} min"
                          for m in person["marks"])
        print(f"    {person['email']:<30} {person['presence_fr']:<8} {marks}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
