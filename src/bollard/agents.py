"""Agents, their keys and grants, in the store: what the gateway and the CLI share.

`authenticate` runs on every request. It keeps the agents it has seen in
memory and, per call, reads one number: `access_version`, which the database
itself bumps (triggers, migration 0004) on any change to agents, keys or
grants, from this process or any other. When it moves, the memory is dropped
and the agent is read again, so every change is in force on the very next call.
Time-based limits (expiry, a rotated key's grace) are judged on every call.

The gateway takes that number with `await Agents.version()`: on SQLite a local read,
on PostgreSQL a round trip made on an async connection (`_SharedVersionRead`), so the
event loop serves other calls meanwhile, and calls that arrive while one read is in
flight share the next one.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import contextvars
import hmac
import re
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import psycopg
from sqlalchemy import Connection, Engine, Row, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import PoolProxiedConnection

from bollard import keys
from bollard.catalog import Catalog
from bollard.errors import ConfigError
from bollard.policy import parse_selector
from bollard.store import reader
from bollard.store.tables import agent_keys, agents, grants

Status = Literal["active", "revoked", "expired"]
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """`90m`, `12h`, `30d` or `1w` as a timedelta; anything else is a ConfigError."""
    match = _DURATION.match(text)
    if match is None or int(match[1]) == 0:
        raise ConfigError(
            f"duration {text!r} is not understood: use a positive whole number "
            "followed by m (minutes), h (hours), d (days) or w (weeks), e.g. 30d"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True, slots=True)
class Agent:
    """A named caller and what it is granted."""

    id: int
    name: str
    note: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    grants: tuple[str, ...]

    def status(self, now: datetime) -> Status:
        """Whether the agent may call at `now`: active, revoked or expired."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


# Built once: constructing a select costs more than running it, on the hot path.
_AUTHENTICATE = (
    select(
        agents,
        agent_keys.c.key_hash,
        agent_keys.c.revoked_at.label("key_revoked_at"),
        agent_keys.c.expires_at.label("key_expires_at"),
        grants.c.selector,
    )
    .select_from(agent_keys.join(agents, agents.c.id == agent_keys.c.agent_id))
    .outerjoin(grants, grants.c.agent_id == agents.c.id)
    .where(agent_keys.c.key_hash == bindparam("key_hash"))
    .order_by(grants.c.selector)
)


_VERSION = "SELECT version FROM access_version WHERE id = 1"


@dataclass(frozen=True, slots=True)
class _Entry:
    agent: Agent
    key_revoked_at: datetime | None
    key_expires_at: datetime | None


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


READ_TIMEOUT = 5.0  # seconds a read of access_version may take; then its calls are denied
KEPT_TIMEOUT = 1.0  # seconds the kept connection gets to answer before a new one is tried
# Dead connections found by the kernel, not only by the next read (libpq's settings).
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
_T = TypeVar("_T")


