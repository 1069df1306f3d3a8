"""Admin changes to agents: applied through the agents repository, then audited.

Every change is checked first, applied, and written to the audit log as a
record of kind "admin" from door "admin", naming the agent, what changed and
who changed it (a console session or a script with the admin token). A change
is refused up front while the audit log cannot be written, so no change goes
unrecorded. Agents are read from the store on every call, so a change is in
force on the agent's next call.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from bollard.admin.problems import AgentExists, ChangeNotRecorded, InvalidInput, UnknownAgent
from bollard.agents import Agent, parse_duration, utcnow
from bollard.audit import Record
from bollard.errors import AuditUnavailable, ConfigError
from bollard.gateway import Gateway
from bollard.limits.rule_store import clear_rules, rule_dict, set_rule
from bollard.limits.rules import ALL_ACTIONS, LimitRule
from bollard.policy import parse_selector

P = ParamSpec("P")
T = TypeVar("T")


class Changes:
    """Create, revoke, rotate and re-grant agents and set their limits, each change recorded."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._agents = gateway.agents

    async def agent(self, name: str) -> Agent:
        """The named agent, or UnknownAgent."""
        agent = await run_in_threadpool(self._agents.get, name)
        if agent is None:
            raise UnknownAgent(f"no agent named {name!r}")
        return agent

    async def create(
        self, name: str, grants: Sequence[str], note: str, expires_in: str | None, by: str
    ) -> tuple[Agent, str]:
        """A new agent and its key (shown once)."""
        self._writable()
        selectors = self._selectors(grants)
        expires_at = utcnow() + _duration(expires_in) if expires_in else None
        if await run_in_threadpool(self._agents.get, name) is not None:
            raise AgentExists(f"an agent named {name!r} already exists; choose another name")
        agent, key = await _apply(
            self._agents.create, name, selectors, expires_at=expires_at, note=note
        )
        await self._record(
            agent.name, "create", by, grants=list(agent.grants), expires_at=_iso(expires_at)
        )
        return agent, key

    async def revoke(self, name: str, by: str) -> Agent:
        """Revoke the agent and all its keys from the next call on."""
        self._writable()
        await self.agent(name)
        agent = await _apply(self._agents.revoke, name)
        await self._record(name, "revoke", by)
        return agent

    async def rotate(self, name: str, grace: str | None, by: str) -> str:
        """A new key for the agent; old keys stop now or after `grace`."""
        self._writable()
        current = await self.agent(name)
        if current.revoked_at is not None:
            raise InvalidInput(f"agent {name!r} is revoked; create a new agent instead")
        key = await _apply(self._agents.rotate, name, _duration(grace) if grace else None)
        await self._record(name, "rotate", by, grace=grace)
        return key

    async def regrant(self, name: str, add: Sequence[str], remove: Sequence[str], by: str) -> Agent:
        """Add and remove grants in one change; removing one it lacks is an error."""
        self._writable()
        current = await self.agent(name)
        adding = [s for s in self._selectors(add) if s not in current.grants]
        removing = [s.strip() for s in remove]
        missing = [s for s in removing if s not in current.grants]
        if missing:
            have = ", ".join(current.grants) or "none"
            raise InvalidInput(
                f"agent {name!r} has no grant {', '.join(map(repr, missing))}; "
                f"its grants are: {have}"
            )
        if not adding and not removing:
            return current
        if removing:
            await _apply(self._agents.remove_grants, name, removing)
        agent = await _apply(self._agents.add_grants, name, adding)
        await self._record(
            name, "grants", by, added=adding, removed=removing, grants=list(agent.grants)
        )
        return agent

    async def set_limits(self, engine: Engine, rule: LimitRule, by: str) -> LimitRule:
        """Merge `rule`'s given limits into the agent's stored rule (as `bollard limits set`)."""
        self._writable()
        await self.agent(rule.agent)
        stored = await _apply(set_rule, engine, rule, time.time())
        await self._record(rule.agent, "limits", by, limits=rule_dict(stored))
        return stored

    async def clear_limits(self, engine: Engine, name: str, action: str | None, by: str) -> int:
        """Remove the agent's limits, all or one action's (as `bollard limits clear`)."""
        self._writable()
        await self.agent(name)
        gone = await _apply(clear_rules, engine, name, action)
        await self._record(name, "limits cleared", by, action=action or ALL_ACTIONS, rules=gone)
        return gone

    def _selectors(self, texts: Sequence[str]) -> list[str]:
        try:
            return list(dict.fromkeys(parse_selector(t, self._gateway.catalog) for t in texts))
        except ConfigError as exc:
            raise InvalidInput(str(exc)) from exc

    def _writable(self) -> None:
        if self._gateway.audit.failure is not None:
            raise ChangeNotRecorded(
                f"the audit log cannot be written ({self._gateway.audit.failure}); "
                "no change is made until it can be"
            )

    async def _record(self, agent: str, change: str, by: str, **details: Any) -> None:
        data = {"change": change, "by": by, **{k: v for k, v in details.items() if v is not None}}
        record = Record(
            request_id=os.urandom(12).hex(),
            kind="admin",
            ts_us=int(time.time() * 1_000_000),
            door="admin",
            agent=agent,
            data=data,
        )
        try:
            await self._gateway.audit.append(record)
        except AuditUnavailable as exc:
            raise ChangeNotRecorded(
                f"the change was made but could not be recorded: {exc.message}"
            ) from exc


async def _apply(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return await run_in_threadpool(func, *args, **kwargs)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
