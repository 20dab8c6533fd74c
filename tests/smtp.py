"""A real SMTP server on a local port, for the tests that need Django's SMTP backend itself.

It answers the few commands `smtplib` sends (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and
keeps each message it accepts. Its first `hang` connections are accepted and never answered,
as by a mail server that hangs (`hang=None`: all of them). Python's own `smtpd` is gone since
3.12, and a worker subprocess can reach this one over TCP as it would a real server.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import BinaryIO

_ADDRESS = re.compile(rb"<([^>]*)>")


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SMTPServer:
    hang: int | None = 0
    messages: list[ReceivedMail] = field(default_factory=list)
    connections: int = 0
    hung: threading.Event = field(default_factory=threading.Event)  # a connection is held
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    def start(self) -> SMTPServer:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                if owner._hangs_next():
                    owner.hung.set()
                    owner._release.wait()
                    return
                owner._converse(self.rfile, self.wfile)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _hangs_next(self) -> bool:
        with self._lock:
            self.connections += 1
            return self.hang is None or self.connections <= self.hang

    def _converse(self, rfile: BinaryIO, wfile: BinaryIO) -> None:
        def reply(text: str) -> None:
            wfile.write(text.encode("ascii") + b"\r\n")
            wfile.flush()

        reply("220 localhost test SMTP server")
        sender, recipients = "", list[str]()
        while line := rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                reply("250-localhost\r\n250 8BITMIME")
            elif verb in (b"HELO", b"NOOP"):
                reply("250 OK")
            elif verb == b"RSET":
                sender, recipients = "", []
                reply("250 OK")
            elif verb == b"MAIL":
                sender = _address(line)
                reply("250 OK")
            elif verb == b"RCPT":
                recipients.append(_address(line))
                reply("250 OK")
            elif verb == b"DATA":
                reply("354 End data with <CR><LF>.<CR><LF>")
                data = _read_data(rfile)
                with self._lock:
                    self.messages.append(ReceivedMail(sender, recipients, data))
                sender, recipients = "", []
                reply("250 OK queued")
            elif verb == b"QUIT":
                reply("221 Bye")
                return
            else:
                reply("502 Command not implemented")


def _address(line: bytes) -> str:
    found = _ADDRESS.search(line)
    return found.group(1).decode() if found else ""


def _read_data(rfile: BinaryIO) -> bytes:
    lines = []
    while (line := rfile.readline()) not in (b".\r\n", b""):
        lines.append(line[1:] if line.startswith(b"..") else line)  # undo dot-stuffing
    return b"".join(lines)
