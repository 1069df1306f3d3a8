"""Audit search filters and the statement they make. Pure: builds SQL, runs nothing.

Results come newest first, ordered by (ts_us, seq) so that a search by agent
or action and a time range walks the (agent, ts_us) or (action, ts_us) index
backwards and stops at the limit, without sorting the matches. `before_seq`
is the paging cursor: the seq of the last row of the previous page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

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
