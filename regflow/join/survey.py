"""`/j/<token>/avis`: the satisfaction survey "à chaud" behind a participant's personal link (Qualiopi indicator
30). `GET` shows the form, `POST` checks it (`workflow.domain.survey.check_answer`: each message next to its field,
422) and records the answer once, with `evaluation.received` in the same transaction (the outbox). A survey exists
only for a seat invited after service fait; answered, it says so and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from flask import render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from regflow.join.seance import session_view
from schemas.messages import EvaluationReceived
from workflow.domain.access_links import ACTIVE
from workflow.domain.joining import JoinOutcome
from workflow.domain.survey import QUESTIONS, SCALE, Answer, SurveyError, check_answer
from workflow.persistence.orm import ParticipantAccessRow, SurveyRow
from workflow.persistence.repositories.catalogue import SqlCatalogue
from workflow.persistence.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from regflow.join import Links

log = structlog.get_logger("join")
ACTOR = "join"


@dataclass(frozen=True)
class SurveyPages:
    links: Links

    def page(self, token: str) -> ResponseReturnValue:
        with UnitOfWork(self.links.sessions, self.links.clock, actor=ACTOR) as uow:
            found = self._survey(uow.session, token, lock=request.method == "POST")
            if found is None:
                return self.links.page(JoinOutcome.NOT_FOUND, 404)
            access, survey = found
            shown = self._session(uow.session, access)
            if survey.answered_at is not None:
                return self._render("answered", 200, shown, token)
            if request.method == "GET":
                return self._render("form", 200, shown, token)
            checked = check_answer(request.form)
            if isinstance(checked, list):
                log.info("survey refused", session_id=access.session_id, fields=[e.field for e in checked])
                return self._render("form", 422, shown, token, errors=checked)
            self._record(uow, survey, checked)
            uow.commit()
        log.info("survey answered", session_id=access.session_id)
        return self._render("thanks", 200, shown, token)

    def _survey(self, session: Session, token: str, *, lock: bool) -> tuple[ParticipantAccessRow, SurveyRow] | None:
        """The seat of an active link and its survey; None when the link is unknown, revoked, or not invited.
        Locked to answer: a second tab sending at the same time waits, then finds it answered."""
        access = self.links.lookup(session, token)
        if access is None or access.status != ACTIVE:
            return None
        query = select(SurveyRow).where(SurveyRow.session_id == access.session_id, SurveyRow.access_id == access.id)
        survey = session.scalars(query.with_for_update() if lock else query).one_or_none()
        return None if survey is None else (access, survey)

    def _session(self, session: Session, access: ParticipantAccessRow) -> dict[str, object] | None:
        catalogue = SqlCatalogue(session).current(self.links.schedule)
        found = catalogue.session(access.session_id)
        return session_view(catalogue, *found) if found else None

    def _record(self, uow: UnitOfWork, survey: SurveyRow, answer: Answer) -> None:
        survey.answered_at = uow.clock.now()
        for key, rating in answer.ratings.items():
            setattr(survey, key, rating)
        survey.comment = answer.comment
        uow.publish("evaluation.received", EvaluationReceived(
            session_id=survey.session_id, training_id=survey.training_id, participant_id=survey.access_id,
            commented=answer.comment is not None, **answer.ratings), survey.registration_id)

    def _render(self, step: str, status: int, session: dict[str, object] | None, token: str, *,
                errors: list[SurveyError] | None = None) -> ResponseReturnValue:
        by_field = {e.field: e for e in errors or []}
        return render_template("avis.html", outcome=f"survey_{step}", step=step, session=session, token=token,
                               questions=QUESTIONS, scale=SCALE, errors=by_field, sent=request.form,
                               contact=self.links.contact), status
