"""Agents, their keys and grants, in the store: what the gateway and the CLI share.

`authenticate` runs on every request. It keeps the agents it has seen in
memory and, per call, reads one number: `access_version` (`bollard.store.version`),
which the database itself bumps on any change to agents, keys or grants, from this
process or any other. When it moves, the memory is dropped and the agent is read
again, so every change is in force on the very next call. Time-based limits (expiry,
a rotated key's grace) are judged on every call.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import hmac
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bollard.agent_keys import (
    KEY_LENGTH,
    display_prefix,
    generate_key,
    is_well_formed,
    key_hash,
)
from bollard.catalog import Catalog
from bollard.errors import ConfigError
from bollard.policy import parse_selector
from bollard.store import reader
from bollard.store.tables import agent_keys, agents, grants
from bollard.store.version import AccessVersion

Status = Literal["active", "revoked", "expired"]
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DAYS = {"m": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7}
DURATION_MAX = timedelta(days=3650)


class UnknownAgentName(ConfigError):
    """No agent has this name; the message offers the nearest names there are."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.nearest = tuple(difflib.get_close_matches(name, known, n=3, cutoff=0.6))
        if self.nearest:
            hint = f"did you mean {' or '.join(self.nearest)}?"
        else:
            hint = f"agents are: {', '.join(known)}" if known else "there are no agents yet"
        super().__init__(f"no agent named {name!r}; {hint}")


