"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, three ways.

- `plain`: no TLS at all, AUTH LOGIN/PLAIN allowed in clear text (a relay inside a network);
- `implicit`: TLS from the first byte, as on port 465 (SendGrid's set-up in issue 18);
- `starttls`: plain greeting, STARTTLS offered and required before AUTH, as on port 587.

Certificates come from `trustme` (a CA made for the test run); the CA file is what a test
passes as SMTP_CA_CERT or SSL_CERT_FILE. Received messages are parsed and kept in order.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.e2e.harness import free_port

USER = "apikey"
PASSWORD = "SG.the-relays-api-key"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    authenticated_as: str | None

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return body.get_content().replace("\r\n", "\n")


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse_senders: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.refuse_senders:
            return "553 5.7.1 Sender address not verified"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        login = (
            session.auth_data.decode()
            if session.authenticated and isinstance(session.auth_data, bytes)
            else None
        )
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, login))
            number = len(self.received)
        return f"250 2.0.0 Ok: queued as TEST{number}"


def _authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    ):
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # aiosmtpd's own start-up check speaks TLS with the server's context for implicit TLS
        # and fails; ours only needs the socket to accept.
        import socket

        with socket.create_connection((self.hostname, self.port), timeout=5):
            pass


class SmtpServer:
    def __init__(
        self, mode: str, certificates: Certificates | None = None, *, port: int | None = None
    ) -> None:
        self.mode = mode
        self.handler = _Handler()
        self.host = "127.0.0.1"
        self.port = port or free_port()
        options: dict = {
            "authenticator": _authenticator,
            # With implicit TLS aiosmtpd does not know the connection is TLS: AUTH would be
            # hidden if it were required to come after TLS; the connection is TLS anyway.
            "auth_require_tls": mode == "starttls",
            "hostname": self.host,
            "port": self.port,
            "ready_timeout": 10,
            "server_hostname": "localhost",
        }
        if mode == "implicit":
            assert certificates is not None
            options["ssl_context"] = certificates.server_context()
        elif mode == "starttls":
            assert certificates is not None
            options["tls_context"] = certificates.server_context()
            options["require_starttls"] = True
        self.controller = _Controller(self.handler, **options)

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.received.clear()

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def env(self, **extra: str) -> dict[str, str]:
        """The footfall settings that point at this server."""
        values = {
            "MAILER_ADAPTER": "smtp",
            "SMTP_HOST_ADDR": "localhost" if self.mode != "plain" else self.host,
            "SMTP_HOST_PORT": str(self.port),
            "SMTP_HOST_SSL_ENABLED": "true" if self.mode == "implicit" else "false",
            "SMTP_USER_NAME": USER,
            "SMTP_USER_PWD": PASSWORD,
            "MAILER_EMAIL": "Stats <stats@example.com>",
        }
        values.update(extra)
        return values


class Certificates:
    """A throwaway CA and a certificate it signed for localhost and 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.leaf = self.ca.issue_cert("localhost", "127.0.0.1")
        self.ca_file = directory / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(context)
        return context
