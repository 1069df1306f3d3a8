"""Fixtures shared across the test suite.

`database_url` runs a test once on SQLite (a file under `tmp_path`) and once on
PostgreSQL, each in a database nobody else sees:

- PostgreSQL comes from `BOLLARD_TEST_POSTGRES_URL` (CI sets it to
  `postgresql://postgres@127.0.0.1:5432/test`). Each test gets a fresh schema
  `t_<random>`; the URL it receives pins `search_path` to that schema through
  libpq's `options`, so tables, migrations and `alembic_version` all land
  there. The schema is dropped afterwards.
- Without that variable the PostgreSQL case is skipped, except under CI (`CI`
  set), where it fails: a storage test that silently skips proves nothing.

`engine` is `open_store(database_url)` (migrations applied), disposed after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bollard.store import open_store
from tests.harness import POSTGRES_ENV, postgres_schema_url, redis_url

__all__ = ["POSTGRES_ENV", "database_url", "engine", "postgres_url", "redis_url"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of its own: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bollard.db'}"
        return
    yield from postgres_schema_url()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL schema of its own, for cases only a server has."""
    yield from postgres_schema_url()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The store at `database_url`, migrated, disposed after the test."""
    store = open_store(database_url)
    yield store
    store.dispose()
