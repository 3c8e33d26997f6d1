"""Hypothesis settings profiles of the unit tests.

- `default` (a developer's run): random examples, the example database in `.hypothesis/` replays a failure
  first on the next run;
- `ci`, loaded when the CI environment variable is set (`.ci/run` runs with CI=true): derandomised, so that
  every CI run tries the same examples and a red build is never luck; no example database; a failure prints
  the `@reproduce_failure` blob that replays it;
- `thorough`, for a hunt (`HYPOTHESIS_PROFILE=thorough`): ten times the examples.

Each test's budget is a multiple of the profile's `max_examples` (`tests.unit.strategies.examples`), so a
profile scales them all. No deadline: an invoice PDF takes tens of milliseconds, a form of 200 participants much more.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = settings(deadline=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("default", _COMMON, max_examples=100)
settings.register_profile("ci", _COMMON, max_examples=60, derandomize=True, database=None)  # CI: 15 minutes in all
settings.register_profile("thorough", _COMMON, max_examples=1000)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "default"))
