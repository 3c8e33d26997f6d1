"""A TCP proxy that the tests put between the processes and a real server, to break the network on cue.

`cut()` drops every open connection (a switch reboot, a NAT timeout); `refuse(seconds)` also turns new
connections away for a while (a database that refuses connections). With `server_tls` it terminates
TLS in front of a plain server: the tests' stand-in for a broker that speaks amqps.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from types import TracebackType
from typing import Self


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, server_tls: ssl.SSLContext | None = None) -> None:
        self.target = (target_host, target_port)
        self.server_tls = server_tls
        self.port = 0
        self.connections_accepted = 0
        self.connections_cut = 0
        self._refusing_until = 0.0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> Self:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.server_tls), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self) -> int:
        """Close every open connection, both ways; returns how many."""
        return asyncio.run_coroutine_threadsafe(self._cut_all(), self._loop).result(10)

    def refuse(self, seconds: float) -> None:
        """Cut everything and turn new connections away for `seconds` (returns at once)."""
        self._refusing_until = time.monotonic() + seconds
        self.cut()

    async def _cut_all(self) -> int:
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()  # RST, not a polite FIN: what a dead network looks like
        self._writers.clear()
        self.connections_cut += len(writers) // 2
        return len(writers) // 2

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._refusing_until:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections_accepted += 1
        self._writers.update((client_writer, server_writer))
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        self._writers.difference_update((client_writer, server_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def main() -> None:
    """`python -m tests.faults.proxy TARGET_HOST TARGET_PORT PORT_FILE`: the proxy in a process of its own,
    so that shovelling every byte of the fleet does not compete with the test for one interpreter.
    SIGUSR1 cuts every connection; SIGUSR2 refuses new ones for the seconds written in PORT_FILE.refuse."""
    import signal
    import sys
    from pathlib import Path

    host, port, port_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    with TcpProxy(host, port) as proxy:
        signal.signal(signal.SIGUSR1, lambda signum, frame: proxy.cut())
        signal.signal(signal.SIGUSR2, lambda signum, frame: proxy.refuse(
            float(port_file.with_suffix(".refuse").read_text())))
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        port_file.write_text(str(proxy.port))
        while True:
            signal.pause()


if __name__ == "__main__":
    main()
