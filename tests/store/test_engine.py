from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bollard.agents import utcnow
from bollard.errors import ConfigError
from bollard.store import engine_for, migrate, open_store
from bollard.store.engine import alembic_config
from bollard.store.tables import agent_keys, audit_records, metadata

TABLES = {"agents", "agent_keys", "grants", "audit_records", "audit_head"}


def test_migrations_create_every_table_and_stamp_the_head(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert stamped == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_applied_twice_change_nothing(engine: Engine) -> None:
    before = _schema(engine)
    migrate(engine)
    migrate(engine)
    assert _schema(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_migrated_schema_matches_the_tables_module(engine: Engine) -> None:
    with engine.connect() as conn:
        # Only the tables declared in store/tables.py: other modules add their
        # own tables to the shared metadata and test their migrations themselves.
        context = MigrationContext.configure(conn, opts={"include_object": _ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_two_processes_starting_at_once_both_migrate_cleanly(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=10)

    def start_store() -> None:
        try:
            start.wait()
            open_store(database_url).dispose()
        except BaseException as exc:  # handed to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=start_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    store = open_store(database_url)
    assert set(inspect(store).get_table_names()) >= TABLES
    store.dispose()


def test_a_database_error_never_quotes_the_values_sent_with_it(engine: Engine) -> None:
    # Errors are logged whole; the values bound to a statement can be personal data (an
    # approval's arguments, Apollo's kept answer), so SQLAlchemy is told to hide them.
    with pytest.raises(DBAPIError) as failed, engine.connect() as conn:
        conn.execute(text("SELECT :value FROM no_such_table"), {"value": "jane@example.com"})
    assert "no_such_table" in str(failed.value)
    assert "jane@example.com" not in str(failed.value)
    assert "hidden" in str(failed.value)


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    row = {"agent_id": 999, "key_hash": "0" * 64, "prefix": "bol_", "created_at": utcnow()}
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), engine.begin() as conn:
        conn.execute(insert(agent_keys).values(row))


def test_audit_sequence_numbers_are_assigned_in_order(engine: Engine) -> None:
    row = {
        "request_id": "r",
        "kind": "request",
        "ts_us": 1,
        "door": "rest",
        "data": "{}",
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }
    with engine.begin() as conn:
        conn.execute(insert(audit_records), [row, row, row])
        seqs = conn.execute(select(audit_records.c.seq).order_by(audit_records.c.seq)).scalars()
        assert list(seqs) == [1, 2, 3]


def test_sqlite_connections_use_wal_full_sync_busy_timeout_and_foreign_keys(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    with store.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    store.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "busy_timeout": 5000,
        "foreign_keys": 1,
    }


def test_a_sqlite_file_in_a_missing_directory_is_refused_and_nothing_created(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep" / "er" / "bollard.db"
    with pytest.raises(ConfigError, match=r"the directory .*deep/er does not exist"):
        open_store(f"sqlite:///{path}")
    assert list(tmp_path.iterdir()) == []


def test_plain_urls_get_the_drivers_bollard_ships_with(tmp_path: Path) -> None:
    assert engine_for(f"sqlite:///{tmp_path / 'x.db'}").dialect.driver == "pysqlite"
    assert engine_for("postgresql://u@localhost/db").dialect.driver == "psycopg"
    assert engine_for("postgres://u@localhost/db").dialect.driver == "psycopg"
    assert engine_for("postgresql+psycopg://u@localhost/db").dialect.driver == "psycopg"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://root@localhost/db", "scheme 'mysql' is not supported"),
        ("not a url", "is not a URL"),
        ("sqlite://", "names no file"),
    ],
)
def test_a_bad_database_url_is_a_config_error_that_shows_a_good_one(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        engine_for(url)
    assert "postgresql://" in str(caught.value)


def test_an_unreachable_database_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError, match="cannot open the database") as caught:
        open_store("postgresql://bollard:hunter2@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "hunter2" not in str(caught.value)


def _schema(engine: Engine) -> dict[str, list[str]]:
    found = inspect(engine)
    return {
        name: sorted(c["name"] for c in found.get_columns(name))
        + sorted(str(i["name"]) for i in found.get_indexes(name))
        for name in found.get_table_names()
    }


def _ours(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    table = getattr(obj, "table", None)
    owner = name if kind == "table" else getattr(table, "name", None)
    return owner is None or owner in TABLES
