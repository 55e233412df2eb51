"""The metadata store: accounts, sites, goals, keys and salts (SQLite or PostgreSQL)."""
