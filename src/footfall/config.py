"""Settings read from the environment once, at start, and validated.

Names follow Plausible Community Edition where one exists, so an existing
Plausible `.env` keeps working. A bad value raises `ConfigError` naming the
variable; the CLI turns it into one line and a non-zero exit.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
WAL_SYNC_MODES = ("none", "group", "always")
REGISTRATION_MODES = ("false", "true", "invite_only")
DEFAULT_TRUSTED_PROXIES = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


class ConfigError(ValueError):
    """A setting is missing or malformed; `variable` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


MAILER_ADAPTERS = ("smtp", "log")
# Plausible CE's Bamboo adapter names, so its .env keeps working.
_BAMBOO_ADAPTERS = {"bamboo.smtpadapter": "smtp", "bamboo.localadapter": "log"}


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP relay (Plausible CE's SMTP_* variables)."""

    host: str | None
    port: int
    implicit_tls: bool  # TLS from the first byte (port 465); else plain, upgraded by STARTTLS
    require_starttls: bool  # refuse to send over a connection that did not become TLS
    username: str | None
    password: str | None
    retries: int
    retry_delay_seconds: int  # first retry's delay; each later one waits twice as long
    ca_cert: Path | None  # trust only this CA file; None: the default ssl context's store


@dataclass(frozen=True)
class MailSettings:
    adapter: str  # "smtp" or "log"
    sender_name: str
    sender_address: str
    smtp: SmtpSettings


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    base_url: str
    secret_key_base: str
    database_url: str
    clickhouse_url: str | None
    disable_registration: str
    listen_ip: str
    http_port: int
    log_level: str
    mail: MailSettings
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    ip_geolocation_db: Path | None
    datacenter_ip_ranges: Path | None
    referrer_spam_list: Path | None
    redis_url: str | None
    wal_sync: str
    wal_max_bytes: int
    flush_interval_ms: int
    flush_batch_size: int
    max_body_bytes: int
    metrics_token: str | None = None
    api_auth_cache_seconds: int = 2
    # Operations (footfall.ops): scheduled backups, disk safety, retention.
    backup_schedule: str | None = None
    backup_dir: Path | None = None
    backup_keep: int | None = None
    disk_warn_percent: int = 85
    disk_critical_percent: int = 95
    data_retention_days: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def embedded_events(self) -> bool:
        return self.clickhouse_url is None

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "events"

    @property
    def wal_dir(self) -> Path:
        return self.data_dir / "wal"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}, got {raw!r}")
    return raw.lower()


def _base_url(env: Mapping[str, str], port: int) -> str:
    raw = _get(env, "BASE_URL") or f"http://localhost:{port}"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            "BASE_URL", f"must be an http(s) URL such as https://stats.example.com, got {raw!r}"
        )
    return raw.rstrip("/")


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    raw = _get(env, "DATABASE_URL")
    if raw is None:
        return f"sqlite:///{data_dir / 'footfall.db'}"
    scheme = raw.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql+psycopg:" + raw.split(":", 1)[1]
    if scheme == "sqlite":
        return raw
    raise ConfigError(
        "DATABASE_URL",
        f"must be a postgres://, postgresql:// or sqlite:/// URL, got scheme {scheme!r}",
    )


def _clickhouse_url(env: Mapping[str, str]) -> str | None:
    raw = _get(env, "CLICKHOUSE_DATABASE_URL")
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https", "clickhouse") or not parts.hostname:
        raise ConfigError(
            "CLICKHOUSE_DATABASE_URL",
            f"must look like http://user:pass@host:8123/database, got {raw!r}",
        )
    database = (parts.path or "/").strip("/")
    if database and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise ConfigError(
            "CLICKHOUSE_DATABASE_URL",
            f"the database name {database!r} must be letters, digits and underscores, "
            "not starting with a digit (footfall's statements name it unquoted)",
        )
    return raw


