"""Fixtures for the operations tests: the write path's services (tests/ingest/conftest.py)."""

from tests.ingest.conftest import services, services_with  # noqa: F401
