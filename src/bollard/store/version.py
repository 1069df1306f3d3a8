"""`access_version`: the number the database bumps on any change to agents, keys or
grants (triggers, migration 0004), read once per call so every change is in force on
the very next one.

On SQLite a local read (`_VersionReader`), one per turn of the event loop shared by the
calls that asked for it in that turn (`_TurnRead`); on PostgreSQL a round trip made on
an async connection (`_SharedVersionRead`), so the event loop serves other calls
meanwhile, and calls that arrive while one read is in flight share the next one.
Either way a call's read starts after the call asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.pool import PoolProxiedConnection

READ_TIMEOUT = 5.0  # seconds a read may take by default; then its calls are denied
KEPT_TIMEOUT = 1.0  # seconds the kept connection gets by default before a new one is tried
_VERSION = "SELECT version FROM access_version WHERE id = 1"
# Dead connections found by the kernel, not only by the next read (libpq's settings).
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
_T = TypeVar("_T")


class _VersionReader:
    """Reads `access_version` on one connection of its own, in autocommit.

    A raw DBAPI connection, detached from the pool, so the read is one cheap
    statement (no pool checkout, no BEGIN/ROLLBACK) that always sees the latest
    commit. Any error drops the connection (the next call opens a new one) and
    propagates: the gateway denies a call it could not decide.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: PoolProxiedConnection | None = None
        self._cursor: DBAPICursor | None = None  # the driver's own, kept between reads

    def read(self) -> int:
        with self._lock:
            try:
                if self._cursor is None:
                    self._conn = self._open()
                    self._cursor = self._conn.dbapi_connection.cursor()  # type: ignore[union-attr]
                self._cursor.execute(_VERSION)
                row = self._cursor.fetchone()
            except BaseException:
                self._close()
                raise
        if row is None:
            raise RuntimeError("access_version has no row: run the migrations (bollard serve)")
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> PoolProxiedConnection:
        conn = self._engine.raw_connection()
        if self._engine.dialect.name == "postgresql":
            conn.rollback()  # psycopg sets autocommit only outside a transaction
            conn.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        conn.detach()  # ours alone until closed (which closes it); never back in the pool
        return conn

    def _close(self) -> None:
        conn, self._conn, self._cursor = self._conn, None, None
        if conn is not None:
            conn.close()


class _TurnRead:
    """SQLite: the calls that ask in one turn of the event loop share one read, made by
    a callback scheduled after the first of them asked (so after all of them did).

    At load many calls reach authentication in the same turn (their requests arrived
    in one poll of the sockets), and the read, cheap alone, is not cheap there: the
    driver gives up the GIL around it and takes it back from the audit writer thread.
    Each caller waits on a future of its own, so one that gives up cancels nobody's.
    """

    def __init__(self, reader: _VersionReader) -> None:
        self._reader = reader
        # The futures waiting for the read scheduled on that loop (one loop per thread;
        # each batch is read by a callback on its own loop).
        self._batch: tuple[asyncio.AbstractEventLoop, list[asyncio.Future[int]]] | None = None

    async def read(self) -> int:
        loop = asyncio.get_running_loop()
        batch = self._batch
        if batch is None or batch[0] is not loop:
            batch = self._batch = (loop, [])
            loop.call_soon(self._read, batch)
        mine: asyncio.Future[int] = loop.create_future()
        batch[1].append(mine)
        return await mine

    def _read(self, batch: tuple[asyncio.AbstractEventLoop, list[asyncio.Future[int]]]) -> None:
        if self._batch is batch:
            self._batch = None  # callers from now on wait for the next read
        waiting = batch[1]
        try:
            version = self._reader.read()
        except Exception as exc:
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        for future in waiting:
            if not future.done():
                future.set_result(version)


