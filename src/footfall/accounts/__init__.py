"""Users, passwords, memberships and API keys."""
