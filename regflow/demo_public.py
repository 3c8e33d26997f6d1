"""The demo's visits to the public process (`regflow join-server`), as a browser would make them: a personal link
opened, a survey answered, a form registered on the online page. Plain HTTP to the real service, its answer
printed."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Callable
from urllib.parse import SplitResult, urlencode, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schemas.form import RegistrationForm
from workflow.domain.access_links import join_link, token_for
from workflow.persistence.orm import ParticipantAccessRow
from workflow.settings import Settings


def _link(settings: Settings, sessions: sessionmaker[Session], email: str) -> SplitResult:
    """The personal link of the latest access of `email`."""
    with sessions() as session:
        access = session.scalars(select(ParticipantAccessRow).where(ParticipantAccessRow.email == email)
                                 .order_by(ParticipantAccessRow.created_at.desc())).first()
    assert access is not None, f"no access for {email}"
    return urlsplit(join_link(settings.join_base_url, token_for(settings.require_secret("link_secret"), access.id)))


def open_link(settings: Settings, sessions: sessionmaker[Session], email: str, when: str) -> None:
    """Open a participant's personal link as their browser would (the join service's answer, not followed)."""
    link = _link(settings, sessions, email)

    def answer(path: str) -> tuple[int, str]:
        """The status, and where it redirects or which page it shows (the page's `<main id>`)."""
        connection = http.client.HTTPConnection(link.netloc, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            page = re.search(r'<main id="(\w+)"', response.read().decode("utf-8", "replace"))
            return response.status, response.getheader("Location") or (page.group(1) if page else "")
        finally:
            connection.close()

    wait_until(lambda: _answers(lambda: answer("/healthz")), "the join service")
    status, shown = answer(link.path)
    said = {"too_early": "the page gives the date, the time in Paris and the .ics", "ended": "the session has ended",
            "transferred": "the seat was transferred: whom to contact", "not_found": "unknown link"}
    print(f"  {when}: {email} opens their link -> {status} " + (f"to the room {shown}" if status == 302
                                                                  else said.get(shown, shown)))


def answer_survey(settings: Settings, sessions: sessionmaker[Session], email: str) -> None:
    """A trainee answers the satisfaction survey behind their personal link, as their browser's form would."""
    link = _link(settings, sessions, email)
    answer = {"overall": "5", "objectives": "4", "content": "5", "speaker": "5", "organisation": "4",
              "comment": "Des exemples concrets de CPOM, très utiles pour notre renouvellement."}
    connection = http.client.HTTPConnection(link.netloc, timeout=10)
    try:
        connection.request("POST", f"{link.path}/avis", urlencode(answer),
                           {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        thanked = "votre réponse est enregistrée" in response.read().decode("utf-8", "replace")
    finally:
        connection.close()
    print(f"  {email} answers the satisfaction survey behind their link -> {response.status} "
          + ("recorded (evaluation.received)" if thanked else "NOT recorded"))


def _answers(ask: Callable[[], object]) -> bool:
    try:
        ask()
    except OSError:
        return False
    return True




def register_online(settings: Settings, form: RegistrationForm) -> str:
    """Fill the online form field by field as a gestionnaire does (one row per participant, added with the page's
    button), send it, and follow the 303 to the tracking page: the registration's id is the page's."""
    site = urlsplit(settings.join_base_url)
    path = f"/inscription/{form.session_id}"

    def post(fields: dict[str, str]) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection(site.netloc, timeout=10)
        try:
            connection.request("POST", path, urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            return response.status, response.getheader("Location") or "", response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    wait_until(lambda: _answers(lambda: post({})), "the online form")
    _, _, page = post({"action": "add"})
    found = re.search(r'name="submission" value="([0-9a-f-]{36})"', page)
    assert found, "the online form carries its own id"
    fields = {"submission": found.group(1), "action": "send", "client.category": str(form.client.category or "")}
    for path_, value in (("client.name", form.client.name), ("client.address.street", form.client.address.street),
                         ("client.address.postal_code", form.client.address.postal_code),
                         ("client.address.city", form.client.address.city), ("client.siret", form.client.siret),
                         ("gestionnaire.email", form.gestionnaire.email),
                         ("gestionnaire.first_name", form.gestionnaire.first_name),
                         ("gestionnaire.last_name", form.gestionnaire.last_name),
                         ("gestionnaire.service", form.gestionnaire.service),
                         ("gestionnaire.phone", form.gestionnaire.phone)):
        fields[path_] = value or ""
    for i, participant in enumerate(form.participants):
        for name in ("civilite", "first_name", "last_name", "email"):
            fields[f"participants[{i}].{name}"] = getattr(participant, name) or ""
    status, location, _ = post(fields)
    if status != 303 or not location.startswith("/suivi/"):
        raise RuntimeError(f"the online form answered {status}, not the tracking page")
    registration_id = location.split("/")[2]
    print(f"  {form.client.name} registers online at {site.scheme}://{site.netloc}{path} -> {status}, "
          f"its tracking page {location[:30]}… (reference {registration_id})")
    return registration_id


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)

