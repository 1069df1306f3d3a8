"""The pipeline every call runs through, whichever door it came in by.

authenticate → resolve → authorize → validate → admit → record intent →
forward → record outcome. Authorization comes before validation so that an
agent learns nothing about an action it was not granted beyond "not granted".
A door builds a `Call`, awaits `Gateway.handle`, and renders the `Result`;
it never decides anything itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from bollard import arguments, routes
from bollard.agents import Agent, Agents
from bollard.audit import AuditWriter, Record, redact
from bollard.catalog import Action, Catalog
from bollard.errors import (
    AuditUnavailable,
    BollardError,
    NotGranted,
    RateLimited,
    RouteNotFound,
    Unauthenticated,
    UpstreamTimeout,
)
from bollard.policy import Decision, decide
from bollard.upstream import Reply, Upstream, UpstreamKeys
from bollard.webhook_owners import WebhookOwners

log = logging.getLogger("bollard.gateway")


class Admission(Protocol):
    """What a limiter reserved for one call."""


class Limiter(Protocol):
    """Rate limits and credit budgets, consulted after authorization."""

    async def admit(self, agent_name: str, action: Action, args: Mapping[str, Any]) -> Any: ...
    async def settle(
        self, admission: Any, status: int, headers: Mapping[str, str], body: bytes
    ) -> int: ...
    async def release(self, admission: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class RestTarget:
    method: str
    raw_path: bytes  # as sent, still percent-encoded, without the query string
    query: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    body_error: BollardError | None = None  # e.g. too large, found while reading


@dataclass(frozen=True, slots=True)
class ToolTarget:
    tool: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    door: str  # rest | mcp
    key: str | None
    target: RestTarget | ToolTarget
    headers: Mapping[str, str] = field(default_factory=dict)
    # The agent the door already authenticated `key` as for this very request (MCP
    # does, to list only granted tools): not authenticated a second time.
    agent: Agent | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """What the door renders: Apollo's answer, or Bollard's refusal in Apollo's shape."""

    status: int
    body: bytes
    request_id: str
    headers: tuple[tuple[str, str], ...] = ()
    action: str | None = None
    error: BollardError | None = None
    reason: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(slots=True)
class _Trace:
    """What is known about a call so far; becomes its audit records."""

    request_id: str
    door: str
    ts_us: int
    agent: str | None = None
    action: Action | None = None
    decision: Decision | None = None
    params: Any = None
    key_kind: str | None = None


@dataclass(frozen=True, slots=True)
class _Resolved:
    action: Action
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes | None
    args: dict[str, Any]


