"""ClickHouse side of footfall: event schema, migrations and the two connectors."""
