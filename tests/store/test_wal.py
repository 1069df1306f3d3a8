"""The WAL checkpoint thread: commits leave their pages in the WAL; the thread moves them."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bollard.store import open_store
from bollard.store.wal import WalCheckpointer


def rows_in_main_file(path: Path) -> int:
    """Rows of `t` in the database file itself, ignoring the WAL (immutable=1 reads no WAL)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        found = conn.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchone()
        return conn.execute("SELECT count(*) FROM t").fetchone()[0] if found else 0
    finally:
        conn.close()


def test_the_thread_copies_committed_pages_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "bollard.db"
    engine = open_store(f"sqlite:///{path}")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # as the audit writer's connection
    writer.execute("CREATE TABLE t (x)")
    writer.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(500)])
    assert rows_in_main_file(path) == 0  # committed, but only in the WAL so far
    wal = WalCheckpointer(engine, interval=0.01)
    try:
        wal.start()
        try:
            deadline = time.monotonic() + 10
            while wal.checkpoints == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            wal.stop()
        # Read while the writer is still open (closing the last connection would
        # checkpoint by itself) and once nothing writes to the file any more.
        assert wal.checkpoints >= 1
        assert rows_in_main_file(path) == 500
    finally:
        writer.close()
        engine.dispose()
