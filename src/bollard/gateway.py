"""The pipeline every call runs through, whichever door it came in by.

authenticate → resolve → authorize → validate → admit → record intent →
forward → record outcome. Authorization comes before validation so that an
agent learns nothing about an action it was not granted beyond "not granted".
A door builds a `Call`, awaits `Gateway.handle`, and renders the `Result`
(bollard.calls): Apollo's `Answer`, Bollard's `Refusal` (the error and the
decision), or `Held`. It never decides anything itself. What step 5 does with
held calls is bollard.holding; the audit records a call becomes, bollard.trace.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError

from bollard import arguments, resolver
from bollard.agents import Agent, Agents
from bollard.approvals import Approvals, HeldCall
from bollard.audit import AuditLog, Record, redact
from bollard.calls import Answer, Call, Refusal, RestTarget, Result, ToolTarget
from bollard.catalog import Action, Catalog
from bollard.changes import AdminChanges
from bollard.errors import (
    AuditUnavailable,
    BollardError,
    InvalidRequest,
    NotGranted,
    PolicyDenied,
    RouteNotFound,
    StoreUnavailable,
    Unauthenticated,
)
from bollard.holding import Holding, target_from_json
from bollard.limits import Limiter
from bollard.policy import CompiledRule, Decision, Verdict, decide, evaluate
from bollard.rule_book import RuleBook
from bollard.trace import Trace, new_request_id
from bollard.upstream import Reply, Upstream, UpstreamKeys
from bollard.webhook_owners import WebhookOwners
from bollard.withholding import withhold

log = logging.getLogger("bollard.gateway")
_JSON = {"content-type": "application/json"}
_ROUTES_KEPT = 1024
_DECISIONS_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A call's action and what goes up for it; `problem` is what is wrong with its
    input, reported only once the action is known to be granted."""

    action: Action
    path: str
    query: tuple[tuple[str, str], ...]
    body: bytes | None
    args: dict[str, Any]
    problem: BollardError | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # set by Bollard, sent up


