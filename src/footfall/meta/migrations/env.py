"""Alembic environment: runs migrations on the engine footfall passes in."""

from alembic import context

from footfall.meta.models import Base

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    if sqlite:
        # SQLite cannot alter most of a table in place, so batch migrations copy it into a
        # new one and drop the old. With foreign keys on (footfall turns them on for every
        # connection), dropping `users` or `sites` would cascade and delete every API key,
        # membership and goal that points at them. The pragma only takes effect outside a
        # transaction, hence before begin().
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows pointing at missing rows: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
