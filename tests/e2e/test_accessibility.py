"""Every page in Chromium, checked by axe-core (Deque's engine, the one behind the browsers' own audits), on the
WCAG 2.1 A and AA rules: no serious or critical violation. The back office for a user holding every role, so that
every section of every page is drawn, a registration's timeline included; the public online form; the login page.
A page known to be wrong is checked first: the check itself can fail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningConsumers, wait_until
from tests.e2e.test_backoffice_browser import (  # noqa: F401 (fixtures)
    PASSWORD,
    BackOffice,
    backoffice,
    browser,
    join_server,
    state,
    submit,
)
from workflow.bootstrap import Deps
from workflow.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BACK_OFFICE = ("/tableau-de-bord", "/registrations", "/registrations?q=a11y", "/registrations/a11y-1",
               "/signatures", "/invoices", "/payments", "/payments/new", "/bpf", "/feuilles", "/avis", "/sessions",
               "/sessions/held", "/queues", "/interest-claims", "/payments/bank",
               "/donnees-personnelles")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def test_no_page_has_a_serious_accessibility_violation(  # noqa: PLR0917 (fixtures)
        settings: Settings, deps: Deps, consumers: RunningConsumers, backoffice: BackOffice,  # noqa: F811
        join_server: str, browser: Any) -> None:  # noqa: F811
    wrong = browser.new_context().new_page()
    wrong.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    assert {line.split(" ")[0] for line in serious_violations(wrong)} >= {"image-alt", "label", "html-has-lang"}

    backoffice.users.add("ada", PASSWORD, ["support", "finance", "operations", "trainer"])
    submit(settings, "a11y-1")
    wait_until(lambda: state(deps, "a11y-1") == "invoiced", "a11y-1 invoiced")
    anonymous = browser.new_context().new_page()
    found: dict[str, list[str]] = {}
    for page, url in [(anonymous, f"{backoffice.url}/login"), (anonymous, f"{join_server}/inscription")]:
        page.goto(url)
        found[url] = serious_violations(page)
    page = backoffice.login(browser, "ada")
    for path in BACK_OFFICE:
        answer = page.goto(f"{backoffice.url}{path}")
        assert answer is not None, path
        assert answer.status == 200, path
        found[path] = serious_violations(page)
    assert {where: bad for where, bad in found.items() if bad} == {}
