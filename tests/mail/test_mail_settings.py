"""MAILER_* and SMTP_*: Plausible CE's names, the port/TLS rules, and a clear error at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.config import ConfigError, load_settings

SENDGRID = {
    "MAILER_EMAIL": "reports@example.com",
    "SMTP_HOST_ADDR": "smtp.sendgrid.net",
    "SMTP_HOST_PORT": "465",
    "SMTP_HOST_SSL_ENABLED": "true",
    "SMTP_USER_NAME": "apikey",
    "SMTP_USER_PWD": "SG.xxxxxxxx",
    "SMTP_RETRIES": "2",
}


def settings(tmp_path: Path, **env: str):
    return load_settings({"DATA_DIR": str(tmp_path), **env}).mail


def test_the_sendgrid_block_from_issue_18_means_implicit_tls_with_login(tmp_path: Path) -> None:
    mail = settings(tmp_path, **SENDGRID)
    assert mail.adapter == "smtp"
    assert (mail.sender_name, mail.sender_address) == ("footfall", "reports@example.com")
    smtp = mail.smtp
    assert (smtp.host, smtp.port, smtp.implicit_tls) == ("smtp.sendgrid.net", 465, True)
    assert (smtp.username, smtp.password, smtp.retries) == ("apikey", "SG.xxxxxxxx", 2)
    assert smtp.ca_cert is None and not smtp.require_starttls


@pytest.mark.parametrize(
    ("port", "ssl", "implicit"),
    [
        (None, None, False),  # 587, STARTTLS when offered
        ("465", None, True),  # 465 means implicit TLS ...
        ("465", "false", False),  # ... unless SMTP_HOST_SSL_ENABLED says otherwise
        ("465", "0", False),
        ("2465", "1", True),
        ("587", "true", True),
        ("25", None, False),
    ],
)
def test_port_and_ssl_rules(tmp_path: Path, port: str | None, ssl: str | None, implicit: bool) -> None:
    env = {"SMTP_HOST_ADDR": "mail.example.com"}
    if port:
        env["SMTP_HOST_PORT"] = port
    if ssl:
        env["SMTP_HOST_SSL_ENABLED"] = ssl
    smtp = settings(tmp_path, **env).smtp
    assert smtp.port == int(port or 587)
    assert smtp.implicit_tls is implicit


def test_mailer_email_may_carry_a_name_and_mailer_name_wins(tmp_path: Path) -> None:
    mail = settings(tmp_path, MAILER_EMAIL="Example Stats <stats@example.com>")
    assert (mail.sender_name, mail.sender_address) == ("Example Stats", "stats@example.com")
    mail = settings(tmp_path, MAILER_EMAIL="Example Stats <stats@example.com>", MAILER_NAME="Analytics")
    assert (mail.sender_name, mail.sender_address) == ("Analytics", "stats@example.com")


def test_without_a_relay_mail_goes_to_the_log_and_the_sender_follows_base_url(tmp_path: Path) -> None:
    mail = settings(tmp_path, BASE_URL="https://stats.example.net")
    assert mail.adapter == "log"
    assert mail.sender_address == "footfall@stats.example.net"


def test_plausible_bamboo_adapter_names_are_understood(tmp_path: Path) -> None:
    assert settings(tmp_path, MAILER_ADAPTER="Bamboo.SMTPAdapter", SMTP_HOST_ADDR="m").adapter == "smtp"
    assert settings(tmp_path, MAILER_ADAPTER="Bamboo.LocalAdapter", SMTP_HOST_ADDR="m").adapter == "log"


def test_smtp_ca_cert_must_hold_a_certificate(tmp_path: Path, ca_file: Path) -> None:
    assert settings(tmp_path, SMTP_CA_CERT=str(ca_file)).smtp.ca_cert == ca_file
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"SMTP_CA_CERT: .* holds no PEM certificate"):
        settings(tmp_path, SMTP_CA_CERT=str(junk))


@pytest.mark.parametrize(
    ("env", "variable", "message"),
    [
        ({"SMTP_HOST_ADDR": "m", "SMTP_USER_NAME": "apikey"}, "SMTP_USER_PWD", "both or neither"),
        ({"SMTP_HOST_ADDR": "m", "SMTP_USER_PWD": "secret"}, "SMTP_USER_NAME", "both or neither"),
        ({"MAILER_ADAPTER": "smtp"}, "SMTP_HOST_ADDR", "must be set when MAILER_ADAPTER=smtp"),
        ({"MAILER_ADAPTER": "sendgrid"}, "MAILER_ADAPTER", "must be smtp or log"),
        ({"MAILER_EMAIL": "not-an-address"}, "MAILER_EMAIL", "must be an address"),
        ({"SMTP_HOST_SSL_ENABLED": "yes please"}, "SMTP_HOST_SSL_ENABLED", "true or false"),
        ({"SMTP_REQUIRE_STARTTLS": "maybe"}, "SMTP_REQUIRE_STARTTLS", "true or false"),
        ({"SMTP_HOST_PORT": "0"}, "SMTP_HOST_PORT", "between 1 and 65535"),
        ({"SMTP_RETRIES": "-1"}, "SMTP_RETRIES", "between 0 and 100"),
        ({"SMTP_CA_CERT": "/no/such/ca.pem"}, "SMTP_CA_CERT", "no such file"),
    ],
)
def test_a_bad_mail_setting_names_its_variable(
    tmp_path: Path, env: dict[str, str], variable: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, **env)
    assert raised.value.variable == variable
    assert message in str(raised.value)
