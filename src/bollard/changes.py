"""Admin changes: the one service the CLI, the console and the admin API all use.

Each change (an agent created, revoked or rotated, grants changed, limits set or
cleared) is one database transaction that makes the change and appends its audit
record, kind "admin", naming who made it, through which door, what it was before
and after, and why if they said. Both commit together or neither does, so no
change is ever off the record, whichever process makes it: the chain's head row is
locked for the append (SQLite: the transaction began IMMEDIATE; PostgreSQL: FOR
UPDATE), so a running server's writer and a CLI interleave on the one chain. The
database bumps `access_version` on any change to agents, keys or grants, so a
running server sees the change on the agent's next call.

A new kind of change (rules, approvals) is one more method: read the state before
inside `_change`, apply it on the same connection, `record` before and after.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from bollard.admins import FIRST_ADMIN, Admin, Admins, Role
from bollard.agents import Agent, AgentNameTaken, Agents, utcnow
from bollard.audit.appender import append_within, ensure_head
from bollard.audit.chain import Record
from bollard.audit.checkpointer import Checkpointer
from bollard.errors import ConfigError
from bollard.limits.rule_store import delete_rules, merge_rule, rule_dict
from bollard.limits.rules import LimitRule
from bollard.policy import Rule, compile_rule
from bollard.rule_book import delete_rule, insert_rule, load_rules, update_rule
from bollard.store.tables import agent_keys

if TYPE_CHECKING:
    from bollard.approvals import Approvals, HeldCall

ACTOR_MAX = 100
REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change and through which door (cli, console or api)."""

    name: str
    door: str
    address: str | None = None  # the client's, for the console and the API

    @classmethod
    def from_os(cls, given: str | None = None) -> Actor:
        """The CLI's actor: `--actor` if given, else the operating-system user at this host."""
        if given is not None:
            if not given.strip() or len(given) > ACTOR_MAX or not given.isprintable():
                raise ConfigError(
                    f"--actor must be 1 to {ACTOR_MAX} printable characters, e.g. alice@example.com"
                )
            return cls(given.strip(), "cli")
        return cls(f"{getpass.getuser()}@{socket.gethostname()}", "cli")


@dataclass(frozen=True, slots=True)
class Revocation:
    """A revoked agent, and whether it already was."""

    agent: Agent
    already: bool  # it was revoked before: nothing changed, nothing recorded


@dataclass(frozen=True, slots=True)
class Rotation:
    """An agent's new key (shown once) and when its previous keys stop."""

    agent: Agent
    key: str
    old_keys_until: datetime  # when the agent's previous keys stop (now, without grace)


@dataclass(slots=True)
class _Change:
    conn: Connection
    actor: Actor
    agent: str | None  # None: a team-wide change (a rule for every agent)
    reason: str | None
    records: list[Record] = field(default_factory=list)

    def record(
        self, change: str, before: Any, after: Any, *, whose: str | None = None, **details: Any
    ) -> None:
        """This change, for the audit record appended just before the commit; `whose`:
        the agent it is about, in a batch of changes to several (else the change's)."""
        data: dict[str, Any] = {"change": change, "by": self.actor.name, "via": self.actor.door}
        if self.actor.address:
            data["address"] = self.actor.address
        data |= {"before": before, "after": after, **details}
        if self.reason:
            data["reason"] = self.reason
        self.records.append(
            Record(
                request_id=os.urandom(12).hex(),
                kind="admin",
                ts_us=int(time.time() * 1_000_000),
                door=self.actor.door,
                agent=whose if whose is not None else self.agent,
                action=change,
                data=data,
            )
        )


Batch = _Change  # what `AdminChanges.batch` yields: a connection and `record`


