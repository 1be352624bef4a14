"""Alembic environment: runs only on a connection handed over by ``store.db.migrate``.

The application owns its (async) engine; opening a second one here would bypass its settings
(SQLite pragmas, transaction handling, PostgreSQL migration lock). So there is no offline mode
and no URL: without a connection this refuses.
"""

from alembic import context

from ari_callback.store.tables import metadata

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError("ari-callback migrations run through ari_callback.store.db.migrate(engine), "
                       "which passes its connection in config.attributes['connection']")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place: batch mode recreates the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
