"""Limit rules, Apollo window snapshots and limiter events in SQL, shared by CLI and server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bollard.errors import ConfigError
from bollard.limits.rules import LimitRule, Rules
from bollard.limits.tables import apollo_windows, limit_events, limits
from bollard.limits.windows import WINDOW_SECONDS, UsageStat, window_start

# The most any limit may be (the columns are 32-bit integers); more is no limit at all.
LIMIT_MAX = 1_000_000_000
_FIELDS = (
    "per_minute",
    "per_hour",
    "per_day",
    "credits_per_day",
    "credits_per_month",
    "share_of_apollo",
)


def load_rules(engine: Engine) -> Rules:
    """Every stored rule."""
    with engine.connect() as conn:
        rows = conn.execute(select(limits)).mappings().all()
    return Rules.of(
        LimitRule(agent=r["agent"], action=r["action"], **{f: r[f] for f in _FIELDS}) for r in rows
    )


def check_rule(rule: LimitRule) -> None:
    """`ConfigError` for a rule no limiter could honour."""
    for name in _FIELDS[:-1]:
        value = getattr(rule, name)
        if value is not None and not 0 <= value <= LIMIT_MAX:
            raise ConfigError(
                f"--{name.replace('_', '-')} must be a whole number from 0 to {LIMIT_MAX:,}, "
                f"not {value}"
            )
    share = rule.share_of_apollo
    if share is not None and not 0 < share <= 100:
        raise ConfigError(f"--share-of-apollo must be a percent in (0, 100], not {share}")


def set_rule(engine: Engine, changes: LimitRule, now: float) -> LimitRule:
    """Merge the given (non-None) fields into the stored rule; returns the rule as stored.

    Safe from two places at once: one upsert makes the row exist and locks it
    (PostgreSQL: the row lock lasts until commit; SQLite: the transaction holds the
    write lock), then it is read and merged, so two `limits set` on one agent neither
    collide on the key nor lose each other's fields, and a `limits clear` committed
    meanwhile cannot leave the update with no row. A rule that fails its check rolls
    the whole change back, placeholder included.
    """
    with engine.begin() as conn:
        return merge_rule(conn, changes, now)[1]


def merge_rule(conn: Connection, changes: LimitRule, now: float) -> tuple[LimitRule, LimitRule]:
    """`set_rule` inside the caller's transaction: the rule before (all unset if it was
    new) and as stored."""
    key = (limits.c.agent == changes.agent) & (limits.c.action == changes.action)
    placeholder = {"agent": changes.agent, "action": changes.action, "updated_at": now}
    _upsert(conn, limits, placeholder, (limits.c.agent, limits.c.action), {"updated_at": now})
    current = _read(conn, changes.agent, changes.action) or LimitRule(changes.agent, changes.action)
    given = {f: getattr(changes, f) for f in _FIELDS if getattr(changes, f) is not None}
    merged = replace(current, **given)
    check_rule(merged)
    values = {f: getattr(merged, f) for f in _FIELDS} | {"updated_at": now}
    conn.execute(update(limits).where(key).values(**values))
    return current, merged


def clear_rules(engine: Engine, agent: str, action: str | None = None) -> int:
    """Delete the agent's rules (all of them, or the one for `action`); how many went."""
    with engine.begin() as conn:
        return len(delete_rules(conn, agent, action))


def delete_rules(conn: Connection, agent: str, action: str | None = None) -> list[LimitRule]:
    """`clear_rules` inside the caller's transaction: the rules it deleted."""
    where = limits.c.agent == agent
    if action is not None:
        where = where & (limits.c.action == action)
    rows = conn.execute(select(limits).where(where).order_by(limits.c.action)).mappings().all()
    conn.execute(delete(limits).where(where))
    return [LimitRule(agent=agent, action=r["action"], **{f: r[f] for f in _FIELDS}) for r in rows]


def _read(conn: Connection, agent: str, action: str) -> LimitRule | None:
    query = select(limits).where((limits.c.agent == agent) & (limits.c.action == action))
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return LimitRule(agent=agent, action=action, **{f: row[f] for f in _FIELDS})


def rule_dict(rule: LimitRule) -> dict[str, object]:
    """A rule as JSON-ready data, without unset fields."""
    return {k: v for k, v in asdict(rule).items() if v is not None}


def save_windows(engine: Engine, stats: Sequence[UsageStat], now: float) -> None:
    """Store Apollo's windows as just reported, replacing the previous snapshot of each.

    An upsert, rows in one order: replicas that sync at the same moment (at start)
    neither collide on the primary key nor deadlock.
    """
    with engine.begin() as conn:
        for s in sorted(stats, key=lambda s: (s.endpoint, s.window)):
            values = {
                "endpoint": s.endpoint,
                "window": s.window,
                "limit": s.limit,
                "used": s.used,
                "window_start": window_start(now, WINDOW_SECONDS[s.window]),
                "reported_at": now,
            }
            key = (apollo_windows.c.endpoint, apollo_windows.c.window)
            _upsert(conn, apollo_windows, values, key, values)


def load_windows(engine: Engine) -> list[dict[str, Any]]:
    """Apollo's windows as last stored, one dict per endpoint and window."""
    with engine.connect() as conn:
        rows = conn.execute(select(apollo_windows).order_by("endpoint", "window")).mappings()
        return [dict(r) for r in rows]


def count_event(engine: Engine, name: str, now: float) -> None:
    """Add one to a named event counter (e.g. `rate_limits_failed_open`), from any replica."""
    with engine.begin() as conn:
        changes = {"count": limit_events.c.count + 1, "last_at": now}
        values = {"name": name, "count": 1, "last_at": now}
        _upsert(conn, limit_events, values, (limit_events.c.name,), changes)


def _upsert(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    key: tuple[Column[Any], ...],
    changes: dict[str, Any],
) -> None:
    """Insert `values`, or apply `changes` to the row with the same `key` (one statement)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(**values)
    conn.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes))


def load_events(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {r.name: int(r._mapping["count"]) for r in conn.execute(select(limit_events))}
