"""Migration 0002_limits creates exactly the tables `bollard.limits.tables` declares."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bollard.limits.tables import TABLES
from bollard.store.tables import metadata

OURS = {t.name for t in TABLES}


def _ours(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    table = obj if kind == "table" else getattr(obj, "table", None)
    return table is not None and table.name in OURS


def test_the_migrated_limits_tables_match_the_tables_module(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ours})
        differences = compare_metadata(context, metadata)
    assert set(inspect(engine).get_table_names()) >= OURS
    assert differences == []
