"""What a registration is found by (workflow/domain/registration_search.py), without a database."""

from __future__ import annotations

from workflow.domain.registration_search import folded, is_found, search_words, searched_text


def test_a_form_of_another_shape_gives_what_it_has_and_never_its_keys() -> None:
    text = searched_text("r-1", None, {"client": ["not", "an", "object"], "participants": "Zoé",
                                       "gestionnaire": {"first_name": 7, "last_name": None, "email": True}})
    assert "r-1" in text
    assert not any(is_found(key, text) for key in ("client", "participants", "gestionnaire", "email", "true"))
    assert is_found("7", text)


def test_a_value_never_runs_into_the_next() -> None:
    text = searched_text("r-1", "Acme", {"client": {"name": "Acme", "siret": "73282932000074"}})
    assert not is_found("acme 7328", text)
    assert is_found("732 829 320", text)


def test_folding_ignores_case_accents_controls_and_runs_of_spaces() -> None:
    assert folded("  Zoé\tQUILLET\x00 ŒUVRE ß ") == "zoe quillet œuvre ss"
    assert search_words("\x00 \u241e \ud800") is None  # nothing left to look for: the whole list
    assert search_words("x" * 150) == "x" * 100
