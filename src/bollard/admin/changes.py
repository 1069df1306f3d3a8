"""Admin changes from the console and the admin API: the core service, off the event loop.

Every change goes through `bollard.changes.AdminChanges`, as the CLI's do: applied
and written to the audit log in one transaction, naming who made it (`actor_for`).
This module only adapts: it runs the service in a thread, parses the durations
typed into forms, and turns the service's errors into the console's refusals.
A change is refused up front while this server's audit log has failed, so the
console does not add to a log the server itself no longer trusts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from bollard.admin.auth import client_address
from bollard.admin.problems import (
    AgentExists,
    ChangeNotRecorded,
    InvalidInput,
    UnknownAgent,
    UnknownRecord,
)
from bollard.admins import Admin
from bollard.agents import Agent, AgentNameTaken, UnknownAgentName, parse_duration, utcnow
from bollard.approvals import HeldCall, UnknownApproval
from bollard.changes import Actor, AdminChanges, Revocation, Rotation
from bollard.errors import ConfigError
from bollard.gateway import Gateway
from bollard.limits.rules import LimitRule
from bollard.policy import Rule
from bollard.policy_file import Policy, parse_policy, render_policy
from bollard.policy_sync import Applied, apply_policy, read_policy

P = ParamSpec("P")
T = TypeVar("T")


def actor_for(request: Request, via: str) -> Actor:
    """The admin the route's guard let in (by name), through the console or the api,
    and their address."""
    admin: Admin | None = getattr(request.state, "admin", None)
    if admin is None:  # a route that skipped its guard: never record a change as nobody's
        raise RuntimeError("actor_for called outside a guarded route")
    door = "console" if via == "console" else "api"
    return Actor(admin.name, door, client_address(request))


class Changes:
    """Create, revoke, rotate and re-grant agents and set their limits, each change recorded."""

    def __init__(self, gateway: Gateway, engine: Engine) -> None:
        self._gateway = gateway
        self._agents = gateway.agents
        self._core = AdminChanges(engine, gateway.agents, gateway.audit.checkpointer)

    @classmethod
    def of(cls, request: Request) -> Changes:
        """The changes service of the app serving this request."""
        return cls(request.app.state.gateway, request.app.state.engine)

    async def agent(self, name: str) -> Agent:
        """The named agent, or UnknownAgent with the nearest names."""
        return await _apply(self._agents.require, name)

    async def create(
        self,
        name: str,
        grants: Sequence[str],
        note: str,
        expires_in: str | None,
        by: Actor,
        reason: str | None = None,
        allow_unknown_parameters: bool = False,
    ) -> tuple[Agent, str]:
        """A new agent and its key (shown once)."""
        self._writable()
        expires_at = utcnow() + _duration(expires_in) if expires_in is not None else None
        return await _apply(
            self._core.create_agent,
            by,
            name,
            grants,
            expires_at=expires_at,
            note=note,
            reason=reason,
            allow_unknown_parameters=allow_unknown_parameters,
        )

    async def allow_unknown(
        self, name: str, allowed: bool, by: Actor, reason: str | None = None
    ) -> Agent:
        """Let the agent send parameters an action does not take (each a warning on the
        record), or refuse them again; the agent as it now is."""
        self._writable()
        return await _apply(self._core.set_allow_unknown_parameters, by, name, allowed, reason)

    async def revoke(self, name: str, by: Actor, reason: str | None = None) -> Revocation:
        """Revoke the agent and all its keys from the next call on."""
        self._writable()
        return await _apply(self._core.revoke, by, name, reason)

    async def rotate(
        self, name: str, grace: str | None, by: Actor, reason: str | None = None
    ) -> Rotation:
        """A new key for the agent; old keys stop now or after `grace`."""
        self._writable()
        period = _duration(grace) if grace is not None else None
        return await _apply(self._core.rotate, by, name, period, reason)

    async def regrant(
        self,
        name: str,
        add: Sequence[str],
        remove: Sequence[str],
        by: Actor,
        reason: str | None = None,
    ) -> Agent:
        """Add and remove grants in one change; removing one it lacks is an error."""
        self._writable()
        removing = [s.strip() for s in remove]
        return await _apply(self._core.change_grants, by, name, add, removing, reason)

    async def set_limits(self, rule: LimitRule, by: Actor) -> LimitRule:
        """Merge these limits into the agent's; the rule as stored."""
        self._writable()
        stored = await _apply(self._core.set_limits, by, rule)
        self._gateway.limiter.forget_rules()  # this page and the next call see them
        return stored

    async def clear_limits(self, name: str, action: str | None, by: Actor) -> list[LimitRule]:
        """Remove the agent's limits (all, or one action's); the ones removed."""
        self._writable()
        cleared = await _apply(self._core.clear_limits, by, name, action)
        self._gateway.limiter.forget_rules()
        return cleared

    async def add_rule(self, rule: Rule, by: Actor) -> Rule:
        """Check and store a policy rule (in force on the next call); the rule with its id."""
        self._writable()
        return await _apply(self._core.add_rule, by, rule, rule.reason or None)

    async def edit_rule(self, rule: Rule, by: Actor) -> Rule:
        """Replace rule `rule.id` of `rule.agent` (checked as a new one is); the rule stored."""
        self._writable()
        return await _apply(self._core.edit_rule, by, rule, rule.reason or None)

    async def remove_rule(
        self, agent: str | None, rule_id: int, by: Actor, reason: str | None = None
    ) -> Rule:
        """Remove one rule of `agent` (None: a team-wide one); the rule removed."""
        self._writable()
        return await _apply(self._core.remove_rule, by, agent, rule_id, reason)

    async def export_policy(self) -> tuple[Policy, str]:
        """The store's whole policy, and as the TOML file `bollard policy export` writes."""

        def read() -> Policy:
            with self._core.engine.connect() as conn:
                return read_policy(conn, self._agents).policy

        policy = await run_in_threadpool(read)
        return policy, render_policy(policy, utcnow())

    async def apply_policy(
        self, text: str, by: Actor, *, dry_run: bool, prune: bool, reason: str | None = None
    ) -> Applied:
        """Make the store match a policy file in one transaction (or, dry, say how)."""
        if not dry_run:
            self._writable()
        policy = await _apply(parse_policy, text, self._agents.catalog)
        done = await _apply(
            apply_policy, self._core, by, policy, prune=prune, dry_run=dry_run, reason=reason
        )
        if not dry_run:
            self._gateway.limiter.forget_rules()
        return done

    async def approvals(self, status: str | None) -> list[HeldCall]:
        """Held calls, newest first (one status, or all)."""
        return await _apply(self._gateway.approvals.list, status)

    async def approval(self, approval_id: str) -> HeldCall:
        """One held call, or UnknownRecord."""
        return await _apply(self._gateway.approvals.require, approval_id)

    async def decide(self, approval_id: str, status: str, text: str | None, by: Actor) -> HeldCall:
        """Approve or deny a pending held call, recorded with who decided."""
        self._writable()
        approvals = self._gateway.approvals
        if status == "approved":
            return await _apply(approvals.approve, approval_id, by, text)
        return await _apply(approvals.deny, approval_id, by, text or "")

    def _writable(self) -> None:
        if self._gateway.audit.failure is not None:
            raise ChangeNotRecorded(
                f"the audit log cannot be written ({self._gateway.audit.failure}); "
                "no change is made until it can be"
            )


async def _apply(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return await run_in_threadpool(func, *args, **kwargs)
    except UnknownApproval as exc:
        raise UnknownRecord(str(exc)) from exc
    except UnknownAgentName as exc:
        raise UnknownAgent(str(exc)) from exc
    except AgentNameTaken as exc:
        raise AgentExists(f"{exc}; choose another name") from exc
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc
    except SQLAlchemyError as exc:  # the change and its record roll back together
        raise ChangeNotRecorded(
            f"the database refused the change ({type(exc).__name__}); nothing was changed"
        ) from exc


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from exc
