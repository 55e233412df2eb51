"""Operations: readiness, the admin channel, backup and restore, store migration, metrics,
disk safety and retention."""
