"""`footfall mail test --to ADDRESS` against a real SMTP server: the server's answer on
success; on each failure exactly one line on stderr and the documented exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import free_port
from tests.mail.smtp_server import SmtpServer

FOOTFALL = str(Path(sys.executable).parent / "footfall")
_FOREIGN = ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "SSL_CERT_FILE", "SSL_CERT_DIR", "BASE_URL")


def mail_test(tmp_path: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in _FOREIGN and not k.startswith(("SMTP_", "MAILER_"))
    }
    environment.update(DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [FOOTFALL, "mail", "test", "--to", "ada@example.org", *extra],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(result: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("footfall: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert result.stdout == ""
    return lines[0]


def test_plain_with_auth_sends_and_prints_the_servers_answer(tmp_path: Path, plain_smtp: SmtpServer) -> None:
    plain_smtp.clear()
    result = mail_test(tmp_path, plain_smtp.env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"sent to ada@example.org through {plain_smtp.host}:{plain_smtp.port} (plain"
    )
    assert "logged in as apikey" in result.stdout
    assert "250 2.0.0 Ok: queued as TEST1" in result.stdout
    [got] = plain_smtp.received
    assert got.sender == "stats@example.com" and got.recipients == ["ada@example.org"]
    assert got.authenticated_as == "apikey"
    assert got.message["From"] == "Stats <stats@example.com>"
    assert got.message["Subject"] == "footfall test message"
    assert "footfall mail test" in got.part("plain")


def test_implicit_tls_trusting_smtp_ca_cert(tmp_path: Path, implicit_smtp: SmtpServer, ca_file: Path) -> None:
    implicit_smtp.clear()
    result = mail_test(tmp_path, implicit_smtp.env(SMTP_CA_CERT=str(ca_file)))
    assert result.returncode == 0, result.stderr
    assert "(implicit TLS, logged in as apikey): 250 2.0.0 Ok: queued as" in result.stdout
    assert [r.recipients for r in implicit_smtp.received] == [["ada@example.org"]]


def test_implicit_tls_trusting_ssl_cert_file_when_smtp_ca_cert_is_unset(
    tmp_path: Path, implicit_smtp: SmtpServer, ca_file: Path
) -> None:
    implicit_smtp.clear()
    result = mail_test(tmp_path, implicit_smtp.env(SSL_CERT_FILE=str(ca_file)))
    assert result.returncode == 0, result.stderr
    assert "(implicit TLS" in result.stdout
    assert len(implicit_smtp.received) == 1


def test_starttls_is_used_when_offered(tmp_path: Path, starttls_smtp: SmtpServer, ca_file: Path) -> None:
    starttls_smtp.clear()
    result = mail_test(tmp_path, starttls_smtp.env(SMTP_CA_CERT=str(ca_file), SMTP_REQUIRE_STARTTLS="true"))
    assert result.returncode == 0, result.stderr
    assert "(STARTTLS, logged in as apikey): 250 2.0.0 Ok" in result.stdout
    [got] = starttls_smtp.received
    assert got.authenticated_as == "apikey"


def test_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    result = mail_test(tmp_path, {"SMTP_HOST_ADDR": "127.0.0.1", "SMTP_HOST_PORT": str(port)})
    one_error_line(result, 3, f"connection to 127.0.0.1:{port} refused")


def test_implicit_tls_against_a_starttls_port(
    tmp_path: Path, starttls_smtp: SmtpServer, ca_file: Path
) -> None:
    env = starttls_smtp.env(SMTP_CA_CERT=str(ca_file), SMTP_HOST_SSL_ENABLED="true")
    line = one_error_line(mail_test(tmp_path, env), 4, "TLS handshake with", "speaks plain SMTP")
    assert "SMTP_HOST_SSL_ENABLED=false" in line


def test_plain_against_an_implicit_tls_port(tmp_path: Path, implicit_smtp: SmtpServer, ca_file: Path) -> None:
    env = implicit_smtp.env(SMTP_CA_CERT=str(ca_file), SMTP_HOST_SSL_ENABLED="0")
    line = one_error_line(mail_test(tmp_path, env, "--timeout", "2"), 4, "expects implicit TLS")
    assert "SMTP_HOST_SSL_ENABLED=true" in line


@pytest.mark.parametrize("trust", ["smtp_ca_cert", "system_store"])
def test_untrusted_certificate(tmp_path: Path, untrusted_smtp: SmtpServer, ca_file: Path, trust: str) -> None:
    env = untrusted_smtp.env(**({"SMTP_CA_CERT": str(ca_file)} if trust == "smtp_ca_cert" else {}))
    line = one_error_line(
        mail_test(tmp_path, env), 5, "not trusted", "unable to get local issuer certificate"
    )
    assert ("SMTP_CA_CERT (" in line) == (trust == "smtp_ca_cert")


def test_untrusted_certificate_after_starttls(
    tmp_path: Path, starttls_smtp: SmtpServer, untrusted_certificates
) -> None:
    env = starttls_smtp.env(SMTP_CA_CERT=str(untrusted_certificates.ca_file))
    one_error_line(mail_test(tmp_path, env), 5, "not trusted")


def test_authentication_failed(tmp_path: Path, starttls_smtp: SmtpServer, ca_file: Path) -> None:
    env = starttls_smtp.env(SMTP_CA_CERT=str(ca_file), SMTP_USER_PWD="wrong")
    one_error_line(mail_test(tmp_path, env), 6, "refused the login of apikey", "535")


def test_sender_refused(tmp_path: Path, plain_smtp: SmtpServer) -> None:
    plain_smtp.handler.refuse_senders.add("nobody@example.com")
    try:
        result = mail_test(tmp_path, plain_smtp.env(MAILER_EMAIL="nobody@example.com"))
    finally:
        plain_smtp.handler.refuse_senders.clear()
    one_error_line(result, 7, "refused the sender nobody@example.com (MAILER_EMAIL)", "553 5.7.1")


def test_require_starttls_refuses_a_plain_server(tmp_path: Path, plain_smtp: SmtpServer) -> None:
    plain_smtp.clear()
    result = mail_test(tmp_path, plain_smtp.env(SMTP_REQUIRE_STARTTLS="true"))
    one_error_line(result, 4, "does not offer STARTTLS", "SMTP_REQUIRE_STARTTLS")
    assert plain_smtp.received == []


def test_a_half_configured_relay_stops_at_once(tmp_path: Path) -> None:
    result = mail_test(tmp_path, {"SMTP_HOST_ADDR": "127.0.0.1", "SMTP_USER_NAME": "apikey"})
    one_error_line(result, 1, "SMTP_USER_PWD: SMTP_USER_NAME and SMTP_USER_PWD are set both or neither")


def test_log_adapter_says_nothing_is_sent(tmp_path: Path) -> None:
    one_error_line(mail_test(tmp_path, {"MAILER_ADAPTER": "log"}), 1, "MAILER_ADAPTER is log")
