"""The attendance sheet's rules (workflow/domain/attendance_sheet.py): a trainer's mark, a participant's
presence over the day, when a sheet can be signed, and what was signed kept with its digest."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.messages import ParticipantAttendance, PartPresence
from workflow.adapters.data_files import load_catalogue
from workflow.domain.attendance import Presence, parts_of
from workflow.domain.attendance_sheet import (
    Mark,
    SheetError,
    attestation,
    check_signable,
    digest,
    mark,
    minutes_followed,
    overall,
)
from workflow.domain.clock import PARIS

PARTS = parts_of(load_catalogue().schedule, date(2023, 9, 15))  # 9h30-12h45 and 13h45-17h00, 180 min of training
MORNING, AFTERNOON = PARTS


def test_a_present_mark_without_minutes_counts_the_half_days_whole_training_time() -> None:
    assert mark(MORNING, "present", None) == Mark(0, Presence.PRESENT, 180)
    assert mark(AFTERNOON, "present", 170) == Mark(1, Presence.PRESENT, 170)


def test_an_absence_is_zero_minutes_and_a_partial_mark_says_how_many() -> None:
    assert mark(MORNING, "absent", None) == Mark(0, Presence.ABSENT, 0)
    assert mark(MORNING, "absent", 0) == Mark(0, Presence.ABSENT, 0)
    assert mark(MORNING, "partial", 95) == Mark(0, Presence.PARTIAL, 95)


@pytest.mark.parametrize(("presence", "minutes", "french"), [
    ("absent", 30, "absent avec 30 minutes suivies : une absence, c'est 0 minute"),
    ("partial", None, "partiel : indiquez les minutes suivies"),
    ("partial", 0, "partiel : de 1 à 180 minutes suivies, pas 0"),
    ("present", 181, "présent : de 1 à 180 minutes suivies, pas 181"),
    ("present", -1, "présent : de 1 à 180 minutes suivies, pas -1"),
    ("là", 10, "présence 'là' : présent, partiel ou absent"),
    ("present" * 10, 10, "présence 'presentpresentpresen' : présent, partiel ou absent"),
])
def test_a_mark_the_half_day_cannot_hold_is_refused_in_french_and_english(
        presence: str, minutes: int | None, french: str) -> None:
    with pytest.raises(SheetError) as refused:
        mark(MORNING, presence, minutes)
    assert refused.value.reason_fr == french
    assert str(refused.value)  # the English, for the logs


@pytest.mark.parametrize(("presences", "expected"), [
    (("present", "present"), Presence.PRESENT),
    (("absent", "absent"), Presence.ABSENT),
    (("present", "absent"), Presence.PARTIAL),
    (("partial", "present"), Presence.PARTIAL),
])
def test_a_participants_day_is_absent_only_when_absent_in_every_half_day(
        presences: tuple[str, str], expected: Presence) -> None:
    marks = [mark(part, presence, 60 if presence == "partial" else None) for part, presence in zip(PARTS, presences,
                                                                                                  strict=True)]
    assert overall(marks) is expected


ENDED = datetime(2023, 9, 15, 17, 0, tzinfo=PARIS)


def test_the_sheet_is_signed_after_the_sessions_end_by_a_named_signer_who_attests() -> None:
    check_signable(PARTS, ENDED, signed=False, attested=True, signer="Jeanne Martin")
    with pytest.raises(SheetError, match="ends at") as early:
        check_signable(PARTS, ENDED - timedelta(minutes=1), signed=False, attested=True, signer="Jeanne Martin")
    assert early.value.reason_fr == "la session se termine le 15/09/2023 à 17:00 : la feuille se signe après"
    for refused, kwargs in (("déjà signée", {"signed": True, "attested": True, "signer": "J"}),
                            ("cochez l'attestation", {"signed": False, "attested": False, "signer": "J"}),
                            ("nom du signataire", {"signed": False, "attested": True, "signer": "  "})):
        with pytest.raises(SheetError) as error:
            check_signable(PARTS, ENDED, **kwargs)  # type: ignore[arg-type]
        assert refused in (error.value.reason_fr or "")


def test_the_attestation_names_the_signer_the_training_and_the_day() -> None:
    words = attestation("Jeanne Martin", "CPOM et handicap", date(2023, 9, 15))
    assert words.startswith("Je soussigné(e) Jeanne Martin")
    assert "« CPOM et handicap » du 15/09/2023 s'est tenue à distance" in words
    assert words.endswith("et que le support pédagogique leur a été remis.")


def test_the_digest_of_what_was_signed_changes_with_any_mark() -> None:
    sheet = {"session_id": "s", "participants": [{"marks": [{"part": 0, "presence": "present", "minutes": 180}]}]}
    changed = {"session_id": "s", "participants": [{"marks": [{"part": 0, "presence": "present", "minutes": 179}]}]}
    assert digest(sheet) == digest(dict(reversed(list(sheet.items()))))  # the order of keys does not matter
    assert digest(sheet) != digest(changed)
    assert len(digest(sheet)) == 64


@given(st.sampled_from(["present", "partial", "absent"]), st.one_of(st.none(), st.integers(-10_000, 10_000)),
       st.sampled_from(PARTS))
def test_whatever_mark_is_accepted_fits_the_half_day_and_the_session_held_event(
        presence: str, minutes: int | None, part: object) -> None:
    """The invariant: a mark the sheet takes is a valid `session.held` attendance, its minutes within the part."""
    try:
        found = mark(part, presence, minutes)  # type: ignore[arg-type]
    except SheetError:
        return
    assert 0 <= found.minutes <= 180
    assert (found.minutes == 0) == (found.presence is Presence.ABSENT)
    marks = [found]
    ParticipantAttendance(participant_id="a" * 40, registration_id="r", presence=overall(marks).value,
                          minutes_followed=minutes_followed(marks),
                          parts=[PartPresence(part=found.part, presence=found.presence.value, minutes=found.minutes)])