class AgentNameTaken(ConfigError):
    """An agent with this name already exists (names are never reused)."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """`90m`, `12h`, `30d` or `1w` as a timedelta, up to DURATION_MAX; else a ConfigError."""
    match = _DURATION.match(text)
    if match is None or int(match[1]) == 0:
        raise ConfigError(
            f"duration {text!r} is not understood: use a positive whole number "
            "followed by m (minutes), h (hours), d (days) or w (weeks), e.g. 30d"
        )
    # Compared as numbers first: 10**12 days would not even fit in a timedelta.
    days = int(match[1]) * _DAYS[match[2]]
    if days > DURATION_MAX.days:
        raise ConfigError(
            f"duration {text!r} is too long: at most {DURATION_MAX.days} days (about 10 years)"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def in_words(period: timedelta) -> str:
    """A duration as a person says it: `3 minutes`, `2 hours 30 minutes`, `30 days`."""
    minutes = int(period.total_seconds() // 60)
    parts = []
    for unit, size in (("week", 10080), ("day", 1440), ("hour", 60), ("minute", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "less than a minute"


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
    # Names an action does not take go through to Apollo, recorded as a warning.
    allow_unknown_parameters: bool = False

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


@dataclass(frozen=True, slots=True)
class _Entry:
    agent: Agent
    key_revoked_at: datetime | None
    key_expires_at: datetime | None


class Agents:
    """The agents repository over one engine; every method is one transaction."""

    CACHE_SIZE = 10_000

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        now: Callable[[], datetime] = utcnow,
        *,
        versions: AccessVersion | None = None,
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._catalog = catalog
        self._now = now
        self._versions = versions if versions is not None else AccessVersion(engine)
        self._cached_version: int | None = None
        self._cache: dict[str, _Entry] = {}
        self._cache_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The store these agents live in."""
        return self._engine

    @property
    def catalog(self) -> Catalog:
        """The catalog grants are checked against."""
        return self._catalog

    @property
    def seen_version(self) -> int | None:
        """The `access_version` the last `authenticate` read: what else is cached per
        version (policy rules) is refreshed against it."""
        return self._cached_version

    def close(self) -> None:
        """Close the connections that read `access_version`; they reopen on next use."""
        self._versions.close()

    async def version(self) -> int:
        """The current `access_version`, for `authenticate`: read after this call began."""
        return await self._versions.read()

    def create(
        self,
        name: str,
        grants: Sequence[str] = (),
        *,
        expires_at: datetime | None = None,
        note: str = "",
        conn: Connection | None = None,
    ) -> tuple[Agent, str]:
        """A new agent and its key; the key is returned here once and never stored.

        With `conn`, inside the caller's transaction (as every method that takes one).
        """
        if not NAME.fullmatch(name):
            raise ConfigError(
                f"agent name {name!r} is not allowed: use 1 to 64 lowercase letters, "
                "digits, '_', '.' or '-', starting with a letter or digit"
            )
        selectors = self._selectors(grants)
        now = self._now()
        try:
            with self._begin(conn) as tx:
                values = {"name": name, "note": note, "created_at": now, "expires_at": expires_at}
                agent_id: int = tx.execute(
                    insert(agents).values(values).returning(agents.c.id)
                ).scalar_one()
                _insert_grants(tx, agent_id, selectors, now)
                key = _insert_key(tx, agent_id, now)
        except IntegrityError as exc:
            if conn is None and self.get(name) is not None:
                raise AgentNameTaken(f"an agent named {name!r} already exists") from exc
            raise
        return self.require(name, conn), key

    @contextlib.contextmanager
    def _begin(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's transaction, or a new one of our own."""
        if conn is not None:
            yield conn
            return
        with self._engine.begin() as new:
            yield new

    def authenticate(self, key: str, version: int | None = None) -> Agent | None:
        """The agent a key belongs to, or None if the key does not let it in now.

        `version` is `access_version` as `version()` read it for this call; without
        it, it is read here.
        """
        if len(key) != KEY_LENGTH:
            return None
        wanted = key_hash(key)
        # The version first: whatever is read after it is at least as new, so an
        # entry is never filed under a version newer than its data.
        if version is None:
            version = self._versions.read_now()
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
            if not is_well_formed(key):
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

    def get(self, name: str, conn: Connection | None = None) -> Agent | None:
        """The agent with this name, whatever its status."""
        found = self._load(agents.c.name == name, conn)
        return found[0] if found else None

    def list(self, conn: Connection | None = None) -> builtins.list[Agent]:
        """Every agent, by name."""
        return self._load(None, conn)

    def revoke(self, name: str, conn: Connection | None = None) -> Agent:
        """Revoke an agent and all its keys, from the next call on."""
        agent = self.require(name, conn)
        now = self._now()
        with self._begin(conn) as tx:
            tx.execute(
                update(agents)
                .where(agents.c.id == agent.id, agents.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            tx.execute(
                update(agent_keys)
                .where(agent_keys.c.agent_id == agent.id, agent_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return self.require(name, conn)

    def set_details(
        self,
        name: str,
        note: str,
        expires_at: datetime | None,
        conn: Connection | None = None,
    ) -> Agent:
        """Change an agent's note and expiry (None: never expires)."""
        agent = self.require(name, conn)
        with self._begin(conn) as tx:
            tx.execute(
                update(agents)
                .where(agents.c.id == agent.id)
                .values(note=note, expires_at=expires_at)
            )
        return self.require(name, conn)

    def rotate(
        self, name: str, grace: timedelta | None = None, conn: Connection | None = None
    ) -> str:
        """A new key; the old ones stop now, or keep working for `grace`."""
        agent = self.require(name, conn)
        if agent.revoked_at is not None:
            raise ConfigError(f"agent {name!r} is revoked; create a new agent instead")
        now = self._now()
        live = and_(agent_keys.c.agent_id == agent.id, agent_keys.c.revoked_at.is_(None))
        with self._begin(conn) as tx:
            if grace is None:
                tx.execute(update(agent_keys).where(live).values(revoked_at=now))
            else:
                # A shorter expiry already set by an earlier rotation stays.
                until = now + grace
                later = or_(agent_keys.c.expires_at.is_(None), agent_keys.c.expires_at > until)
                tx.execute(update(agent_keys).where(live, later).values(expires_at=until))
            return _insert_key(tx, agent.id, now)

    def add_grants(
        self, name: str, selectors: Sequence[str], conn: Connection | None = None
    ) -> Agent:
        """Grant more; selectors already granted are left as they are."""
        agent = self.require(name, conn)
        wanted = [s for s in self._selectors(selectors) if s not in agent.grants]
        with self._begin(conn) as tx:
            _insert_grants(tx, agent.id, wanted, self._now())
        return self.require(name, conn)

    def remove_grants(
        self, name: str, selectors: Sequence[str], conn: Connection | None = None
    ) -> Agent:
        """Take grants away; naming one the agent does not have is a ConfigError."""
        agent = self.require(name, conn)
        missing = [s.strip() for s in selectors if s.strip() not in agent.grants]
        if missing:
            have = ", ".join(agent.grants) or "none"
            raise ConfigError(
                f"agent {name!r} has no grant {', '.join(map(repr, missing))}; "
                f"its grants are: {have}"
            )
        with self._begin(conn) as tx:
            tx.execute(
                delete(grants).where(
                    grants.c.agent_id == agent.id,
                    grants.c.selector.in_([s.strip() for s in selectors]),
                )
            )
        return self.require(name, conn)

    def set_allow_unknown_parameters(
        self, name: str, allowed: bool, conn: Connection | None = None
    ) -> Agent:
        """Let names an action does not take through (recorded as warnings), or refuse them."""
        agent = self.require(name, conn)
        with self._begin(conn) as tx:
            tx.execute(
                update(agents)
                .where(agents.c.id == agent.id)
                .values(allow_unknown_parameters=allowed)
            )
        return self.require(name, conn)

    def _selectors(self, texts: Iterable[str]) -> builtins.list[str]:
        return list(dict.fromkeys(parse_selector(t, self._catalog) for t in texts))

    def require(self, name: str, conn: Connection | None = None) -> Agent:
        """The agent with this name, or UnknownAgentName with the nearest names there are."""
        agent = self.get(name, conn)
        if agent is None:
            raise UnknownAgentName(name, [a.name for a in self.list(conn)])
        return agent

    def _load(self, where: Any, conn: Connection | None = None) -> builtins.list[Agent]:
        query = (
            select(agents, grants.c.selector)
            .outerjoin(grants, grants.c.agent_id == agents.c.id)
            .order_by(agents.c.name, grants.c.selector)
        )
        if where is not None:
            query = query.where(where)
        if conn is not None:
            rows = conn.execute(query).all()
        else:
            with self._reader.connect() as read:
                rows = read.execute(query).all()
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
        allow_unknown_parameters=bool(row.allow_unknown_parameters),
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
    key = generate_key()
    conn.execute(
        insert(agent_keys).values(
            agent_id=agent_id,
            key_hash=key_hash(key),
            prefix=display_prefix(key),
            created_at=now,
        )
    )
    return key
