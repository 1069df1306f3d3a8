"""Engines and migrations: `open_store(url)` is the one way in.

SQLite is for one host: WAL, synchronous=FULL, a busy timeout and foreign
keys on every connection, and every transaction begins IMMEDIATE (takes the
write lock up front) so two writers queue on the busy timeout instead of one
failing when it upgrades a read lock, and DDL is transactional.
PostgreSQL is for several replicas: migrations run under an advisory lock.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from bollard.errors import ConfigError

_DRIVERS = {
    "sqlite": "sqlite+pysqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
_EXAMPLES = "use sqlite:///path/to/bollard.db or postgresql://user@host:5432/dbname"
# Any fixed 64-bit number; it names "Bollard's migrations" to pg_advisory_lock.
_MIGRATION_LOCK = 0x6B6F6C6C6172_01
# After journal_mode=WAL (see `_use_wal`), on every connection.
_SQLITE_PRAGMAS = (
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)
_BUSY_TIMEOUT_MS = 5000


def engine_for(url: str) -> Engine:
    """An engine for a `sqlite:///PATH` or `postgresql://...` URL, set up for Bollard."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to run from two processes at once."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends; PostgreSQL DDL is transactional,
            # so the second process waits, then finds the schema at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def alembic_config() -> Config:
    """Alembic's configuration, built in code: the migrations ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return config


def open_store(url: str) -> Engine:
    """`engine_for(url)` with migrations applied; an unreachable database is a ConfigError."""
    engine = engine_for(url)
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        raise ConfigError(f"cannot open the database at {where}: {exc.orig}") from exc
    except BaseException:
        engine.dispose()
        raise
    return engine


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database URL {url!r} is not a URL; {_EXAMPLES}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        scheme = parsed.drivername
        raise ConfigError(f"database URL scheme {scheme!r} is not supported; {_EXAMPLES}")
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite") and not parsed.database:
        raise ConfigError(f"database URL {url!r} names no file; {_EXAMPLES}")
    return parsed


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    # A missing directory is a mistyped path far more often than a wish for a new
    # tree: say so, rather than create directories and an empty log there.
    directory = Path(database).absolute().parent
    if database != ":memory:" and not database.startswith("file:") and not directory.is_dir():
        raise ConfigError(
            f"cannot open the database {database!r}: the directory {directory} does not exist; "
            "correct the path, or create the directory first"
        )
    try:
        engine = create_engine(url, hide_parameters=True)
    except NoSuchModuleError as exc:  # pragma: no cover - pysqlite ships with Python
        raise ConfigError(str(exc)) from exc
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite (it would skip BEGIN before
    # DDL); `_on_sqlite_begin` emits our own BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so); wait out another connection doing the same.

    Switching a new file to WAL takes an exclusive lock, and SQLite answers "database
    is locked" at once, without its busy handler, when another connection holds the
    file (measured: two processes opening a new store failed half the time).
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if mode in ("wal", "memory"):  # ":memory:" databases cannot use WAL
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _on_sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite its transactions begin DEFERRED,
    so reads on the request path (authentication) never wait behind the audit writer."""
    return engine.execution_options(sqlite_begin="DEFERRED")
