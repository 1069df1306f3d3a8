"""Held calls in the pipeline: hold a call for a person, find the approval for
exactly this call, claim an approved one for its one send, keep its answer, and
say where an approval stands.

An enforced approve rule stops a call at step 5 (admit): it is held (202, nothing
sent) and the agent polls its status URL. Once a person approves it, the poll (or
the same call sent again) runs it through the pipeline, which claims it here,
once across replicas, and keeps Apollo's answer for the agent's next poll. The
store itself is `bollard.approvals`; this module is what the gateway does with it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bollard.agents import Agent
from bollard.approvals import DEFAULT_EXPIRY, Approvals, HeldCall, digest, new_id
from bollard.audit import AuditLog
from bollard.calls import Answer, Call, Held, Refusal, RestTarget, Result, ToolTarget
from bollard.catalog import Action
from bollard.errors import ApprovalDenied, ApprovalGone, ApprovalNotFound, ApprovalSpent
from bollard.limits import Limiter
from bollard.limits.cost import estimate
from bollard.policy import Hold
from bollard.trace import Trace, new_request_id

log = logging.getLogger("bollard.gateway")


class Holding:
    """What the gateway does with held calls; it owns one, sharing its clock and counts."""

    def __init__(
        self,
        *,
        approvals: Approvals,
        audit: AuditLog,
        limiter: Limiter,
        outcomes: Counter[tuple[str, str]],
        now: Callable[[], datetime],
        now_us: Callable[[], int],
    ) -> None:
        self.approvals = approvals
        self.audit = audit
        self.limiter = limiter
        self.outcomes = outcomes
        self.now = now
        self.now_us = now_us

    async def get(self, approval_id: str, agent: str) -> HeldCall:
        """This agent's approval, or 404 (another agent's approval is not found either)."""
        held = await asyncio.to_thread(self.approvals.get, approval_id, agent)
        if held is None:
            raise ApprovalNotFound(_NO_APPROVAL.format(approval_id))
        return held

    async def standing(self, held: HeldCall) -> Result:
        """An approval's answer without sending anything: where it stands, or the kept
        answer of an executed one."""
        request_id = new_request_id()
        status = held.effective_status(self.now())
        if status in ("pending", "approved"):
            return Held(held, request_id, status, held.action)
        if status == "denied":
            who = held.decided_by or "an approver"
            return Refusal(ApprovalDenied(f"denied by {who}: {held.note}"), request_id, held.action)
        if status == "expired":
            return Refusal(ApprovalGone(_EXPIRED.format(held)), request_id, held.action)
        for _ in range(2):  # the answer may be stored between these reads: read again
            kept = await asyncio.to_thread(self.approvals.read_result, held.id, held.agent)
            if kept is not None:
                return Answer(kept.status, kept.body, kept.request_id, kept.headers, held.action)
            fresh = await asyncio.to_thread(self.approvals.get, held.id)
            if fresh is not None and not fresh.answered:  # claimed, being sent right now
                return Held(held, request_id, "executing", held.action)
        return Refusal(ApprovalSpent(_SPENT.format(held)), request_id, held.action)

    async def hold_or_find(
        self, trace: Trace, call: Call, agent: Agent, action: Action, args: dict[str, Any]
    ) -> Result | HeldCall:
        """Hold this call for a person, or find the approval for exactly this call: a
        pending one (held again), an approved one (returned: send it now), or an
        executed one whose answer is still kept (answered from it, nothing sent)."""
        call_digest = digest(args)
        found = await asyncio.to_thread(self.approvals.find, agent.name, action.id, call_digest)
        if found is not None and found.status == "approved":
            return found
        if found is not None and found.status == "executed":
            return await self.standing(found)
        trace.held = True
        held = found or self._new_hold(trace, call, agent, action, args, call_digest)
        trace.approval = held.id
        records = (
            trace.request_record(),
            trace.outcome_record("held", 202, {"approval": held.id}, self.now_us()),
        )
        if found is None:
            await asyncio.to_thread(self.approvals.hold, held, records)
        else:
            await self.audit.append(*records)
        self.outcomes[trace.door, "held"] += 1
        return Held(held, trace.request_id, "pending", action.id)

    def _new_hold(
        self,
        trace: Trace,
        call: Call,
        agent: Agent,
        action: Action,
        args: dict[str, Any],
        call_digest: str,
    ) -> HeldCall:
        hold = trace.verdict.hold or Hold(0, "held for approval", None)
        now = self.now()
        expiry = timedelta(seconds=hold.seconds) if hold.seconds else DEFAULT_EXPIRY
        quote = estimate(action, args)
        return HeldCall(
            id=new_id(),
            agent=agent.name,
            action=action.id,
            digest=call_digest,
            door=call.door,
            target=target_json(call.target),
            args=args,
            credits=quote.credits,
            reckoning=quote.reckoning,
            rule=hold.rule,
            reason=hold.reason,
            request_id=trace.request_id,
            created_at=now,
            expires_at=now + expiry,
        )

    async def claim(
        self, approval: HeldCall, args: Mapping[str, Any], admission: Any
    ) -> Result | None:
        """Claim the approved call for this send (one atomic UPDATE: exactly one caller
        across replicas wins); None if this caller won, else where the approval stands."""
        if approval.digest != digest(args):  # changed arguments: another call
            raise ApprovalNotFound(_NO_APPROVAL.format(approval.id))
        won = await asyncio.to_thread(
            self.approvals.claim, approval.id, approval.agent, approval.digest
        )
        if won:
            return None
        await self.limiter.release(admission)
        fresh = await asyncio.to_thread(self.approvals.get, approval.id)
        return await self.standing(fresh or approval)

    async def unclaim(self, approval: HeldCall) -> None:
        """Give the claim back: nothing was sent, so the approval stands."""
        await asyncio.to_thread(self.approvals.unclaim, approval.id)

    async def keep(self, approval: HeldCall, answer: Answer) -> None:
        """Keep the answer for the agent's next poll (a lost connection, another replica)."""
        try:
            await asyncio.to_thread(
                self.approvals.store_result,
                approval.id,
                answer.request_id,
                answer.status,
                answer.headers,
                answer.body,
            )
        except Exception:  # the agent has its answer; only a repeated poll would miss it
            log.exception("the answer to approval %s could not be kept", approval.id)


