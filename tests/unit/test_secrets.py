"""A process that makes personal links, or signs the page's cookies, refuses a default, empty or short secret
outside development: with the default, anyone holding a copy of the database mints valid links."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from workflow.settings import DEVELOPMENT_LINK_SECRET, InsecureSecretError, Settings


@pytest.mark.parametrize("secret", [DEVELOPMENT_LINK_SECRET, "", "short-secret"])
def test_a_weak_link_secret_is_refused_in_production(secret: str) -> None:
    settings = Settings(link_secret=SecretStr(secret), development=False)
    with pytest.raises(InsecureSecretError, match="REGFLOW_LINK_SECRET"):
        settings.require_secret("link_secret")


def test_a_missing_page_secret_is_refused_in_production() -> None:
    with pytest.raises(InsecureSecretError, match="REGFLOW_WEB_SECRET is unset or empty"):
        Settings(web_secret=None, development=False).require_secret("web_secret")


def test_a_random_secret_is_accepted_and_development_accepts_the_default() -> None:
    strong = "k3y-" + "x" * 40
    assert Settings(link_secret=SecretStr(strong), development=False).require_secret("link_secret") == strong
    assert Settings(development=True).require_secret("link_secret") == DEVELOPMENT_LINK_SECRET


def test_the_notifications_consumer_does_not_start_on_the_default_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_")}
    env.update({"REGFLOW_DEVELOPMENT": "0", "REGFLOW_DATABASE_URL": "sqlite:///:memory:",
                "REGFLOW_BROKER_URL": "amqp://127.0.0.1:1/%2F"})  # never reached: the secret is checked first
    started = subprocess.run([sys.executable, "-m", "regflow.cli", "consume", "notifications"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode != 0
    assert "REGFLOW_LINK_SECRET" in started.stderr
    assert "secrets.token_urlsafe(32)" in started.stderr