def _secret_key(env: Mapping[str, str], data_dir: Path, create: bool) -> str:
    raw = _get(env, "SECRET_KEY_BASE")
    if raw is not None:
        if len(raw) < 32:
            raise ConfigError(
                "SECRET_KEY_BASE", "must be at least 32 characters (try: openssl rand -base64 48)"
            )
        return raw
    path = data_dir / "secret_key"
    if path.exists():
        value = path.read_text().strip()
        if len(value) >= 32:
            return value
    if not create:
        return secrets.token_urlsafe(48)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError("DATA_DIR", f"cannot create {data_dir}: {error.strerror or error}") from None
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _networks(env: Mapping[str, str], name: str, default: tuple[str, ...]):
    raw = _get(env, name)
    items = default if raw is None else tuple(p.strip() for p in raw.split(",") if p.strip())
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(name, f"{item!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _list_file(env: Mapping[str, str], name: str, read: Callable[[Path], object]) -> Path | None:
    """The path a list setting names (DATACENTER_IP_RANGES, REFERRER_SPAM_LIST), read once
    with `read` so that a missing file or a bad line is an error at start, naming the line."""
    raw = _get(env, name)
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigError(name, f"no such file: {path}")
    try:
        read(path)
    except (ValueError, OSError) as error:  # the lists' own errors, and UnicodeDecodeError
        raise ConfigError(name, f"{path}: {error}") from None
    return path


def _check_mmdb(path: Path) -> None:
    """IP_GEOLOCATION_DB must be a readable MaxMind DB file (opening one only maps it)."""
    import maxminddb

    if not path.is_file():
        raise ConfigError("IP_GEOLOCATION_DB", f"no such file: {path}")
    try:
        maxminddb.open_database(str(path)).close()
    except (OSError, ValueError) as error:  # InvalidDatabaseError is a RuntimeError: below
        raise ConfigError("IP_GEOLOCATION_DB", f"cannot read {path}: {error}") from None
    except maxminddb.InvalidDatabaseError:
        raise ConfigError("IP_GEOLOCATION_DB", f"{path} is not a MaxMind DB (.mmdb) file") from None


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = _get(env, "METRICS_TOKEN")
    if token is not None and len(token) < 16:
        raise ConfigError("METRICS_TOKEN", "must be at least 16 characters (try: openssl rand -hex 24)")
    return token


def _mail_settings(env: Mapping[str, str]) -> MailSettings:
    """MAILER_* and SMTP_*: checked together, so a half-configured relay stops footfall at
    start instead of losing mail later."""
    from email.utils import parseaddr

    host_name = urlsplit(_get(env, "BASE_URL") or "http://localhost").hostname or "localhost"
    raw_email = _get(env, "MAILER_EMAIL")
    name_in_email, address = parseaddr(raw_email) if raw_email else ("", f"footfall@{host_name}")
    if raw_email is not None and (
        "@" not in address or address.startswith("@") or address.endswith("@") or " " in address
    ):
        raise ConfigError(
            "MAILER_EMAIL",
            f"must be an address such as stats@example.com or 'Stats <stats@example.com>', got {raw_email!r}",
        )
    sender_name = _get(env, "MAILER_NAME") or name_in_email or "footfall"
    host = _get(env, "SMTP_HOST_ADDR")
    raw_adapter = _get(env, "MAILER_ADAPTER")
    if raw_adapter is None:
        adapter = "smtp" if host else "log"
    else:
        adapter = _BAMBOO_ADAPTERS.get(raw_adapter.lower(), raw_adapter.lower())
        if adapter not in MAILER_ADAPTERS:
            raise ConfigError(
                "MAILER_ADAPTER", f"must be smtp or log (Bamboo.SMTPAdapter also works), got {raw_adapter!r}"
            )
    if adapter == "smtp" and host is None:
        raise ConfigError("SMTP_HOST_ADDR", "must be set when MAILER_ADAPTER=smtp (the relay's host name)")
    port = _int(env, "SMTP_HOST_PORT", 587, 1, 65535)
    raw_ssl = _get(env, "SMTP_HOST_SSL_ENABLED")
    implicit_tls = _bool(env, "SMTP_HOST_SSL_ENABLED", False) if raw_ssl is not None else port == 465
    username, password = _get(env, "SMTP_USER_NAME"), env.get("SMTP_USER_PWD") or None
    if (username is None) != (password is None):
        missing = "SMTP_USER_PWD" if password is None else "SMTP_USER_NAME"
        raise ConfigError(missing, "SMTP_USER_NAME and SMTP_USER_PWD are set both or neither")
    ca_cert = _get(env, "SMTP_CA_CERT")
    ca_path = Path(ca_cert).expanduser() if ca_cert else None
    if ca_path is not None:
        import ssl

        if not ca_path.is_file():
            raise ConfigError("SMTP_CA_CERT", f"no such file: {ca_path}")
        try:
            ssl.create_default_context(cafile=str(ca_path))
        except (ssl.SSLError, OSError, ValueError) as error:
            raise ConfigError("SMTP_CA_CERT", f"{ca_path} holds no PEM certificate ({error})") from None
    smtp = SmtpSettings(
        host=host,
        port=port,
        implicit_tls=implicit_tls,
        require_starttls=_bool(env, "SMTP_REQUIRE_STARTTLS", False),
        username=username,
        password=password,
        retries=_int(env, "SMTP_RETRIES", 2, 0, 100),
        retry_delay_seconds=_int(env, "SMTP_RETRY_DELAY_SECONDS", 30, 1, 86_400),
        ca_cert=ca_path,
    )
    return MailSettings(adapter=adapter, sender_name=sender_name, sender_address=address, smtp=smtp)


def _operations(env: Mapping[str, str], data_dir: Path) -> dict[str, object]:
    """BACKUP_*, DISK_*, DATA_RETENTION_DAYS (footfall.ops)."""
    schedule = _get(env, "BACKUP_SCHEDULE")
    if schedule is not None:
        from croniter import croniter

        if not croniter.is_valid(schedule):
            raise ConfigError(
                "BACKUP_SCHEDULE", f"must be a cron expression such as '0 * * * *', got {schedule!r}"
            )
    backup_dir = _get(env, "BACKUP_DIR")
    if schedule is not None and backup_dir is None:
        raise ConfigError(
            "BACKUP_DIR", "required with BACKUP_SCHEDULE: the directory scheduled backups go to"
        )
    warn = _int(env, "DISK_WARN_PERCENT", 85, 1, 100)
    critical = _int(env, "DISK_CRITICAL_PERCENT", 95, 1, 100)
    if critical < warn:
        raise ConfigError(
            "DISK_CRITICAL_PERCENT", f"must be at least DISK_WARN_PERCENT ({warn}), got {critical}"
        )
    keep = _get(env, "BACKUP_KEEP")
    retention = _get(env, "DATA_RETENTION_DAYS")
    return {
        "backup_schedule": schedule,
        "backup_dir": Path(backup_dir).expanduser().resolve() if backup_dir else None,
        "backup_keep": _int(env, "BACKUP_KEEP", 0, 1, 100_000) if keep is not None else None,
        "disk_warn_percent": warn,
        "disk_critical_percent": critical,
        "data_retention_days": _int(env, "DATA_RETENTION_DAYS", 0, 1, 100_000)
        if retention is not None
        else None,
    }


def load_settings(env: Mapping[str, str] | None = None, *, create_secret: bool = True) -> Settings:
    """Read and validate every setting. Raises ConfigError on the first bad one."""
    env = os.environ if env is None else env
    data_dir = Path(_get(env, "DATA_DIR") or "./data").expanduser().resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError("DATA_DIR", f"{data_dir} exists and is not a directory")
    http_port = _int(env, "HTTP_PORT", 8000, 1, 65535)
    listen_ip = _get(env, "LISTEN_IP") or "127.0.0.1"
    try:
        ipaddress.ip_address(listen_ip)
    except ValueError:
        raise ConfigError("LISTEN_IP", f"must be an IP address such as 0.0.0.0, got {listen_ip!r}") from None
    geo = _get(env, "IP_GEOLOCATION_DB")
    geo_path = Path(geo).expanduser() if geo else None
    if geo_path is not None:
        _check_mmdb(geo_path)
    from footfall.ingest.bots import DatacenterRanges, SpamReferrers

    ranges_path = _list_file(env, "DATACENTER_IP_RANGES", DatacenterRanges.from_file)
    spam_path = _list_file(env, "REFERRER_SPAM_LIST", SpamReferrers.from_file)
    redis_url = _get(env, "REDIS_URL")
    if redis_url is not None and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL", f"must be a redis:// URL, got {redis_url!r}")
    mail = _mail_settings(env)
    return Settings(
        data_dir=data_dir,
        base_url=_base_url(env, http_port),
        secret_key_base=_secret_key(env, data_dir, create_secret),
        database_url=_database_url(env, data_dir),
        clickhouse_url=_clickhouse_url(env),
        disable_registration=_choice(env, "DISABLE_REGISTRATION", "invite_only", REGISTRATION_MODES),
        listen_ip=listen_ip,
        http_port=http_port,
        log_level=_choice(env, "LOG_LEVEL", "info", LOG_LEVELS),
        mail=mail,
        trusted_proxies=_networks(env, "TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES),
        ip_geolocation_db=geo_path,
        datacenter_ip_ranges=ranges_path,
        referrer_spam_list=spam_path,
        redis_url=redis_url,
        wal_sync=_choice(env, "WAL_SYNC", "group", WAL_SYNC_MODES),
        wal_max_bytes=_int(env, "WAL_MAX_BYTES", 1024 * 1024 * 1024, 1024 * 1024, 2**50),
        flush_interval_ms=_int(env, "FLUSH_INTERVAL_MS", 5000, 10, 600_000),
        flush_batch_size=_int(env, "FLUSH_BATCH_SIZE", 50_000, 1, 1_000_000),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
        metrics_token=_metrics_token(env),
        api_auth_cache_seconds=_int(env, "API_AUTH_CACHE_SECONDS", 2, 0, 60),
        **_operations(env, data_dir),  # type: ignore[arg-type]
    )
