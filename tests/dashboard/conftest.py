"""The dashboard's tests reuse the stats tests' world (a real app on chDB and SQLite, data
written through the ingestion pipeline)."""

from tests.stats.conftest import world_factory  # noqa: F401  (a fixture)
