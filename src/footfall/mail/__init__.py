"""Outgoing mail: SMTP, templates, reports."""
