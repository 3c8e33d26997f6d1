"""The satisfaction survey "à chaud" (Qualiopi national reference frame, indicator 30: the trainees' opinions are
collected; indicator 2: the results are published — satisfaction rate, number of trainees): the questions, the
check of an answer as a participant sends it, when the one reminder is due, and the results (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from schemas.limits import SURVEY_COMMENT_MAX, describe_character, refused_character


@dataclass(frozen=True)
class Question:
    key: str  # the form field and the column
    fr: str
    en: str


QUESTIONS = (
    Question("overall", "Appréciation générale de la journée", "Overall rating of the day"),
    Question("objectives", "Les objectifs annoncés ont été atteints", "The stated objectives were met"),
    Question("content", "Le contenu (apports, supports, exemples)", "The content (input, materials, examples)"),
    Question("speaker", "L'intervenant (clarté, maîtrise, réponses aux questions)",
             "The speaker (clarity, command of the subject, answers to questions)"),
    Question("organisation", "L'organisation (inscription, accès à la visioconférence, horaires)",
             "The organisation (registration, access to the video conference, timetable)"),
)
SCALE = {1: "Très insatisfait", 2: "Insatisfait", 3: "Moyennement satisfait", 4: "Satisfait", 5: "Très satisfait"}
SATISFIED_FROM = 4  # "satisfait" or "très satisfait": the satisfaction rate published (indicator 2)


@dataclass(frozen=True)
class SurveyError:
    """A field the participant must correct, said in French (shown next to it) and in English (the logs)."""

    field: str
    code: str
    fr: str
    en: str


@dataclass(frozen=True)
class Answer:
    ratings: dict[str, int]  # every question's key, 1 to 5
    comment: str | None  # stripped, at most SURVEY_COMMENT_MAX characters, None when empty


def check_answer(form: Mapping[str, str]) -> Answer | list[SurveyError]:
    """An answer as sent by the survey page: each question rated 1 to 5 (one digit, nothing else), an optional
    comment of at most SURVEY_COMMENT_MAX characters, line breaks kept, no control or invisible characters."""
    errors: list[SurveyError] = []
    ratings: dict[str, int] = {}
    for question in QUESTIONS:
        value = (form.get(question.key) or "").strip()
        if value in ("1", "2", "3", "4", "5"):
            ratings[question.key] = int(value)
        elif not value:
            errors.append(SurveyError(question.key, "rating_missing", "Choisissez une note de 1 à 5.",
                                      "Choose a rating from 1 to 5."))
        else:
            errors.append(SurveyError(question.key, "rating_invalid", "La note doit être un nombre entier de 1 à 5.",
                                      "The rating must be a whole number from 1 to 5."))
    comment, problem = _comment(form.get("comment") or "")
    if problem is not None:
        errors.append(problem)
    return errors if errors else Answer(ratings, comment)


def _comment(raw: str) -> tuple[str | None, SurveyError | None]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").strip()
    if len(text) > SURVEY_COMMENT_MAX:
        return None, SurveyError("comment", "comment_too_long",
                                 f"Le commentaire dépasse {SURVEY_COMMENT_MAX} caractères ({len(text)}).",
                                 f"The comment is longer than {SURVEY_COMMENT_MAX} characters ({len(text)}).")
    for line in text.split("\n"):
        char = refused_character(line)
        if char is not None:
            shown = describe_character(char)
            return None, SurveyError("comment", "comment_character",
                                     f"Le commentaire contient un caractère refusé ({shown}).",
                                     f"The comment contains a refused character ({shown}).")
    return (text or None), None


def reminder_due(*, now: datetime, remind_at: datetime, reminded_at: datetime | None,
                 answered_at: datetime | None) -> bool:
    """One reminder, once its delay has passed, to a participant who has not answered (the usual practice of a
    survey "à chaud"; the delay is `survey_reminder_hours`)."""
    return answered_at is None and reminded_at is None and now >= remind_at


def remind_at(invited_at: datetime, hours: int) -> datetime:
    return invited_at + timedelta(hours=hours)


@dataclass(frozen=True)
class Response:
    """One invitation as the results read it: `ratings` empty when not answered."""

    key: str  # a session or a training: what the results are grouped by
    ratings: Mapping[str, int]
    comment: str | None


@dataclass(frozen=True)
class Results:
    key: str
    invited: int
    answered: int
    response_rate: Decimal | None  # percent, one decimal; None when nobody was invited
    satisfaction_rate: Decimal | None  # percent of answers rating the day SATISFIED_FROM or more
    averages: dict[str, Decimal | None]  # per question, two decimals; None without an answer
    comments: list[str]


def _percent(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else (Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


def results(responses: Iterable[Response]) -> list[Results]:
    """Per key (in order of first appearance): invited, answered, response and satisfaction rates, each
    question's average, the comments."""
    grouped: dict[str, list[Response]] = {}
    for one in responses:
        grouped.setdefault(one.key, []).append(one)
    out = []
    for key, group in grouped.items():
        answered = [r for r in group if r.ratings]
        averages: dict[str, Decimal | None] = {}
        for question in QUESTIONS:
            marks = [r.ratings[question.key] for r in answered if question.key in r.ratings]
            averages[question.key] = (Decimal(sum(marks)) / len(marks)).quantize(Decimal("0.01"), ROUND_HALF_UP) \
                if marks else None
        satisfied = sum(1 for r in answered if r.ratings.get("overall", 0) >= SATISFIED_FROM)
        out.append(Results(key, len(group), len(answered), _percent(len(answered), len(group)),
                           _percent(satisfied, len(answered)), averages,
                           [r.comment for r in answered if r.comment]))
    return out
