"""docker-compose.yml and deploy/ are right by construction: no Docker engine runs here, so the files are parsed
and checked against the code they run: the CLI's parser, the settings, the broker users the set-up command
writes, the health server, the metrics."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import click
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from regflow.cli import cli, main
from regflow.cli.operations import broker_users, consume, join_server, relay, web
from workflow.adapters.clocks import SystemClock
from workflow.messaging.broker_users import ROLES, password_hash, user_name
from workflow.messaging.topology import CONSUMERS, Topology
from workflow.ops.health import HealthServer, ProcessHealth
from workflow.persistence.orm import Base
from workflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PREFIX = "REGFLOW_"
PROCESSES = (*CONSUMERS, "relay")  # what serves /metrics and /healthz on REGFLOW_HTTP_PORT


# --- reading the compose file as docker compose does ------------------------------------------------------------

class MissingVariableError(ValueError):
    """`${VAR:?message}` with VAR unset: docker compose refuses the whole file."""


_DOLLAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<colon>:?)(?P<op>[-?+])(?P<arg>.*))?", re.DOTALL)


def _substitute(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
    `${VAR?error}`, `${VAR:+other}`; any other `$` is an error (compose: "invalid interpolation format")."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        braced = _BRACED.fullmatch(match["braced"] or "")
        if braced is None:
            raise ValueError(f"invalid interpolation format in {text!r}")
        value = env.get(braced["name"])
        unset = value is None or (braced["colon"] == ":" and value == "")
        if braced["op"] == "-":
            return braced["arg"] if unset else str(value)
        if braced["op"] == "?":
            if unset:
                raise MissingVariableError(f"{braced['name']}: {braced['arg']}")
            return str(value)
        if braced["op"] == "+":
            return "" if unset else braced["arg"]
        return value or ""

    return _DOLLAR.sub(replace, text)


def interpolate(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _substitute(node, env)
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as written (merge keys resolved, `${...}` not yet substituted)."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    interpolate(loaded, {})  # every `$` is well formed (and no variable is required for `make up`)
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


@dataclass(frozen=True)
class Parsed:
    """A command line as the CLI reads it: the click command it runs, and its parameters by name."""

    command: click.Command
    params: dict[str, Any]


def _parse(argv: list[str]) -> Parsed:
    """`regflow ARGV...` parsed as `main` parses it (raises click's usage error when it refuses it)."""
    root = click.Context(cli, info_name="regflow")
    name, command, rest = cli.resolve_command(root, list(argv))
    assert name is not None
    assert command is not None
    return Parsed(command, command.make_context(name, rest, parent=root).params)


def _cli_args(service: dict[str, Any]) -> Parsed:
    command = service["command"]
    assert command[0] == "regflow", f"{command} does not run the regflow CLI"
    try:
        return _parse(command[1:])
    except click.ClickException:
        pytest.fail(f"the CLI refuses {command}")


def _built_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services running this repository's image."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


def _settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process started with `env` (and nothing else of ours) reads."""
    for key in list(os.environ):
        if key.startswith(PREFIX):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def _named_mounts(compose: dict[str, Any], service: dict[str, Any]) -> dict[PurePosixPath, tuple[str, bool]]:
    """Container path -> (named volume, read-only) for the service's named-volume mounts."""
    mounts: dict[PurePosixPath, tuple[str, bool]] = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            read_only = mode == ["ro"]
        else:
            source, target, read_only = volume.get("source", ""), volume["target"], bool(volume.get("read_only"))
        if source in (compose.get("volumes") or {}):
            mounts[PurePosixPath(target)] = (source, read_only)
    return mounts


# --- the processes: their commands and health ---------------------------------------------------------------

def test_every_consumer_and_the_relay_is_a_service_running_its_cli_command(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in PROCESSES:
        assert name in services, f"docker-compose.yml has no {name} service"
        args = _cli_args(services[name])
        if name == "relay":
            assert args.command is relay
        else:
            assert args.command is consume
            assert args.params["name"] == name
    for name, service in _built_services(compose).items():
        _cli_args(service)  # every service of the image runs a command the CLI accepts
        assert service["build"] == ".", name


def test_each_process_serves_health_and_metrics_on_its_port_for_prometheus(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROCESSES:
        service = compose["services"][name]
        settings = _settings(interpolate(_environment(service), {}), monkeypatch)
        assert settings.http_port > 0, f"{name}: REGFLOW_HTTP_PORT unset, no /metrics nor /healthz"
        assert settings.http_host not in ("127.0.0.1", "localhost", "::1"), f"{name}: Prometheus could not reach it"
        test = service["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python"], f"{name}: python is what the image has (no curl)"
        assert "/healthz" in test[-1], f"{name}: the container's health is liveness"


def _probe(test: list[str], port: int) -> int:
    """Run a `CMD python ...` healthcheck as the container would, with REGFLOW_HTTP_PORT=port."""
    command = [sys.executable, *test[2:]]
    return subprocess.run(command, env={**os.environ, "REGFLOW_HTTP_PORT": str(port)}, capture_output=True,
                          timeout=30, check=False).returncode


def test_the_processes_healthcheck_passes_on_a_live_loop_and_fails_on_a_stuck_one(compose: dict[str, Any]) -> None:
    """Run against the real health server (workflow/ops/health.py), on whatever port REGFLOW_HTTP_PORT names."""
    checks = {tuple(compose["services"][name]["healthcheck"]["test"]) for name in PROCESSES}
    health = ProcessHealth()
    server = HealthServer(("127.0.0.1", 0), sessionmaker(create_engine("sqlite://")), 60, health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        for test in checks:
            health.tick()
            server.liveness_seconds = 60
            assert _probe(list(test), port) == 0, f"{test} fails on a live process"
            server.liveness_seconds = 0.001  # the loop has not ticked for longer than that: /healthz answers 503
            time.sleep(0.01)
            assert _probe(list(test), port) != 0, f"{test} passes on a stuck process"
    finally:
        server.shutdown()
        server.server_close()


def test_one_shot_services_do_not_restart_and_dependencies_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on an unknown {dependency}"
            if rule["condition"] == "service_completed_successfully":
                # restarted after it succeeds, it would never be "completed"
                assert services[dependency].get("restart", "no") == "no", f"{dependency} is a one-shot"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}, which has no check"


# --- configuration ---------------------------------------------------------------------------------------------

def test_every_regflow_variable_in_the_compose_file_is_a_setting_with_a_valid_value(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.model_config.get("env_prefix") == PREFIX
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    used = 0
    for name, service in compose["services"].items():
        env = _environment(service)
        ours = {key for key in env if key.upper().startswith(PREFIX)}
        assert sorted(ours - known) == [], f"{name}: not settings (pydantic would ignore them silently)"
        if ours:
            _settings(interpolate(env, {}), monkeypatch)  # raises on a value the setting refuses
            used += len(ours)
    assert used, "no REGFLOW_* variable found: the test reads the wrong file"


# --- broker users ----------------------------------------------------------------------------------------------

@pytest.fixture
def broker_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], dict[str, Any]]:
    """What `regflow broker-users definitions` writes: the .env docker compose reads, and the definitions."""
    _settings({}, monkeypatch)
    assert main(["broker-users", "definitions", "--output", str(tmp_path / "definitions.json"),
                 "--env-file", str(tmp_path / ".env"), "--passwords-file", str(tmp_path / "passwords.json")]) == 0
    lines = (tmp_path / ".env").read_text(encoding="utf-8").splitlines()
    dotenv = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return dotenv, json.loads((tmp_path / "definitions.json").read_text(encoding="utf-8"))


def test_running_definitions_again_keeps_the_rest_of_the_env_file_and_the_passwords(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A REGFLOW_WEB_SECRET or a comment kept in .env survives a second run; the passwords do not change."""
    _settings({}, monkeypatch)
    env_file = tmp_path / ".env"
    env_file.write_text("# kept\nREGFLOW_WEB_SECRET=s3cret\nREGFLOW_BROKER_PASSWORD_WEB=stale\n", encoding="utf-8")
    argv = ["broker-users", "definitions", "--output", str(tmp_path / "definitions.json"), "--env-file",
            str(env_file), "--passwords-file", str(tmp_path / "passwords.json")]
    contents = []
    for _ in range(2):
        assert main(argv) == 0
        contents.append(env_file.read_text(encoding="utf-8"))
    assert contents[0] == contents[1]
    lines = contents[1].splitlines()
    assert lines[:2] == ["# kept", "REGFLOW_WEB_SECRET=s3cret"]
    passwords = json.loads((tmp_path / "passwords.json").read_text(encoding="utf-8"))
    assert f"REGFLOW_BROKER_PASSWORD_WEB={passwords['web']}" in lines
    assert "REGFLOW_BROKER_PASSWORD_WEB=stale" not in lines
    assert oct(env_file.stat().st_mode)[-3:] == "600"


def _role_of(service: dict[str, Any]) -> str:
    args = _cli_args(service)
    if args.command is consume:
        return str(args.params["name"])
    if args.command is relay:
        return "relay"
    if args.command is web:
        return "web"  # its own role: publishes commands, reads the queues for Queue health
    if args.command is join_server:
        return "public"  # the online form's, the webhook's and the tracking page's commands
    raise AssertionError(f"which broker role should {service['command']} log in as?")


def test_each_process_logs_in_as_its_roles_user_with_the_password_the_setup_command_wrote(
        compose: dict[str, Any], broker_setup: tuple[dict[str, str], dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv, definitions = broker_setup
    users = {user["name"]: user for user in definitions["users"]}
    grants = {grant["user"]: grant for grant in definitions["permissions"]}
    vhost = _parse(["broker-users", "definitions"]).params["vhost"]
    interpolated = interpolate(compose["services"], dotenv)
    roles: dict[str, str] = {}
    for name, service in _built_services(compose).items():
        raw_url = _environment(service).get(f"{PREFIX}BROKER_URL")
        if raw_url is None:
            continue
        raw_password = urlsplit(raw_url).password or ""
        assert re.fullmatch(r"\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}", raw_password), f"{name}: a literal password"
        with contextlib.suppress(MissingVariableError):  # `${VAR:?...}`: no password without .env either
            assert _substitute(raw_password, {}) == "", f"{name}: a default password in the compose file"
        role = roles[name] = _role_of(service)
        assert role in ROLES
        env = _environment(interpolated[name])
        settings = _settings(env, monkeypatch)
        url = urlsplit(settings.broker_url)
        user = user_name(Topology(settings.namespace), role)
        assert unquote(url.username or "") == user, f"{name} should log in as {user}"
        stored = users[user]["password_hash"]
        password = unquote(url.password or "")
        assert password, f"{name}: no password after reading .env"
        assert password_hash(password, base64.b64decode(stored)[:4]) == stored, f"{name}: RabbitMQ would refuse it"
        assert url.hostname == "rabbitmq"
        assert url.port == 5672
        assert unquote(url.path.removeprefix("/")) == vhost == grants[user]["vhost"]
        assert settings.broker_declare == "own", f"{name} would declare what its user may not"
        assert service["depends_on"]["broker-users"] == {"condition": "service_completed_successfully"}, \
            f"{name} may start before its user exists"
    assert {name: roles.get(name) for name in PROCESSES} == {name: name for name in PROCESSES}
    assert roles.get("web") == "web"


def test_the_broker_users_service_imports_what_the_setup_command_writes(compose: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    services = compose["services"]
    setup = services["broker-definitions"]
    args = _cli_args(setup)
    assert args.command is broker_users
    assert args.params["action"] == "definitions"
    assert args.params["env_file"] == ".env", "docker compose reads .env of the project folder, nowhere else"
    assert ".:" + setup["working_dir"] in setup["volumes"], "it must write into the project folder"
    assert setup.get("profiles"), "a set-up step, not started by `docker compose up`"

    importer = services["broker-users"]
    [mount] = importer["volumes"]
    assert mount["type"] == "bind"
    assert Path(mount["source"]) == Path(args.params["output"]), "it must import the file the set-up command writes"
    assert mount["bind"]["create_host_path"] is False, "a missing file must stop `up`, not become a folder"
    assert importer["depends_on"]["rabbitmq"]["condition"] == "service_healthy"

    # Its script, as compose hands it to bash, against a stand-in rabbitmqadmin refusing the first call
    # (the management API not listening yet): it retries, imports the mounted file, as the broker's admin.
    env = {"RABBITMQ_DEFAULT_USER": "boss", "RABBITMQ_DEFAULT_PASS": "s3cret"}
    broker_env = _environment(interpolate(services["rabbitmq"], env))
    fake = tmp_path / "bin" / "rabbitmqadmin"
    fake.parent.mkdir()
    calls = tmp_path / "calls"
    fake.write_text('#!/bin/sh\necho "$@" >> "$CALLS"\n[ -e "$CALLS.ok" ] && exit 0\ntouch "$CALLS.ok"\nexit 1\n',
                    encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    command = interpolate(importer["command"], env)
    done = subprocess.run(command, env={**os.environ, **_environment(interpolate(importer, env)), "CALLS": str(calls),
                                        "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    attempts = calls.read_text(encoding="utf-8").splitlines()
    assert len(attempts) == 2, "it gives up at the first refusal"
    expected = (f"--host rabbitmq --port 15672 --username {broker_env['RABBITMQ_DEFAULT_USER']} "
                f"--password {broker_env['RABBITMQ_DEFAULT_PASS']} import {mount['target']}")
    assert attempts == [expected, expected]
    assert "15672:15672" in services["rabbitmq"]["ports"]


# --- volumes ---------------------------------------------------------------------------------------------------

def test_files_go_to_volumes_the_image_lets_its_user_write_and_pdfs_are_shared_with_notifications(
        compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    workdir = PurePosixPath(re.findall(r"^WORKDIR\s+(\S+)", dockerfile, re.MULTILINE)[-1])
    [created] = re.findall(r"mkdir -p ([^&\n\\]+)", dockerfile)
    writable = {workdir / folder for folder in created.split()}
    assert re.search(r"chown -R regflow:regflow var\b", dockerfile)
    assert re.search(r"^USER regflow$", dockerfile, re.MULTILINE)
    services = compose["services"]
    for name, service in _built_services(compose).items():
        for target, (volume, _) in _named_mounts(compose, service).items():
            assert target in writable, f"{name}: {volume} mounted on {target}, a folder the image does not own"

    invoicing, notifications = (_environment(services[n]) for n in ("invoicing", "notifications"))
    documents = PurePosixPath(invoicing[f"{PREFIX}DOCUMENTS_DIR"])
    assert documents.is_absolute(), "the path stored with each invoice must mean the same in every container"
    assert PurePosixPath(notifications[f"{PREFIX}DOCUMENTS_DIR"]) == documents
    written = _named_mounts(compose, services["invoicing"])
    read = _named_mounts(compose, services["notifications"])
    assert written[documents][0] == read[documents][0], "notifications attaches the PDFs invoicing wrote"
    assert not written[documents][1]
    assert PurePosixPath(invoicing[f"{PREFIX}CHORUS_DROP_DIR"]) in written


def test_the_back_office_page_serves_its_login_with_its_users_on_a_volume(
        compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    service = compose["services"]["web"]
    args = _cli_args(service)
    assert args.command is web
    assert args.params["host"] == "0.0.0.0", "bound to the container's loopback, the published port would lead nowhere"
    assert any(str(port).rsplit(":", 1)[-1] == str(args.params["port"]) for port in service["ports"])
    assert f"http://127.0.0.1:{args.params['port']}/login" in service["healthcheck"]["test"][-1]
    env = _environment(service)
    users_file = PurePosixPath(env[f"{PREFIX}WEB_USERS_FILE"])
    assert users_file.parent in _named_mounts(compose, service), "users would vanish with the container"
    assert env[f"{PREFIX}WEB_SECRET"].startswith("${"), "the cookie key comes from the environment"

    from regflow.web import create_app  # the page the healthcheck asks for answers 200 without a login

    settings = _settings({f"{PREFIX}DATABASE_URL": "sqlite://", f"{PREFIX}WEB_SECRET": "s" * 40}, monkeypatch)
    assert create_app(settings).test_client().get("/login").status_code == 200


# --- Prometheus --------------------------------------------------------------------------------------------------

def _port(compose: dict[str, Any], name: str) -> int:
    return int(interpolate(_environment(compose["services"][name]), {})[f"{PREFIX}HTTP_PORT"])


def _prometheus_files(compose: dict[str, Any]) -> dict[str, Path]:
    """Container path -> the file of this repository mounted there."""
    prometheus = compose["services"]["prometheus"]
    mounted = {}
    for volume in prometheus["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounted[target] = ROOT / source
    return mounted


def test_prometheus_scrapes_exactly_the_processes_at_their_ports(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert re.fullmatch(r"prom/prometheus:v3\.\d+\.\d+", prometheus["image"]), "a pinned version"
    assert any(str(port).endswith("9090:9090") for port in prometheus["ports"])
    files = _prometheus_files(compose)
    config = yaml.safe_load(files["/etc/prometheus/prometheus.yml"].read_text(encoding="utf-8"))
    assert files["/etc/prometheus/prometheus.yml"] == DEPLOY / "prometheus.yml"
    assert config["global"]["scrape_interval"] == "15s"
    jobs = {job["job_name"]: sorted(t for group in job["static_configs"] for t in group["targets"])
            for job in config["scrape_configs"]}
    assert jobs == {**{name: [f"{name}:{_port(compose, name)}"] for name in PROCESSES}, "join": ["join:8081"]}
    assert "8081" in compose["services"]["join"]["command"]
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
    for rules in config["rule_files"]:
        assert rules in files, f"{rules} is not mounted into the Prometheus container"


def _exported_series() -> dict[str, set[str]]:
    """Every series name the processes expose (prometheus_client's suffixes included) -> its labels."""
    from workflow.ops import metrics

    families: list[tuple[str, str, set[str]]] = []
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            families += [(family.name, family.type, set(value._labelnames)) for family in value.describe()]
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    collector = metrics.OutboxBacklogCollector(sessionmaker(engine), SystemClock())
    families += [(family.name, family.type, set()) for family in collector.collect()]
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created"), "summary": ("", "_count", "_sum", "_created")}
    series: dict[str, set[str]] = {}
    for name, kind, labels in families:
        for suffix in suffixes[kind]:
            series[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def _rules(compose: dict[str, Any]) -> Iterator[dict[str, Any]]:
    path = _prometheus_files(compose)["/etc/prometheus/alerts.yml"]
    assert path == DEPLOY / "prometheus-alerts.yml"
    for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
        yield from group["rules"]


def test_alert_rules_use_only_metrics_and_labels_the_code_exports(compose: dict[str, Any]) -> None:
    series = _exported_series()
    assert {"regflow_messages_parked_total", "regflow_outbox_backlog"} <= set(series)  # the helper sees them
    target_labels = {"job", "instance"}
    rules = list(_rules(compose))
    assert rules
    for rule in rules:
        expr = re.sub(r'"[^"]*"', '""', rule["expr"])  # label values are not names
        used = set(re.findall(r"\bregflow_[A-Za-z0-9_]+", expr))
        assert used <= set(series), f"{rule['alert']}: {sorted(used - set(series))} are not exported"
        assert used or re.search(r"\bup\{", expr), f"{rule['alert']} names no metric of ours"
        labels = set().union(target_labels, *(series[name] for name in used))
        for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            grouped = {label.strip() for label in grouping.split(",") if label.strip()}
            assert grouped <= labels, f"{rule['alert']}: no label {sorted(grouped - labels)}"
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_an_alert_fires_when_any_scraped_process_is_down(compose: dict[str, Any]) -> None:
    files = _prometheus_files(compose)
    config = yaml.safe_load(files["/etc/prometheus/prometheus.yml"].read_text(encoding="utf-8"))
    scraped = {job["job_name"] for job in config["scrape_configs"]}
    watched: set[str] = set()
    for rule in _rules(compose):
        for matcher in re.findall(r'\bup\{job=~"([^"]*)"\}\s*==\s*0', rule["expr"]):
            watched |= set(matcher.split("|"))
    assert watched == scraped
