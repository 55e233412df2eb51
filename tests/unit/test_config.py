"""Settings: defaults, Plausible CE names, and one clear error per bad value."""

from pathlib import Path

import pytest

from footfall.config import ConfigError, load_settings


def test_defaults_run_embedded_with_a_generated_secret_kept_in_data_dir(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "d")}
    first = load_settings(env)
    assert first.embedded_events
    assert first.database_url == f"sqlite:///{tmp_path / 'd' / 'footfall.db'}"
    assert first.listen_ip == "127.0.0.1" and first.http_port == 8000
    assert len(first.secret_key_base) >= 32
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first.api_auth_cache_seconds == 2
    assert load_settings(env).secret_key_base == first.secret_key_base


def test_plausible_names_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path),
            "BASE_URL": "https://stats.example.com/",
            "SECRET_KEY_BASE": "x" * 64,
            "DATABASE_URL": "postgres://u:p@db:5432/plausible",
            "CLICKHOUSE_DATABASE_URL": "http://ch:8123/plausible_events_db",
            "DISABLE_REGISTRATION": "invite_only",
            "LISTEN_IP": "0.0.0.0",
            "HTTP_PORT": "9000",
            "LOG_LEVEL": "WARNING",
            "SMTP_HOST_ADDR": "mail.example.com",
            "SMTP_HOST_PORT": "465",
            "SMTP_HOST_SSL_ENABLED": "true",
            "SMTP_RETRIES": "5",
            "MAILER_EMAIL": "stats@example.com",
        }
    )
    assert settings.base_url == "https://stats.example.com"
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/plausible"
    assert settings.clickhouse_url == "http://ch:8123/plausible_events_db"
    assert not settings.embedded_events
    assert settings.disable_registration == "invite_only"
    assert (settings.listen_ip, settings.http_port, settings.log_level) == ("0.0.0.0", 9000, "warning")
    smtp = settings.mail.smtp
    assert smtp.host == "mail.example.com" and smtp.port == 465 and smtp.implicit_tls
    assert smtp.retries == 5 and settings.mail.sender_address == "stats@example.com"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HTTP_PORT", "eighty", "must be an integer"),
        ("HTTP_PORT", "70000", "between 1 and 65535"),
        ("BASE_URL", "stats.example.com", "http(s) URL"),
        ("DATABASE_URL", "mysql://x/y", "postgres://"),
        ("CLICKHOUSE_DATABASE_URL", "not a url", "http://user:pass@host"),
        ("CLICKHOUSE_DATABASE_URL", "http://ch:8123/my-events", "letters, digits and underscores"),
        ("SECRET_KEY_BASE", "short", "at least 32"),
        ("LISTEN_IP", "localhost:80", "IP address"),
        ("LOG_LEVEL", "loud", "one of"),
        ("DISABLE_REGISTRATION", "maybe", "one of"),
        ("SMTP_HOST_SSL_ENABLED", "perhaps", "true or false"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,nonsense", "not an IP address"),
        ("IP_GEOLOCATION_DB", "/no/such/file.mmdb", "no such file"),
        ("DATACENTER_IP_RANGES", "/no/such/ranges.txt", "no such file"),
        ("REDIS_URL", "http://x", "redis://"),
        ("WAL_SYNC", "sometimes", "one of"),
        ("METRICS_TOKEN", "short", "at least 16"),
        ("API_AUTH_CACHE_SECONDS", "61", "between 0 and 60"),
        ("API_AUTH_CACHE_SECONDS", "-1", "between 0 and 60"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"DATA_DIR": str(tmp_path), variable: value})
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"{variable}: ")
    assert message in str(raised.value)


def test_data_dir_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="DATA_DIR"):
        load_settings({"DATA_DIR": str(blocker)})


def test_a_datacenter_ranges_file_with_a_bad_line_names_it(tmp_path: Path) -> None:
    ranges = tmp_path / "ranges.txt"
    ranges.write_text("# AWS, say\n3.0.0.0/9\n\n2600:1f00::/24  # v6\nnot-a-range\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({"DATA_DIR": str(tmp_path), "DATACENTER_IP_RANGES": str(ranges)})
    assert raised.value.variable == "DATACENTER_IP_RANGES"
    assert "line 5" in str(raised.value) and "not-a-range" in str(raised.value)
    ranges.write_text("# AWS, say\n3.0.0.0/9\n\n2600:1f00::/24  # v6\n")
    settings = load_settings({"DATA_DIR": str(tmp_path), "DATACENTER_IP_RANGES": str(ranges)})
    assert settings.datacenter_ip_ranges == ranges


def test_a_geolocation_file_that_is_no_mmdb_is_rejected_at_start(tmp_path: Path) -> None:
    not_mmdb = tmp_path / "GeoLite2-City.mmdb"
    not_mmdb.write_text("country,city\nDE,Berlin\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({"DATA_DIR": str(tmp_path), "IP_GEOLOCATION_DB": str(not_mmdb)})
    assert str(raised.value) == f"IP_GEOLOCATION_DB: {not_mmdb} is not a MaxMind DB (.mmdb) file"


def test_a_data_dir_that_cannot_be_created_is_one_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as raised:
        load_settings({"DATA_DIR": str(blocker / "data")})
    assert raised.value.variable == "DATA_DIR"
    assert str(raised.value) == f"DATA_DIR: cannot create {blocker / 'data'}: Not a directory"
