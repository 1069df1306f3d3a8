"""The tamper matrix: every way of changing the log is detected and named.

Each case builds a log of 600 records with a signed checkpoint every 100 (and
a last one at the end), changes the database the way an attacker with write
access to it would, and runs the real verifier. Only records written after
the last checkpoint may be changed undetected: that is reported as an
unanchored tail, never as "ok, all anchored".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, delete, insert, select, update

from bollard.audit import Record
from bollard.audit.checkpoint import sign
from bollard.audit.tables import audit_checkpoints
from bollard.store.tables import audit_head, audit_records
from tests.audit.chainlog import ChainLog, checkpointed_log

r = audit_records.c


@pytest.fixture
def log(engine: Engine, tmp_path: Path) -> ChainLog:
    return checkpointed_log(engine, tmp_path / "state")


def _rehash_from(conn: Connection, seq: int, after: int | None = None) -> None:
    """Recompute every hash from `seq` on (linked to record `after`, by default the one
    before), as a careful attacker would, and move the head."""
    prev = conn.execute(select(r.hash).where(r.seq == (after or seq - 1))).scalar_one()
    rows = conn.execute(select(audit_records).where(r.seq >= seq).order_by(r.seq)).mappings()
    for row in list(rows):
        fresh = Record(
            row["request_id"],
            row["kind"],
            row["ts_us"],
            row["door"],
            row["agent"],
            row["action"],
            row["decision"],
            row["outcome"],
            row["status"],
        ).row(row["seq"], prev)
        fresh["data"] = row["data"]
        from bollard.audit.chain import chain_hash

        fresh["hash"] = chain_hash(prev, fresh)
        conn.execute(
            update(audit_records)
            .where(r.seq == row["seq"])
            .values(prev_hash=prev, hash=fresh["hash"])
        )
        prev = fresh["hash"]
        last = row["seq"]
    conn.execute(update(audit_head).values(seq=last, hash=prev))


def _move(conn: Connection, old: int, new: int) -> None:
    conn.execute(update(audit_records).where(r.seq == old).values(seq=new))


def edit(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(outcome="denied"))


def edit_and_rehash(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(data='{"credits":0,"x":1}'))
    _rehash_from(conn, 250)


def delete_one(conn: Connection) -> None:
    conn.execute(delete(audit_records).where(r.seq == 250))


def delete_and_rehash(conn: Connection) -> None:
    conn.execute(delete(audit_records).where(r.seq == 250))
    _rehash_from(conn, 251, after=249)


def replace_one(conn: Connection) -> None:
    """Record 250 swapped for a forged one with a valid hash of its own."""
    prev = conn.execute(select(r.hash).where(r.seq == 249)).scalar_one()
    forged = Record("forged", "request", 1, "rest", "research", "people.search", decision="allow")
    conn.execute(update(audit_records).where(r.seq == 250).values(**forged.row(250, prev)))


def delete_and_renumber(conn: Connection) -> None:
    conn.execute(delete(audit_records).where(r.seq == 250))
    for seq in range(251, 601):
        _move(conn, seq, seq - 1)
    conn.execute(update(audit_head).values(seq=599))


def insert_one(conn: Connection) -> None:
    for seq in range(600, 249, -1):
        _move(conn, seq, seq + 1)
    prev = conn.execute(select(r.hash).where(r.seq == 249)).scalar_one()
    forged = Record("forged", "request", 1, "rest", "research", "people.search", decision="allow")
    conn.execute(insert(audit_records).values(**forged.row(250, prev)))


def reorder(conn: Connection) -> None:
    _move(conn, 250, -1)
    _move(conn, 260, 250)
    _move(conn, -1, 260)


def delete_checkpoint(conn: Connection) -> None:
    conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.seq == 3))


def forge_checkpoint(conn: Connection) -> None:
    head = conn.execute(select(r.hash).where(r.seq == 600)).scalar_one()
    fake = sign(Ed25519PrivateKey.generate(), 8, 600, head, 1)
    conn.execute(insert(audit_checkpoints).values(**fake.to_json()))


def edit_checkpoint(conn: Connection) -> None:
    conn.execute(update(audit_checkpoints).where(audit_checkpoints.c.seq == 2).values(count=201))


def roll_back(conn: Connection) -> None:
    """What restoring yesterday's copy looks like: the last 200 records and 2 checkpoints gone."""
    conn.execute(delete(audit_records).where(r.seq > 400))
    conn.execute(delete(audit_checkpoints).where(audit_checkpoints.c.count > 400))
    head = conn.execute(select(r.hash).where(r.seq == 400)).scalar_one()
    conn.execute(update(audit_head).values(seq=400, hash=head))


def truncate_end(conn: Connection) -> None:
    conn.execute(delete(audit_records).where(r.seq > 590))


def delete_start(conn: Connection) -> None:
    conn.execute(delete(audit_records).where(r.seq <= 100))


CASES: dict[str, tuple[Callable[[Connection], None], str]] = {
    "edited record": (edit, "edited"),
    "edited record, chain recomputed": (edit_and_rehash, "checkpoint_mismatch"),
    "deleted record": (delete_one, "deleted"),
    "deleted record, chain recomputed": (delete_and_rehash, "deleted"),
    "record replaced by one made to look right": (replace_one, "broken_link"),
    "deleted record, later ones renumbered": (delete_and_renumber, "deleted"),
    "inserted record": (insert_one, "inserted"),
    "reordered records": (reorder, "reordered"),
    "deleted checkpoint": (delete_checkpoint, "checkpoint_missing"),
    "forged checkpoint": (forge_checkpoint, "checkpoint_forged"),
    "edited checkpoint": (edit_checkpoint, "checkpoint_forged"),
    "database rolled back to an older copy": (roll_back, "rolled_back"),
    "records removed from the end": (truncate_end, "truncated"),
    "records removed from the start": (delete_start, "deleted"),
}


def test_an_untouched_log_verifies_with_every_record_anchored(log: ChainLog) -> None:
    report = log.verify()
    assert report.ok
    assert report.problems == []
    assert (report.records, report.anchored_through, report.checkpoints) == (600, 600, 7)


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_of_tampering_is_detected_and_named(log: ChainLog, case: str) -> None:
    tamper, kind = CASES[case]
    with log.engine.begin() as conn:
        tamper(conn)
    report = log.verify()
    assert not report.ok, case
    assert kind in report.kinds(), [p.message for p in report.problems]


def test_records_after_the_last_checkpoint_are_reported_as_an_unanchored_tail(
    log: ChainLog,
) -> None:
    log.add(10, ts_us=1_800_000_000_000_000)
    report = log.verify()
    assert report.ok
    assert [p.kind for p in report.problems] == ["unanchored_tail"]
    assert report.problems[0].seq == 601
    assert report.anchored_through == 600
