"""`rabbitmqctl` aimed at the node behind TEST_BROKER_URL: TEST_RABBITMQ_NODE names it when it is not the
default one (`scripts/test` runs the tests marked serial on a node of their own, `scripts/serial-broker`)."""

from __future__ import annotations

import os


def rabbitmqctl(*args: str) -> list[str]:
    node = os.environ.get("TEST_RABBITMQ_NODE")
    return ["rabbitmqctl", *(["-n", node] if node else []), *args]
