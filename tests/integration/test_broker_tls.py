"""amqps: the processes speak TLS to the broker, check its certificate, and refuse one they cannot trust.

The broker here listens in plain AMQP; a TLS-terminating proxy (a throw-away CA's certificate for
`localhost`) stands in front of it, as a load balancer would in production.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pika
import pytest
import trustme

from schemas.messages import Envelope
from tests.faults.proxy import TcpProxy
from workflow.messaging.broker import Publisher, connect, connection_parameters
from workflow.messaging.topology import Topology
from workflow.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_broker(broker_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(an amqps URL without its CA, the CA file) for a TLS endpoint in front of the real broker."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    plain = urlsplit(broker_url)
    with TcpProxy(plain.hostname or "127.0.0.1", plain.port or 5672, server_tls=server_context) as proxy:
        yield f"amqps://{plain.username}:{plain.password}@localhost:{proxy.port}{plain.path}", ca_file


def test_messages_go_through_amqps_with_the_broker_certificate_checked(
        tls_broker: tuple[str, Path], settings: Settings) -> None:
    url, ca_file = tls_broker
    topology = Topology(settings.namespace)
    envelope = Envelope.model_validate({
        "type": "cmd.session.hold", "occurred_at": "2023-09-15T16:00:00Z", "correlation_id":
            "6f1c1d2e-0000-4000-8000-000000000001", "producer": "test",
        "payload": {"session_id": "cpom-handicap-2023-09-15", "held_on": "2023-09-15", "reason": "TLS test"}})
    with Publisher(f"{url}?cafile={ca_file}", topology) as publisher:  # declares, publishes, broker confirms
        publisher.publish(envelope, mandatory=True)
        method, _, body = publisher.channel.basic_get(topology.work_queue("payments"), auto_ack=True)
    assert method is not None
    assert Envelope.model_validate_json(body).event_id == envelope.event_id


def test_a_broker_certificate_that_no_trusted_ca_signed_is_refused(tls_broker: tuple[str, Path]) -> None:
    url, _ = tls_broker
    with pytest.raises(ssl.SSLCertVerificationError, match="CERTIFICATE_VERIFY_FAILED"):
        connect(url)  # the system CAs do not know the throw-away CA


def test_tls_files_on_a_plain_url_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="use amqps://"):
        connection_parameters("amqp://guest:guest@127.0.0.1:5672/%2F?cafile=/etc/ca.pem")


def test_the_url_heartbeat_wins_over_the_default() -> None:
    assert connection_parameters("amqp://g:g@h/%2F?heartbeat=5").heartbeat == 5
    assert connection_parameters("amqp://g:g@h/%2F").heartbeat == 30
    assert connection_parameters("amqps://g:g@h:5671/%2F").ssl_options is not None
    assert isinstance(connection_parameters("amqps://g:g@h:5671/%2F").ssl_options, pika.SSLOptions)
