"""Policy rules in the store, and the gateway's compiled copy of them.

`RuleBook.for_agent` runs on every call. It keeps every rule compiled in memory and
reloads them all when `access_version` moves (the database bumps it on any change to
`policy_rules`, migration 0010), so a new or removed rule is in force on the next call.
Writes go through `bollard.changes.AdminChanges`, which records them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from bollard.catalog import Catalog
from bollard.policy import CompiledRule, Rule, compile_stored, fix_hint
from bollard.store import reader
from bollard.store.tables import agents, policy_rules

log = logging.getLogger("bollard.rules")

_ALL = (
    select(policy_rules, agents.c.name.label("agent"))
    .outerjoin(agents, agents.c.id == policy_rules.c.agent_id)
    .order_by(policy_rules.c.id)
)


def _rule(row: Row[Any]) -> Rule:
    return Rule(
        id=row.id,
        agent=row.agent,
        selector=row.selector,
        effect=row.effect,
        reason=row.reason,
        condition=row.condition,
        fields=tuple(f for f in row.fields.split(",") if f),
        shadow=bool(row.shadow),
        hold_seconds=row.hold_seconds,
    )


def load_rules(conn: Connection, agent: str | None = None) -> list[Rule]:
    """Every rule by id; with `agent`, that agent's and the team-wide ones."""
    query = _ALL
    if agent is not None:
        query = query.where((agents.c.name == agent) | policy_rules.c.agent_id.is_(None))
    return [_rule(r) for r in conn.execute(query)]


def insert_rule(conn: Connection, rule: Rule, agent_id: int | None, now: datetime) -> Rule:
    """Store a checked rule; the same rule with its new id."""
    values = {"agent_id": agent_id, **_values(rule), "created_at": now}
    new_id = conn.execute(
        insert(policy_rules).values(values).returning(policy_rules.c.id)
    ).scalar_one()
    return dataclasses.replace(rule, id=new_id)


def update_rule(conn: Connection, rule: Rule) -> None:
    """Store a checked rule's new selector, effect, condition, fields, shadow and reason
    under its id (its agent does not change)."""
    conn.execute(update(policy_rules).where(policy_rules.c.id == rule.id).values(_values(rule)))


def _values(rule: Rule) -> dict[str, Any]:
    return {
        "selector": rule.selector,
        "effect": rule.effect,
        "condition": rule.condition,
        "fields": ",".join(rule.fields),
        "shadow": rule.shadow,
        "reason": rule.reason,
        "hold_seconds": rule.hold_seconds,
    }


def delete_rule(conn: Connection, rule_id: int) -> None:
    conn.execute(delete(policy_rules).where(policy_rules.c.id == rule_id))


class RuleBook:
    """Every rule, compiled, cached under the `access_version` it was read at."""

    def __init__(self, engine: Engine, catalog: Catalog) -> None:
        self._reader = reader(engine)
        self._catalog = catalog
        self._lock = threading.Lock()
        self._version: int | None = None
        self._by_agent: dict[str | None, tuple[CompiledRule, ...]] = {}

    def for_agent(self, agent: str, version: int) -> tuple[CompiledRule, ...]:
        """The agent's rules and the team-wide ones, as of `version` or newer."""
        with self._lock:
            if version != self._version:
                self._by_agent = self._load()
                self._version = version
            by_agent = self._by_agent
        return by_agent.get(None, ()) + by_agent.get(agent, ())

    def check(self) -> list[CompiledRule]:
        """Every stored rule the catalog no longer allows, each logged with why and the
        fix (at startup: such a rule denies the calls it covers)."""
        with self._reader.connect() as conn:
            broken = stale_rules(load_rules(conn), self._catalog)
        for compiled in broken:
            log.warning(
                "policy rule %s no longer fits the catalog: %s; the calls it covers are "
                "denied until it is fixed: %s",
                compiled.rule.describe(),
                compiled.broken,
                fix_hint(compiled.rule),
            )
        return broken

    def _load(self) -> dict[str | None, tuple[CompiledRule, ...]]:
        with self._reader.connect() as conn:
            rules = load_rules(conn)
        grouped: dict[str | None, list[CompiledRule]] = {}
        for rule in rules:
            grouped.setdefault(rule.agent, []).append(compile_stored(rule, self._catalog))
        return {k: tuple(v) for k, v in grouped.items()}


def stale_rules(rules: list[Rule], catalog: Catalog) -> list[CompiledRule]:
    """The rules among `rules` that the catalog no longer allows, with why."""
    compiled = (compile_stored(rule, catalog) for rule in rules)
    return [c for c in compiled if c.broken is not None]
