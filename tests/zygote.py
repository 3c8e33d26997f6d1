"""A fork server for the processes the tests start: `python -m regflow.cli ARGS`, minus the seconds of imports.

Each consumer, the relay or a CLI command started with `python -m regflow.cli` spends 1.3 to 2 s of CPU importing
SQLAlchemy, pydantic, reportlab and the project before it does anything; the suite starts hundreds of them on a
2-core machine. The zygote is one process per pytest worker that imports all that once, then forks a child for
each command asked of it. The child is a separate OS process as before (its own pid, memory, environment, working
directory, stdin/stdout/stderr, signals, exit code): it sets the environment it was given, then runs
`regflow.cli.main(ARGS)` exactly as `python -m regflow.cli ARGS` would. Nothing the project reads at import time
depends on the environment (its settings are read when a command runs), which is what makes this equivalent.

The tests see a `Popen`-like handle (`ForkedProcess`): pid, poll, wait, send_signal, terminate, kill, returncode;
the zygote reaps its children and sends each exit code (negative: the signal) on the request's own socket.
`REGFLOW_TEST_FORKSERVER=0` falls back to plain `subprocess` (every process from scratch).
Tests that are about how a process starts (the demo, `regflow web`, `regflow join-server`, the fault suite's
supervisor) still start `python -m regflow.cli` themselves.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import IO, Any

PRELOAD = (  # what `regflow consume <name>`, `regflow relay` and the operations commands import
    "regflow.cli", "consumers.runner", "consumers.validation", "consumers.invoicing", "consumers.notifications",
    "consumers.payments", "workflow.bootstrap", "workflow.messaging.relay", "workflow.messaging.broker",
    "workflow.ops.health", "workflow.ops.metrics", "workflow.persistence.views", "workflow.persistence.db",
    "regflow.web", "regflow.join", "waitress",
)
ENABLED = os.environ.get("REGFLOW_TEST_FORKSERVER", "1") != "0"


# --- the zygote's side --------------------------------------------------------------------------------------

def serve(path: str) -> None:
    """Import once, then fork a child per request until the pytest worker (our stdin) goes away."""
    for module in PRELOAD:
        importlib.import_module(module)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)
    print("ready", flush=True)
    waiting: dict[int, socket.socket] = {}  # pid -> the socket its exit code goes to
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [], 0.02)
        if sys.stdin in readable and not sys.stdin.buffer.read1(1):
            return  # the worker ended: the children it still has are its to stop
        if listener in readable:
            _fork(listener, waiting)
        _reap(waiting)


def _fork(listener: socket.socket, waiting: dict[int, socket.socket]) -> None:
    connection, _ = listener.accept()
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        listener.close()
        for other in waiting.values():
            other.close()
        connection.close()
        _run_child(request, fds)  # never returns
    for fd in fds:
        os.close(fd)
    connection.send(str(pid).encode())
    waiting[pid] = connection


def _reap(waiting: dict[int, socket.socket]) -> None:
    while waiting:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = waiting.pop(pid, None)
        if connection is not None:
            with contextlib.suppress(OSError):  # the test stopped listening: nobody to tell
                connection.send(str(os.waitstatus_to_exitcode(status)).encode())
            connection.close()


def _run_child(request: dict[str, Any], fds: list[int]) -> None:
    """In the child: become `python -m regflow.cli ARGS` with the request's environment, files and directory."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [sys.executable, *request["args"]]
        from regflow.cli import main

        code = main(request["args"])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# --- the tests' side ----------------------------------------------------------------------------------------

class ForkedProcess:
    """A child of the zygote, handled as `subprocess.Popen` handles its own."""

    def __init__(self, args: list[str], connection: socket.socket) -> None:
        self.args = args
        self._connection = connection
        self.pid = int(connection.recv(64))
        self.returncode: int | None = None

    def _collect(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        readable, _, _ = select.select([self._connection], [], [], timeout)
        if not readable:
            return
        answer = self._connection.recv(64)
        self._connection.close()
        if not answer:
            raise RuntimeError(f"the zygote went away before {self.args} ended")
        self.returncode = int(answer)

    def poll(self) -> int | None:
        self._collect(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._collect(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Zygote:
    _lock = threading.Lock()
    _process: subprocess.Popen[bytes] | None = None
    _path = ""

    @classmethod
    def path(cls) -> str:
        with cls._lock:
            if cls._process is None or cls._process.poll() is not None:
                cls._path = str(Path(tempfile.mkdtemp(prefix="regflow-zygote-")) / "socket")
                cls._process = subprocess.Popen([sys.executable, "-m", "tests.zygote", cls._path],
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                assert cls._process.stdout is not None
                ready = cls._process.stdout.readline()
                if ready.strip() != b"ready":
                    raise RuntimeError(f"the test zygote did not start: {ready!r}")
                atexit.register(cls._process.kill)
            return cls._path


def launch(args: list[str], env: dict[str, str], *, stdin: int | IO[Any] | None = None,
           stdout: int | IO[Any] | None = None, stderr: int | IO[Any] | None = None) -> ForkedProcess:
    """`python -m regflow.cli ARGS` forked from the zygote; the files are descriptors or open files (None:
    the test process's own)."""
    fds = [_fd(stdin, 0), _fd(stdout, 1), _fd(stderr, 2)]
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.connect(_Zygote.path())
    request = {"args": args, "env": env, "cwd": os.getcwd()}
    socket.send_fds(connection, [json.dumps(request).encode()], fds)
    return ForkedProcess(args, connection)


def _fd(file: int | IO[Any] | None, default: int) -> int:
    if file is None:
        return default
    return file if isinstance(file, int) else file.fileno()


def regflow_process(args: list[str], env: dict[str, str], *, stdout: IO[Any] | None = None,
                    stderr: IO[Any] | None = None) -> Any:
    """A long-running command (a consumer, the relay, a server): forked when the zygote is on, else `python -m`."""
    if ENABLED:
        with open(os.devnull, "rb") as nothing:
            return launch(args, env, stdin=nothing, stdout=stdout, stderr=stderr)
    return subprocess.Popen([sys.executable, "-m", "regflow.cli", *args], env=env, stdout=stdout, stderr=stderr)


def start_process(name: str, env: dict[str, str], log_dir: Path | None = None) -> Any:
    """`regflow.processes.start_process`, forked (its stderr appended to `log_dir/<name>.log` when given)."""
    from regflow.processes import command_args
    from regflow.processes import start_process as spawned

    if not ENABLED:
        return spawned(name, env, log_dir)
    if log_dir is None:
        return regflow_process(command_args(name, env), env)
    with (log_dir / f"{name}.log").open("ab") as log:
        return regflow_process(command_args(name, env), env, stderr=log)


def start_processes(env: dict[str, str], log_dir: Path | None = None) -> dict[str, Any]:
    from regflow.processes import start_processes as each

    return each(env, log_dir, start=start_process)


def run_regflow(args: list[str], env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, -m, regflow.cli, ARGS], capture_output=True, text=True)`, forked."""
    if not ENABLED:
        return subprocess.run([sys.executable, "-m", "regflow.cli", *args], env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, open(os.devnull, "rb") as nothing:
        process = launch(args, env, stdin=nothing, stdout=out, stderr=err)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess([sys.executable, "-m", "regflow.cli", *args], code,
                                           _text(out.read()), _text(err.read()))


def _text(data: bytes) -> str:
    """As `text=True` reads a pipe: UTF-8, universal newlines."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    serve(sys.argv[1])