class Gateway:
    """Runs calls through the pipeline; holds no per-call state between calls."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        agents: Agents,
        audit: AuditWriter,
        upstream: Upstream,
        keys: UpstreamKeys,
        audit_key: bytes,
        limiter: Limiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.agents = agents
        self.audit = audit
        self.upstream = upstream
        self.keys = keys
        self.limiter = limiter
        self._audit_key = audit_key
        self._clock = clock
        # Calls by (door, outcome), for /metrics.
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.webhook_owners = WebhookOwners()

    async def authenticate(self, key: str | None) -> Agent:
        """The agent behind a key, or 401."""
        agent = self.agents.authenticate(key, await self.agents.version()) if key else None
        if agent is None:
            raise Unauthenticated(
                "missing, unknown, revoked or expired Bollard key: send the key Bollard "
                "issued for this agent in X-Api-Key or Authorization: Bearer"
            )
        return agent

    def visible_actions(self, agent: Agent) -> tuple[Action, ...]:
        """The actions this agent may call (what MCP lists as tools)."""
        return tuple(a for a in self.catalog.actions if decide(agent.grants, a).allowed)

    async def handle(self, call: Call) -> Result:
        """Run one call through every step and return what the door should send."""
        result = await self._handle(call)
        if result.error is not None:
            outcome = result.error.outcome
        else:
            outcome = "ok" if result.status < 400 else "upstream_error"
        self.outcomes[call.door, outcome] += 1
        return result

    def _trace(self, call: Call) -> _Trace:
        return _Trace(_request_id(), call.door, int(self._clock() * 1_000_000))

    async def _handle(self, call: Call) -> Result:
        trace = self._trace(call)
        try:
            agent = call.agent or await self.authenticate(call.key)
            resolved = self._check(call, trace, agent)
            admission = (
                await self.limiter.admit(trace.agent or "", resolved.action, resolved.args)
                if self.limiter
                else None
            )
        except BollardError as exc:
            return await self._refuse(trace, exc)
        except Exception as exc:  # an error while deciding is a deny, never an allow
            log.exception("error while deciding request %s", trace.request_id)
            return await self._refuse(trace, _while_deciding(exc))
        return await self._forward(call, trace, resolved, admission)

    def _check(self, call: Call, trace: _Trace, agent: Agent) -> _Resolved:
        trace.agent = agent.name
        resolved = self._resolve(call.target)
        trace.action = resolved.action
        trace.params = redact(self._audit_key, resolved.args)
        decision = decide(agent.grants, resolved.action)
        trace.decision = decision
        if not decision.allowed:
            raise NotGranted(decision.reason)
        if isinstance(call.target, RestTarget) and call.target.body_error is not None:
            raise call.target.body_error
        arguments.check(resolved.action, resolved.args)
        self.webhook_owners.check(agent.name, resolved.action, resolved.args)
        trace.key_kind, _ = self.keys.choose(resolved.action)
        return resolved

    def _resolve(self, target: RestTarget | ToolTarget) -> _Resolved:
        if isinstance(target, ToolTarget):
            return self._resolve_tool(target)
        action, path_params = routes.resolve(self.catalog, target.method, target.raw_path)
        query_args = arguments.from_query(target.query)
        body_args = {} if target.body_error else arguments.from_body(target.body)
        args = {**arguments.merge(query_args, body_args), **path_params}
        return _Resolved(
            action, action.render_path(path_params), target.query, target.body or None, args
        )

    def _resolve_tool(self, target: ToolTarget) -> _Resolved:
        action = self.catalog.by_tool(target.tool)
        if action is None:
            raise RouteNotFound(f"there is no Apollo tool named {target.tool!r}")
        args = dict(target.arguments)
        arguments.require_text(args)
        path_params = routes.tool_path_params(action, args)
        rest = {k: v for k, v in args.items() if k not in action.path_params}
        if action.method == "GET":
            return _Resolved(
                action, action.render_path(path_params), routes.to_query(rest), None, args
            )
        body = json.dumps(rest).encode()
        return _Resolved(action, action.render_path(path_params), (), body, args)

    async def _forward(
        self, call: Call, trace: _Trace, resolved: _Resolved, admission: Any
    ) -> Result:
        try:
            await self.audit.append(self._request_record(trace))
        except AuditUnavailable as exc:
            if self.limiter and admission is not None:
                await self.limiter.release(admission)
            return self._result(trace, exc)
        started = time.perf_counter()
        try:
            return await self._send(call, trace, resolved, admission, started)
        except Exception as exc:  # a failure nobody foresaw: still recorded, still Apollo-shaped
            # Where it came from, not its message: that could quote the request's headers.
            where = "".join(traceback.format_tb(exc.__traceback__))
            log.error("%s forwarding request %s\n%s", type(exc).__name__, trace.request_id, where)
            failure = BollardError(
                f"internal error while forwarding ({type(exc).__name__}); the call may have "
                "reached Apollo: check before repeating a write"
            )
            return self._outcome_of_failure(trace, failure, started)

    async def _send(
        self, call: Call, trace: _Trace, resolved: _Resolved, admission: Any, started: float
    ) -> Result:
        _kind, key = self.keys.choose(resolved.action)
        headers = dict(call.headers)
        if isinstance(call.target, ToolTarget) and resolved.body is not None:
            headers["content-type"] = "application/json"
        try:
            reply = await self.upstream.send(
                resolved.action, resolved.path, resolved.query, resolved.body, headers, key
            )
        except BollardError as exc:
            # A timed-out call may have reached Apollo and spent credits: it keeps
            # its reservation. A call that never got through gives it back.
            if self.limiter and admission is not None and not isinstance(exc, UpstreamTimeout):
                await self.limiter.release(admission)
            return self._outcome_of_failure(trace, exc, started)
        self.webhook_owners.remember(trace.agent or "", resolved.action, reply.status, reply.body)
        credits = 0
        if self.limiter and admission is not None:
            credits = await self.limiter.settle(
                admission, reply.status, dict(reply.headers), reply.body
            )
        return await self._finish(trace, reply, started, credits)

    async def _finish(self, trace: _Trace, reply: Reply, started: float, credits: int) -> Result:
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        outcome = "ok" if reply.status < 400 else "upstream_error"
        data = {
            "latency_ms": latency_ms,
            "credits": credits,
            "response_bytes": len(reply.body),
            "rate": {k: v for k, v in reply.headers if k.lower().startswith("x-")},
        }
        self._record_outcome(trace, self._outcome_record(trace, outcome, reply.status, data))
        headers = (*reply.headers, ("x-request-id", trace.request_id))
        action_id = trace.action.id if trace.action else None
        return Result(reply.status, reply.body, trace.request_id, headers, action_id)

    def _outcome_of_failure(self, trace: _Trace, exc: BollardError, started: float) -> Result:
        data = {
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "error": exc.message,
        }
        self._record_outcome(trace, self._outcome_record(trace, exc.outcome, exc.status, data))
        return self._result(trace, exc)

    def _record_outcome(self, trace: _Trace, record: Record) -> None:
        """Queue the outcome and answer without waiting for its commit.

        The call's request record is already durable (it was committed before the
        call went out), so the log holds the call whatever happens next. The outcome
        is committed moments later, with whatever else is queued; a graceful stop
        commits it too. If it cannot be (the log failed, or the process died first),
        the next start records the call as outcome_unknown. The agent still gets
        Apollo's answer: Apollo did act, and a 503 would invite a repeated write.
        Waiting for the commit would double the audit's share of every call's latency.
        """
        try:
            committed = self.audit.defer(record)
        except AuditUnavailable as exc:
            _outcome_not_recorded(trace.request_id, exc)
            return
        committed.add_done_callback(partial(_outcome_committed, trace.request_id))

    async def refuse(self, call: Call, exc: Exception) -> Result:
        """Record and render a call its door could not even hand over (an error while
        checking its key, say): denied, like any error while deciding."""
        trace = self._trace(call)
        if isinstance(call.target, ToolTarget):
            trace.action = self.catalog.by_tool(call.target.tool)
        if not isinstance(exc, BollardError):
            exc = _while_deciding(exc)
        self.outcomes[call.door, exc.outcome] += 1
        return await self._refuse(trace, exc)

    async def _refuse(self, trace: _Trace, exc: BollardError) -> Result:
        """Record a refused call (request and outcome together) and render the refusal."""
        records = (
            self._request_record(trace, refused=exc),
            self._outcome_record(trace, exc.outcome, exc.status, {"error": exc.message}),
        )
        try:
            await self.audit.append(*records)
        except AuditUnavailable as audit_exc:
            return self._result(trace, audit_exc)
        return self._result(trace, exc)

    def _request_record(self, trace: _Trace, refused: BollardError | None = None) -> Record:
        allowed = trace.decision is not None and trace.decision.allowed and refused is None
        reason = trace.decision.reason if trace.decision else None
        if refused is not None and not isinstance(refused, NotGranted):
            reason = refused.message
        data: dict[str, Any] = {"reason": reason, "params": trace.params}
        if trace.decision and trace.decision.grant:
            data["grant"] = trace.decision.grant
        if trace.key_kind:
            data["key_kind"] = trace.key_kind
        return Record(
            request_id=trace.request_id,
            kind="request",
            ts_us=trace.ts_us,
            door=trace.door,
            agent=trace.agent,
            action=trace.action.id if trace.action else None,
            decision="allow" if allowed else "deny",
            data=data,
        )

    def _outcome_record(
        self, trace: _Trace, outcome: str, status: int, data: Mapping[str, Any]
    ) -> Record:
        return Record(
            request_id=trace.request_id,
            kind="outcome",
            ts_us=int(self._clock() * 1_000_000),
            door=trace.door,
            agent=trace.agent,
            action=trace.action.id if trace.action else None,
            outcome=outcome,
            status=status,
            data=data,
        )

    def _result(self, trace: _Trace, exc: BollardError) -> Result:
        action = trace.action.id if trace.action else None
        reason = exc.message
        info: dict[str, Any] = {"request_id": trace.request_id, "action": action, "reason": reason}
        if isinstance(exc, NotGranted) and trace.decision is not None:
            info["would_allow"] = list(trace.decision.would_allow)
        body: dict[str, Any] = {"error": exc.message, "error_code": exc.error_code}
        if isinstance(exc, RateLimited):
            body["message"] = exc.message  # Apollo's own 429 shape, for existing clients
        body["bollard"] = info
        headers = (
            ("content-type", "application/json"),
            ("x-request-id", trace.request_id),
            *exc.headers.items(),
        )
        return Result(
            exc.status, json.dumps(body).encode(), trace.request_id, headers, action, exc, reason
        )


def _outcome_committed(request_id: str, committed: asyncio.Future[None]) -> None:
    if committed.cancelled():
        return
    exc = committed.exception()  # retrieved, so asyncio does not report it as lost
    if exc is not None:
        _outcome_not_recorded(request_id, exc)


def _outcome_not_recorded(request_id: str, exc: BaseException) -> None:
    log.error(
        "the outcome of request %s could not be recorded (%s); the next start records it "
        "as outcome_unknown",
        request_id,
        exc,
    )


def _while_deciding(exc: Exception) -> BollardError:
    """An unforeseen error while deciding a call, as the refusal it becomes (its type,
    not its message: that could quote the request)."""
    return BollardError(f"internal error while deciding: {type(exc).__name__}")


def _request_id() -> str:
    """24 hex digits: milliseconds since the epoch, then 48 random bits.

    Time first, so ids arrive in nearly ascending order and each audit commit adds
    to the right edge of the request-id indexes instead of dirtying a random page
    per record (measured: most of the pages each commit wrote).
    """
    return (time.time_ns() // 1_000_000).to_bytes(6, "big").hex() + os.urandom(6).hex()