class Gateway:
    """Runs calls through the pipeline; holds no per-call state between calls."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        agents: Agents,
        audit: AuditLog,
        upstream: Upstream,
        keys: UpstreamKeys,
        audit_key: bytes,
        limiter: Limiter,
        rules: RuleBook | None = None,
        approvals: Approvals | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.agents = agents
        self.audit = audit
        self.upstream = upstream
        self.keys = keys
        self.limiter = limiter
        self.rules = rules if rules is not None else RuleBook(agents.engine, catalog)
        self._audit_key = audit_key
        self._clock = clock
        self.approvals = approvals or Approvals(
            agents.engine,
            AdminChanges(agents.engine, agents, audit.checkpointer),
            clock=self.now,
            checkpointer=audit.checkpointer,
        )
        # Calls by (door, outcome), for /metrics.
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.webhook_owners = WebhookOwners(agents.engine, clock)
        self._routes: dict[tuple[str, bytes], tuple[Action, Mapping[str, str], str]] = {}
        self._decisions: dict[tuple[tuple[str, ...], str], Decision] = {}
        self.holding = Holding(
            approvals=self.approvals,
            audit=audit,
            limiter=limiter,
            outcomes=self.outcomes,
            now=self.now,
            now_us=self._now_us,
        )

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
        """Run one call through the eight steps of the pipeline; the door renders the result."""
        trace = Trace(new_request_id(), call.door, self._now_us())
        try:
            # 1. authenticate
            agent = call.agent or await self.authenticate(call.key)
            trace.agent = agent.name
            # 2. resolve: what cannot be read of the input waits until step 4
            resolved = self._resolve(call.target)
            trace.action = resolved.action
            trace.params = redact(self._audit_key, resolved.args)
            # 3. authorize
            trace.decision = self._decide(agent, resolved.action)
            if not trace.decision.allowed:
                raise NotGranted(trace.decision.reason)
            if resolved.problem is None:  # input that cannot be read is refused at step 4
                trace.verdict = await self._apply_rules(agent, resolved)
                if trace.verdict.denied is not None:
                    raise PolicyDenied(trace.verdict.denied)
            # 4. validate
            if resolved.problem is not None:
                raise resolved.problem
            self._check_arguments(agent, resolved, trace)
            await self.webhook_owners.check(agent.name, resolved.action, resolved.args)
            trace.key_kind, key = self.keys.choose(resolved.action)
            # 5. admit: held for a person instead, when an approve rule says so; an
            # approved call is claimed here, once, after its limits are checked
            approval = call.approval
            if trace.verdict.hold is not None and approval is None:
                stopped = await self.holding.hold_or_find(
                    trace, call, agent, resolved.action, resolved.args
                )
                if not isinstance(stopped, HeldCall):
                    return stopped
                approval = stopped  # this very call was approved: it is sent now
            admission = await self.limiter.admit(agent.name, resolved.action, resolved.args)
            if approval is not None:
                trace.approval = approval.id
                lost = await self.holding.claim(approval, resolved.args, admission)
                if lost is not None:
                    return lost
        except BollardError as exc:
            return await self._refuse(trace, exc)
        except Exception as exc:  # an error while deciding is a deny, never an allow
            log.exception("error while deciding request %s", trace.request_id)
            return await self._refuse(trace, _while_deciding(exc))
        # 6. record intent: committed before anything is sent, or nothing is sent
        try:
            await self.audit.append(trace.request_record())
        except AuditUnavailable as exc:
            await self.limiter.release(admission)
            if approval is not None:  # nothing was sent: the approval stands
                await self.holding.unclaim(approval)
            return self._refusal(trace, exc)
        started = time.perf_counter()
        try:
            # 7. forward
            headers = {**call.headers, **resolved.headers}
            try:
                reply = await self.upstream.send(
                    resolved.action, resolved.path, resolved.query, resolved.body, headers, key
                )
            except BollardError as exc:
                # A call that may have reached Apollo (timed out, cut off, redirected,
                # too large) may have spent credits: it keeps its reservation. A call
                # that never got through gives it back.
                if not exc.may_have_reached_apollo:
                    await self.limiter.release(admission)
                return self._failed(trace, exc, started)
            # 8. record outcome
            await self.webhook_owners.remember(
                agent.name, resolved.action, reply.status, reply.body
            )
            credits = await self.limiter.settle(
                admission, reply.status, dict(reply.headers), reply.body
            )
            answer = self._answered(trace, self._withheld(trace, reply), started, credits)
            if approval is not None:
                await self.holding.keep(approval, answer)
            return answer
        except Exception as exc:  # a failure nobody foresaw: still recorded, still refused
            return self._failed(trace, _while_forwarding(exc, trace.request_id), started)

    def now(self) -> datetime:
        """The gateway's clock as an aware UTC time."""
        return datetime.fromtimestamp(self._clock(), UTC)

    async def approval_status(self, door: str, key: str | None, approval_id: str) -> Result:
        """What the status URL answers: pending, denied, expired, or the approved call's
        answer (sent now, once, if nobody has yet). Another agent's approval is a 404."""
        try:
            agent = await self.authenticate(key)
            held = await self.holding.get(approval_id, agent.name)
        except BollardError as exc:
            return Refusal(exc, new_request_id())
        if held.effective_status(self.now()) == "approved":
            target = target_from_json(held.target)
            return await self.handle(Call(door, key, target, agent=agent, approval=held))
        return await self.holding.standing(held)

    def _decide(self, agent: Agent, action: Action) -> Decision:
        """`decide`, remembered: a pure function of the grants and the action, which are
        its key (the agent's grants as authenticate read them for this very call)."""
        key = (agent.grants, action.id)
        found = self._decisions.get(key)
        if found is None:
            found = decide(agent.grants, action)
            if len(self._decisions) >= _DECISIONS_KEPT:
                self._decisions.clear()
            self._decisions[key] = found
        return found

    def _check_arguments(self, agent: Agent, resolved: _Resolved, trace: Trace) -> None:
        """Validate the arguments; with the agent's switch on, names the action does not
        take go through, each named in a warning on the record."""
        allow = agent.allow_unknown_parameters
        arguments.check(resolved.action, resolved.args, allow_unknown=allow)
        if allow:
            names = arguments.unknown(resolved.action, resolved.args)
            trace.warnings = tuple(
                f"unknown parameter {name!r} sent to Apollo, which may ignore it "
                "(this agent may send unknown parameters)"
                for name in names
            )

    async def rules_for(self, agent: Agent) -> tuple[CompiledRule, ...]:
        """The agent's rules and the team-wide ones, as of this call's access_version."""
        version = self.agents.seen_version
        if version is None:
            version = await self.agents.version()
        return self.rules.for_agent(agent.name, version)

    async def _apply_rules(self, agent: Agent, resolved: _Resolved) -> Verdict:
        """The policy rules' verdict on this call."""
        rules = await self.rules_for(agent)
        return evaluate(rules, resolved.action, resolved.args, agent.name, self.now())

    def _withheld(self, trace: Trace, reply: Reply) -> Reply:
        """Apollo's answer without the fields policy hides from this agent."""
        if not trace.verdict.hidden or reply.status >= 400:
            return reply
        body, found = withhold(reply.body, trace.verdict.hidden)
        trace.withheld = found
        return dataclasses.replace(reply, body=body)

    def _resolve(self, target: RestTarget | ToolTarget) -> _Resolved:
        if isinstance(target, ToolTarget):
            return self._resolve_tool(target)
        action, path_params, path = self._route(target.method, target.raw_path)
        problem = target.body_error
        body_args: dict[str, Any] = {}
        if problem is None:
            try:
                body_args = arguments.from_body(target.body)
            except BollardError as exc:
                problem = exc
        query_args = arguments.from_query(target.query)
        if problem is None:
            problem = _given_twice(query_args, body_args)
        args = {**arguments.merge(query_args, body_args), **path_params}
        # Declared as what it was read as: Apollo parses a body by its Content-Type, and
        # a held call sent from its status URL has no agent headers to declare it.
        declared = _JSON if target.body.strip() else {}
        return _Resolved(
            action, path, target.query, target.body or None, args, problem, headers=declared
        )

    def _route(self, method: str, raw_path: bytes) -> tuple[Action, Mapping[str, str], str]:
        """The action, path parameters and path to send for a REST path, or 404 / 405.

        Remembered per (method, path): a pure function of the catalog, which a gateway
        never changes. Only paths that resolve are kept, and at most `_ROUTES_KEPT`
        (paths carry record ids)."""
        found = self._routes.get((method, raw_path))
        if found is None:
            action, path_params = resolver.resolve(self.catalog, method, raw_path)
            found = (action, path_params, action.render_path(path_params))
            if len(self._routes) >= _ROUTES_KEPT:
                self._routes.clear()
            self._routes[method, raw_path] = found
        return found

    def _resolve_tool(self, target: ToolTarget) -> _Resolved:
        action = self.catalog.by_tool(target.tool)
        if action is None:
            raise RouteNotFound(f"there is no Apollo tool named {target.tool!r}")
        args = dict(target.arguments)
        try:
            arguments.require_text(args)
            path_params = resolver.tool_path_params(action, args)
        except BollardError as exc:
            return _Resolved(action, "", (), None, {}, exc)
        path = action.render_path(path_params)
        rest = {k: v for k, v in args.items() if k not in action.path_params}
        if action.method == "GET":
            return _Resolved(action, path, resolver.to_query(rest), None, args)
        body = json.dumps(rest).encode()
        return _Resolved(action, path, (), body, args, headers=_JSON)

    def _answered(self, trace: Trace, reply: Reply, started: float, credits: int) -> Answer:
        data = {
            "latency_ms": _since(started),
            "credits": credits,
            "response_bytes": len(reply.body),
            "rate": {k: v for k, v in reply.headers if k.lower().startswith("x-")},
        }
        if trace.verdict.hidden:
            data["withheld"] = list(trace.withheld)
        outcome = "ok" if reply.status < 400 else "upstream_error"
        self._record_outcome(
            trace, trace.outcome_record(outcome, reply.status, data, self._now_us())
        )
        self.outcomes[trace.door, outcome] += 1
        headers = (*reply.headers, ("x-request-id", trace.request_id))
        action_id = trace.action.id if trace.action else None
        return Answer(reply.status, reply.body, trace.request_id, headers, action_id)

    def _failed(self, trace: Trace, exc: BollardError, started: float) -> Refusal:
        data = {"latency_ms": _since(started), "error": exc.message}
        self._record_outcome(
            trace, trace.outcome_record(exc.outcome, exc.status, data, self._now_us())
        )
        return self._refusal(trace, exc)

    def _record_outcome(self, trace: Trace, record: Record) -> None:
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

    async def refuse(
        self, door: str, exc: Exception, *, agent: Agent | None = None, tool: str | None = None
    ) -> Refusal:
        """Record a call its door could not even hand over (an error while checking its
        key, a message no parser should take): denied, like any error while deciding."""
        trace = Trace(new_request_id(), door, self._now_us())
        trace.agent = agent.name if agent is not None else None
        trace.action = self.catalog.by_tool(tool) if tool is not None else None
        if not isinstance(exc, BollardError):
            exc = _while_deciding(exc)
        return await self._refuse(trace, exc)

    async def _refuse(self, trace: Trace, exc: BollardError) -> Refusal:
        """Record a refused call (request and outcome together) and return the refusal."""
        records = (
            trace.request_record(refused=exc),
            trace.outcome_record(exc.outcome, exc.status, {"error": exc.message}, self._now_us()),
        )
        try:
            await self.audit.append(*records)
        except AuditUnavailable as audit_exc:
            return self._refusal(trace, audit_exc)
        return self._refusal(trace, exc)

    def _refusal(self, trace: Trace, exc: BollardError) -> Refusal:
        self.outcomes[trace.door, exc.outcome] += 1
        action = trace.action.id if trace.action else None
        return Refusal(exc, trace.request_id, action, trace.decision)

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)


