"""`verify`: re-walk the stored chain and check every checkpoint (the I/O shell of `walk`).

The records are read one of two ways, with the same verdict:

- the general way (PostgreSQL, and SQLite whenever the fast path does not apply):
  rows in batches, each record's hash recomputed in Python (`chain.fast_hash`);
- SQLite's fast path: for each page (a range of PAGE seqs) SQLite builds every
  record's message, the bytes `chain_hash` hashes (prev_hash, a newline, then
  json_object of the hashed columns in sorted order), and hands the page back as
  one row of joined strings; a worker thread hashes one page while SQLite builds
  the next (SQLite lets go of the GIL meanwhile). `ChainWalk.feed_page` takes a page
  only if every record in it is intact and follows the one before; any other page
  is read again as rows, in the same read transaction, and walked the general way,
  which says what is wrong.

The fast path applies when seq is the table's rowid, the text columns have TEXT
affinity (so SQLite never stores a number in them) and SQLite's JSON is Python's:
a probe of every ASCII character and some others checks that at the start. A
record gets a message only if ts_us and status are integers (or status null: a
REAL's digits are not Python's) and prev_hash and hash are not BLOBs; a BLOB in a
column inside the JSON makes json_object refuse the page. Either way, that page is
walked the general way.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, select

from bollard.audit import checkpoint_store
from bollard.audit.chain import COLUMNS, GENESIS, HASHED_COLUMNS, message
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.seal import MacWalk
from bollard.audit.walk import (
    PAGE_SEPARATOR,
    ChainWalk,
    Page,
    Problem,
    Report,
    Sources,
    check_checkpoints,
)
from bollard.store import reader
from bollard.store.tables import audit_head, audit_records

BATCH = 20_000  # rows per fetch, the general way
PAGE = 10_000  # records per page, the fast path
Rows = Sequence[Sequence[Any]]
Progress = Callable[[int], None]


def count(engine: Engine) -> int:
    """How many records the log holds (for a progress bar)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_records)).scalar_one())


def verify(
    engine: Engine,
    key: Ed25519PublicKey,
    file: CheckpointFile | None,
    progress: Progress = lambda n: None,
    *,
    fast: bool = True,
    mac_key: bytes | None = None,
) -> Report:
    """Walk every record and checkpoint; the report says what, if anything, is wrong.

    `fast=False` walks the general way on SQLite too (the tests compare the two).
    `mac_key` (seal.mac_key of the private signing key) checks every record's MAC.
    """
    in_db = checkpoint_store.stored(engine)
    in_file, file_problems = file.read() if file is not None else ([], [])
    with engine.connect() as conn:
        head_row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    head = (int(head_row[0]), str(head_row[1])) if head_row else None
    wanted = {c.count for c in (*in_db, *in_file)} | ({head[0]} if head else set())
    walk = ChainWalk(wanted)
    if not (fast and engine.dialect.name == "sqlite" and _walk_pages(engine, walk, progress)):
        for batch in _batches(engine):
            walk.feed(batch)
            progress(len(batch))
    sources = Sources(in_db, in_file if file is not None else None, file_problems, head)
    report = check_checkpoints(walk, sources, key)
    if mac_key is not None:
        _check_macs(engine, mac_key, report)
    return report


def _check_macs(engine: Engine, key: bytes, report: Report) -> None:
    macs = MacWalk(key)
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=BATCH).execute(
            select(audit_records.c.seq, audit_records.c.hash, audit_records.c.mac).order_by(
                audit_records.c.seq
            )
        )
        for batch in rows.partitions():
            macs.feed((int(r[0]), str(r[1]), r[2]) for r in batch)
    report.macs_checked, report.macs_valid = True, macs.valid
    report.before_macs = macs.before_macs
    for seq, why in macs.forged:
        report.problems.append(
            Problem(
                "forged",
                f"record {seq} {why}: it was not written by Bollard (someone with write "
                "access to the database added or rewrote it)",
                seq,
            )
        )
    if macs.forged_count > len(macs.forged):
        more = macs.forged_count - len(macs.forged)
        report.problems.append(Problem("forged", f"and {more} more record(s) without a valid MAC"))


