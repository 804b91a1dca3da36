"""A small, real SMTP server for the tests: it speaks ESMTP over TCP in a thread.

Enough of RFC 5321 for smtplib: EHLO/HELO, STARTTLS, implicit TLS, AUTH PLAIN, MAIL, RCPT,
DATA, RSET, NOOP, QUIT. Received messages are parsed and kept in ``messages``. Recipients in
``refused`` get a 550, as a real server refuses an unknown mailbox; ``accept_delay_s`` makes
it a slow server, taking that long to accept each message.
"""

from __future__ import annotations

import base64
import email
import email.policy
import re
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """What the running server was told, and how to reach it."""

    port: int = 0
    user: str | None = None
    password: str | None = None
    tls: ssl.SSLContext | None = None  # STARTTLS offered, or implicit TLS with ``implicit``
    implicit_tls: bool = False
    refused: set[str] = field(default_factory=set)
    accept_delay_s: float = 0.0
    messages: list[Received] = field(default_factory=list)
    authenticated_as: list[str] = field(default_factory=list)


class _Handler(socketserver.StreamRequestHandler):
    server: _TcpServer

    def setup(self) -> None:
        state = self.server.state
        if state.implicit_tls and state.tls is not None:
            self.request = state.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        state = self.server.state
        self.reply("220 tests.localhost ESMTP ready")
        sender, recipients = "", []
        while raw := self.rfile.readline():
            command, _, argument = raw.decode().rstrip("\r\n").partition(" ")
            verb = command.upper()
            if verb in ("EHLO", "HELO"):
                extensions = ["8BITMIME"]
                if state.user:
                    extensions.append("AUTH PLAIN")
                if state.tls is not None and not state.implicit_tls and not self._secured():
                    extensions.append("STARTTLS")
                lines = ["tests.localhost", *extensions]
                for line in lines[:-1]:
                    self.reply(f"250-{line}")
                self.reply(f"250 {lines[-1]}")
            elif verb == "STARTTLS" and state.tls is not None:
                self.reply("220 go ahead")
                self.request = state.tls.wrap_socket(self.request, server_side=True)
                self.rfile = self.request.makefile("rb")
                self.wfile = self.request.makefile("wb")
            elif verb == "AUTH":
                self._authenticate(argument)
            elif verb == "MAIL":
                if state.user and not state.authenticated_as:
                    self.reply("530 authentication required")
                    continue
                sender, recipients = _address(argument), []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipient = _address(argument)
                if recipient in state.refused:
                    self.reply("550 no such mailbox")
                else:
                    recipients.append(recipient)
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                state.messages.append(Received(sender, recipients, self._read_message()))
                time.sleep(state.accept_delay_s)
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")

    def _secured(self) -> bool:
        return isinstance(self.request, ssl.SSLSocket)

    def _authenticate(self, argument: str) -> None:
        state = self.server.state
        mechanism, _, initial = argument.partition(" ")
        if mechanism.upper() != "PLAIN":
            self.reply("504 unrecognised authentication type")
            return
        if not initial:
            self.reply("334 ")
            initial = self.rfile.readline().decode().strip()
        _authzid, user, password = base64.b64decode(initial).decode().split("\0")
        if (user, password) == (state.user, state.password):
            state.authenticated_as.append(user)
            self.reply("235 authenticated")
        else:
            self.reply("535 authentication failed")

    def _read_message(self) -> EmailMessage:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
        parsed = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _address(argument: str) -> str:
    """The address of "FROM:<a@b.fr> BODY=8BITMIME" or "TO:<a@b.fr>"."""
    match = re.search(r"<([^>]*)>", argument)
    return match.group(1) if match else ""


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: SmtpServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def running_smtp_server(state: SmtpServer) -> Iterator[SmtpServer]:
    """Serve ``state`` on a free port of 127.0.0.1 for the block."""
    server = _TcpServer(state)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, made by the openssl tool."""
    certificate, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


def server_tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    return context
