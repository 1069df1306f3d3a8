"""After a crash: every request left without an outcome gets `outcome_unknown`.

A request record is committed before the call is forwarded; if the process
dies before the outcome is committed, nobody knows what Apollo did. The next
start says so in the log rather than leaving an orphan. On PostgreSQL other
replicas may have calls in flight, so only requests older than `grace_us`
are closed there; on SQLite (one host, one process) every orphan is.
"""

from __future__ import annotations

from sqlalchemy import Engine, and_, exists, select
from sqlalchemy.orm import aliased

from bollard.audit.chain import Record
from bollard.store.tables import audit_records

OUTCOME_UNKNOWN = "outcome_unknown"
# On PostgreSQL other replicas may have calls in flight when one starts.
POSTGRES_ORPHAN_GRACE_US = 15 * 60 * 1_000_000


def orphans(engine: Engine, now_us: int, grace_us: int = 0) -> list[Record]:
    """`outcome_unknown` records, stamped `now_us`, for requests older than `grace_us`."""
    request, outcome = audit_records.alias("request"), aliased(audit_records, name="outcome")
    has_outcome = exists().where(
        and_(outcome.c.kind == "outcome", outcome.c.request_id == request.c.request_id)
    )
    stmt = select(request).where(request.c.kind == "request", ~has_outcome)
    if grace_us:
        stmt = stmt.where(request.c.ts_us < now_us - grace_us)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(request.c.seq)).mappings().all()
    return [
        Record(
            request_id=r["request_id"],
            kind="outcome",
            ts_us=now_us,
            door=r["door"],
            agent=r["agent"],
            action=r["action"],
            outcome=OUTCOME_UNKNOWN,
            data={
                "error": "Bollard stopped after forwarding this call and before recording "
                "its outcome; whether Apollo carried it out is unknown"
            },
        )
        for r in rows
    ]