def _batches(engine: Engine) -> Iterator[Rows]:
    columns = ", ".join(COLUMNS)
    sql = f"SELECT {columns} FROM audit_records ORDER BY seq"  # noqa: S608 - fixed names
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        # A named (server-side) cursor on PostgreSQL: a million rows never sit in memory.
        if engine.dialect.name == "postgresql":
            cursor = raw.cursor(name="bollard_audit_verify")
        else:
            cursor = raw.cursor()
        try:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                yield batch
        finally:
            cursor.close()


# SQLite's fast path. Every name below is fixed: no value is ever formatted into SQL.

_LAST_SEQ = 2**63 - 1  # SQLite's largest integer
# The columns the writer fills with text (or null). With TEXT affinity (checked with
# the schema) SQLite stores text, null or a BLOB in them, never a number.
_TEXT_COLUMNS = tuple(c for c in COLUMNS if c not in ("seq", "ts_us", "status"))
# A record gets a message only if its numbers are integers (a REAL's digits are not
# Python's) and its prev_hash and hash are not BLOBs. A BLOB in another column makes
# json_object fail: that page is walked the general way.
_BUILT = (
    "typeof(ts_us) = 'integer' AND typeof(status) IN ('integer', 'null') "
    "AND prev_hash < x'' AND hash < x''"
)
_BODY = "json_object(" + ", ".join(f"'{c}', {c}" for c in sorted(HASHED_COLUMNS)) + ")"
_SEP = f"char({ord(PAGE_SEPARATOR)})"
_SEP_BYTES = PAGE_SEPARATOR.encode()
# One row per page, the records with seq in (?, ?]: how many, how many messages were
# built, then the joined seqs, prev_hashes, hashes and messages (aggregates of one
# query see the rows in one order), and how many admin records it holds.
_PAGE_SQL = f"""
SELECT count(*), count(CASE WHEN {_BUILT} THEN 1 END), group_concat(seq, ','),
       group_concat(prev_hash, {_SEP}), group_concat(hash, {_SEP}),
       CAST(group_concat(CASE WHEN {_BUILT} THEN prev_hash || char(10) || {_BODY} END, {_SEP})
            AS BLOB),
       count(CASE WHEN kind = 'admin' THEN 1 END)
FROM audit_records WHERE seq > ? AND seq <= ?
"""  # noqa: S608 - fixed names
_COLUMN_LIST = ", ".join(COLUMNS)
_ROWS_SQL = f"SELECT {_COLUMN_LIST} FROM audit_records WHERE seq > ? AND seq <= ? ORDER BY seq"  # noqa: S608
_FIRST_SQL = f"SELECT {_COLUMN_LIST} FROM audit_records ORDER BY seq LIMIT 1"  # noqa: S608
_NEXT_SQL = "SELECT min(seq) FROM audit_records WHERE seq > ?"
_ADMIN_SQL = "SELECT data FROM audit_records WHERE seq > ? AND seq <= ? AND kind = 'admin'"
_ASCII = "".join(map(chr, range(128)))
_OTHER = "é\u0080\u00ff\u2028\u2029\ufeff\uffff€😀\U0010ffff"
# Rows for the probe: every value the writer can store, and every ASCII character.
_PROBE: tuple[tuple[Any, ...], ...] = (
    (1, _ASCII, _OTHER, -(2**63), None, "", _ASCII[::-1], None, _OTHER, None,
     _ASCII + _OTHER, GENESIS, ""),
    (2, "r", "request", 2**63 - 1, "agent", "rest", "people.search", "allow", "ok", -(2**63),
     '{"a":"\\"\\\\\\n","b":[1,2.5,null]}', "f" * 64, ""),
    (3, "", "", 0, _OTHER, _OTHER, None, _ASCII, None, 2**63 - 1, "", "", ""),
)  # fmt: skip


class _Pending(NamedTuple):
    after: int  # the page holds the records with seq in (after, upto]
    upto: int
    summary: Sequence[Any]  # its row of _PAGE_SQL
    digests: Future[list[str]]


def _walk_pages(engine: Engine, walk: ChainWalk, progress: Progress) -> bool:
    """Walk the log page by page; False (having walked nothing) if the fast path does not apply."""
    # One read transaction: a page read again as rows is the page that was summarised.
    with reader(engine).connect() as conn, conn.begin():
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            if not _fast_path_applies(cursor):
                return False
            first = cursor.execute(_FIRST_SQL).fetchall()
            if first:
                walk.feed(first)  # the first record starts the walk, the general way
                progress(len(first))
                with ThreadPoolExecutor(1, thread_name_prefix="bollard-verify") as hasher:
                    _walk_after(cursor, walk, progress, hasher, first[0][0])
            return True
        finally:
            cursor.close()


