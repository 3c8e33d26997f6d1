"""Pure rules of the notifications: personal links, reminder times, retry delays, French wording, the
`.ics`, the templates and the sorting of SMTP failures. No database, no broker, no SMTP server."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from workflow.adapters.calendar_invite import Invite, invitation_ics
from workflow.adapters.email_message import MailTemplates, french_date, french_delay, french_time, message_id_for
from workflow.adapters.mailroom import idempotency_key, retry_delay
from workflow.adapters.smtp import classify
from workflow.domain.access_links import join_link, token_for, token_from, token_hash
from workflow.domain.clock import PARIS
from workflow.domain.reminders import SCHEDULED, SKIPPED, decide_reminder, plan_reminders

STARTS = datetime(2023, 9, 15, 9, 30, tzinfo=PARIS)

# --- personal links -----------------------------------------------------------------------------------


def test_a_token_is_derived_from_the_secret_and_the_access_id_and_is_url_safe() -> None:
    token = token_for("secret-1", "access-a")
    assert token == token_for("secret-1", "access-a"), "the same link can be written in every reminder"
    assert token != token_for("secret-1", "access-b")
    assert token != token_for("secret-2", "access-a"), "without the secret, the access id gives nothing"
    assert len(token) == 43
    assert all(c.isalnum() or c in "-_" for c in token)


def test_only_a_hash_of_the_token_is_stored_and_it_does_not_contain_the_token() -> None:
    token = token_for("secret", "access")
    digest = token_hash(token)
    assert len(digest) == 64
    assert token not in digest


@pytest.mark.parametrize("pasted", [
    "https://visio.ipp.fr/rejoindre/TOKEN", "https://visio.ipp.fr/rejoindre/TOKEN/", " TOKEN \n",
    "https://visio.ipp.fr/rejoindre/TOKEN?utm=mail"])
def test_support_can_paste_the_whole_link_or_the_token(pasted: str) -> None:
    assert token_from(pasted) == "TOKEN"


def test_the_link_is_the_platform_address_followed_by_the_token() -> None:
    assert join_link("https://visio.example/j/", "abc") == "https://visio.example/j/abc"


# --- reminders ------------------------------------------------------------------------------------------


def test_reminders_are_planned_three_hours_and_fifteen_minutes_before_the_start() -> None:
    planned = plan_reminders(STARTS, [15, 180], now=datetime(2023, 9, 1, 10, tzinfo=PARIS))
    assert [(p.offset_minutes, p.due_at, p.status) for p in planned] == [
        (180, datetime(2023, 9, 15, 6, 30, tzinfo=PARIS), SCHEDULED),
        (15, datetime(2023, 9, 15, 9, 15, tzinfo=PARIS), SCHEDULED)]


def test_a_reminder_already_due_when_the_registration_is_confirmed_is_recorded_as_skipped() -> None:
    planned = plan_reminders(STARTS, [180, 15], now=datetime(2023, 9, 15, 7, 0, tzinfo=PARIS))
    assert [(p.offset_minutes, p.status) for p in planned] == [(180, SKIPPED), (15, SCHEDULED)]
    assert planned[0].reason is not None
    assert "before the registration was confirmed" in planned[0].reason


def _decide(now: datetime, *, state: str = "invoiced", session: str = "s-1") -> tuple[bool, str | None]:
    decision = decide_reminder(now=now, due_at=datetime(2023, 9, 15, 6, 30, tzinfo=PARIS), starts_at=STARTS,
                               registration_state=state, registration_session_id=session,
                               reminder_session_id="s-1")
    return decision.send, decision.reason


def test_a_reminder_on_time_is_sent() -> None:
    assert _decide(datetime(2023, 9, 15, 6, 30, 1, tzinfo=PARIS)) == (True, None)


def test_a_reminder_whose_time_passed_while_the_system_was_down_is_sent_late_before_the_start() -> None:
    send, reason = _decide(datetime(2023, 9, 15, 8, 0, tzinfo=PARIS))
    assert send
    assert reason is not None
    assert reason.startswith("sent late")


def test_a_reminder_processed_after_the_start_is_skipped() -> None:
    send, reason = _decide(datetime(2023, 9, 15, 9, 30, tzinfo=PARIS))
    assert not send
    assert reason is not None
    assert "had started" in reason


@pytest.mark.parametrize("state", ["cancelled", "credited", "session_held", "paid", "received"])
def test_no_reminder_for_a_registration_that_is_not_waiting_for_its_session(state: str) -> None:
    assert _decide(datetime(2023, 9, 15, 6, 31, tzinfo=PARIS), state=state) == (
        False, f"the registration is {state}")


@pytest.mark.parametrize("state", ["confirmed", "invoiced", "settled"])
def test_a_registration_confirmed_invoiced_or_paid_ahead_is_reminded(state: str) -> None:
    assert _decide(datetime(2023, 9, 15, 6, 31, tzinfo=PARIS), state=state)[0]


def test_no_reminder_for_the_old_date_of_a_moved_session() -> None:
    assert _decide(datetime(2023, 9, 15, 6, 31, tzinfo=PARIS), session="s-2") == (
        False, "the registration moved to s-2")


# --- delivery -----------------------------------------------------------------------------------------


def test_smtp_retries_back_off_exponentially_up_to_six_hours() -> None:
    assert [retry_delay(n, 60) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (60, 120, 240, 480)]
    assert retry_delay(20, 60) == timedelta(hours=6)


def test_the_idempotency_key_names_registration_kind_recipient_and_occurrence() -> None:
    assert idempotency_key("r-1", "reminder", " Claire.Durand@X.fr", "s-1@180m") == \
        "r-1:reminder:claire.durand@x.fr:s-1@180m"


def test_every_attempt_of_one_e_mail_carries_the_same_message_id() -> None:
    first = message_id_for("r-1:invitation:a@b.fr:1", "ipp.fr")
    assert first == message_id_for("r-1:invitation:a@b.fr:1", "ipp.fr")
    assert first != message_id_for("r-1:invitation:a@b.fr:2", "ipp.fr")
    assert first.startswith("<")
    assert first.endswith("@ipp.fr>")


@pytest.mark.parametrize(("error", "permanent"), [
    (smtplib.SMTPRecipientsRefused({"a@b.fr": (550, b"5.1.1 no such user")}), True),
    (smtplib.SMTPRecipientsRefused({"a@b.fr": (450, b"4.2.1 mailbox busy")}), False),
    (smtplib.SMTPDataError(554, b"5.7.1 rejected as spam"), True),
    (smtplib.SMTPDataError(451, b"4.3.0 try again later"), False),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
    (TimeoutError("timed out"), False),
])
def test_smtp_failures_are_permanent_only_when_the_server_refuses_for_good(error: Exception, permanent: bool) -> None:
    assert classify(error).permanent is permanent


# --- French wording -------------------------------------------------------------------------------------


def test_dates_hours_and_delays_are_written_the_french_way() -> None:
    assert french_date(STARTS.date()) == "vendredi 15 septembre 2023"
    assert french_date(datetime(2024, 3, 1).date()) == "vendredi 1er mars 2024"
    assert french_time(STARTS) == "9h30"
    assert french_time(datetime(2023, 9, 15, 17, 0)) == "17h00"
    assert [french_delay(m) for m in (180, 60, 90, 15, 1)] == [
        "3 heures", "1 heure", "1 heure 30", "15 minutes", "1 minute"]


# --- .ics ---------------------------------------------------------------------------------------------


def _invite(method: str = "REQUEST", sequence: int = 0) -> Calendar:
    ics = invitation_ics(Invite(
        uid="abc@ipp.fr", sequence=sequence, method=method,  # type: ignore[arg-type]
        starts=STARTS, ends=datetime(2023, 9, 15, 17, tzinfo=PARIS), summary="Le CPOM", description="Journée",
        link=None if method == "CANCEL" else "https://visio.ipp.fr/rejoindre/T", organizer_name="IPP",
        organizer_email="ipp@ipp.fr", attendee_name="Mme Claire DURAND", attendee_email="claire@x.fr",
        stamp=datetime(2023, 9, 1, 8, tzinfo=UTC)))
    return Calendar.from_ical(ics)


def test_the_invitation_is_an_ics_request_at_paris_time_with_the_personal_link() -> None:
    calendar = _invite()
    event = calendar.events[0]
    assert str(calendar["method"]) == "REQUEST"
    assert event.start == STARTS
    assert str(event.start.tzinfo) == "Europe/Paris"
    assert event.end == datetime(2023, 9, 15, 17, tzinfo=PARIS)
    assert str(event["uid"]) == "abc@ipp.fr"
    assert str(event["location"]) == "https://visio.ipp.fr/rejoindre/T"
    assert str(event["attendee"]) == "mailto:claire@x.fr"
    assert str(event["status"]) == "CONFIRMED"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]


def test_a_cancelled_invitation_keeps_its_uid_with_a_higher_sequence_and_no_link() -> None:
    event = _invite("CANCEL", sequence=1).events[0]
    assert str(event["uid"]) == "abc@ipp.fr"
    assert int(event["sequence"]) == 1
    assert str(event["status"]) == "CANCELLED"
    assert "location" not in event


# --- templates -------------------------------------------------------------------------------------------

ORG = {"name": "IPP Formation", "street": "10 rue X", "postal_code": "75001", "city": "Paris", "siret": "1",
       "activity_declaration": "Déclaration d'activité 11", "email": "ipp@ipp.fr", "phone": "01"}
SESSION = {"id": "s-1", "title": "Le CPOM", "date": "vendredi 15 septembre 2023", "starts": "9h30",
           "ends": "17h00", "parts": ["9h30 à 12h45", "13h45 à 17h00"]}
CONTEXTS = {
    "confirmation": {"gestionnaire_name": "Sophie MARTIN", "client_name": "Département", "registration_id": "r-1",
                     "participants": ["Mme Claire DURAND"], "unit_price": "595,00 €", "total": "595,00 €",
                     "vat_note": "TVA non applicable", "reminders": ["3 heures", "15 minutes"]},
    "invoice": {"gestionnaire_name": "S", "client_name": "D", "invoice_number": "2023-000001",
                "issued_on": "vendredi 1er septembre 2023", "total": "595,00 €", "is_agreement": True,
                "payment_terms": "Payable à réception.", "replaces": None},
    "certificates": {"gestionnaire_name": "S", "absent": 1, "certificates": [
        {"trainee": "Mme Claire DURAND", "hours": "6 h", "number": "2023-0123456789AB"}]},
    "certificate": {"trainee": "Mme Claire DURAND", "hours": "3 h", "number": "2023-0123456789AB"},
    "credit_note": {"gestionnaire_name": "S", "credit_note_number": "2023-000002", "invoice_number": "2023-000001",
                    "total": "595,00 €", "reason": "session annulée"},
    "interest_claim": {"gestionnaire_name": "S", "client_name": "D", "claim_number": "INT-2023-000001",
                       "invoice_number": "2023-000001", "paid_on": "mardi 14 novembre 2023",
                       "due_on": "dimanche 15 octobre 2023", "days_late": 30, "interest": "11,74 €",
                       "indemnity": "40,00 €", "total": "51,74 €", "payable_by": "vendredi 29 décembre 2023"},
    "rejection": {"gestionnaire_name": "S", "registration_id": "r-1",
                  "errors": [{"field": "client.siret", "message": "Le SIRET est invalide."}]},
    "invitation": {"participant_name": "<script>alert(1)</script>", "client_name": "D",
                   "reminders": ["3 heures", "15 minutes"]},
    "session_moved": {"participant_name": "Mme Claire DURAND", "previous_date": "jeudi 14 septembre 2023",
                      "reason": "intervenant indisponible"},
    "invoice_suspended": {"invoice_number": "2023-000001", "client_name": "D", "registration_id": "r-1",
                          "reason": "attestation de service fait manquante", "changed_on": "mercredi 6 septembre 2023"},
    "session_cancelled": {"name": "Mme Claire DURAND", "reason": "intervenant malade", "for_participant": True},
    "reminder": {"participant_name": "Mme Claire DURAND", "delay": "3 heures"},
    "survey": {"participant_name": "Mme Claire DURAND"},
    "survey_reminder": {"participant_name": "Mme Claire DURAND"},
    "access_revoked": {"participant_name": "M. Paul LEROY", "client_name": "D", "replacement_name": "Mme Inès ROY"},
    "participant_replaced": {"gestionnaire_name": "S", "replaced_name": "M. Paul LEROY",
                             "replacement_name": "Mme Inès ROY", "replacement_email": "ines@x.fr",
                             "requested_by": "support:alice", "requested_on": "lundi 4 septembre 2023"},
}


def test_every_template_has_a_context_in_this_test() -> None:
    assert MailTemplates().names() == sorted(CONTEXTS)


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_every_e_mail_renders_in_text_and_html_with_the_organisation_identity(name: str) -> None:
    link = "https://visio.ipp.fr/rejoindre/T0K3N"
    rendered = MailTemplates().render(name, {**CONTEXTS[name], "org": ORG, "session": SESSION, "link": link})
    assert rendered.subject
    assert "\n" not in rendered.subject
    for body in (rendered.text, rendered.html):
        assert "IPP Formation" in body
        assert "Déclaration d'activité 11" in body or "Déclaration d&#39;activité 11" in body
    if name in ("invitation", "reminder"):
        assert link in rendered.text
        assert f'href="{link}"' in rendered.html
    if name in ("survey", "survey_reminder"):  # the personal link's survey page, served by the join service
        assert f"{link}/avis" in rendered.text
        assert f'href="{link}/avis"' in rendered.html


def test_html_escapes_what_came_from_a_form_and_text_keeps_it_as_typed() -> None:
    rendered = MailTemplates().render("invitation", {**CONTEXTS["invitation"], "org": ORG, "session": SESSION,
                                                     "link": "https://x/T"})
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "Bonjour <script>alert(1)</script>," in rendered.text


def test_a_long_accented_subject_reads_back_exactly_as_written() -> None:
    from email import message_from_bytes, policy

    from workflow.adapters.email_message import Rendered, build_message

    subject = ("Invitation : Mettre en place un CPOM dans le secteur de l'aide à domicile, vendredi 11 octobre "
               "2024 à 9h30")
    message = build_message(Rendered(subject, "texte", "<p>html</p>"), sender_name="IPP Formation",
                            sender_address="ipp@ipp.fr", recipient="a@b.fr", message_id="<1@ipp.fr>",
                            sent_at=datetime(2023, 9, 1, tzinfo=UTC), attachments=[])
    assert message_from_bytes(message.as_bytes(), policy=policy.default)["Subject"] == subject
