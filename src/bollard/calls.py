"""What a door hands the pipeline, and what it gets back.

A door builds a `Call` (its `RestTarget` or `ToolTarget`, the key it was sent),
awaits `Gateway.handle`, and renders the `Result`: Apollo's `Answer`, Bollard's
`Refusal` (the error and the decision), or `Held` (stopped for a person).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bollard.agents import Agent
from bollard.approvals import HeldCall
from bollard.errors import BollardError, NotGranted
from bollard.policy import Decision

STATUS_PATH = "/bollard/v1/approvals/"


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
    # An approved held call this call sends (at most once: step 5 claims it).
    approval: HeldCall | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """Apollo's answer, as it came, with Bollard's request id among its headers."""

    status: int
    body: bytes
    request_id: str
    headers: tuple[tuple[str, str], ...] = ()
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Bollard's own answer instead of Apollo's: the error, and the decision if one was
    made. Each door renders it in its own shape."""

    error: BollardError
    request_id: str
    action: str | None = None
    decision: Decision | None = None

    @property
    def status(self) -> int:
        return self.error.status

    @property
    def would_allow(self) -> tuple[str, ...] | None:
        """For a call not granted, the narrowest grants that would allow it."""
        if isinstance(self.error, NotGranted) and self.decision is not None:
            return self.decision.would_allow
        return None


@dataclass(frozen=True, slots=True)
class Held:
    """A call held for a person (202): nothing was sent. `state` is what the agent is
    told: pending, approved (poll the status URL to send it) or executing (another
    poll is sending it right now)."""

    approval: HeldCall
    request_id: str
    state: str = "pending"
    action: str | None = None
    status: int = 202

    @property
    def status_url(self) -> str:
        return STATUS_PATH + self.approval.id


Result = Answer | Refusal | Held
