"""End to end with a real SMTP server: what the gestionnaire and the participants receive, reminders at
their times (file clock), a replacement, a moved and a cancelled session, and the consumer killed."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from uuid import uuid4

import pytest
from icalendar import Calendar
from sqlalchemy import delete, select

from producers.commands import CommandClient
from schemas.form import RegistrationForm
from tests.conftest import RunningConsumers, load_form, wait_until
from tests.idle import wait_until_idle
from workflow.adapters.clocks import FileClock
from workflow.adapters.mail_sink import MailSink
from workflow.bootstrap import Deps
from workflow.domain.clock import PARIS
from workflow.persistence.orm import EmailRow, ReminderRow
from workflow.persistence.views import registration_timeline
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHARE_FLEET = True  # one fleet of processes for the module, pristine before each test (tests/fleet.py)

GESTIONNAIRE = "formation@valdemarne.fr"
CLAIRE = "claire.durand@valdemarne.fr"
PAUL = "paul.leroy@valdemarne.fr"
INES = "ines.roy@valdemarne.fr"
TITLE = 'Etablissements et services "Handicap" : les outils de construction d\'un CPOM'


def kinds(smtp: MailSink) -> Counter[tuple[str, str]]:
    return Counter((str(m["X-Regflow-Kind"]), str(m["To"])) for m in smtp.received)


def wait_for(smtp: MailSink, count: int, what: str, timeout: float = 30) -> list[EmailMessage]:
    wait_until(lambda: len(smtp.received) >= count, f"{what} ({count} e-mails, {len(smtp.received)} received)",
               timeout=timeout)
    return smtp.received


def the(smtp: MailSink, kind: str, to: str) -> EmailMessage:
    found = [m for m in smtp.received if m["X-Regflow-Kind"] == kind and m["To"] == to]
    assert len(found) == 1, f"expected one {kind} to {to}, got {len(found)}: {kinds(smtp)}"
    return found[0]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def calendar_of(message: EmailMessage) -> Calendar:
    [ics] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(ics.get_content())


def link_in(message: EmailMessage) -> str:
    return next(w for w in text_of(message).split() if w.startswith("https://rejoindre.ipp.fr/j/"))


def regflow(consumers: RunningConsumers, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=consumers.env, capture_output=True,
                          text=True, timeout=60, check=False)


def submit(settings: Settings, name: str, registration_id: str, **changes: object) -> None:
    form = RegistrationForm.model_validate({**load_form(name), **changes})
    with CommandClient(settings) as client:
        client.submit_form(form, registration_id)


def a_reminder_check_at(deps: Deps, clock: FileClock) -> None:
    """Wait until the notifications consumer has checked its reminders at the clock's time: a probe reminder
    due now, of no registration, is one that check skips. The probe is then taken away."""
    probe = ReminderRow(registration_id=f"probe-{uuid4().hex[:8]}", session_id="probe", offset_minutes=0,
                        due_at=clock.now(), status="scheduled", reason=None, done_at=None)
    with deps.sessions() as session, session.begin():
        session.add(probe)

    def checked() -> bool:
        with deps.sessions() as session:
            return session.scalar(select(ReminderRow.status).where(ReminderRow.id == probe.id)) != "scheduled"

    wait_until(checked, "a reminder check at the clock's time")
    with deps.sessions() as session, session.begin():
        session.execute(delete(ReminderRow).where(ReminderRow.id == probe.id))


def test_a_confirmed_registration_brings_the_confirmation_the_invoice_pdf_and_personal_invitations(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink) -> None:
    submit(settings, "handicap-departement.json", "dep-94")
    wait_for(smtp, 4, "confirmation, two invitations and the invoice")
    wait_until_idle(settings, deps.sessions)
    assert kinds(smtp) == Counter({("confirmation", GESTIONNAIRE): 1, ("invoice", GESTIONNAIRE): 1,
                                   ("invitation", CLAIRE): 1, ("invitation", PAUL): 1})

    confirmation = the(smtp, "confirmation", GESTIONNAIRE)
    assert confirmation["Subject"] == f"Confirmation d'inscription : {TITLE} du vendredi 15 septembre 2023"
    summary = text_of(confirmation)
    for expected in ("Bonjour Sophie MARTIN", "Département du Val-de-Marne", "- Mme Claire DURAND",
                     "- M. Paul LEROY", "2 x 595,00 € = 1 190,00 €", "de 9h30 à 17h00 (heure de Paris)",
                     "3 heures et 15 minutes avant le début"):
        assert expected in summary, expected

    invoice = the(smtp, "invoice", GESTIONNAIRE)
    assert invoice["Subject"] == f"Facture n° 2023-000001 : {TITLE}"
    assert "Cette facture vaut convention de formation simplifiée." in text_of(invoice)
    [pdf] = [p for p in invoice.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "facture-2023-000001.pdf"
    assert pdf.get_content().startswith(b"%PDF")

    links = {}
    for email, name in ((CLAIRE, "Mme Claire DURAND"), (PAUL, "M. Paul LEROY")):
        invitation = the(smtp, "invitation", email)
        assert invitation["Subject"] == f"Invitation : {TITLE}, vendredi 15 septembre 2023 à 9h30"
        assert f"Bonjour {name}," in text_of(invitation)
        links[email] = link_in(invitation)
        calendar = calendar_of(invitation)
        event = calendar.events[0]
        assert str(calendar["method"]) == "REQUEST"
        assert event.start == datetime(2023, 9, 15, 9, 30, tzinfo=PARIS)
        assert event.end == datetime(2023, 9, 15, 17, 0, tzinfo=PARIS)
        assert str(event["attendee"]) == f"mailto:{email}"
        assert str(event["location"]) == links[email]
    assert links[CLAIRE] != links[PAUL]

    checked = regflow(consumers, "check-link", links[CLAIRE])
    assert (checked.returncode, checked.stdout.split(",")[0]) == (0, "valid: Mme Claire DURAND <" + CLAIRE + ">")
    forged = regflow(consumers, "check-link", links[CLAIRE][:-4] + "AAAA")
    assert (forged.returncode, forged.stdout.strip()) == (1, "unknown: no participant has this link")


def test_a_replaced_participant_loses_the_link_the_newcomer_gets_it_and_the_reminders(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink, clock: FileClock) -> None:
    submit(settings, "handicap-departement.json", "dep-94")
    wait_for(smtp, 4, "the first e-mails")
    paul_link = link_in(the(smtp, "invitation", PAUL))

    # Given support asks on 4 September to replace Paul by Inès:
    clock.set(datetime(2023, 9, 4, 11, tzinfo=PARIS))
    replaced = regflow(consumers, "replace-participant", "dep-94", "--replaced", "Paul.Leroy@valdemarne.fr",
                       "--civilite", "Mme", "--first-name", "inès", "--last-name", "Roy", "--email",
                       "Ines.Roy@valdemarne.fr", "--by", "support:alice", "--wait", "30")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert "applied: participants[1]: M. Paul LEROY <paul.leroy@valdemarne.fr> replaced by Mme Inès ROY " \
           "<ines.roy@valdemarne.fr>, asked by support:alice" in replaced.stdout

    # Then Inès is invited, Paul and the gestionnaire are told:
    wait_for(smtp, 7, "invitation, notice to the replaced participant, notice to the gestionnaire")
    ines_link = link_in(the(smtp, "invitation", INES))
    revoked = the(smtp, "access_revoked", PAUL)
    assert "Mme Inès ROY participera à votre place" in text_of(revoked)
    assert "ne fonctionne plus" in text_of(revoked)
    assert str(calendar_of(revoked)["method"]) == "CANCEL"
    notice = text_of(the(smtp, "participant_replaced", GESTIONNAIRE))
    assert "Comme demandé le lundi 4 septembre 2023, Mme Inès ROY (ines.roy@valdemarne.fr) remplace " \
           "M. Paul LEROY" in notice
    assert "Le montant de l'inscription ne change pas." in notice
    checked = regflow(consumers, "check-link", paul_link)
    assert checked.returncode == 1
    assert checked.stdout.startswith("revoked: M. Paul LEROY")
    assert "replaced by Mme Inès ROY" in checked.stdout
    assert regflow(consumers, "check-link", ines_link).returncode == 0
    view = registration_timeline(deps.sessions, "dep-94")
    assert view is not None
    assert view["state"] == "invoiced", "the amount and the invoice do not change"
    assert [h["by"] for h in view["history"] if h["trigger"] == "replace_participant"] == ["support:alice"]

    # When the reminders come due, they go to Claire and Inès, with their own links, not to Paul:
    clock.set(datetime(2023, 9, 15, 6, 30, 5, tzinfo=PARIS))
    wait_for(smtp, 9, "the reminders 3 hours before")
    clock.set(datetime(2023, 9, 15, 9, 15, 5, tzinfo=PARIS))
    wait_for(smtp, 11, "the reminders 15 minutes before")
    wait_until_idle(settings, deps.sessions)
    reminders = [m for m in smtp.received if m["X-Regflow-Kind"] == "reminder"]
    assert sorted((m["To"], m["Subject"]) for m in reminders) == [
        (CLAIRE, f"Rappel : {TITLE} commence dans 15 minutes (9h30)"),
        (CLAIRE, f"Rappel : {TITLE} commence dans 3 heures (9h30)"),
        (INES, f"Rappel : {TITLE} commence dans 15 minutes (9h30)"),
        (INES, f"Rappel : {TITLE} commence dans 3 heures (9h30)")]
    assert {link_in(m) for m in reminders if m["To"] == INES} == {ines_link}

    # And once the session is held, nobody can be replaced any more:
    clock.set(datetime(2023, 9, 15, 18, tzinfo=PARIS))
    with CommandClient(settings) as client:
        client.hold_session("cpom-handicap-2023-09-15", datetime(2023, 9, 15).date(), reason="no sheet (test)")
    wait_until(lambda: (registration_timeline(deps.sessions, "dep-94") or {}).get("state") == "session_held",
               "service fait")
    late = regflow(consumers, "replace-participant", "dep-94", "--replaced", CLAIRE, "--civilite", "M.",
                   "--first-name", "Luc", "--last-name", "Petit", "--email", "luc.petit@valdemarne.fr",
                   "--by", "support:alice", "--wait", "30")
    assert late.returncode == 1
    assert "refused" in late.stdout
    assert "the session was already held" in late.stdout


def test_a_replacement_that_breaks_the_rules_or_names_a_stranger_is_refused_with_the_reason(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink) -> None:
    submit(settings, "handicap-departement.json", "dep-94")
    wait_for(smtp, 4, "the first e-mails")
    stranger = regflow(consumers, "replace-participant", "dep-94", "--replaced", "nobody@valdemarne.fr",
                       "--civilite", "Mme", "--first-name", "Inès", "--last-name", "Roy", "--email", INES,
                       "--by", "support:alice")
    assert stranger.returncode == 1
    assert "nobody@valdemarne.fr is not a participant of this registration" in stranger.stdout
    bad_email = regflow(consumers, "replace-participant", "dep-94", "--replaced", PAUL, "--civilite", "Mme",
                        "--first-name", "Inès", "--last-name", "Roy", "--email", "ines.roy@", "--by", "support")
    assert bad_email.returncode == 1
    assert "participants[1].email" in bad_email.stdout
    duplicate = regflow(consumers, "replace-participant", "dep-94", "--replaced", PAUL, "--civilite", "Mme",
                        "--first-name", "Claire", "--last-name", "Durand", "--email", CLAIRE, "--by", "support")
    assert duplicate.returncode == 1
    assert "duplicate" in duplicate.stdout.lower() or "repeats" in duplicate.stdout
    wait_until_idle(settings, deps.sessions)
    assert len(smtp.received) == 4, "a refused replacement sends nothing"


def test_a_moved_session_tells_everyone_and_its_reminders_follow_the_new_date(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink, clock: FileClock) -> None:
    submit(settings, "aide-domicile-departement-october.json", "gironde", session_id="cpom-aide-domicile-2024-03-21")
    wait_for(smtp, 5, "confirmation, invoice and three invitations")
    links = {m["To"]: link_in(m) for m in smtp.received if m["X-Regflow-Kind"] == "invitation"}
    with CommandClient(settings) as client:
        client.move_session("cpom-aide-domicile-2024-03-21", "cpom-aide-domicile-2024-10-11",
                            "intervenant indisponible")
    # three participants and the gestionnaire told, a credit note and a new invoice:
    wait_for(smtp, 11, "the new date to four people, the credit note, the new invoice")
    moved = [m for m in smtp.received if m["X-Regflow-Kind"] == "session_moved"]
    assert len(moved) == 4
    for message in moved:
        assert "désormais le vendredi 11 octobre 2024" in message["Subject"]
        assert "prévue le jeudi 21 mars 2024 est déplacée" in text_of(message)
        if message["To"] in links:
            assert link_in(message) == links[message["To"]], "the personal link stays the same"
            event = calendar_of(message).events[0]
            assert event.start == datetime(2024, 10, 11, 9, 30, tzinfo=PARIS)
            assert int(event["sequence"]) == 1
    invoices = sorted(str(m["Subject"]).split(" : ")[0] for m in smtp.received if m["X-Regflow-Kind"] == "invoice")
    assert invoices == ["Facture n° 2023-000001", "Facture n° 2023-000003"]
    [reissued] = [m for m in smtp.received if str(m["Subject"]).startswith("Facture n° 2023-000003")]
    assert "Elle remplace la facture n° 2023-000001, annulée par avoir." in text_of(reissued)

    with deps.sessions() as session:
        reminders = {(r.session_id, r.offset_minutes): r.status for r in session.scalars(select(ReminderRow))}
    assert reminders == {("cpom-aide-domicile-2024-03-21", 180): "cancelled",
                         ("cpom-aide-domicile-2024-03-21", 15): "cancelled",
                         ("cpom-aide-domicile-2024-10-11", 180): "scheduled",
                         ("cpom-aide-domicile-2024-10-11", 15): "scheduled"}
    clock.set(datetime(2024, 3, 21, 6, 31, tzinfo=PARIS))
    a_reminder_check_at(deps, clock)  # the old date's reminders, cancelled, do not go
    clock.set(datetime(2024, 10, 11, 6, 31, tzinfo=PARIS))
    wait_for(smtp, 14, "the reminders of the new date")
    wait_until_idle(settings, deps.sessions)
    reminders_sent = [m for m in smtp.received if m["X-Regflow-Kind"] == "reminder"]
    assert sorted(m["To"] for m in reminders_sent) == sorted(links)
    assert all("3 heures" in m["Subject"] for m in reminders_sent)


def test_a_cancelled_session_revokes_the_links_and_sends_no_reminder(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink, clock: FileClock) -> None:
    submit(settings, "handicap-departement.json", "dep-94")
    wait_for(smtp, 4, "the first e-mails")
    claire_link = link_in(the(smtp, "invitation", CLAIRE))
    with CommandClient(settings) as client:
        client.cancel_session("cpom-handicap-2023-09-15", "intervenant malade")
    wait_for(smtp, 8, "cancellation to the participants and the gestionnaire, the credit note")
    for email in (CLAIRE, PAUL):
        cancelled = the(smtp, "session_cancelled", email)
        assert "Motif : intervenant malade." in text_of(cancelled)
        assert str(calendar_of(cancelled)["method"]) == "CANCEL"
    assert "La facture sera annulée par un avoir" in text_of(the(smtp, "session_cancelled", GESTIONNAIRE))
    credit = the(smtp, "credit_note", GESTIONNAIRE)
    assert credit["Subject"] == "Avoir n° 2023-000002 sur la facture n° 2023-000001"
    assert [p.get_filename() for p in credit.iter_attachments()] == ["avoir-2023-000002.pdf"]
    assert regflow(consumers, "check-link", claire_link).stdout.startswith("revoked:")

    clock.set(datetime(2023, 9, 15, 6, 31, tzinfo=PARIS))
    a_reminder_check_at(deps, clock)
    clock.set(datetime(2023, 9, 15, 9, 16, tzinfo=PARIS))
    a_reminder_check_at(deps, clock)
    wait_until_idle(settings, deps.sessions)
    assert not [m for m in smtp.received if m["X-Regflow-Kind"] == "reminder"]
    with deps.sessions() as session:
        assert set(session.scalars(select(ReminderRow.status))) == {"cancelled"}


def test_reminders_missed_while_the_consumer_was_down_go_late_before_the_start_never_after(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink, clock: FileClock) -> None:
    submit(settings, "handicap-departement.json", "dep-94")
    wait_for(smtp, 4, "the first e-mails")
    wait_until(lambda: _unsent(deps) == 0, "the sender to record them")  # a kill before would resend one
    consumers.kill("notifications")
    clock.set(datetime(2023, 9, 15, 7, 40, tzinfo=PARIS))  # 3-hour reminder due at 6:30, missed
    consumers.restart("notifications")
    wait_for(smtp, 6, "the late 3-hour reminders")
    wait_until(lambda: _unsent(deps) == 0, "the sender to record them")
    consumers.kill("notifications")
    clock.set(datetime(2023, 9, 15, 9, 31, tzinfo=PARIS))  # 15-minute reminder due at 9:15, the session started
    consumers.restart("notifications")
    wait_until(lambda: _reminder_statuses(deps) == {180: "sent", 15: "skipped"}, "the 15-minute reminder skipped")
    wait_until_idle(settings, deps.sessions)
    assert sorted(m["Subject"].split(" commence dans ")[1] for m in smtp.received
                  if m["X-Regflow-Kind"] == "reminder") == ["3 heures (9h30)", "3 heures (9h30)"]
    view = registration_timeline(deps.sessions, "dep-94")
    assert view is not None
    reasons = {r["minutes_before"]: r["reason"] for r in view["reminders"]}
    assert reasons[180].startswith("sent late: due at 2023-09-15T04:30:00+00:00")
    assert "the session had started" in reasons[15]


def _unsent(deps: Deps) -> int:
    with deps.sessions() as session:
        return len(session.scalars(select(EmailRow.id).where(EmailRow.status != "sent")).all())


def _reminder_statuses(deps: Deps) -> dict[int, str]:
    with deps.sessions() as session:
        return {r.offset_minutes: r.status for r in session.scalars(select(ReminderRow))}


# --- once and only once ---------------------------------------------------------------------------------


def _crash_notifications_at(consumers: RunningConsumers, point: str) -> None:
    consumers.env["REGFLOW_CRASH_AT"] = point
    consumers.kill("notifications")
    consumers.restart("notifications")


def _wait_for_death_then_restart(consumers: RunningConsumers) -> None:
    wait_until(lambda: consumers.processes["notifications"].poll() is not None, "the crash")
    assert consumers.processes["notifications"].returncode == -9
    consumers.restart("notifications")


def test_killed_after_its_commit_before_the_ack_the_redelivered_event_sends_nothing_twice(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink) -> None:
    _crash_notifications_at(consumers, "notifications.after_commit_before_ack")
    submit(settings, "handicap-departement.json", "dep-94")
    _wait_for_death_then_restart(consumers)
    wait_for(smtp, 4, "the e-mails")
    wait_until_idle(settings, deps.sessions)  # the redelivered event handled, every e-mail sent
    assert kinds(smtp) == Counter({("confirmation", GESTIONNAIRE): 1, ("invoice", GESTIONNAIRE): 1,
                                   ("invitation", CLAIRE): 1, ("invitation", PAUL): 1})
    with deps.sessions() as session:
        assert Counter(session.scalars(select(EmailRow.status))) == {"sent": 4}


def test_killed_between_the_smtp_ok_and_its_commit_the_e_mail_goes_again_with_the_same_message_id(
        settings: Settings, deps: Deps, consumers: RunningConsumers, smtp: MailSink) -> None:
    """The duplication window the README names: SMTP cannot be asked whether it already took a message."""
    _crash_notifications_at(consumers, "notifications.after_smtp_before_commit")
    submit(settings, "handicap-departement.json", "dep-94")
    _wait_for_death_then_restart(consumers)
    wait_for(smtp, 5, "the e-mails, one of them twice")
    wait_until_idle(settings, deps.sessions)  # the e-mail in flight at the kill sent again once its lease expired
    received = smtp.received
    assert len(received) == 5
    by_id = Counter(str(m["Message-ID"]) for m in received)
    assert sorted(by_id.values()) == [1, 1, 1, 2], "only the e-mail in flight at the kill is sent again"
    with deps.sessions() as session:
        ids = set(session.scalars(select(EmailRow.message_id)))
        assert Counter(session.scalars(select(EmailRow.status))) == {"sent": 4}
    assert set(by_id) == ids, "the copy has the Message-ID of the original: mail clients show it once"
