"""Audit search: the filters, the statements they make, and running them.

`search` (newest first, paged), `follow` (chain order, for tail and export) and
`pair` (a call's request with its outcome). The admin console and
`bollard audit search` both call `search`.

Results come newest first, ordered by (ts_us, seq) so that a search by agent
or action and a time range walks the (agent, ts_us) or (action, ts_us) index
backwards and stops at the limit, without sorting the matches. `before_seq`
is the paging cursor: the seq of the last row of the previous page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, or_, select

from bollard.store.tables import audit_records

t = audit_records.c


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What to look for; every field is optional and they combine with AND."""

    agent: str | None = None
    action: str | None = None
    decision: str | None = None  # allow | deny: matches request records
    outcome: str | None = None  # ok, denied, ...: matches outcome records
    request_id: str | None = None
    kind: str | None = None  # request | outcome | admin
    door: str | None = None
    since_us: int | None = None  # inclusive
    until_us: int | None = None  # exclusive

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE terms for these filters."""
        equal: dict[str, Any] = {
            "agent": self.agent,
            "action": self.action,
            "decision": self.decision,
            "outcome": self.outcome,
            "request_id": self.request_id,
            "kind": self.kind,
            "door": self.door,
        }
        terms = [t[name] == value for name, value in equal.items() if value is not None]
        if self.since_us is not None:
            terms.append(t.ts_us >= self.since_us)
        if self.until_us is not None:
            terms.append(t.ts_us < self.until_us)
        return terms


def search_statement(
    filters: AuditFilters, limit: int, before_seq: int | None = None
) -> Select[Any]:
    """Newest-first records matching `filters`, after the row `before_seq` if given."""
    stmt = select(audit_records).where(*filters.conditions())
    if before_seq is not None:
        cursor_ts = select(t.ts_us).where(t.seq == before_seq).scalar_subquery()
        stmt = stmt.where(
            t.ts_us <= cursor_ts,
            or_(t.ts_us < cursor_ts, and_(t.ts_us == cursor_ts, t.seq < before_seq)),
        )
    return stmt.order_by(t.ts_us.desc(), t.seq.desc()).limit(limit)


def tail_statement(filters: AuditFilters, after_seq: int, limit: int) -> Select[Any]:
    """Records after `after_seq` in chain order, for `audit tail -f` and export."""
    stmt = select(audit_records).where(t.seq > after_seq, *filters.conditions())
    return stmt.order_by(t.seq).limit(limit)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One stored audit record, its `data` decoded."""

    seq: int
    request_id: str
    kind: str
    ts_us: int
    door: str
    agent: str | None
    action: str | None
    decision: str | None
    outcome: str | None
    status: int | None
    data: Mapping[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_mapping(cls, row: Mapping[Any, Any]) -> AuditRow:
        """From a row of `audit_records`."""
        return cls(
            seq=row["seq"],
            request_id=row["request_id"],
            kind=row["kind"],
            ts_us=row["ts_us"],
            door=row["door"],
            agent=row["agent"],
            action=row["action"],
            decision=row["decision"],
            outcome=row["outcome"],
            status=row["status"],
            data=json.loads(row["data"]),
            prev_hash=row["prev_hash"],
            hash=row["hash"],
        )

    def to_json(self) -> dict[str, Any]:
        """A plain dict for `--json` output and exports."""
        return asdict(self) | {"data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class AuditCall:
    """A call's request record and its outcome record (either may be missing)."""

    request_id: str
    request: AuditRow | None
    outcome: AuditRow | None


def search(
    engine: Engine, filters: AuditFilters, limit: int = 50, before_seq: int | None = None
) -> list[AuditRow]:
    """Records matching `filters`, newest first; page on with the last row's seq."""
    with engine.connect() as conn:
        rows = conn.execute(search_statement(filters, limit, before_seq)).mappings()
        return [AuditRow.from_mapping(r) for r in rows]


def follow(
    engine: Engine, filters: AuditFilters, after_seq: int = 0, batch: int = 1000
) -> Iterator[AuditRow]:
    """Every record after `after_seq` in chain order, read in batches (one pass)."""
    while True:
        with engine.connect() as conn:
            rows = conn.execute(tail_statement(filters, after_seq, batch)).mappings().all()
        yield from (AuditRow.from_mapping(r) for r in rows)
        if len(rows) < batch:
            return
        after_seq = rows[-1]["seq"]


def last_seq(engine: Engine) -> int:
    """The seq of the newest record, 0 for an empty log."""
    with engine.connect() as conn:
        value = conn.execute(select(audit_records.c.seq).order_by(audit_records.c.seq.desc()))
        first = value.first()
        return int(first[0]) if first else 0


def pair(engine: Engine, rows: Sequence[AuditRow]) -> list[AuditCall]:
    """The calls behind these records, each with its request and outcome, in row order."""
    ids = list(dict.fromkeys(r.request_id for r in rows))
    found: dict[str, dict[str, AuditRow]] = {i: {} for i in ids}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            stmt = select(audit_records).where(audit_records.c.request_id.in_(chunk))
            for mapping in conn.execute(stmt).mappings():
                row = AuditRow.from_mapping(mapping)
                found[row.request_id].setdefault(row.kind, row)
    return [AuditCall(i, found[i].get("request"), found[i].get("outcome")) for i in ids]
