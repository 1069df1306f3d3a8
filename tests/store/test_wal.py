"""SQLite's WAL, checkpointed by the audit writer between its commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bollard.audit import Record
from bollard.audit import writer as writer_module
from bollard.audit.writer import AuditWriter
from bollard.store import open_store

COMMITS = 3000


def rows_in_main_file(path: Path) -> int:
    """Audit records in the database file itself, ignoring the WAL (immutable=1 reads none)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_records'").fetchone()
        return int(conn.execute("SELECT count(*) FROM audit_records").fetchone()[0]) if found else 0
    finally:
        conn.close()


def test_the_writer_copies_the_wal_into_the_database_and_the_wal_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "WAL_EVERY", 0.01)
    path = tmp_path / "bollard.db"
    engine = open_store(f"sqlite:///{path}")
    with engine.connect() as conn:
        page = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
    writer = AuditWriter(engine)
    writer.start()

    async def one_by_one() -> None:
        for n in range(COMMITS):
            await writer.append(Record(f"r{n:06d}", "request", n, "rest", agent="a"))

    try:
        asyncio.run(one_by_one())
        # Read while the writer's connection is open: closing the last connection
        # would checkpoint by itself.
        in_file = rows_in_main_file(path)
        wal_bytes = path.with_name(path.name + "-wal").stat().st_size
    finally:
        writer.close()
        engine.dispose()
    assert writer.wal_checkpoint_seconds.count >= 2
    assert in_file > 0
    # Each commit writes at least two pages (the records' and the head's): never
    # starting over, the WAL would hold at least this much by now.
    grown = COMMITS * 2 * page
    assert wal_bytes < grown / 3
