"""The audit writer's own database connection: opened, checked, cut and closed.

One DBAPI connection, the writer thread's alone. SQLite: from the engine, detached
from the pool, with SQLite's automatic WAL checkpoint off (the writer runs it between
commits). PostgreSQL: straight from the driver, not the pool (a pooled connection is
pinged on checkout, and a ping into a partition would never answer), with a connect
timeout, keepalives, and a server-side end to a transaction left idle.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from typing import Any

from sqlalchemy import Engine

# PostgreSQL: a connection that cannot be made within this is an outage, and the
# kernel finds a dead peer (libpq's keepalive settings) without waiting for a write.
CONNECT_ARGS = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
# A writer cut off mid-transaction (a partition) holds the chain's head row locked,
# and every replica waits on it: the server ends such a transaction after 10 s.
SESSION_OPTIONS = "-c idle_in_transaction_session_timeout=10000"


class Link:
    """The writer's connection; `get` opens it (again) when needed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.conn: Any = None

    def get(self) -> Any:
        """The open connection, opened on first use (and after a failure)."""
        if self.conn is not None and not self.sqlite and _has_spoken(self.conn):
            # Idle, yet the server sent something: it ended this connection (a restart,
            # pg_terminate_backend) or the network reset it. A new one, before writing.
            self.close()
        if self.conn is None:
            self.conn = self._open()
        return self.conn

    def _open(self) -> Any:
        if self.sqlite:
            conn = self._engine.raw_connection()
            conn.detach()  # this thread's alone, for as long as it runs
            pragma(conn, "wal_autocheckpoint = 0")  # the writer checkpoints the WAL
            return conn
        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        connect = self._engine.dialect.loaded_dbapi.connect
        options = f"{kwargs.get('options', '')} {SESSION_OPTIONS}".strip()
        return connect(*args, **{**kwargs, **CONNECT_ARGS, "options": options})

    def cut(self) -> None:
        """Shut the socket of the connection in use (from any thread): a write stuck in
        a silent network fails at once instead of waiting for TCP to give up."""
        conn = self.conn
        if conn is None or self.sqlite:
            return
        with contextlib.suppress(Exception):
            sock = socket.socket(fileno=os.dup(conn.fileno()))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.close()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def pragma(conn: Any, statement: str) -> None:
    """Run `PRAGMA statement` on an SQLite DBAPI connection."""
    cursor = conn.cursor()
    try:
        cursor.execute(f"PRAGMA {statement}")
        cursor.fetchall()
    finally:
        cursor.close()


def _has_spoken(conn: Any) -> bool:
    """An idle PostgreSQL connection with bytes (or an EOF) to read has been ended."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except Exception:  # closed already (each driver says so its own way)
        return True
    return bool(readable)