def _since(started: float) -> float:
    """Milliseconds since `started` (a perf_counter reading)."""
    return round((time.perf_counter() - started) * 1000, 3)


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


def _given_twice(query: Mapping[str, Any], body: Mapping[str, Any]) -> InvalidRequest | None:
    """A parameter in both the query string and the body is refused: Bollard checks and
    prices the body's value, while a server that lets the query win (Rails merges them
    that way) would act on the other, e.g. a reveal flag the credit estimate never saw."""
    both = sorted(query.keys() & body.keys())
    if not both:
        return None
    return InvalidRequest(
        f"{', '.join(both)} given in both the query string and the body: send each "
        "parameter once (Apollo's clients send a POST's parameters in the JSON body)"
    )


def _while_forwarding(exc: Exception, request_id: str) -> BollardError:
    """An unforeseen error once a call may have gone out, logged and as its refusal."""
    # Where it came from, not its message: that could quote the request's headers.
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s forwarding request %s\n%s", type(exc).__name__, request_id, where)
    return BollardError(
        f"internal error while forwarding ({type(exc).__name__}); the call may have "
        "reached Apollo: check before repeating a write"
    )


def _while_deciding(exc: Exception) -> BollardError:
    """An unforeseen error while deciding a call, as the refusal it becomes (its type,
    not its message: that could quote the request). The database away (an outage,
    not a fault) is a 503 to retry, naming no host, port or driver."""
    if isinstance(exc, (DBAPIError, psycopg.Error, TimeoutError, ConnectionError)):
        return StoreUnavailable(
            "Bollard cannot check calls right now (its database cannot be reached), so "
            "this call was not sent to Apollo. Retry in a few seconds.",
            headers={"Retry-After": "2"},
        )
    return BollardError(f"internal error while deciding: {type(exc).__name__}")
