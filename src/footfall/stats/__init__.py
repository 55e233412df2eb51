"""The read path: query model, API parsers, the ClickHouse SQL compiler and metrics."""
