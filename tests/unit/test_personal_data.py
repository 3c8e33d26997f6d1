"""The personal-data rules without a database: the pseudonym (stable, not the e-mail, never an address that can
receive mail), scrubbing a stored form and its free texts (idempotent, counts and figures unchanged, no trace of
the e-mail or the name left), what the right of access shows (only what is about the person), the purge's time,
and the request's inputs refused with why."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from workflow.domain.identifiers import normalise_email
from workflow.domain.personal_data import (
    PersonalDataError,
    add_months,
    fragments,
    mentions,
    past_retention,
    person,
    pseudonym,
    request_reason,
    scrub,
    subject_email,
)

SECRET = "a-secret-of-thirty-two-characters-at-least"
EMAILS = st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,10})?@[a-z]{2,10}\.(fr|com|org)", fullmatch=True)
FIRST = st.from_regex(r"[A-ZÉ][a-zéèçï]{1,10}(-[A-ZÉ][a-zéèï]{1,8})?", fullmatch=True)
LAST = st.from_regex(r"[A-ZÉÈ]{2,12}( [A-Z]{2,8})?", fullmatch=True)


def _form(participants: list[dict[str, Any]], gestionnaire: dict[str, Any], total: str) -> dict[str, Any]:
    return {"session_id": "cpom-handicap-2023-09-15", "client": {"name": "Département du Val-de-Marne"},
            "gestionnaire": gestionnaire, "participants": participants,
            "declared_participant_count": len(participants), "declared_total": total,
            "signature": {"place": "Créteil", "signatory": f"{gestionnaire['first_name']} {gestionnaire['last_name']}"}}


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], str, str, str]:
    """A form naming the person (a participant, sometimes the gestionnaire too), among others of other names."""
    email, first, last = draw(EMAILS), draw(FIRST), draw(LAST)
    others = draw(st.lists(st.tuples(EMAILS, FIRST, LAST), max_size=4))
    assume(all(e != email and o_last.casefold() != last.casefold() and last.casefold() not in o_last.casefold()
               and o_last.casefold() not in last.casefold() for e, _, o_last in others))
    people = [{"civilite": "Mme", "first_name": f, "last_name": n, "email": e} for e, f, n in others]
    people.insert(draw(st.integers(0, len(people))), {"civilite": "M.", "first_name": first, "last_name": last,
                                                      "email": email.upper() if draw(st.booleans()) else email})
    theirs = draw(st.booleans())
    gestionnaire = ({"email": email, "first_name": first, "last_name": last, "phone": "01 43 99 70 00"} if theirs else
                    {"email": "formation@valdemarne.fr", "first_name": "Sophie", "last_name": "MARTIN"})
    return _form(people, gestionnaire, f"{595 * len(people)}.00"), email, first, last


@given(cases())
def test_scrubbing_a_form_leaves_no_trace_of_the_person_and_changes_no_figure(case: tuple[Any, ...]) -> None:
    form, email, first, last = case
    who, alias = person(email, [(first, last)]), pseudonym(email, SECRET)
    note = f"Remplacer {first} {last} ({email}) : demande de {last}"
    scrubbed, text = scrub(form, who, alias), scrub(note, who, alias)

    dumped = json.dumps([scrubbed, text], ensure_ascii=False).casefold()
    assert email.casefold() not in dumped
    assert f"{first} {last}".casefold() not in dumped
    assert not mentions(scrubbed, who, alias)
    assert not mentions(text, who, alias)
    assert text == f"Remplacer {alias.full_name} ({alias.email}) : demande de {alias.full_name}"
    # the same counts and figures: one seat each, the same total
    assert len(scrubbed["participants"]) == len(form["participants"]) == scrubbed["declared_participant_count"]
    assert scrubbed["declared_total"] == form["declared_total"]
    assert [p["email"] for p in scrubbed["participants"]].count(alias.email) == 1
    others = [p for p in form["participants"] if p["email"].lower() != email]
    assert [p for p in scrubbed["participants"] if p["email"] != alias.email] == others  # nobody else touched


@given(cases())
def test_scrubbing_twice_changes_nothing_more(case: tuple[Any, ...]) -> None:
    form, email, first, last = case
    who, alias = person(email, [(first, last)]), pseudonym(email, SECRET)
    once = scrub(form, who, alias)
    assert scrub(once, who, alias) == once


def test_a_person_named_like_the_pseudonym_is_scrubbed_once() -> None:
    who, alias = person("p@x.fr", [("Jean", "PERSONNE")]), pseudonym("p@x.fr", SECRET)
    once = scrub("Jean PERSONNE et M. Personne", who, alias)
    assert once == f"{alias.full_name} et M. {alias.full_name}"
    assert scrub(once, who, alias) == once


@given(EMAILS)
def test_the_pseudonym_is_stable_letters_only_and_not_an_address_that_receives_mail(email: str) -> None:
    alias = pseudonym(email, SECRET)
    assert pseudonym(email.upper(), SECRET) == alias  # the same person whatever the case typed
    assert pseudonym(email, SECRET + "x") != alias  # another key: unrelated
    assert alias.token.isalpha()
    assert alias.token.islower()
    assert len(alias.token) == 12
    assert email not in alias.email
    assert alias.subject == f"personne-{alias.token}"
    assert alias.email.endswith("@pseudonyme.invalid")
    assert normalise_email(alias.email) is None  # refused as an address: no e-mail can ever go to it


def test_the_right_of_access_shows_only_what_is_about_the_person() -> None:
    form = _form([{"first_name": "Claire", "last_name": "DURAND", "email": "claire.durand@valdemarne.fr"},
                  {"first_name": "Paul", "last_name": "LEROY", "email": "paul.leroy@valdemarne.fr"}],
                 {"email": "formation@valdemarne.fr", "first_name": "Sophie", "last_name": "MARTIN"}, "1190.00")
    who = person("claire.durand@valdemarne.fr", [("Claire", "DURAND")])
    alias = pseudonym(who.email, SECRET)
    assert fragments(form, who, alias) == [form["participants"][0]]
    assert fragments({"reason": "absente : Mme DURAND", "n": 2}, who, alias) == ["absente : Mme DURAND"]
    assert fragments(form, person("nobody@x.fr", []), alias) == []


def test_a_last_name_inside_another_word_or_address_is_not_the_person() -> None:
    who, alias = person("a@x.fr", [("Anne", "ROY")]), pseudonym("a@x.fr", SECRET)
    assert scrub("M. LEROY, roy@y.fr, Troyes", who, alias) == "M. LEROY, roy@y.fr, Troyes"
    assert scrub("Mme Roy", who, alias) == f"Mme {alias.full_name}"


@pytest.mark.parametrize(("state", "last", "as_of", "past"), [
    ("paid", "2023-10-12", "2026-10-12", True),  # 36 months to the day
    ("paid", "2023-10-12", "2026-10-11", False),
    ("paid", "2024-02-29", "2027-02-28", True),  # a month without its 29th: its last day
    ("credited", "2023-01-01", "2026-01-01", True),
    ("invoiced", "2000-01-01", "2026-01-01", False),  # unpaid: never by time alone
    ("confirmed", "2000-01-01", "2026-01-01", False),
])
def test_the_purge_takes_registrations_settled_for_the_retention_time(state: str, last: str, as_of: str,
                                                                      past: bool) -> None:
    assert past_retention(state, date.fromisoformat(last), date.fromisoformat(as_of), 36) is past


@given(st.dates(), st.integers(0, 240))
def test_adding_months_lands_in_the_right_month_never_before_the_day(day: date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


@pytest.mark.parametrize(("typed", "stored"), [(" Claire.Durand@ValdeMarne.FR ", "claire.durand@valdemarne.fr")])
def test_the_e_mail_typed_is_matched_as_the_forms_store_it(typed: str, stored: str) -> None:
    assert subject_email(typed) == stored


@pytest.mark.parametrize("typed", ["", "claire", "a@b", "a@x.fr, b@y.fr", "Claire <c@x.fr>"])
def test_not_one_address_is_refused_in_french_and_english(typed: str) -> None:
    with pytest.raises(PersonalDataError, match=r"adresse e-mail .* invalide / invalid e-mail address"):
        subject_email(typed)


@pytest.mark.parametrize("typed", ["", "  ", "ab", "x" * 501, "dem\x00ande", "demande \x1b[31m"])
def test_a_reason_of_3_to_500_characters_is_required(typed: str) -> None:
    refused = "motif requis, de 3 à 500 caractères, sans caractère de contrôle / a reason is required"
    with pytest.raises(PersonalDataError, match=refused):
        request_reason(typed)
    assert request_reason("  demande  du 2 décembre ") == "demande du 2 décembre"


@given(st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3"]), st.integers(0, 4),
                          st.sampled_from(["present", "absent", "partial"]), st.integers(0, 360)), max_size=20),
       EMAILS, FIRST, LAST)
def test_the_counts_per_session_do_not_change(seats: list[tuple[str, int, str, int]], email: str, first: str,
                                              last: str) -> None:
    """Seats (one of them hers, maybe several: one per session) scrubbed as rows: the same seats per session,
    presences and minutes, hers now all under one pseudonym."""
    def row(session: str, n: int, presence: str, minutes: int) -> dict[str, Any]:
        mine = n == 0
        return {"session_id": session, "email": email if mine else f"p{n}@other.example",
                "first_name": first if mine else "Paul", "last_name": last if mine else "OTHER-NAME",
                "presence": presence, "minutes_followed": minutes}

    assume(last.casefold() not in "other-name")
    who, alias = person(email, [(first, last)]), pseudonym(email, SECRET)
    rows = [row(*seat) for seat in seats]
    after = [scrub(r, who, alias) for r in rows]

    def counts(found: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
        return sorted((r["session_id"], r["presence"], r["minutes_followed"]) for r in found)

    assert counts(after) == counts(rows)
    assert sum(r["email"] == alias.email for r in after) == sum(r["email"] == email for r in rows)
    assert not mentions(after, who, alias)


pytestmark = pytest.mark.slow  # Hypothesis-heavy: started first, so that no worker finishes it alone