class AdminChanges:
    """Every admin change, applied and recorded in one transaction."""

    def __init__(
        self,
        engine: Engine,
        agents: Agents,
        checkpointer: Checkpointer | None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._agents = agents
        self._checkpointer = checkpointer  # its key seals each record (audit/seal)
        self._now = now
        self.admins = Admins(engine)
        self._head_ready = False

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def agents(self) -> Agents:
        return self._agents

    def create_agent(
        self,
        actor: Actor,
        name: str,
        grants: Sequence[str] = (),
        *,
        expires_at: datetime | None = None,
        note: str = "",
        reason: str | None = None,
        allow_unknown_parameters: bool = False,
    ) -> tuple[Agent, str]:
        """A new agent and its key (returned once, never stored)."""
        try:
            with self._change(actor, name, reason) as change:
                if self._agents.get(name, change.conn) is not None:
                    raise AgentNameTaken(f"an agent named {name!r} already exists")
                agent, key = self._agents.create(
                    name, grants, expires_at=expires_at, note=note, conn=change.conn
                )
                if allow_unknown_parameters:
                    agent = self._agents.set_allow_unknown_parameters(name, True, change.conn)
                change.record("agents.create", None, agent_state(agent))
        except IntegrityError as exc:  # PostgreSQL: another made it since our check
            raise AgentNameTaken(f"an agent named {name!r} already exists") from exc
        return agent, key

    def revoke(self, actor: Actor, name: str, reason: str | None = None) -> Revocation:
        """Revoke the agent and all its keys; revoking it again changes nothing."""
        with self._change(actor, name, reason) as change:
            before = self._agents.require(name, change.conn)
            if before.revoked_at is not None:
                return Revocation(before, already=True)
            agent = self._agents.revoke(name, change.conn)
            change.record("agents.revoke", agent_state(before), agent_state(agent))
        return Revocation(agent, already=False)

    def rotate(
        self, actor: Actor, name: str, grace: timedelta | None = None, reason: str | None = None
    ) -> Rotation:
        """A new key; the old ones stop now, or after `grace`."""
        until = self._now() + (grace or timedelta(0))
        with self._change(actor, name, reason) as change:
            agent = self._agents.require(name, change.conn)
            before = _keys(change.conn, agent.id)
            key = self._agents.rotate(name, grace, change.conn)
            after = _keys(change.conn, agent.id)
            grace_text = None if grace is None else str(grace)
            change.record("agents.rotate", {"keys": before}, {"keys": after}, grace=grace_text)
        return Rotation(agent, key, until)

    def change_grants(
        self,
        actor: Actor,
        name: str,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        reason: str | None = None,
    ) -> Agent:
        """Add and remove grants in one change; removing one it lacks is an error."""
        with self._change(actor, name, reason) as change:
            before = self._agents.require(name, change.conn)
            agent = before
            if remove:
                agent = self._agents.remove_grants(name, remove, change.conn)
            if add:
                agent = self._agents.add_grants(name, add, change.conn)
            if agent.grants != before.grants:
                change.record(
                    "grants.change",
                    {"grants": list(before.grants)},
                    {"grants": list(agent.grants)},
                    added=[g for g in agent.grants if g not in before.grants],
                    removed=[g for g in before.grants if g not in agent.grants],
                )
        return agent

    def set_allow_unknown_parameters(
        self, actor: Actor, name: str, allowed: bool, reason: str | None = None
    ) -> Agent:
        """Let the agent send names an action does not take (each call recording a
        warning), or refuse them again (the default)."""
        with self._change(actor, name, reason) as change:
            before = self._agents.require(name, change.conn)
            if before.allow_unknown_parameters == allowed:
                return before
            agent = self._agents.set_allow_unknown_parameters(name, allowed, change.conn)
            change.record("agents.set", agent_state(before), agent_state(agent))
        return agent

    def set_limits(self, actor: Actor, rule: LimitRule, reason: str | None = None) -> LimitRule:
        """Merge the rule's given fields into the agent's stored limits."""
        with self._change(actor, rule.agent, reason) as change:
            self._agents.require(rule.agent, change.conn)
            before, after = merge_rule(change.conn, rule, time.time())
            if before != after:
                change.record("limits.set", _limits(before), _limits(after))
        return after

    def add_rule(self, actor: Actor, rule: Rule, reason: str | None = None) -> Rule:
        """Check a policy rule (its condition compiles and reads only parameters of the
        actions it covers) and store it; the rule with its id."""
        compile_rule(rule, self._agents.catalog)
        with self._change(actor, rule.agent, reason) as change:
            agent_id = None
            if rule.agent is not None:
                agent_id = self._agents.require(rule.agent, change.conn).id
            added = insert_rule(change.conn, rule, agent_id, self._now())
            change.record("rules.add", None, added.as_dict())
        return added

    def remove_rule(
        self, actor: Actor, agent: str | None, rule_id: int, reason: str | None = None
    ) -> Rule:
        """Delete one rule of `agent` (None: a team-wide rule); the rule deleted."""
        with self._change(actor, agent, reason) as change:
            found = self._rule_of(change.conn, agent, rule_id)
            delete_rule(change.conn, rule_id)
            change.record("rules.remove", found.as_dict(), None)
        return found

    def edit_rule(self, actor: Actor, rule: Rule, reason: str | None = None) -> Rule:
        """Replace rule `rule.id` of `rule.agent` (checked as `add_rule` checks a new one)
        with `rule`, keeping its id; the rule as stored."""
        compile_rule(rule, self._agents.catalog)
        with self._change(actor, rule.agent, reason) as change:
            found = self._rule_of(change.conn, rule.agent, rule.id)
            update_rule(change.conn, rule)
            change.record("rules.edit", found.as_dict(), rule.as_dict())
        return rule

    @contextmanager
    def batch(self, actor: Actor, reason: str | None = None) -> Iterator[Batch]:
        """Several changes in one transaction (`bollard policy apply`): each `record` is
        its own audit record (`whose` names its agent); all commit together or none does."""
        with self._change(actor, None, reason) as change:
            yield change

    def decide_approval(
        self, actor: Actor, approvals: Approvals, approval_id: str, status: str, text: str | None
    ) -> HeldCall:
        """Approve or deny a pending held call; the decision is recorded with the actor
        (`approvals.approve` / `approvals.deny`) in the same transaction."""
        held = approvals.require(approval_id)
        with self._change(actor, held.agent, None) as change:
            decided = approvals.decide_within(change.conn, approval_id, status, actor, text)
            after = decided.held
            details: dict[str, Any] = {"approval": approval_id, "digest": after.digest}
            details["held_action"] = after.action
            details["note" if status == "approved" else "denial"] = text
            verb = "approve" if status == "approved" else "deny"
            change.record(
                f"approvals.{verb}", {"status": decided.before}, {"status": status}, **details
            )
        return after

    def clear_limits(
        self, actor: Actor, name: str, action: str | None = None, reason: str | None = None
    ) -> list[LimitRule]:
        """Delete the agent's limits (all, or those for one action); the ones deleted."""
        with self._change(actor, name, reason) as change:
            self._agents.require(name, change.conn)
            gone = delete_rules(change.conn, name, action)
            if gone:
                change.record("limits.clear", [_limits(r) for r in gone], None)
        return gone

    def create_admin(
        self, actor: Actor, name: str, role: Role, reason: str | None = None
    ) -> tuple[Admin, str]:
        """A new named admin and their token (returned once, never stored)."""
        with self._change(actor, None, reason) as change:
            admin, token = self.admins.create(name, role, change.conn)
            change.record("admins.create", None, admin.as_dict(), admin=name)
        return admin, token

    def revoke_admin(
        self, actor: Actor, name: str, reason: str | None = None
    ) -> tuple[Admin, bool]:
        """Revoke an admin's token and end their sessions; (the admin, whether it already was)."""
        with self._change(actor, None, reason) as change:
            before = self.admins.require(name, change.conn)
            if before.name == FIRST_ADMIN:
                raise ConfigError(
                    "the first admin is the admin token of the settings: change "
                    "BOLLARD_ADMIN_TOKEN (or delete state_dir/admin.token) to replace it"
                )
            admin, already = self.admins.revoke(name, change.conn)
            if not already:
                change.record("admins.revoke", before.as_dict(), admin.as_dict(), admin=name)
        return admin, already

    def _rule_of(self, conn: Connection, agent: str | None, rule_id: int) -> Rule:
        """Rule `rule_id` of `agent` (None: team-wide), or a ConfigError listing theirs."""
        if agent is not None:
            self._agents.require(agent, conn)
        rules = load_rules(conn, agent)
        found = next((r for r in rules if r.id == rule_id and r.agent == agent), None)
        if found is None:
            ids = ", ".join(f"#{r.id}" for r in rules if r.agent == agent) or "none"
            whose = f"agent {agent!r} has no rule" if agent else "there is no team-wide rule"
            raise ConfigError(f"{whose} #{rule_id}; the rules there are: {ids}")
        return found

    @contextmanager
    def _change(self, actor: Actor, agent: str | None, reason: str | None) -> Iterator[_Change]:
        if reason is not None and (len(reason) > REASON_MAX or not reason.strip()):
            raise ConfigError(f"a reason must be 1 to {REASON_MAX} characters")
        reason = reason.strip() if reason else None
        if not self._head_ready:  # a new database's chain (a running server made it already)
            ensure_head(self._engine)
            self._head_ready = True
        with self._engine.begin() as conn:
            change = _Change(conn, actor, agent, reason)
            yield change
            # Last, so the chain's head stays locked only for the append and commit.
            if change.records:
                append_within(conn, change.records, self._checkpointer)


def agent_state(agent: Agent) -> dict[str, Any]:
    """An agent as an admin record shows it before and after a change."""
    return {
        "grants": list(agent.grants),
        "note": agent.note,
        "expires_at": _iso(agent.expires_at),
        "revoked_at": _iso(agent.revoked_at),
        "allow_unknown_parameters": agent.allow_unknown_parameters,
    }


def _limits(rule: LimitRule) -> dict[str, object] | None:
    return None if rule.is_empty else rule_dict(rule)


def _keys(conn: Connection, agent_id: int) -> list[dict[str, Any]]:
    """The agent's keys still in use: their shown prefix (never the key) and expiry."""
    k = agent_keys.c
    rows = conn.execute(
        select(k.prefix, k.expires_at)
        .where(k.agent_id == agent_id, k.revoked_at.is_(None))
        .order_by(k.id)
    ).all()
    return [{"prefix": r.prefix, "expires_at": _iso(r.expires_at)} for r in rows]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
