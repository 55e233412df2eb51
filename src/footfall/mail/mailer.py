"""Sending one message now: over SMTP (implicit TLS, STARTTLS or plain) or into the log.

Every failure is a `MailError` whose `reason` is one of `REASONS` and whose text is one line
an operator can act on (the server's own reply included), because mail that silently never
arrives is the complaint this module exists to prevent. Callers that must not wait (web
requests) never call this directly: they enqueue into the outbox (`footfall.mail.outbox`).

Built on the standard library's smtplib, driven step by step (EHLO, STARTTLS, AUTH, MAIL,
RCPT, DATA) so that each step's failure is told apart and the final reply is kept.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from footfall.config import MailSettings, SmtpSettings

log = logging.getLogger("footfall.mail")

# Why a message was not sent; the label of footfall_mail_failures_total on /metrics.
REASONS = (
    "connection_refused",  # nothing listens there, or a firewall says no
    "connection_failed",  # no route, unknown host, reset
    "timeout",  # no answer in time
    "tls_mismatch",  # implicit TLS against a plain/STARTTLS port, or the reverse
    "certificate",  # the server's certificate is not trusted or not for this host
    "starttls_required",  # SMTP_REQUIRE_STARTTLS and the server offers no STARTTLS
    "auth_unsupported",  # credentials set, the server offers no AUTH
    "auth_failed",  # the server refused the credentials
    "sender_refused",  # MAIL FROM refused
    "recipient_refused",  # every RCPT TO refused
    "data_refused",  # the message itself refused
    "protocol",  # anything else the server said
)


class MailError(Exception):
    """A message was not sent. `permanent`: trying again with the same settings cannot help."""

    def __init__(self, reason: str, message: str, *, permanent: bool = False, reply: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.permanent = permanent
        self.reply = reply


@dataclass(frozen=True)
class Message:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None  # kept per outbox row, so a resend is recognisable


@dataclass(frozen=True)
class Sent:
    reply: str  # the server's answer to DATA, e.g. "250 2.0.0 Ok: queued as 4F2A"
    refused: tuple[str, ...] = ()  # recipients the server refused while accepting the others
    how: str = ""  # "implicit TLS", "STARTTLS", "plain"; "log"


def build(message: Message, sender_name: str, sender_address: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = formataddr((sender_name, sender_address))
    email["To"] = ", ".join(message.to)
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message.message_id or make_msgid(domain=sender_address.rpartition("@")[2])
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """SMTP_CA_CERT's CA alone, else the default context's trust store (which honours
    SSL_CERT_FILE and SSL_CERT_DIR, as operators with a private CA expect)."""
    if settings.ca_cert is not None:
        return ssl.create_default_context(cafile=str(settings.ca_cert))
    return ssl.create_default_context()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _certificate_error(error: ssl.SSLCertVerificationError, where: str, settings: SmtpSettings) -> MailError:
    trusted = f"SMTP_CA_CERT ({settings.ca_cert})" if settings.ca_cert else "the system trust store"
    detail = error.verify_message or str(error)
    return MailError(
        "certificate",
        f"certificate of {where} not trusted: {detail} (trusting {trusted}; "
        "set SMTP_CA_CERT to the CA file that signed it)",
        permanent=True,
    )


class SmtpMailer:
    """One SMTP connection per `send`: relays close idle connections, and mail is rare."""

    def __init__(self, mail: MailSettings, *, timeout: float = 30.0, greeting_timeout: float = 10.0) -> None:
        self.mail = mail
        self.settings = mail.smtp
        self.timeout = timeout
        self.greeting_timeout = greeting_timeout

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def check(self) -> Sent:
        """Connect, TLS and log in as a send would, then quit: whether mail can go out."""
        return self.send(None)

    def send(self, message: Message | None) -> Sent:
        """Send `message` (None: stop after logging in; see `check`)."""
        settings = self.settings
        context = tls_context(settings)
        client = self._connect(context)
        try:
            how = "implicit TLS" if settings.implicit_tls else "plain"
            client.ehlo_or_helo_if_needed()
            if not settings.implicit_tls:
                if client.has_extn("starttls"):
                    try:
                        code, text = client.starttls(context=context)
                    except ssl.SSLCertVerificationError as error:
                        raise _certificate_error(error, self.where, settings) from None
                    except ssl.SSLError as error:
                        raise MailError(
                            "tls_mismatch", f"STARTTLS with {self.where} failed: {error}", permanent=True
                        ) from None
                    how = "STARTTLS"
                    client.ehlo()  # the server's extensions again, now over TLS (AUTH among them)
                elif settings.require_starttls:
                    raise MailError(
                        "starttls_required",
                        f"{self.where} does not offer STARTTLS and SMTP_REQUIRE_STARTTLS is set: "
                        "nothing was sent in plain text",
                        permanent=True,
                    )
            if settings.username is not None:
                self._login(client)
            if message is None:
                return Sent(reply="connected and logged in" if settings.username else "connected", how=how)
            email = build(message, self.mail.sender_name, self.mail.sender_address)
            sender = self.mail.sender_address
            code, text = client.mail(sender)
            if code != 250:
                raise MailError(
                    "sender_refused",
                    f"{self.where} refused the sender {sender} (MAILER_EMAIL): {_reply(code, text)}",
                    permanent=code >= 500,
                    reply=_reply(code, text),
                )
            refused: list[str] = []
            last = ""
            for recipient in message.to:
                code, text = client.rcpt(recipient)
                if code not in (250, 251):
                    refused.append(recipient)
                    last = _reply(code, text)
            if len(refused) == len(message.to):
                client.rset()
                raise MailError(
                    "recipient_refused",
                    f"{self.where} refused the recipient {', '.join(refused)}: {last}",
                    permanent=last.startswith("5"),
                    reply=last,
                )
            # CRLF line ends: smtplib leaves bytes as they are, and a bare LF is no line end.
            code, text = client.data(email.as_bytes(policy=email_policy.SMTP))
            if code != 250:
                raise MailError(
                    "data_refused",
                    f"{self.where} refused the message: {_reply(code, text)}",
                    permanent=code >= 500,
                    reply=_reply(code, text),
                )
            return Sent(reply=_reply(code, text), refused=tuple(refused), how=how)
        except smtplib.SMTPServerDisconnected as error:
            raise MailError("protocol", f"{self.where} closed the connection: {error}") from None
        except TimeoutError:
            raise MailError("timeout", f"{self.where} did not answer within {self.timeout:g} s") from None
        except smtplib.SMTPResponseException as error:
            reply = _reply(error.smtp_code, error.smtp_error)
            raise MailError(
                "protocol", f"{self.where} answered {reply}", permanent=error.smtp_code >= 500, reply=reply
            ) from None
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def _login(self, client: smtplib.SMTP) -> None:
        assert self.settings.username is not None and self.settings.password is not None
        if not client.has_extn("auth"):
            plain = (
                ""
                if self.settings.implicit_tls or client.sock.__class__ is ssl.SSLSocket
                else (" on a plain connection (many servers offer AUTH only after STARTTLS)")
            )
            raise MailError(
                "auth_unsupported",
                f"{self.where} offers no AUTH{plain}, but SMTP_USER_NAME is set",
                permanent=True,
            )
        try:
            client.login(self.settings.username, self.settings.password)
        except smtplib.SMTPAuthenticationError as error:
            reply = _reply(error.smtp_code, error.smtp_error)
            raise MailError(
                "auth_failed",
                f"{self.where} refused the login of {self.settings.username} "
                f"(SMTP_USER_NAME / SMTP_USER_PWD): {reply}",
                permanent=True,
                reply=reply,
            ) from None
        except smtplib.SMTPException as error:
            raise MailError("auth_failed", f"{self.where}: login failed: {error}", permanent=True) from None

    def _connect(self, context: ssl.SSLContext) -> smtplib.SMTP:
        settings = self.settings
        assert settings.host is not None
        client: smtplib.SMTP
        if settings.implicit_tls:
            client = smtplib.SMTP_SSL(context=context, timeout=self.greeting_timeout)
        else:
            client = smtplib.SMTP(timeout=self.greeting_timeout)
        # smtplib checks the certificate against `_host`, which only its constructor sets.
        client._host = settings.host
        try:
            code, text = client.connect(settings.host, settings.port)
        except ConnectionRefusedError:
            raise MailError(
                "connection_refused",
                f"connection to {self.where} refused: nothing listens there (SMTP_HOST_ADDR, SMTP_HOST_PORT)",
            ) from None
        except ssl.SSLCertVerificationError as error:
            raise _certificate_error(error, self.where, settings) from None
        except ssl.SSLError as error:
            raise MailError(
                "tls_mismatch",
                f"TLS handshake with {self.where} failed ({error.reason or error}): the server speaks plain "
                "SMTP there; for STARTTLS set SMTP_HOST_SSL_ENABLED=false (usually port 587)",
                permanent=True,
            ) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as error:
            # smtplib reports a timeout while reading the greeting as a disconnection.
            client.close()
            raise self._no_greeting(error) from None
        except OSError as error:
            raise MailError(
                "connection_failed", f"cannot connect to {self.where}: {error.strerror or error}"
            ) from None
        if code != 220:
            client.close()
            raise MailError("protocol", f"{self.where} greeted with {_reply(code, text)}")
        if client.sock is not None:
            client.sock.settimeout(self.timeout)
        return client

    def _no_greeting(self, error: Exception) -> MailError:
        """A plain connection got no greeting: a server expecting implicit TLS waits, silent,
        for a TLS handshake. Try one, so the error can say which it is."""
        settings = self.settings
        if not settings.implicit_tls:
            probe = ssl.create_default_context()
            probe.check_hostname = False
            probe.verify_mode = ssl.CERT_NONE
            try:
                with (
                    socket.create_connection(
                        (settings.host, settings.port), timeout=self.greeting_timeout
                    ) as raw,
                    probe.wrap_socket(raw, server_hostname=settings.host),
                ):
                    pass
            except (OSError, ssl.SSLError):
                pass
            else:
                return MailError(
                    "tls_mismatch",
                    f"{self.where} expects implicit TLS (as on port 465) and sent no plain SMTP greeting: "
                    "set SMTP_HOST_SSL_ENABLED=true",
                    permanent=True,
                )
        if isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" not in str(error):
            return MailError("protocol", f"{self.where} closed the connection before its greeting: {error}")
        return MailError("timeout", f"{self.where} sent no SMTP greeting within {self.greeting_timeout:g} s")


class LogMailer:
    """MAILER_ADAPTER=log: each message is written to the log, nothing leaves the machine."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail

    @property
    def where(self) -> str:
        return "the log"

    def send(self, message: Message) -> Sent:
        email = build(message, self.mail.sender_name, self.mail.sender_address)
        log.info(
            "mail (MAILER_ADAPTER=log) to %s: %s\n%s", ", ".join(message.to), message.subject, message.text
        )
        return Sent(reply=f"logged as {email['Message-ID']}", how="log")


Mailer = SmtpMailer | LogMailer


def mailer_for(mail: MailSettings, **options: float) -> Mailer:
    if mail.adapter == "log":
        return LogMailer(mail)
    return SmtpMailer(mail, **options)
