"""Runs audit searches: `search` (newest first, paged), `follow` and `pair`.

The admin console and `bollard audit search` both call `search`; the
statement itself is built in `bollard.audit.filters` (pure).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select

from bollard.audit.filters import AuditFilters, search_statement, tail_statement
from bollard.store.tables import audit_records


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
