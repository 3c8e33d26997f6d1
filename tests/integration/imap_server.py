"""A small IMAP4rev1 server of the tests' own (RFC 3501, the commands `imaplib` sends for the mailbox of returned
forms: CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH (RFC822.SIZE) and (BODY.PEEK[]), UID STORE +FLAGS
(\\Seen), LOGOUT), serving messages held in memory with their flags."""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Folder:
    user: str
    password: str
    messages: dict[int, bytes] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)


class _Handler(socketserver.StreamRequestHandler):
    folder: Folder

    def reply(self, text: str | bytes) -> None:
        self.wfile.write(text if isinstance(text, bytes) else text.encode() + b"\r\n")

    def handle(self) -> None:  # noqa: PLR0912 (a branch per IMAP command)
        self.reply("* OK IMAP4rev1 test server ready")
        authenticated = False
        for raw in iter(self.rfile.readline, b""):
            tag, _, rest = raw.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                command, _, args = args.partition(" ")
                command = "UID " + command.upper()
            if command == "CAPABILITY":
                self.reply("* CAPABILITY IMAP4rev1")
            elif command == "LOGIN":
                user, password = (a.strip('"') for a in args.split(" ", 1))
                authenticated = (user, password) == (self.folder.user, self.folder.password)
                self.reply(f"{tag} {'OK' if authenticated else 'NO [AUTHENTICATIONFAILED]'} LOGIN")
                continue
            elif not authenticated and command != "LOGOUT":
                self.reply(f"{tag} BAD not authenticated")
                continue
            elif command == "SELECT":
                self.reply(f"* {len(self.folder.messages)} EXISTS")
                self.reply(f"{tag} OK [READ-WRITE] SELECT completed")
                continue
            elif command == "UID SEARCH":
                unseen = sorted(set(self.folder.messages) - self.folder.seen)
                self.reply("* SEARCH" + "".join(f" {u}" for u in unseen))
            elif command == "UID FETCH":
                uid_text, _, what = args.partition(" ")
                uid = int(uid_text)
                body = self.folder.messages[uid]
                if "RFC822.SIZE" in what:
                    self.reply(f"* {uid} FETCH (UID {uid} RFC822.SIZE {len(body)})")
                else:
                    self.reply(f"* {uid} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n")
            elif command == "UID STORE":
                uid = int(args.split(" ", 1)[0])
                if re.search(r"\+FLAGS \(\\Seen\)", args):
                    self.folder.seen.add(uid)
                self.reply(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))")
            elif command == "LOGOUT":
                self.reply("* BYE")
                self.reply(f"{tag} OK LOGOUT")
                return
            else:
                self.reply(f"{tag} BAD unknown command")
                continue
            self.reply(f"{tag} OK {command} completed")


@contextmanager
def imap_server(folder: Folder) -> Iterator[int]:
    """Serves `folder` on a free local port (yielded) until the block ends."""
    handler = type("Handler", (_Handler,), {"folder": folder})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