def _walk_after(
    cursor: Any, walk: ChainWalk, progress: Progress, hasher: ThreadPoolExecutor, after: int
) -> None:
    pending: _Pending | None = None
    while after < _LAST_SEQ:
        upto = min(after + PAGE, _LAST_SEQ)
        # SQLite builds this page while the worker hashes the one before.
        try:
            summary = cursor.execute(_PAGE_SQL, (after, upto)).fetchone()
        except sqlite3.OperationalError:  # json_object refuses a BLOB: the general way
            summary = None
        if pending is not None:
            _finish(cursor, walk, progress, pending)
            pending = None
        if summary is None:
            rows = cursor.execute(_ROWS_SQL, (after, upto)).fetchall()
            walk.feed(rows)
            progress(len(rows))
        elif summary[0] == 0:  # a gap of a page or more: on to the next record
            following = cursor.execute(_NEXT_SQL, (after,)).fetchone()[0]
            if following is None:
                return
            after = following - 1
            continue
        else:
            records, built, *_, messages, _admin = summary
            digests = hasher.submit(_digests, messages if built == records else None)
            pending = _Pending(after, upto, summary, digests)
        after = upto
    if pending is not None:
        _finish(cursor, walk, progress, pending)


def _finish(cursor: Any, walk: ChainWalk, progress: Progress, pending: _Pending) -> None:
    after, upto, summary, digests = pending
    records, _, seqs, prevs, hashes, _, admin = summary
    if walk.feed_page(Page(records, seqs, prevs, hashes, digests.result())):
        if admin:
            for (data,) in cursor.execute(_ADMIN_SQL, (after, upto)).fetchall():
                walk.note_admin(data)
    else:
        walk.feed(cursor.execute(_ROWS_SQL, (after, upto)).fetchall())
    progress(records)


def _digests(messages: bytes | None) -> list[str]:
    if messages is None:
        return []
    return list(map(_hexdigest, map(hashlib.sha256, messages.split(_SEP_BYTES))))


_hexdigest = type(hashlib.sha256()).hexdigest


def _fast_path_applies(cursor: Any) -> bool:
    """seq is the table's rowid (an integer; a range of them is read in order), the text
    columns have TEXT affinity, and SQLite's JSON is Python's, character for character."""
    info = {
        c[1]: (str(c[2]).upper(), c[5]) for c in cursor.execute("PRAGMA table_info(audit_records)")
    }
    if [name for name, (_, key) in info.items() if key] != ["seq"] or info["seq"][0] != "INTEGER":
        return False
    # A primary key that is not the rowid (or a WITHOUT ROWID table) has an index of its own.
    if any(index[3] == "pk" for index in cursor.execute("PRAGMA index_list(audit_records)")):
        return False
    if not all(_text_affinity(info.get(c, ("", 0))[0]) for c in _TEXT_COLUMNS):
        return False
    try:
        built = page_messages(cursor, _PROBE)
    except sqlite3.Error:  # an SQLite without JSON functions
        return False
    return built == [message(row[-2], dict(zip(COLUMNS, row, strict=True))) for row in _PROBE]


def _text_affinity(declared: str) -> bool:
    # SQLite's rules, in their order: INT first, then CHAR, CLOB or TEXT.
    return "INT" not in declared and any(t in declared for t in ("CHAR", "CLOB", "TEXT"))


def page_messages(cursor: Any, rows: Sequence[Sequence[Any]]) -> list[bytes]:
    """The messages the page query builds for these rows (tuples in COLUMNS order, seq
    from 1 up), one for each row it builds one for. For the probe and the tests."""
    values = ", ".join(["(" + ", ".join("?" * len(COLUMNS)) + ")"] * len(rows))
    sql = f"WITH audit_records({_COLUMN_LIST}) AS (VALUES {values}) {_PAGE_SQL}"
    summary = cursor.execute(sql, (*(v for row in rows for v in row), 0, _LAST_SEQ)).fetchone()
    blob: bytes | None = summary[5]
    return [] if blob is None else blob.split(_SEP_BYTES)
