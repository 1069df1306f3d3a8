"""What the pipeline knows about one call so far, and the audit records it becomes.

Every call leaves two records: its request (the decision, committed before
anything is sent) and its outcome (what came of it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bollard.audit import Record
from bollard.catalog import Action
from bollard.errors import BollardError, NotGranted
from bollard.policy import NO_RULES, Decision, Verdict


@dataclass(slots=True)
class Trace:
    """What is known about a call so far; becomes its audit records."""

    request_id: str
    door: str
    ts_us: int
    agent: str | None = None
    action: Action | None = None
    decision: Decision | None = None
    params: Any = None
    key_kind: str | None = None
    verdict: Verdict = NO_RULES
    withheld: tuple[str, ...] = ()  # fields hidden from the answer
    approval: str | None = None  # the held call this call holds, or sends once approved
    held: bool = False  # decision "held": stopped for a person, nothing sent
    warnings: tuple[str, ...] = ()  # what was let through that would be refused

    def request_record(self, refused: BollardError | None = None) -> Record:
        """The call's request record: its decision, and why (`refused`: the error it was
        refused with)."""
        allowed = self.decision is not None and self.decision.allowed and refused is None
        decision = "allow" if allowed else "deny"
        reason = self.decision.reason if self.decision else None
        if refused is not None and not isinstance(refused, NotGranted):
            reason = refused.message
        data: dict[str, Any] = {"reason": reason, "params": self.params}
        if self.decision and self.decision.grant:
            data["grant"] = self.decision.grant
        if self.key_kind:
            data["key_kind"] = self.key_kind
        if self.verdict.applied:
            data["rules"] = list(self.verdict.applied)
        if self.approval is not None:
            data["approval"] = self.approval
        if self.held and refused is None:
            decision = "held"
            data["reason"] = self.verdict.hold.reason if self.verdict.hold else reason
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return Record(
            request_id=self.request_id,
            kind="request",
            ts_us=self.ts_us,
            door=self.door,
            agent=self.agent,
            action=self.action.id if self.action else None,
            decision=decision,
            data=data,
        )

    def outcome_record(
        self, outcome: str, status: int, data: Mapping[str, Any], ts_us: int
    ) -> Record:
        """The call's outcome record, made at `ts_us`."""
        return Record(
            request_id=self.request_id,
            kind="outcome",
            ts_us=ts_us,
            door=self.door,
            agent=self.agent,
            action=self.action.id if self.action else None,
            outcome=outcome,
            status=status,
            data=data,
        )


def new_request_id() -> str:
    """24 hex digits: milliseconds since the epoch, then 48 random bits.

    Time first, so ids arrive in nearly ascending order and each audit commit adds
    to the right edge of the request-id indexes instead of dirtying a random page
    per record (measured: most of the pages each commit wrote).
    """
    return (time.time_ns() // 1_000_000).to_bytes(6, "big").hex() + os.urandom(6).hex()
