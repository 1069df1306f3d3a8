"""Retention: drop old records up to a checkpoint, so the rest still verifies from it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select

from bollard.audit import checkpoint_store
from bollard.audit.appender import append_records
from bollard.audit.chain import Record
from bollard.audit.checkpointer import Checkpointer
from bollard.store.tables import audit_records


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune did: records 1..through_seq are gone (removed of them by this run)."""

    through_seq: int
    removed: int


def prune(engine: Engine, before_us: int, now_us: int, checkpointer: Checkpointer) -> Pruned:
    """Remove records older than `before_us` up to the newest checkpoint that allows it.

    The cut is at a checkpoint whose last record is older than `before_us`; the
    first record kept follows that signed checkpoint, so verify can start there.
    The prune is recorded in the chain first (an `admin` record), then done.
    """
    t = audit_records.c
    counts = [c.count for c in checkpoint_store.stored(engine)]
    with engine.connect() as conn:
        oldest = conn.execute(select(func.min(t.seq))).scalar()
        old_enough = select(func.max(t.seq)).where(t.seq.in_(counts), t.ts_us < before_us)
        through = conn.execute(old_enough).scalar() or 0
    if oldest is None or through < oldest:
        return Pruned(through_seq=max((oldest or 1) - 1, 0), removed=0)
    note = Record(
        request_id=os.urandom(12).hex(),
        kind="admin",
        ts_us=now_us,
        door="cli",
        action="audit.prune",
        data={"op": "prune", "through_seq": through, "before_us": before_us},
    )
    append_records(engine, [note], checkpointer, force_checkpoint=True)
    with engine.begin() as conn:
        removed = conn.execute(delete(audit_records).where(t.seq <= through)).rowcount
    return Pruned(through_seq=through, removed=removed)
