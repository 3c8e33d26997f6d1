"""The satisfaction survey (workflow/domain/survey.py, consumers/notifications/surveys.py): what an answer may be,
the results computed by hand, who is invited and who is reminded, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.notifications import certificates as notified
from consumers.notifications.surveys import queue_survey_reminders
from schemas.limits import SURVEY_COMMENT_MAX, refused_character
from schemas.messages import EvaluationReceived
from tests.unit.fakes import CATALOGUE, Office
from tests.unit.test_certificate import EVENING, HANDICAP, held, held_office
from workflow.domain.survey import QUESTIONS, Answer, Response, check_answer, reminder_due, results

GOOD = {"overall": "5", "objectives": "4", "content": "4", "speaker": "5", "organisation": "3", "comment": " Bien "}


def test_an_answer_rates_every_question_from_1_to_5_and_keeps_the_comment_stripped() -> None:
    answer = check_answer(GOOD)
    assert answer == Answer({"overall": 5, "objectives": 4, "content": 4, "speaker": 5, "organisation": 3}, "Bien")
    assert check_answer({**GOOD, "comment": "  "}) == Answer(answer.ratings, None)  # type: ignore[union-attr]
    assert check_answer({**GOOD, "comment": "a\r\nb\tc"}) == Answer(answer.ratings, "a\nb c")  # type: ignore[union-attr]


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"overall": ""}, "overall", "rating_missing"),
    ({"speaker": "6"}, "speaker", "rating_invalid"),
    ({"content": "0"}, "content", "rating_invalid"),
    ({"objectives": "3.5"}, "objectives", "rating_invalid"),
    ({"organisation": "٣"}, "organisation", "rating_invalid"),  # an Arabic-Indic three: one digit, not ours
    ({"comment": "x" * (SURVEY_COMMENT_MAX + 1)}, "comment", "comment_too_long"),
    ({"comment": "bien\u202eneib"}, "comment", "comment_character"),
    ({"comment": "nul\x00"}, "comment", "comment_character"),
])
def test_a_refused_answer_names_the_field_in_french_and_english(changes: dict[str, str], field: str,
                                                                code: str) -> None:
    errors = check_answer({**GOOD, **changes})
    assert isinstance(errors, list)
    assert [(e.field, e.code) for e in errors] == [(field, code)]
    assert errors[0].fr != errors[0].en


def test_an_empty_form_gets_one_message_per_question() -> None:
    errors = check_answer({})
    assert isinstance(errors, list)
    assert [e.field for e in errors] == [q.key for q in QUESTIONS]


@given(st.dictionaries(st.sampled_from([*(q.key for q in QUESTIONS), "comment", "other"]),
                       st.text(max_size=2100)))
def test_whatever_is_sent_the_check_answers_and_what_it_accepts_every_later_stage_takes(form: dict[str, str]) -> None:
    checked = check_answer(form)
    if isinstance(checked, list):
        assert checked
        return
    assert set(checked.ratings) == {q.key for q in QUESTIONS}
    assert all(1 <= r <= 5 for r in checked.ratings.values())
    if checked.comment is not None:  # the column's check, and nothing the logs or the CSV would choke on
        assert 0 < len(checked.comment) <= SURVEY_COMMENT_MAX
        assert all(refused_character(line) is None for line in checked.comment.split("\n"))
    EvaluationReceived(session_id="s", training_id="t", participant_id="a", commented=checked.comment is not None,
                       **checked.ratings)
    [summary] = results([Response("s", checked.ratings, checked.comment)])
    assert summary.answered == 1


def test_the_results_of_a_session_computed_by_hand() -> None:
    """4 invited, 3 answered: overall 5, 4 and 2 -> response rate 75.0 %, satisfied (4 or 5) 2 of 3 = 66.7 %,
    overall average 11 / 3 = 3.67; a training's results gather its sessions."""
    def rated(overall: int, rest: int) -> dict[str, int]:
        return {q.key: overall if q.key == "overall" else rest for q in QUESTIONS}

    [session] = results([Response("s-1", rated(5, 4), "Très clair"), Response("s-1", rated(4, 3), None),
                         Response("s-1", rated(2, 2), "Son coupé"), Response("s-1", {}, None)])
    assert (session.invited, session.answered) == (4, 3)
    assert session.response_rate == Decimal("75.0")
    assert session.satisfaction_rate == Decimal("66.7")
    assert session.averages["overall"] == Decimal("3.67")
    assert session.averages["speaker"] == Decimal("3.00")
    assert session.comments == ["Très clair", "Son coupé"]
    [nobody] = results([Response("s-2", {}, None)])
    assert (nobody.response_rate, nobody.satisfaction_rate, nobody.averages["overall"]) == (Decimal("0.0"), None, None)


