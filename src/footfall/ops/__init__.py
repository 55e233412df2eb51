"""Operations: backup, restore, store migration, health."""
