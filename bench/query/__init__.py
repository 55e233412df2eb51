"""Dashboard query benchmark: `python -m bench.query` (or `make bench-query`)."""
