"""The write path: from an HTTP request to a row in the event store."""
