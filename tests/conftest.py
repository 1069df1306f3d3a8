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

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bollard.store import open_store

POSTGRES_ENV = "BOLLARD_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of its own: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bollard.db'}"
        return
    yield from _postgres_schema_url()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL schema of its own, for cases only a server has."""
    yield from _postgres_schema_url()


def _postgres_schema_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set, and CI must run the PostgreSQL tests")
        pytest.skip(f"set {POSTGRES_ENV} to run against PostgreSQL")
    schema = f"t_{secrets.token_hex(8)}"
    url = make_url(base)
    # Pinged on checkout: a test may cut every connection (as a server restart would).
    admin = create_engine(url.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        pinned = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield pinned.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The store at `database_url`, migrated, disposed after the test."""
    store = open_store(database_url)
    yield store
    store.dispose()
