"""Exports (JSON lines or CSV) that stream any size, and checking an export on its own.

A JSON-lines export of a time range (no other filter) is widened to the
checkpoints around it and carries them, so it verifies without the database:
its first record follows a signed checkpoint (or the genesis) and its last is
one, unless the range reaches the log's unanchored tail. An export filtered
by agent, action and so on carries each record's hashes, but not the records
between them, so it cannot prove that nothing is missing; its header says so.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, select

from bollard.audit import checkpoint_store
from bollard.audit.chain import COLUMNS, canonical
from bollard.audit.checkpoint import Checkpoint
from bollard.audit.search import AuditFilters, AuditRow, follow
from bollard.audit.walk import ChainWalk, Problem, Report, Sources, check_checkpoints
from bollard.store.tables import audit_records

FORMAT = "bollard-audit-export-v1"
CSV_COLUMNS = ("seq", "time", *(c for c in COLUMNS if c != "seq"))


def export(
    engine: Engine,
    filters: AuditFilters,
    fmt: str,
    out: TextIO,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Write the matching records to `out`; returns how many."""
    lo, hi, anchors = _range(engine, filters)
    ranged = _is_range(filters)
    walk_filters = AuditFilters() if ranged else replace(filters, since_us=None, until_us=None)
    rows = _within(follow(engine, walk_filters, after_seq=lo - 1), hi, filters, ranged)
    if fmt == "csv":
        return _csv(rows, out, progress)
    header = {"type": "header", "format": FORMAT, "first_seq": lo, "last_seq": hi,
              "filters": {k: v for k, v in asdict(filters).items() if v is not None},
              "verifiable": ranged}  # fmt: skip
    out.write(canonical(header) + "\n")
    written = 0
    for row in rows:
        out.write(canonical({"type": "record", **row.to_json()}) + "\n")
        written += 1
        if written % 1000 == 0:
            progress(1000)
    progress(written % 1000)
    for cp in anchors if ranged else []:
        out.write(canonical({"type": "checkpoint", **cp.to_json()}) + "\n")
    return written


def _is_range(filters: AuditFilters) -> bool:
    return replace(filters, since_us=None, until_us=None) == AuditFilters()


def _range(engine: Engine, filters: AuditFilters) -> tuple[int, int, list[Checkpoint]]:
    """The seq range to export, widened to the checkpoints around it, and those checkpoints."""
    t = audit_records.c
    with engine.connect() as conn:
        bounds = select(func.min(t.seq), func.max(t.seq)).where(*filters.conditions())
        lo, hi = conn.execute(bounds).one()
    stored = checkpoint_store.stored(engine)
    if lo is None:
        return 1, 0, []
    before = [c.count for c in stored if c.count < lo]
    lo = max(before) + 1 if before else 1  # no checkpoint before it: from the genesis
    after = [c.count for c in stored if c.count >= hi]
    hi = min(after) if after else hi
    return lo, hi, [c for c in stored if lo - 1 <= c.count <= hi]


def _within(
    rows: Iterable[AuditRow], hi: int, filters: AuditFilters, ranged: bool
) -> Iterator[AuditRow]:
    for row in rows:
        if row.seq > hi:
            return
        if ranged or _in_time(row, filters):
            yield row


def _in_time(row: AuditRow, filters: AuditFilters) -> bool:
    return (filters.since_us is None or row.ts_us >= filters.since_us) and (
        filters.until_us is None or row.ts_us < filters.until_us
    )


def _csv(rows: Iterable[AuditRow], out: TextIO, progress: Callable[[int], None]) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for row in rows:
        values = row.to_json()
        values["time"] = datetime.fromtimestamp(row.ts_us / 1e6, UTC).isoformat()
        values["data"] = canonical(values["data"])
        writer.writerow([values[c] for c in CSV_COLUMNS])
        written += 1
        if written % 1000 == 0:
            progress(1000)
    progress(written % 1000)
    return written


def verify_export(lines: Iterable[str], key: Ed25519PublicKey) -> Report:
    """Check a JSON-lines export on its own: its chain and the checkpoints it carries."""
    found: list[Checkpoint] = []
    records: list[tuple[Any, ...]] = []
    header: dict[str, Any] = {}
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        kind = item.pop("type", None)
        if kind == "header":
            header = item
        elif kind == "checkpoint":
            found.append(Checkpoint.from_json(item))
        elif kind == "record":
            item["data"] = canonical(item["data"])
            records.append(tuple(item[c] for c in COLUMNS))
    walk = ChainWalk({c.count for c in found})
    walk.feed(records)
    report = check_checkpoints(walk, Sources(found, excerpt=True), key)
    if not header.get("verifiable", False):
        report.problems.append(
            Problem(
                "not_verifiable",
                "this export was filtered by more than time: it cannot prove that no record "
                "is missing between the ones it holds; export a time range to verify",
            )
        )
    return report
