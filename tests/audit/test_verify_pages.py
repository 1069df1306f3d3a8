"""SQLite's fast path of verify: the same verdict as the general walk, always.

The fast path lets SQLite build each record's message and takes whole pages of
records that are intact and linked; every other page is walked the general way.
These tests run the tamper matrix (and values of types the writer never stores)
with small pages, so tampering lands inside pages, at their edges and between
them, and compare the whole report with the general walk's.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text, update

from bollard.audit import Record
from bollard.audit import verify as verify_module
from bollard.audit.appender import append_records
from bollard.audit.chain import COLUMNS, HASHED_COLUMNS, message
from bollard.audit.prune import prune
from bollard.audit.walk import ChainWalk, Page, Report
from bollard.store import open_store
from bollard.store.tables import audit_records
from tests.audit.chainlog import ChainLog, chain_log, checkpointed_log
from tests.audit.test_tamper import CASES

r = audit_records.c
T0 = 1_700_000_000_000_000


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    store = open_store(f"sqlite:///{tmp_path / 'pages.db'}")
    yield store
    store.dispose()


@pytest.fixture
def log(sqlite_engine: Engine, tmp_path: Path) -> ChainLog:
    return checkpointed_log(sqlite_engine, tmp_path / "state")


class Spy:
    """Counts the pages the walk takes whole and the batches of rows it walks."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pages_taken = self.pages_refused = self.batches = 0
        feed_page, feed = ChainWalk.feed_page, ChainWalk.feed

        def spy_page(walk: ChainWalk, page: Page) -> bool:
            taken = feed_page(walk, page)
            self.pages_taken += taken
            self.pages_refused += not taken
            return taken

        def spy_feed(walk: ChainWalk, rows: Any) -> None:
            self.batches += 1
            feed(walk, rows)

        monkeypatch.setattr(ChainWalk, "feed_page", spy_page)
        monkeypatch.setattr(ChainWalk, "feed", spy_feed)


def both_ways(log: ChainLog) -> tuple[Report, Report]:
    public = log.key.public_key()
    fast = verify_module.verify(log.engine, public, log.file)
    general = verify_module.verify(log.engine, public, log.file, fast=False)
    return fast, general


