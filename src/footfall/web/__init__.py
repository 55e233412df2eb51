"""HTTP handlers for pages and JSON."""
