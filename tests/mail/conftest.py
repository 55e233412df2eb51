"""One SMTP server of each kind per test module, the CA that signed their certificates, a
migrated metadata store's sessions, and a world's stores with mail sent through a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from footfall.services import Services
from tests.mail.smtp_server import Certificates, SmtpServer


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("smtp-ca"))


@pytest.fixture(scope="session")
def untrusted_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Another CA: its certificates are not trusted by a client given `certificates`' CA."""
    return Certificates(tmp_path_factory.mktemp("other-ca"))


def _serve(mode: str, certificates: Certificates | None) -> Iterator[SmtpServer]:
    server = SmtpServer(mode, certificates).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plain_smtp() -> Iterator[SmtpServer]:
    yield from _serve("plain", None)


@pytest.fixture(scope="module")
def implicit_smtp(certificates: Certificates) -> Iterator[SmtpServer]:
    yield from _serve("implicit", certificates)


@pytest.fixture(scope="module")
def starttls_smtp(certificates: Certificates) -> Iterator[SmtpServer]:
    yield from _serve("starttls", certificates)


@pytest.fixture(scope="module")
def untrusted_smtp(untrusted_certificates: Certificates) -> Iterator[SmtpServer]:
    yield from _serve("implicit", untrusted_certificates)


@pytest.fixture
def ca_file(certificates: Certificates) -> Path:
    return certificates.ca_file


@pytest.fixture
def mail_sessions(sqlite_url: str) -> Iterator[sessionmaker]:
    """Sessions of a fresh, migrated SQLite metadata store (the outbox's and the mail's rows)."""
    from footfall.meta.db import make_engine, migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def with_mail(services: Services, smtp: SmtpServer, tmp_path: Path) -> Services:
    """The same stores as `services`, with settings that send mail through `smtp` and links to
    https://stats.example.com."""
    from footfall.config import load_settings

    settings = load_settings(
        {"DATA_DIR": str(tmp_path), "BASE_URL": "https://stats.example.com", **smtp.env()}
    )
    return Services(
        settings=settings, engine=services.engine, sessions=services.sessions, events=services.events
    )