def test_the_fast_path_applies_to_the_migrated_store(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        assert verify_module._fast_path_applies(raw.cursor())


def test_an_untouched_log_is_taken_a_whole_page_at_a_time(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "PAGE", 50)
    spy = Spy(monkeypatch)
    seen: list[int] = []
    report = verify_module.verify(log.engine, log.key.public_key(), log.file, seen.append)
    # The first record starts the walk; the other 599 come in 12 pages, all taken.
    assert (spy.batches, spy.pages_taken, spy.pages_refused) == (1, 12, 0)
    assert sum(seen) == 600
    assert report.ok
    assert (report.records, report.anchored_through, report.checkpoints) == (600, 600, 7)
    assert report == verify_module.verify(log.engine, log.key.public_key(), log.file, fast=False)


@pytest.mark.parametrize("page", [1, 7, 50])
@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_of_tampering_gets_the_general_walks_report(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch, case: str, page: int
) -> None:
    monkeypatch.setattr(verify_module, "PAGE", page)
    tamper, kind = CASES[case]
    assert_same_report_of(log, tamper, kind)


def assert_same_report_of(log: ChainLog, tamper: Callable[[Connection], None], kind: str) -> None:
    """Tamper, then both walks find it and report it alike."""
    with log.engine.begin() as conn:
        tamper(conn)
    fast, general = both_ways(log)
    assert fast == general
    assert not fast.ok
    assert kind in fast.kinds(), [p.message for p in fast.problems]


def _real_ts_us(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(ts_us=T0 + 0.5))


def _hash_as_sqlite_writes_it(conn: Connection, seq: int) -> None:
    body = "json_object(" + ", ".join(f"'{c}', {c}" for c in sorted(HASHED_COLUMNS)) + ")"
    sql = f"SELECT prev_hash || char(10) || {body} FROM audit_records WHERE seq = :seq"  # noqa: S608
    built = conn.execute(text(sql), {"seq": seq}).scalar_one()
    forged = hashlib.sha256(built.encode()).hexdigest()
    conn.execute(update(audit_records).where(r.seq == seq).values(hash=forged))


def _real_ts_us_hashed_as_sqlite_writes_it(conn: Connection) -> None:
    # An attacker who knows the fast path hashes the REAL as SQLite's JSON writes it
    # (1.7e+15); Python writes 1700000000000000.5, so the record is still edited.
    _real_ts_us(conn)
    _hash_as_sqlite_writes_it(conn, 250)


def _real_status_hashed_as_sqlite_writes_it(conn: Connection) -> None:
    # SQLite's JSON writes 0.3; Python writes 0.30000000000000004.
    conn.execute(update(audit_records).where(r.seq == 250).values(status=0.1 + 0.2))
    _hash_as_sqlite_writes_it(conn, 250)


def _text_status(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(status="200 OK"))


def _integer_agent(conn: Connection) -> None:
    # A TEXT column keeps a number as text: still an edit, found the general way.
    conn.execute(update(audit_records).where(r.seq == 250).values(agent=7))


def _real_agent(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(agent=1e15))
    _hash_as_sqlite_writes_it(conn, 250)


def _blob_hash(conn: Connection) -> None:
    stored = conn.execute(text("SELECT hash FROM audit_records WHERE seq = 250")).scalar_one()
    conn.execute(
        text("UPDATE audit_records SET hash = CAST(:h AS BLOB) WHERE seq = 250"), {"h": stored}
    )


def _blob_prev_hash(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_records SET prev_hash = CAST(prev_hash AS BLOB) WHERE seq = 3"))


def _separator_in_prev_hash(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(prev_hash="a\x1fb"))


def _separator_in_data(conn: Connection) -> None:
    conn.execute(update(audit_records).where(r.seq == 250).values(data='{"x":"\x1f"}'))


TYPE_CASES: dict[str, tuple[Callable[[Connection], None], str]] = {
    "a REAL timestamp": (_real_ts_us, "edited"),
    "a REAL timestamp, hashed as SQLite writes it": (
        _real_ts_us_hashed_as_sqlite_writes_it,
        "edited",
    ),
    "a REAL status, hashed as SQLite writes it": (
        _real_status_hashed_as_sqlite_writes_it,
        "edited",
    ),
    "text in the status": (_text_status, "edited"),
    "a number in a text column": (_integer_agent, "edited"),
    # TEXT affinity stored the text "1.0e+15", which both ways hash alike: record 250 is
    # consistent, and record 251 no longer follows it.
    "a REAL in a text column, rehashed": (_real_agent, "broken_link"),
    "a BLOB hash": (_blob_hash, "edited"),
    "a BLOB prev_hash": (_blob_prev_hash, "edited"),
    "the page separator in a prev_hash": (_separator_in_prev_hash, "edited"),
    "the page separator in the data": (_separator_in_data, "edited"),
}


@pytest.mark.parametrize("case", list(TYPE_CASES))
def test_values_the_writer_never_stores_get_the_general_walks_report(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setattr(verify_module, "PAGE", 50)
    tamper, kind = TYPE_CASES[case]
    assert_same_report_of(log, tamper, kind)


def test_a_blob_in_a_hashed_column_is_not_passed_over(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # json_object refuses a BLOB, so the page is walked the general way; and the
    # general way cannot encode one either (as before the fast path): it raises.
    monkeypatch.setattr(verify_module, "PAGE", 50)
    with log.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET data = CAST(data AS BLOB) WHERE seq = 250"))
    spy = Spy(monkeypatch)
    with pytest.raises(TypeError):
        verify_module.verify(log.engine, log.key.public_key(), log.file)
    assert spy.pages_taken == 4  # the pages before record 250
    with pytest.raises(TypeError):
        verify_module.verify(log.engine, log.key.public_key(), log.file, fast=False)


def test_a_pruned_log_verifies_the_same_both_ways(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "PAGE", 50)
    log.add(100, ts_us=T0 + 10_000_000)
    pruned = prune(log.engine, T0 + 5_000_000, T0 + 20_000_000, log.checkpointer)
    assert pruned.through_seq == 600
    spy = Spy(monkeypatch)
    fast, general = both_ways(log)
    # Records 601..801 are left: the first starts the walk, 602..801 (the prune record
    # last) come in 4 pages, all taken; the prune record accounts for the missing start.
    assert (spy.pages_taken, spy.pages_refused) == (4, 0)
    assert fast == general
    assert fast.ok, [p.message for p in fast.problems]
    assert fast.first_seq == 601


def _rebuild(conn: Connection, options: str = "", **types: str) -> None:
    """The table made again by hand, with the columns named declared as given."""
    info = conn.execute(text("PRAGMA table_info(audit_records)")).all()
    declared = {row[1]: row[2] for row in info} | types
    columns = ", ".join(f"{c} {declared[c]}" for c in COLUMNS)
    names = ", ".join(COLUMNS)
    conn.execute(text("ALTER TABLE audit_records RENAME TO audit_records_old"))
    conn.execute(text(f"CREATE TABLE audit_records ({columns}, PRIMARY KEY (seq)) {options}"))
    conn.execute(text(f"INSERT INTO audit_records SELECT {names} FROM audit_records_old"))  # noqa: S608
    conn.execute(text("DROP TABLE audit_records_old"))


def _seq_without_rowid(conn: Connection) -> None:
    _rebuild(conn, options="WITHOUT ROWID")


def _seq_a_bigint(conn: Connection) -> None:
    _rebuild(conn, seq="BIGINT")  # only INTEGER PRIMARY KEY is the rowid


def _agent_without_text_affinity(conn: Connection) -> None:
    # A column without a type keeps a number as a number: a REAL in it, hashed the way
    # SQLite's JSON writes it, would pass a check that trusted the column to hold text.
    _rebuild(conn, agent="")
    conn.execute(update(audit_records).where(r.seq == 250).values(agent=1e15))
    _hash_as_sqlite_writes_it(conn, 250)


@pytest.mark.parametrize(
    ("schema", "ok"),
    [(_seq_without_rowid, True), (_seq_a_bigint, True), (_agent_without_text_affinity, False)],
)
def test_a_table_the_fast_path_does_not_know_is_walked_the_general_way(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch, schema: Any, ok: bool
) -> None:
    monkeypatch.setattr(verify_module, "PAGE", 50)
    with log.engine.begin() as conn:
        schema(conn)
    spy = Spy(monkeypatch)
    fast, general = both_ways(log)
    assert spy.pages_taken + spy.pages_refused == 0
    assert fast == general
    assert fast.ok is ok


def _no_json_functions(cursor: Any, rows: Any) -> list[bytes]:
    raise sqlite3.OperationalError("no such function: json_object")


def _other_json(cursor: Any, rows: Any) -> list[bytes]:
    return [b"\\u00e9" for _ in rows]  # an SQLite that escapes what Python does not


@pytest.mark.parametrize("probe", [_no_json_functions, _other_json])
def test_an_sqlite_whose_json_is_not_pythons_is_walked_the_general_way(
    log: ChainLog, monkeypatch: pytest.MonkeyPatch, probe: Any
) -> None:
    monkeypatch.setattr(verify_module, "page_messages", probe)
    spy = Spy(monkeypatch)
    fast, general = both_ways(log)
    assert spy.pages_taken + spy.pages_refused == 0
    assert fast == general
    assert fast.ok


def test_an_empty_log_and_a_record_at_the_last_seq(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "PAGE", 7)
    made = chain_log(sqlite_engine, tmp_path / "state")
    fast, general = both_ways(made)
    assert fast == general
    assert fast.records == 0
    made.add(30)
    with sqlite_engine.begin() as conn:
        conn.execute(update(audit_records).where(r.seq == 60).values(seq=2**63 - 1))
    fast, general = both_ways(made)
    assert fast == general
    assert {"deleted", "edited"} <= fast.kinds()
    assert fast.last_seq == 2**63 - 1


stored_text = st.text()
maybe_text = st.none() | stored_text
integer = st.integers(-(2**63), 2**63 - 1)
# prev_hash is the only raw text in a message: a page whose prev_hash holds the
# separator splits into too many messages and is refused (see TYPE_CASES).
prev_hash = st.text().filter(lambda t: "\x1f" not in t)


@settings(max_examples=300)
@given(
    st.integers(1, 2**63 - 1),
    st.tuples(stored_text, stored_text, integer, maybe_text, stored_text, maybe_text),
    st.tuples(maybe_text, maybe_text, st.none() | integer, stored_text, prev_hash),
)
def test_sqlite_builds_the_bytes_chain_hash_hashes_for_any_stored_values(
    seq: int, first: tuple[Any, ...], rest: tuple[Any, ...]
) -> None:
    row = (seq, *first, *rest, "unused")
    with sqlite3.connect(":memory:") as conn:
        built = verify_module.page_messages(conn.cursor(), [row])
    assert built == [message(row[-2], dict(zip(COLUMNS, row, strict=True)))]


@pytest.mark.parametrize(
    ("column", "value"),
    [("ts_us", 1.5), ("status", 2.0), ("prev_hash", None), ("prev_hash", b"0"), ("hash", b"h")],
)
def test_sqlite_builds_no_message_for_a_type_the_writer_never_stores(
    column: str, value: Any
) -> None:
    row = dict(zip(COLUMNS, (1, "r", "request", T0, None, "rest", None, None, None, None, "{}",
                             "0" * 64, "h"), strict=True))  # fmt: skip
    with sqlite3.connect(":memory:") as conn:
        cursor = conn.cursor()
        assert len(verify_module.page_messages(cursor, [tuple(row.values())])) == 1
        assert verify_module.page_messages(cursor, [tuple((row | {column: value}).values())]) == []
        # A BLOB in a column inside the JSON: SQLite refuses the page.
        with pytest.raises(sqlite3.OperationalError):
            verify_module.page_messages(cursor, [tuple((row | {"data": b"{}"}).values())])


def test_the_writers_own_records_are_taken_whole(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every optional column set and unset, and text that needs escaping: the messages
    # SQLite builds hash to the hashes the writer stored.
    made = chain_log(sqlite_engine, tmp_path / "state")
    odd = '"\\\n\t\x00\x1f\x7fé€😀\u2028'
    records = [
        Record("first", "admin", T0, "cli"),  # the first record is walked the general way
        Record(odd, "request", T0, "rest", odd, odd, decision=odd, data={odd: [odd, 1.5, None]}),
        Record("r", "outcome", T0, "mcp", None, None, outcome=odd, status=-1),
        Record("p", "admin", T0, "cli", data={"op": "prune", "through_seq": 0, "why": odd}),
    ]
    append_records(sqlite_engine, records, made.checkpointer)
    spy = Spy(monkeypatch)
    fast, general = both_ways(made)
    assert (spy.pages_taken, spy.pages_refused) == (1, 0)
    assert fast == general
    assert fast.ok