_NO_APPROVAL = (
    "there is no approval {} for this agent: use the status_url Bollard answered the held "
    "call with, and this agent's key"
)
_EXPIRED = (
    "approval {0.id} expired at {0.expires_at:%Y-%m-%d %H:%M} UTC before a person approved "
    "it and nothing was sent; send the call again to ask for a new approval"
)
_SPENT = (
    "approval {0.id} was sent to Apollo once, at {0.executed_at:%Y-%m-%d %H:%M} UTC, and its "
    "answer was delivered and is no longer kept; the audit log has its outcome"
)


def target_json(target: RestTarget | ToolTarget) -> dict[str, Any]:
    """What a door sent, as JSON, to send it as it came once approved."""
    if isinstance(target, ToolTarget):
        return {"tool": target.tool, "arguments": dict(target.arguments)}
    return {
        "method": target.method,
        "raw_path": target.raw_path.decode("latin-1"),
        "query": [list(pair) for pair in target.query],
        "body": base64.b64encode(target.body).decode("ascii"),
    }


def target_from_json(data: Mapping[str, Any]) -> RestTarget | ToolTarget:
    """The target `target_json` wrote."""
    if "tool" in data:
        return ToolTarget(str(data["tool"]), dict(data["arguments"]))
    query = tuple((str(k), str(v)) for k, v in data["query"])
    body = base64.b64decode(data["body"])
    return RestTarget(str(data["method"]), str(data["raw_path"]).encode("latin-1"), query, body)
