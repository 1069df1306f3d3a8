"""While the database is away: what the audit writer holds, and what it writes when back.

A failed write starts an outage. Every call is refused at once (503, Retry-After) with
a message that names no host, port or driver (those go to the log and `/readyz`),
and the writer tries the database again every RETRY_EVERY seconds. Meanwhile it holds:

- the outcomes of calls forwarded before the outage (they were sent: their outcome
  must not be lost), written when the database is back, unless already there;
- the request ids of records whose commit failed: the commit may have landed all
  the same (a connection lost during COMMIT), and those calls were not sent, so a
  request found in the log without an outcome is closed as refused.

Nothing is doubled: both are checked against the log inside the transaction that
writes them. Held outcomes lost with the process are closed as `outcome_unknown`
at the next start (recovery.orphans).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bollard.audit.chain import Record
from bollard.errors import AuditUnavailable

# A retry a second: recovery within about a second of the database taking writes
# again, at the cost of one connection attempt a second per replica while it is away.
RETRY_EVERY = 1.0
# A commit that has not answered within this is treated as a lost connection (a
# network partition says nothing): its socket is shut, its callers refused.
COMMIT_TIMEOUT = 5.0
# Outcomes held at most (only calls in flight when the outage began have one).
HELD_AT_MOST = 100_000
REFUSED = (
    "Bollard cannot record calls right now (its audit log cannot be written), so this "
    "call was not sent to Apollo. Retry in a few seconds."
)
NOT_SENT = (
    "the audit log could not confirm this request record (the database went away "
    "during the commit), so the call was refused and not sent to Apollo"
)


def unavailable() -> AuditUnavailable:
    """The refusal an agent gets while the log cannot be written."""
    return AuditUnavailable(REFUSED, headers={"Retry-After": "2"})


@dataclass(slots=True)
class Outage:
    """The database is away since `since` (monotonic seconds); `reason` is for the operator."""

    reason: str
    since: float
    next_try: float
    held: list[Record] = field(default_factory=list)
    unsure: dict[str, Record] = field(default_factory=dict)  # request records, by id

    def request_ids(self) -> list[str]:
        """Every call this outage holds something for."""
        return list(dict.fromkeys([*self.unsure, *(r.request_id for r in self.held)]))


def closing(outage: Outage, kinds: Mapping[str, set[str]], now_us: int) -> list[Record]:
    """What to append once the database is back, given the kinds of record the log
    holds for each of `outage.request_ids()`."""
    out: list[Record] = []
    closed: set[str] = set()
    for record in outage.held:
        rid = record.request_id
        found = kinds.get(rid, set())
        if "request" in found and "outcome" not in found and rid not in closed:
            out.append(record)
            closed.add(rid)
    for rid, request in outage.unsure.items():
        found = kinds.get(rid, set())
        if "request" in found and "outcome" not in found and rid not in closed:
            out.append(_not_sent(request, now_us))
            closed.add(rid)
    return out


def requests_among(records: Iterable[Record]) -> dict[str, Record]:
    """The request records among `records`, by request id."""
    return {r.request_id: r for r in records if r.kind == "request"}


def _not_sent(request: Record, now_us: int) -> Record:
    return Record(
        request_id=request.request_id,
        kind="outcome",
        ts_us=now_us,
        door=request.door,
        agent=request.agent,
        action=request.action,
        outcome=AuditUnavailable.outcome,
        status=AuditUnavailable.status,
        data={"error": NOT_SENT},
    )
