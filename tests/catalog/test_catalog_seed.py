"""The catalog against the user's own reference guide (the seed document).

The seed's 20 rows are the catalog's `origin = "seed"` actions, exactly as the seed
states them; the other 60 come from Apollo's OpenAPI document (test_document.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bollard.catalog import Action, load_catalog

# CI checks out shared/ beside the clone: <root>/main/tests/catalog/this_file.
SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds" / "000_b8efbbf962388176.txt"
ROW = re.compile(
    r"^\|\s*(GET|POST|PATCH|PUT|DELETE)\s*\|\s*(/api/v1/\S+)\s*\|[^|]*\|\s*(read|write)\s*\|"
)
MASTER_NOTE = "Requires a master API key"


@dataclass(frozen=True)
class SeedRow:
    method: str
    path: str
    access: str
    master_key: bool


def seed_rows() -> list[SeedRow]:
    """Table rows of the seed, each with the master-key note of the lines under it."""
    rows: list[SeedRow] = []
    for line in SEED.read_text("utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.append(SeedRow(match[1], match[2], match[3], master_key=False))
        elif rows and MASTER_NOTE in line:
            last = rows[-1]
            rows[-1] = SeedRow(last.method, last.path, last.access, master_key=True)
    return rows


def test_the_seed_table_parses_to_twenty_rows_nine_of_them_master_only() -> None:
    rows = seed_rows()
    assert len(rows) == 20
    assert sum(r.master_key for r in rows) == 9


def seed_actions() -> list[Action]:
    return [a for a in load_catalog().actions if a.origin == "seed"]


def test_catalog_has_exactly_the_seeds_methods_and_paths_in_order() -> None:
    catalog = [(a.method, a.full_path) for a in seed_actions()]
    assert catalog == [(r.method, r.path) for r in seed_rows()]


def test_every_action_has_the_seeds_read_or_write_class() -> None:
    catalog = {(a.method, a.full_path): a.access for a in seed_actions()}
    assert catalog == {(r.method, r.path): r.access for r in seed_rows()}


def test_master_only_actions_are_exactly_those_the_seed_marks() -> None:
    catalog = {(a.method, a.full_path): a.master_key for a in seed_actions()}
    assert catalog == {(r.method, r.path): r.master_key for r in seed_rows()}


def test_notes_of_master_only_actions_say_a_scoped_key_gets_403() -> None:
    for action in load_catalog().actions:
        says = "Requires a master API key; a scoped key gets 403" in action.notes
        assert says == action.master_key, action.id
