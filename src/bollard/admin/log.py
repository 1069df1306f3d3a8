"""The console's view of the audit log: calls, admin changes, last use, chain status.

Searching is `bollard.audit.search.search`; this module only turns its rows
into what a page or the JSON API shows (a call is its request record with its
outcome). The chain's status on every log page is a quick re-walk of the
newest records; the whole verification (`bollard audit verify`: every record
and every signed checkpoint) runs on request, since it reads the entire log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from starlette.requests import Request

from bollard.audit import seal
from bollard.audit.chain import COLUMNS
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.keyfile import signing_key
from bollard.audit.search import AuditFilters, AuditRow, follow, pair, search
from bollard.audit.verify import verify
from bollard.audit.walk import ChainWalk
from bollard.store.tables import audit_records

t = audit_records.c


async def settled(request: Request) -> Engine:
    """The database, once every audit record this process has queued is committed.

    A call's outcome is committed just after its agent is answered; reading after
    this shows every call already answered, outcome included.
    """
    await request.app.state.gateway.audit.flush()
    engine: Engine = request.app.state.engine
    return engine


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the log: a call (request + outcome) or an admin change."""

    seq: int  # the newest record of the entry, used as the paging cursor
    request_id: str
    request: AuditRow | None
    outcome: AuditRow | None
    admin: AuditRow | None = None

    @property
    def first(self) -> AuditRow:
        """The entry's first record (what its time, agent and action come from)."""
        found = self.admin or self.request or self.outcome
        assert found is not None
        return found

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON-able data for the admin API."""
        first = self.first
        outcome = self.outcome
        return {
            "seq": self.seq,
            "request_id": self.request_id,
            "kind": "admin" if self.admin else "call",
            "ts_us": first.ts_us,
            "door": first.door,
            "agent": first.agent,
            "action": first.action,
            "decision": self.request.decision if self.request else None,
            "reason": (self.request.data.get("reason") if self.request else None),
            "outcome": outcome.outcome if outcome else None,
            "status": outcome.status if outcome else None,
            "latency_ms": outcome.data.get("latency_ms") if outcome else None,
            "credits": outcome.data.get("credits") if outcome else None,
            "records": [r.to_json() for r in (self.admin, self.request, outcome) if r],
        }


def entries(engine: Engine, rows: Sequence[AuditRow]) -> list[Entry]:
    """Group records into log entries, newest first, one per request id."""
    newest: dict[str, int] = {}
    admins: dict[str, AuditRow] = {}
    for row in rows:
        newest[row.request_id] = max(newest.get(row.request_id, 0), row.seq)
        if row.kind == "admin":
            admins[row.request_id] = row
    calls = pair(engine, [r for r in rows if r.kind != "admin"])
    found = [Entry(newest[c.request_id], c.request_id, c.request, c.outcome) for c in calls]
    found += [Entry(r.seq, r.request_id, None, None, r) for r in admins.values()]
    return sorted(found, key=lambda e: e.seq, reverse=True)


def page(
    engine: Engine, filters: AuditFilters, limit: int = 50, before_seq: int | None = None
) -> tuple[list[Entry], int | None]:
    """One page of entries, newest first, and the cursor of the next page (or None)."""
    rows = search(engine, filters, limit, before_seq)
    cursor = rows[-1].seq if len(rows) == limit else None
    return entries(engine, rows), cursor


def newer(engine: Engine, filters: AuditFilters, after_seq: int, limit: int = 200) -> list[Entry]:
    """Entries with a record after `after_seq` (the live tail), newest first."""
    rows = []
    for row in follow(engine, filters, after_seq, batch=limit):
        rows.append(row)
        if len(rows) >= limit:
            break
    return entries(engine, rows)


def detail(engine: Engine, seq: int) -> list[AuditRow]:
    """Every record of the call (or change) that record `seq` belongs to, in chain order."""
    with engine.connect() as conn:
        request_id = conn.execute(select(t.request_id).where(t.seq == seq)).scalar()
    if request_id is None:
        return []
    rows = search(engine, AuditFilters(request_id=request_id), limit=20)
    return sorted(rows, key=lambda r: r.seq)


def last_use(engine: Engine) -> dict[str, int]:
    """Each agent's newest call (ts_us of its newest request record)."""
    stmt = (
        select(t.agent, func.max(t.ts_us))
        .where(t.kind == "request", t.agent.is_not(None))
        .group_by(t.agent)
    )
    with engine.connect() as conn:
        return {agent: int(ts) for agent, ts in conn.execute(stmt)}


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """The result of re-walking the newest records of the hash chain."""

    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    problem: str = ""
    total: int = 0  # records in the log; `checked` of them were re-walked

    def to_json(self) -> dict[str, Any]:
        """The status as JSON-able data."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "problem": self.problem,
            "method": f"re-walk of the newest {self.checked} records",
            "total": self.total,
            "partial": self.checked < self.total,
        }


def verify_tail(engine: Engine, n: int = 1000) -> ChainStatus:
    """Walk the newest `n` records (the verifier's walk, without the checkpoints)."""
    columns = [audit_records.c[name] for name in COLUMNS]
    stmt = select(*columns).order_by(t.seq.desc()).limit(n)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)][::-1]
        total = int(conn.execute(select(func.count()).select_from(audit_records)).scalar() or 0)
    if not rows:
        return ChainStatus(True, 0, None, None, total=total)
    walk = ChainWalk()
    walk.feed(rows)
    report = walk.finish()
    fatal = [p.message for p in report.problems if p.fatal]
    return ChainStatus(not fatal, len(rows), rows[0][0], rows[-1][0], "; ".join(fatal), total)


FACETS = ("kind", "door", "decision", "outcome", "action", "agent")


def facets(
    engine: Engine, filters: AuditFilters, top: int = 12
) -> dict[str, list[tuple[str, int]]]:
    """Per facet column, its commonest values among the records the filters match, with counts."""
    out: dict[str, list[tuple[str, int]]] = {}
    with engine.connect() as conn:
        for name in FACETS:
            column = t[name]
            count = func.count().label("n")
            stmt = (
                select(column, count)
                .where(*filters.conditions(), column.is_not(None))
                .group_by(column)
                .order_by(count.desc(), column)
                .limit(top)
            )
            out[name] = [(str(value), int(n)) for value, n in conn.execute(stmt)]
    return out


def verify_all(engine: Engine, state_dir: Path) -> dict[str, Any]:
    """`bollard audit verify`: every record and signed checkpoint, as JSON-able data."""
    key = signing_key(state_dir)
    report = verify(
        engine,
        key.public_key(),
        CheckpointFile.in_state_dir(state_dir),
        mac_key=seal.mac_key(key),
    )
    problems = [
        {"kind": p.kind, "seq": p.seq, "fatal": p.fatal, "message": p.message}
        for p in report.problems
    ]
    return {
        "ok": report.ok,
        "checked": report.records,
        "first_seq": report.first_seq,
        "last_seq": report.last_seq,
        "checkpoints": report.checkpoints,
        "anchored_through": report.anchored_through,
        "coverage": report.coverage(),
        "problem": "; ".join(p.message for p in report.problems if p.fatal),
        "problems": problems,
        "method": "full verification of every record and signed checkpoint",
    }