def test_one_reminder_only_after_its_delay_and_only_to_who_has_not_answered() -> None:
    due = EVENING + timedelta(hours=72)
    assert not reminder_due(now=due - timedelta(seconds=1), remind_at=due, reminded_at=None, answered_at=None)
    assert reminder_due(now=due, remind_at=due, reminded_at=None, answered_at=None)
    assert not reminder_due(now=due, remind_at=due, reminded_at=due, answered_at=None)
    assert not reminder_due(now=due, remind_at=due, reminded_at=None, answered_at=EVENING)


# --- the notifications consumer ---------------------------------------------------------------------------


@pytest.fixture
def office() -> Office:
    return held_office()


def _certificates_sent(office: Office) -> None:
    held(office)
    [event] = office.uow.events("certificate.issued")
    office.handle(notified.handle_certificate_issued, "certificate.issued", event, registration_id="r-1")


def test_each_participant_present_is_invited_once_with_their_personal_link(office: Office) -> None:
    _certificates_sent(office)
    _certificates_sent(office)  # redelivered: nobody invited twice
    invited = office.mail.of_kind("survey")
    assert sorted(m.recipient for m in invited) == ["a-claire@example.org", "a-ines@example.org"]
    assert {m.context["access_id"] for m in invited} == {"a-claire", "a-ines"}
    assert sorted(s.access_id for s in office.uow.surveys.rows) == ["a-claire", "a-ines"]
    assert {s.training_id for s in office.uow.surveys.rows} == {CATALOGUE.session(HANDICAP)[0].id}  # type: ignore[index]
    assert {s.remind_at - s.invited_at for s in office.uow.surveys.rows} == {timedelta(hours=72)}


def test_the_reminder_goes_once_to_who_has_not_answered_when_its_delay_is_over(office: Office) -> None:
    _certificates_sent(office)
    claire = office.uow.surveys.of_seat(HANDICAP, "a-claire")
    assert claire is not None
    claire.answered_at, claire.overall = EVENING + timedelta(hours=1), 5
    office.at(EVENING + timedelta(hours=71))
    assert queue_survey_reminders(office.uow, CATALOGUE, office.mail, limit=10) == 0  # type: ignore[arg-type]
    office.at(EVENING + timedelta(hours=73))
    assert queue_survey_reminders(office.uow, CATALOGUE, office.mail, limit=10) == 1  # type: ignore[arg-type]
    assert queue_survey_reminders(office.uow, CATALOGUE, office.mail, limit=10) == 0  # type: ignore[arg-type]
    assert [m.recipient for m in office.mail.of_kind("survey_reminder")] == ["a-ines@example.org"]


def test_a_seat_revoked_before_its_reminder_is_not_reminded_and_not_tried_again(office: Office) -> None:
    _certificates_sent(office)
    for access in office.uow.accesses.active_of("r-1"):
        access.status = "revoked"
    office.at(EVENING + timedelta(hours=73))
    assert queue_survey_reminders(office.uow, CATALOGUE, office.mail, limit=10) == 0  # type: ignore[arg-type]
    assert all(s.reminded_at is not None for s in office.uow.surveys.rows)
    assert office.mail.of_kind("survey_reminder") == []

