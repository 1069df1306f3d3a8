"""Held calls: a call stopped by an `approve` rule until a person decides (issue 19).

The pipeline (`bollard.gateway`) holds a call that an `approve` rule matches, after
grants, the other rules and validation (a call that could never pass is refused, not
queued). The held call is bound to the agent, the action, the SHA-256 of its
canonical arguments and an expiry; it is sent to Apollo at most once, when the agent
asks for it after a person approved it.

Value type
    `HeldCall`: id (`apr_` + 24 hex digits), agent, action, digest (SHA-256 hex of the
    canonical JSON of `args`), door, target (what the door sent, replayed to send it),
    args (as Apollo receives them: both encodings merged), credits and reckoning (the
    worst-case quote from the catalog), rule id and reason, request_id (the held
    call's audit record), created_at, expires_at, status (`pending`, `approved`,
    `denied`, `expired`, `executed`), decided_by, decided_at, note (the approver's
    note, or the reason for a denial), executed_at, `answered` (Apollo's answer was
    stored) and `result_ready` (it is still kept, not yet purged). `as_dict()` is the
    JSON the CLI and the admin API show.

`Approvals` (the service; sync, on an `Engine`; async callers run it in a thread)
    hold(held, records=())            store a new pending call, its audit records
                                      chained in the same transaction; calls `on_held`
    find(agent, action, digest)       the live approval for exactly this call, if any
    get(id, agent=None)               one approval (None: unknown, or not this agent's)
    list(status=None, limit=200)      newest first; status filters on the effective one
    approve(id, actor, note=None)     pending → approved, recorded with the actor
    deny(id, actor, reason)           pending → denied, recorded with the actor
    claim(id, agent, digest)          approved → executed, ONE atomic UPDATE ... WHERE
                                      status = 'approved' AND expires_at > now: True
                                      for exactly one caller across every replica
    unclaim(id)                       executed → approved, only while nothing was sent
                                      (the record of intent could not be written)
    store_result(id, request_id, status, headers, body)
    read_result(id, agent) -> Kept | None   Apollo's answer, marking it read; purged
                                      `keep_after_read` after the first read, or at
                                      expiry, whichever is first
    expire()                          pending/approved past expires_at → expired
    on_held: Callable[[HeldCall], None] | None   called after each hold commits; it
                                      must not block (a notifier queues and returns)

Status is computed against the clock on every read (`effective_status`), so an
approval past its expiry is `expired` even before `expire()` writes it so.
Apollo's answer lives only in the `approvals` row (never in the audit log, whose
outcome record has the status, credits and size only), and only until read.
Decisions go through `bollard.changes.AdminChanges` (`decide_approval`): the change
and its audit record commit together, naming the actor.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, Row, insert, select, update

from bollard.agents import utcnow
from bollard.audit.appender import append_within, ensure_head
from bollard.audit.chain import Record, canonical
from bollard.audit.checkpointer import Checkpointer
from bollard.errors import ConfigError
from bollard.store.tables import approvals as table

if TYPE_CHECKING:
    from bollard.changes import Actor, AdminChanges

log = logging.getLogger("bollard.approvals")
Status = Literal["pending", "approved", "denied", "expired", "executed"]
STATUSES: tuple[str, ...] = ("pending", "approved", "denied", "expired", "executed")
LIVE = ("pending", "approved")  # statuses that expire
DEFAULT_EXPIRY = timedelta(hours=24)
KEEP_AFTER_READ = timedelta(minutes=5)
ID_PREFIX = "apr_"
NOTE_MAX = 500
_AGAIN = " (the agent can send the call again for a new approval)"


def digest(args: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a call's arguments."""
    return hashlib.sha256(canonical(dict(args)).encode()).hexdigest()


def new_id() -> str:
    """A fresh approval id: `apr_` and 24 hex digits."""
    return ID_PREFIX + os.urandom(12).hex()


@dataclass(frozen=True, slots=True)
class HeldCall:
    """One held call and where it stands."""

    id: str
    agent: str
    action: str
    digest: str
    door: str
    target: Mapping[str, Any]
    args: Mapping[str, Any]
    credits: int
    reckoning: str
    rule: int | None
    reason: str
    request_id: str
    created_at: datetime
    expires_at: datetime
    status: str = "pending"
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    executed_at: datetime | None = None
    result_ready: bool = False
    answered: bool = False  # Apollo's answer was stored (it may since have been purged)

    def effective_status(self, now: datetime) -> str:
        """The status as of `now`: a live approval past its expiry is expired."""
        if self.status in LIVE and now >= self.expires_at:
            return "expired"
        return self.status

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The held call as the CLI's JSON and the admin API show it."""
        status = self.effective_status(now) if now is not None else self.status
        return {
            "id": self.id,
            "agent": self.agent,
            "action": self.action,
            "digest": self.digest,
            "door": self.door,
            "args": dict(self.args),
            "credits": {"worst_case": self.credits, "reckoning": self.reckoning},
            "rule": self.rule,
            "reason": self.reason,
            "request_id": self.request_id,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "status": status,
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "note": self.note,
            "executed_at": _iso(self.executed_at),
        }


