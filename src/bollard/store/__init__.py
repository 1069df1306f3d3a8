"""Storage: SQLAlchemy Core tables, engines and Alembic migrations."""

from bollard.store.engine import engine_for, migrate, open_store

__all__ = ["engine_for", "migrate", "open_store"]
