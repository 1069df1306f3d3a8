"""Alembic environment: runs on the connection `bollard.store.migrate` passes in.

There is no alembic.ini and no URL here on purpose: the caller owns the
connection (and, on PostgreSQL, the advisory lock held on it).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bollard.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through bollard.store.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
