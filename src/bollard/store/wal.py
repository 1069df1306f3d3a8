"""SQLite's WAL copied back into the database by a thread of its own.

By default SQLite checkpoints inside whichever commit pushes the WAL past
1,000 pages: that commit then copies megabytes and fsyncs the database file,
and every call waiting on it waits too (measured: the gateway's p99 latency).
The audit writer turns that off on its connection and starts this thread,
which runs a PASSIVE checkpoint every `interval` seconds: it copies what no
reader still needs, never blocks a writer, and a failed one loses nothing
(the pages stay in the WAL for the next).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

log = logging.getLogger("bollard.store")


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, interval: float = 0.2) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bollard-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = None
        while not self._stop.wait(self._interval):
            try:
                if conn is None:
                    conn = self._engine.raw_connection()
                    conn.detach()
                cursor = conn.cursor()
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.fetchall()
                cursor.close()
                self.checkpoints += 1
            except Exception as exc:  # the pages wait in the WAL for the next try
                log.warning("WAL checkpoint failed (%s); will retry", exc)
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()
