"""The verifier's fast hash is the chain's hash, whatever the stored values are; a page
of records is taken whole only when feeding its rows one by one would find nothing."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bollard.audit import Record
from bollard.audit.chain import COLUMNS, GENESIS, HASHED_COLUMNS, chain_hash, fast_hash, message
from bollard.audit.walk import PAGE_SEPARATOR, ChainWalk, Page

scalar = st.none() | st.text() | st.integers() | st.booleans() | st.floats(allow_nan=False)


@settings(max_examples=500)
@given(st.lists(scalar, min_size=len(HASHED_COLUMNS), max_size=len(HASHED_COLUMNS)))
def test_fast_hash_equals_chain_hash_for_any_stored_values(values: list[Any]) -> None:
    row = dict(zip(HASHED_COLUMNS, values, strict=True))
    stored = tuple(row.get(c, "unused") for c in COLUMNS)
    assert fast_hash("p" * 64, stored) == chain_hash("p" * 64, row)


@settings(max_examples=300)
@given(st.integers(1, 2**62), st.text(), st.none() | st.text(), st.none() | st.integers())
def test_fast_hash_equals_chain_hash_for_the_stored_types(
    seq: int, text: str, maybe: str | None, status: int | None
) -> None:
    values = (seq, text, text, seq, maybe, text, maybe, maybe, maybe, status, text)
    row = dict(zip(HASHED_COLUMNS, values, strict=True))
    stored = tuple(row.get(c, "unused") for c in COLUMNS)
    assert fast_hash(text, stored) == chain_hash(text, row)


@given(st.booleans(), st.booleans(), st.none() | st.booleans(), st.text())
def test_fast_hash_writes_a_bool_in_an_integer_column_as_json_does(
    seq: bool, ts_us: bool, status: bool | None, text: str
) -> None:
    # int.__repr__(True) is "1"; the typed path must hand a bool to the general one.
    values = (seq, text, text, ts_us, None, text, None, None, None, status, text)
    row = dict(zip(HASHED_COLUMNS, values, strict=True))
    stored = tuple(row.get(c, "unused") for c in COLUMNS)
    assert fast_hash(text, stored) == chain_hash(text, row)


def _rows(count: int, first_prev: str = GENESIS) -> list[tuple[Any, ...]]:
    rows, prev = [], first_prev
    for seq in range(1, count + 1):
        record = Record(f"r{seq}", "request", seq, "rest", "a", "people.search", decision="allow")
        row = record.row(seq, prev)
        rows.append(tuple(row[c] for c in COLUMNS))
        prev = row["hash"]
    return rows


def _page(rows: list[tuple[Any, ...]]) -> Page:
    digests = [
        hashlib.sha256(message(row[-2], dict(zip(COLUMNS, row, strict=True)))).hexdigest()
        for row in rows
    ]
    return Page(
        len(rows),
        ",".join(str(row[0]) for row in rows),
        PAGE_SEPARATOR.join(row[-2] for row in rows),
        PAGE_SEPARATOR.join(row[-1] for row in rows),
        digests,
    )


def _walked(rows: list[tuple[Any, ...]], page: Page | None = None) -> tuple[ChainWalk, bool]:
    walk = ChainWalk(wanted=[2, 3, 5])
    walk.feed(rows[:1])
    taken = walk.feed_page(page or _page(rows[1:]))
    return walk, taken


def test_a_page_of_intact_records_counts_as_feeding_them_one_by_one() -> None:
    rows = _rows(5)
    walk, taken = _walked(rows)
    one_by_one = ChainWalk(wanted=[2, 3, 5])
    one_by_one.feed(rows)
    assert taken
    assert walk.report == one_by_one.report
    assert walk.hash_at == one_by_one.hash_at == {2: rows[1][-1], 3: rows[2][-1], 5: rows[4][-1]}
    assert walk._prev == one_by_one._prev
    assert walk._expected == one_by_one._expected == 6


def test_a_page_that_is_not_whole_and_in_order_is_refused_untouched() -> None:
    rows = _rows(5)
    good = _page(rows[1:])
    refused = {
        "a gap": _page([rows[1], *rows[3:]]),
        "out of order": _page([rows[2], rows[1], *rows[3:]]),
        "a hash that is not its content's": replace(good, hashes=good.hashes[:-1] + "x"),
        "a digest missing": replace(good, digests=good.digests[:-1]),
        # Four digests, hashes and prevs that agree, but three records: a message split in two.
        "a digest too many": replace(_page(rows[1:]), count=3, seqs="2,3,4"),
        "a broken link": _page([rows[1], *_rows(4, first_prev="x" * 64)[2:]]),
        "an empty page": Page(0, "", "", "", []),
    }
    for why, page in refused.items():
        walk, taken = _walked(rows, page)
        assert not taken, why
        assert (walk.report.records, walk._expected, walk.hash_at) == (1, 2, {}), why


def test_a_page_is_refused_when_the_walk_has_not_started_or_its_last_hash_holds_a_separator() -> (
    None
):
    rows = _rows(3)
    assert not ChainWalk().feed_page(_page(rows))
    # Record 1's stored hash holds the separator: "x␟y". A page whose prevs join to
    # "x␟y␟<digest 2>" would match [record 1's hash, digest 2] only by splitting wrong.
    walk = ChainWalk()
    walk.feed([(*rows[0][:-1], f"x{PAGE_SEPARATOR}y")])
    page = _page(rows[1:])
    crafted = replace(page, prevs=PAGE_SEPARATOR.join(["x", "y", page.digests[0]]), count=2)
    assert not walk.feed_page(replace(crafted, seqs="2,3"))