class _SharedVersionRead:
    """PostgreSQL: `access_version` read on an async connection of its own, shared.

    A call waits for a read that starts after it arrived, so it sees every change
    committed before it came; all the calls that arrived while the previous read was
    in flight share one. At load that is one round trip for many calls, and none of
    them holds the event loop while it waits (the synchronous read did: measured at
    concurrency 32, 43% of the loop thread's busy time).

    A kept connection that fails or stays silent for `kept_timeout` seconds (a server restart,
    a NAT's idle cut) is dropped and the read made once more on a new one, still after
    every waiting call arrived. Any other error, or no answer within `read_timeout` in
    all, fails the calls waiting on that read (the gateway denies them); a call arriving
    meanwhile waits at most for that read and its own. One event loop at a time: on a
    new loop, the old loop's read and connection are dropped.
    """

    def __init__(self, engine: Engine, *, read_timeout: float, kept_timeout: float) -> None:
        self._read_timeout = read_timeout
        self._kept_timeout = kept_timeout
        # The engine's URL, as SQLAlchemy's psycopg dialect turns it into connect
        # arguments (open_store adds no connect_args or connect events to apply here).
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        # libpq counts whole seconds, and reads 0 as "wait for ever".
        connect_timeout = max(1, math.ceil(read_timeout))
        self._connect_args = (args, {"connect_timeout": connect_timeout, **KEEPALIVES, **kwargs})
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[int] | None = None  # the read not started yet
        self._reading: asyncio.Task[None] | None = None
        self._abandoned: set[asyncio.Future[Any]] = set()  # cut short, still ending
        self._in_use: set[psycopg.AsyncConnection[Any]] = set()  # a read's, now

    async def read(self) -> int:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop = loop
        waiting = self._next
        if waiting is None:
            waiting = self._next = loop.create_future()
        if self._reading is None or self._reading.done():
            # A context of its own: the task outlives the call that happened to start it.
            self._reading = loop.create_task(self._reads(), context=contextvars.Context())
        # Shielded: a caller that gives up must not cancel the read others wait on.
        return await asyncio.shield(waiting)

    async def _reads(self) -> None:
        me = asyncio.current_task()
        try:
            while (waiting := self._next) is not None:
                self._next = None  # calls from now on wait for the next read
                try:
                    version = await self._read()
                except BaseException as exc:  # cancelled too: its callers must hear
                    failed = isinstance(exc, Exception)
                    # (A loop closed under this task: set, with nobody left to wake.)
                    with contextlib.suppress(RuntimeError):
                        waiting.set_exception(exc if failed else RuntimeError("read cancelled"))
                    waiting.exception()  # the waiters still get it; none may be left
                    if not failed:
                        raise
                else:
                    waiting.set_result(version)
        finally:
            if self._reading is me:
                self._reading = None

    async def _read(self) -> int:
        """One read within `read_timeout`: on the kept connection if it answers within
        `kept_timeout`, else on a new one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._read_timeout
        conn, self._conn = self._conn, None  # ours until it has answered
        if conn is not None:
            try:
                version = await self._within(_select_version(conn), self._kept_timeout, conn)
            except (psycopg.OperationalError, TimeoutError):
                pass  # dead, or cut without a word (a NAT's idle cut): again, on a new one
            else:
                self._conn = conn
                return version
        conn = await self._within(self._connect(), deadline - loop.time())
        version = await self._within(_select_version(conn), deadline - loop.time(), conn)
        self._conn = conn
        return version

    async def _within(
        self,
        work: Coroutine[Any, Any, _T],
        seconds: float,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> _T:
        """`work`'s result, or TimeoutError after `seconds`; on any failure `conn` is
        closed. Work cut short is left to end in the background, not waited for:
        psycopg, cancelled mid-query, may spend seconds asking the server to cancel it.
        """
        task = asyncio.ensure_future(work)
        if conn is not None:
            self._in_use.add(conn)  # for close(), should this read never come back
        try:
            done, _ = await asyncio.wait({task}, timeout=max(seconds, 0))
            if not done:
                raise TimeoutError(f"access_version was not read within {self._read_timeout:g} s")
            return task.result()
        except BaseException:
            if task.get_loop().is_closed():
                # This coroutine is being closed by the garbage collector, after its loop
                # was: nothing can be cancelled or run. Closed, the work cannot warn later
                # that it was never awaited (a no-op if it ended).
                with contextlib.suppress(Exception):
                    work.close()
            elif not task.done():
                task.cancel()
                self._abandoned.add(task)
                task.add_done_callback(self._forget)
            _finish(conn)
            raise
        finally:
            if conn is not None:
                self._in_use.discard(conn)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        """An abandoned piece of work has ended: retrieve its error, close what it opened."""
        self._abandoned.discard(task)
        if not task.cancelled() and task.exception() is None:
            result = task.result()
            if isinstance(result, psycopg.AsyncConnection):
                _finish(result)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        args, kwargs = self._connect_args
        return await psycopg.AsyncConnection.connect(*args, **kwargs, autocommit=True)

    def close_connection(self) -> None:
        conn, self._conn = self._conn, None
        _finish(conn)
        for busy in self._in_use:
            _finish(busy)
        self._in_use.clear()

    def close(self) -> None:
        """Drop the connection and any read in flight (their callers are told)."""
        self.close_connection()
        # On a loop already closed there is nobody left to tell (RuntimeError).
        with contextlib.suppress(RuntimeError):
            if self._reading is not None:
                self._reading.cancel()
            if self._next is not None and not self._next.done():
                self._next.set_exception(RuntimeError("the access_version reader was closed"))
                self._next.exception()  # retrieved here: nobody may be waiting any more
        self._next = self._reading = None


def _finish(conn: psycopg.AsyncConnection[Any] | None) -> None:
    """Close a connection's socket now: nothing to wait for, whatever it was doing."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.pgconn.finish()


async def _select_version(conn: psycopg.AsyncConnection[Any]) -> int:
    cursor = await conn.execute(_VERSION)
    row = await cursor.fetchone()
    if row is None:
        raise RuntimeError("access_version has no row: run the migrations (bollard serve)")
    return int(row[0])


class AccessVersion:
    """The current `access_version`, read after the call asking for it began.

    `read_timeout`: seconds a read may take in all before its calls are denied;
    `kept_timeout`: seconds the kept PostgreSQL connection gets to answer before the
    read is made again on a new one.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        read_timeout: float = READ_TIMEOUT,
        kept_timeout: float = KEPT_TIMEOUT,
    ) -> None:
        self._local = _VersionReader(engine)
        self._turn = _TurnRead(self._local)
        self._shared = (
            _SharedVersionRead(engine, read_timeout=read_timeout, kept_timeout=kept_timeout)
            if engine.dialect.name == "postgresql"
            else None
        )
        weakref.finalize(self, self._local.close)
        if self._shared is not None:
            weakref.finalize(self, self._shared.close_connection)

    async def read(self) -> int:
        """The version, without holding the event loop on PostgreSQL."""
        if self._shared is not None:
            return await self._shared.read()
        return await self._turn.read()

    def read_now(self) -> int:
        """The version, read on this thread (for callers outside an event loop)."""
        return self._local.read()

    def close(self) -> None:
        """Close the connections that read it; they reopen on next use."""
        self._local.close()
        if self._shared is not None:
            self._shared.close()
