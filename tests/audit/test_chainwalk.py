"""The verifier's fast hash is the chain's hash, whatever the stored values are."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bollard.audit.chain import HASHED_COLUMNS, chain_hash
from bollard.audit.chainwalk import COLUMNS, fast_hash

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
