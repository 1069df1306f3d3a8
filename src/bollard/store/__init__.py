"""Storage: SQLAlchemy Core tables, engines and Alembic migrations."""

from bollard.store.engine import engine_for, migrate, open_store, reader

__all__ = ["engine_for", "migrate", "open_store", "reader"]