@dataclass(frozen=True, slots=True)
class Kept:
    """Apollo's answer to an executed call, as the agent would have had it."""

    request_id: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Decision:
    """What a person decided, and the approval after it."""

    held: HeldCall
    before: str  # the status before (pending)


class ApprovalError(ConfigError):
    """An approval that cannot be decided as asked (unknown, or not pending)."""


class UnknownApproval(ApprovalError):
    """No approval has this id."""


@dataclass(slots=True)
class Approvals:
    """Held calls in the store: hold, decide (recorded), claim once, keep the answer."""

    engine: Engine
    changes: AdminChanges | None = None  # records decisions; None: read-only uses
    checkpointer: Checkpointer | None = None  # MACs the records `hold` appends
    clock: Callable[[], datetime] = utcnow
    on_held: Callable[[HeldCall], None] | None = None
    keep_after_read: timedelta = KEEP_AFTER_READ
    _head_ready: bool = False

    def now(self) -> datetime:
        return self.clock()

    # --- holding ---------------------------------------------------------------

    def hold(self, held: HeldCall, records: Sequence[Record] = ()) -> HeldCall:
        """Store a new pending call and its audit records in one transaction (both or
        neither); `on_held` is told after the commit."""
        if records and not self._head_ready:
            ensure_head(self.engine)
            self._head_ready = True
        with self.engine.begin() as conn:
            conn.execute(insert(table).values(_values(held)))  # first: takes the write lock
            append_within(conn, records, self.checkpointer)
        if self.on_held is not None:
            try:
                self.on_held(held)
            except Exception:  # a notifier's failure never fails the agent's call
                log.exception("the on_held hook failed for approval %s", held.id)
        return held

    def find(self, agent: str, action: str, call_digest: str) -> HeldCall | None:
        """The newest approval for exactly this call that is live or executed with its
        answer still kept (a replay answers from it); None if there is none."""
        now = self.now()
        c = table.c
        query = (
            select(table)
            .where(c.agent == agent, c.action == action, c.digest == call_digest)
            .where(c.status.in_((*LIVE, "executed")))
            .order_by(c.created_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        found = _held(row)
        if found.effective_status(now) == "expired":
            return None
        if found.status == "executed" and not found.result_ready:
            return None
        return found

    # --- reading ---------------------------------------------------------------

    def get(self, approval_id: str, agent: str | None = None) -> HeldCall | None:
        """One approval; with `agent`, None unless it is that agent's."""
        query = select(table).where(table.c.id == approval_id)
        if agent is not None:
            query = query.where(table.c.agent == agent)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _held(row) if row is not None else None

    def require(self, approval_id: str, conn: Connection | None = None) -> HeldCall:
        """One approval, or UnknownApproval naming how to find the ids."""
        query = select(table).where(table.c.id == approval_id)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        if row is None:
            raise UnknownApproval(
                f"there is no approval {approval_id!r}: `bollard approvals list` shows the ids"
            )
        return _held(row)

    def list(self, status: str | None = None, limit: int = 200) -> list[HeldCall]:
        """Approvals newest first; `status` filters on the effective status."""
        if status is not None and status not in STATUSES:
            raise ApprovalError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        self.expire()
        query = select(table).order_by(table.c.created_at.desc(), table.c.id).limit(limit)
        if status is not None:
            query = query.where(table.c.status == status)
        with self.engine.connect() as conn:
            return [_held(r) for r in conn.execute(query)]

    # --- deciding (recorded through AdminChanges) -------------------------------

    def approve(self, approval_id: str, actor: Actor, note: str | None = None) -> HeldCall:
        """pending → approved, with the actor and note on the audit record."""
        return self._recorder().decide_approval(actor, self, approval_id, "approved", note)

    def deny(self, approval_id: str, actor: Actor, reason: str) -> HeldCall:
        """pending → denied, with the actor and the reason the agent will read."""
        if not reason or not reason.strip():
            raise ApprovalError("a denial needs a reason (--reason TEXT): the agent reads it")
        return self._recorder().decide_approval(actor, self, approval_id, "denied", reason)

    def decide_within(
        self, conn: Connection, approval_id: str, status: str, actor: Actor, text: str | None
    ) -> Decision:
        """The decision's UPDATE on the caller's transaction: only a pending, unexpired
        approval is decided; anything else is an ApprovalError saying where it stands."""
        if text is not None and len(text) > NOTE_MAX:
            raise ApprovalError(f"a note or reason must be at most {NOTE_MAX} characters")
        now = self.now()
        c = table.c
        changed = conn.execute(
            update(table)
            .where(c.id == approval_id, c.status == "pending", c.expires_at > now)
            .values(status=status, decided_by=actor.name, decided_at=now, note=text)
        ).rowcount
        held = self.require(approval_id, conn)
        if changed != 1:
            where = held.effective_status(now)
            raise ApprovalError(
                f"approval {approval_id} is {where}, not pending: only a pending call "
                "can be approved or denied" + (_AGAIN if where == "expired" else "")
            )
        return Decision(held, "pending")

    def _recorder(self) -> AdminChanges:
        if self.changes is None:
            raise RuntimeError("this Approvals has no AdminChanges to record decisions with")
        return self.changes

    # --- executing exactly once -----------------------------------------------

    def claim(self, approval_id: str, agent: str, call_digest: str) -> bool:
        """approved → executed in one atomic UPDATE: True for exactly one caller."""
        now = self.now()
        c = table.c
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(table)
                .where(c.id == approval_id, c.agent == agent, c.digest == call_digest)
                .where(c.status == "approved", c.expires_at > now)
                .values(status="executed", executed_at=now)
            ).rowcount
        return claimed == 1

    def unclaim(self, approval_id: str) -> None:
        """Give a claim back (nothing was sent: the record of intent failed)."""
        c = table.c
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(c.id == approval_id, c.status == "executed", c.result_status.is_(None))
                .values(status="approved", executed_at=None)
            )

    def store_result(
        self,
        approval_id: str,
        request_id: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Keep Apollo's answer, just delivered to the poller that sent the call, for
        `keep_after_read` (another poll, a lost connection) or until expiry."""
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id == approval_id)
                .values(
                    read_at=self.now(),
                    execution_request_id=request_id,
                    result_status=status,
                    result_headers=json.dumps([list(h) for h in headers]),
                    result_body=body,
                )
            )

    def read_result(self, approval_id: str, agent: str) -> Kept | None:
        """Apollo's answer, if still kept; the first read starts its last minutes."""
        self.purge()
        c = table.c
        now = self.now()
        with self.engine.begin() as conn:
            row = conn.execute(
                select(
                    c.execution_request_id, c.result_status, c.result_headers, c.result_body
                ).where(c.id == approval_id, c.agent == agent, c.result_body.is_not(None))
            ).first()
            if row is None:
                return None
            conn.execute(
                update(table).where(c.id == approval_id, c.read_at.is_(None)).values(read_at=now)
            )
        headers = tuple((str(k), str(v)) for k, v in json.loads(row.result_headers))
        return Kept(row.execution_request_id, row.result_status, headers, bytes(row.result_body))

    def purge(self) -> int:
        """Drop kept answers read more than `keep_after_read` ago, or past expiry."""
        now = self.now()
        c = table.c
        stale = (c.read_at < now - self.keep_after_read) | (c.expires_at <= now)
        with self.engine.begin() as conn:
            return conn.execute(
                update(table)
                .where(c.result_body.is_not(None), stale)
                .values(result_body=None, result_headers=None)
            ).rowcount

    def expire(self) -> int:
        """Write `expired` on live approvals past their expiry; how many."""
        c = table.c
        with self.engine.begin() as conn:
            return conn.execute(
                update(table)
                .where(c.status.in_(LIVE), c.expires_at <= self.now())
                .values(status="expired")
            ).rowcount


def _values(held: HeldCall) -> dict[str, Any]:
    return {
        "id": held.id,
        "agent": held.agent,
        "action": held.action,
        "digest": held.digest,
        "door": held.door,
        "target": canonical(dict(held.target)),
        "args": canonical(dict(held.args)),
        "credits": held.credits,
        "reckoning": held.reckoning,
        "rule_id": held.rule,
        "reason": held.reason,
        "request_id": held.request_id,
        "created_at": held.created_at,
        "expires_at": held.expires_at,
        "status": held.status,
    }


def _held(row: Row[Any]) -> HeldCall:
    return HeldCall(
        id=row.id,
        agent=row.agent,
        action=row.action,
        digest=row.digest,
        door=row.door,
        target=json.loads(row.target),
        args=json.loads(row.args),
        credits=row.credits,
        reckoning=row.reckoning,
        rule=row.rule_id,
        reason=row.reason,
        request_id=row.request_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=row.status,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        executed_at=row.executed_at,
        result_ready=row.result_status is not None and row.result_body is not None,
        answered=row.result_status is not None,
    )


def with_status(held: HeldCall, status: str) -> HeldCall:
    """The same held call with another status (for answers built before a re-read)."""
    return replace(held, status=status)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