class _SharedVersionRead:
    """PostgreSQL: `access_version` read on an async connection of its own, shared.

    A call waits for a read that starts after it arrived, so it sees every change
    committed before it came; all the calls that arrived while the previous read was
    in flight share one. At load that is one round trip for many calls, and none of
    them holds the event loop while it waits (the synchronous read did: measured at
    concurrency 32, 43% of the loop thread's busy time).

    A kept connection that fails or stays silent for `KEPT_TIMEOUT` (a server restart,
    a NAT's idle cut) is dropped and the read made once more on a new one, still after
    every waiting call arrived. Any other error, or no answer within `READ_TIMEOUT` in
    all, fails the calls waiting on that read (the gateway denies them); a call arriving
    meanwhile waits at most for that read and its own. One event loop at a time: on a
    new loop, the old loop's read and connection are dropped.
    """

    def __init__(self, engine: Engine) -> None:
        # The engine's URL, as SQLAlchemy's psycopg dialect turns it into connect
        # arguments (open_store adds no connect_args or connect events to apply here).
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._connect_args = (
            args,
            {"connect_timeout": int(READ_TIMEOUT), **KEEPALIVES, **kwargs},
        )
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
        """One read within `READ_TIMEOUT`: on the kept connection if it answers within
        `KEPT_TIMEOUT`, else on a new one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_TIMEOUT
        conn, self._conn = self._conn, None  # ours until it has answered
        if conn is not None:
            try:
                version = await self._within(_select_version(conn), KEPT_TIMEOUT, conn)
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
                raise TimeoutError(f"access_version was not read within {READ_TIMEOUT:g} s")
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


class Agents:
    """The agents repository over one engine; every method is one transaction."""

    CACHE_SIZE = 10_000

    def __init__(
        self, engine: Engine, catalog: Catalog, now: Callable[[], datetime] = utcnow
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._catalog = catalog
        self._now = now
        self._versions = _VersionReader(engine)
        self._shared_versions = (
            _SharedVersionRead(engine) if engine.dialect.name == "postgresql" else None
        )
        self._cached_version: int | None = None
        self._cache: dict[str, _Entry] = {}
        self._cache_lock = threading.Lock()
        weakref.finalize(self, self._versions.close)
        if self._shared_versions is not None:
            weakref.finalize(self, self._shared_versions.close_connection)

    def close(self) -> None:
        """Close the connections that read `access_version`; they reopen on next use."""
        self._versions.close()
        if self._shared_versions is not None:
            self._shared_versions.close()

    async def version(self) -> int:
        """The current `access_version`, for `authenticate`: read after this call began."""
        if self._shared_versions is not None:
            return await self._shared_versions.read()
        return self._versions.read()  # SQLite: local, and cheaper than any hand-off

    def create(
        self,
        name: str,
        grants: Sequence[str] = (),
        *,
        expires_at: datetime | None = None,
        note: str = "",
    ) -> tuple[Agent, str]:
        """A new agent and its key; the key is returned here once and never stored."""
        if not NAME.fullmatch(name):
            raise ConfigError(
                f"agent name {name!r} is not allowed: use 1 to 64 lowercase letters, "
                "digits, '_', '.' or '-', starting with a letter or digit"
            )
        selectors = self._selectors(grants)
        now = self._now()
        try:
            with self._engine.begin() as conn:
                values = {"name": name, "note": note, "created_at": now, "expires_at": expires_at}
                agent_id: int = conn.execute(
                    insert(agents).values(values).returning(agents.c.id)
                ).scalar_one()
                _insert_grants(conn, agent_id, selectors, now)
                key = _insert_key(conn, agent_id, now)
        except IntegrityError as exc:
            if self.get(name) is not None:
                raise ConfigError(f"an agent named {name!r} already exists") from exc
            raise
        return self.require(name), key

    def authenticate(self, key: str, version: int | None = None) -> Agent | None:
        """The agent a key belongs to, or None if the key does not let it in now.

        `version` is `access_version` as `version()` read it for this call; without
        it, it is read here.
        """
        if len(key) != keys.KEY_LENGTH:
            return None
        wanted = keys.key_hash(key)
        # The version first: whatever is read after it is at least as new, so an
        # entry is never filed under a version newer than its data.
        if version is None:
            version = self._versions.read()
        with self._cache_lock:
            if version != self._cached_version:
                self._cache = {}
                self._cached_version = version
            # This version's dict: an entry read under it is filed in it, never in a
            # newer one another thread may have swapped in meanwhile.
            cache = self._cache
        entry = cache.get(wanted)
        if entry is None:
            # Remembered keys were well formed; a new one must pass its checksum
            # before it costs a query.
            if not keys.is_well_formed(key):
                return None
            entry = self._lookup(wanted)
            if entry is None:
                return None  # unknown keys are not remembered: nothing to fill memory with
            if len(cache) >= self.CACHE_SIZE:
                cache.clear()
            cache[wanted] = entry
        now = self._now()
        if entry.key_revoked_at is not None or (
            entry.key_expires_at is not None and entry.key_expires_at <= now
        ):
            return None
        return entry.agent if entry.agent.status(now) == "active" else None

    def _lookup(self, wanted: str) -> _Entry | None:
        with self._reader.connect() as conn:
            rows = conn.execute(_AUTHENTICATE, {"key_hash": wanted}).all()
        if not rows or not hmac.compare_digest(rows[0].key_hash, wanted):
            return None
        first = rows[0]
        agent = _agent(first, (r.selector for r in rows))
        return _Entry(agent, first.key_revoked_at, first.key_expires_at)

    def get(self, name: str) -> Agent | None:
        """The agent with this name, whatever its status."""
        found = self._load(agents.c.name == name)
        return found[0] if found else None

    def list(self) -> builtins.list[Agent]:
        """Every agent, by name."""
        return self._load(None)

    def revoke(self, name: str) -> Agent:
        """Revoke an agent and all its keys, from the next call on."""
        agent = self.require(name)
        now = self._now()
        with self._engine.begin() as conn:
            conn.execute(
                update(agents)
                .where(agents.c.id == agent.id, agents.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            conn.execute(
                update(agent_keys)
                .where(agent_keys.c.agent_id == agent.id, agent_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return self.require(name)

    def rotate(self, name: str, grace: timedelta | None = None) -> str:
        """A new key; the old ones stop now, or keep working for `grace`."""
        agent = self.require(name)
        if agent.revoked_at is not None:
            raise ConfigError(f"agent {name!r} is revoked; create a new agent instead")
        now = self._now()
        live = and_(agent_keys.c.agent_id == agent.id, agent_keys.c.revoked_at.is_(None))
        with self._engine.begin() as conn:
            if grace is None:
                conn.execute(update(agent_keys).where(live).values(revoked_at=now))
            else:
                # A shorter expiry already set by an earlier rotation stays.
                until = now + grace
                later = or_(agent_keys.c.expires_at.is_(None), agent_keys.c.expires_at > until)
                conn.execute(update(agent_keys).where(live, later).values(expires_at=until))
            return _insert_key(conn, agent.id, now)

    def add_grants(self, name: str, selectors: Sequence[str]) -> Agent:
        """Grant more; selectors already granted are left as they are."""
        agent = self.require(name)
        wanted = [s for s in self._selectors(selectors) if s not in agent.grants]
        with self._engine.begin() as conn:
            _insert_grants(conn, agent.id, wanted, self._now())
        return self.require(name)

    def remove_grants(self, name: str, selectors: Sequence[str]) -> Agent:
        """Take grants away; naming one the agent does not have is a ConfigError."""
        agent = self.require(name)
        missing = [s.strip() for s in selectors if s.strip() not in agent.grants]
        if missing:
            have = ", ".join(agent.grants) or "none"
            raise ConfigError(
                f"agent {name!r} has no grant {', '.join(map(repr, missing))}; "
                f"its grants are: {have}"
            )
        with self._engine.begin() as conn:
            conn.execute(
                delete(grants).where(
                    grants.c.agent_id == agent.id,
                    grants.c.selector.in_([s.strip() for s in selectors]),
                )
            )
        return self.require(name)

    def _selectors(self, texts: Iterable[str]) -> builtins.list[str]:
        return list(dict.fromkeys(parse_selector(t, self._catalog) for t in texts))

    def require(self, name: str) -> Agent:
        """The agent with this name, or a ConfigError that lists the agents there are."""
        agent = self.get(name)
        if agent is None:
            names = ", ".join(a.name for a in self.list()) or "none yet"
            raise ConfigError(f"no agent named {name!r}; agents are: {names}")
        return agent

    def _load(self, where: Any) -> builtins.list[Agent]:
        query = (
            select(agents, grants.c.selector)
            .outerjoin(grants, grants.c.agent_id == agents.c.id)
            .order_by(agents.c.name, grants.c.selector)
        )
        if where is not None:
            query = query.where(where)
        with self._reader.connect() as conn:
            rows = conn.execute(query).all()
        by_id: dict[int, builtins.list[Row[Any]]] = {}
        for row in rows:
            by_id.setdefault(row.id, []).append(row)
        return [_agent(group[0], (r.selector for r in group)) for group in by_id.values()]


def _agent(row: Row[Any], selectors: Iterable[str | None]) -> Agent:
    return Agent(
        id=row.id,
        name=row.name,
        note=row.note,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        grants=tuple(s for s in selectors if s is not None),
    )


def _insert_grants(
    conn: Connection, agent_id: int, selectors: Sequence[str], now: datetime
) -> None:
    if selectors:
        conn.execute(
            insert(grants),
            [{"agent_id": agent_id, "selector": s, "created_at": now} for s in selectors],
        )


def _insert_key(conn: Connection, agent_id: int, now: datetime) -> str:
    key = keys.generate_key()
    conn.execute(
        insert(agent_keys).values(
            agent_id=agent_id,
            key_hash=keys.key_hash(key),
            prefix=keys.display_prefix(key),
            created_at=now,
        )
    )
    return key
