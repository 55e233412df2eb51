"""One SMTP server of each kind per test module, and the CA that signed their certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
