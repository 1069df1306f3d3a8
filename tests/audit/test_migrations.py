"""The migrations form one line: exactly one head, and it creates the checkpoints table."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import bollard.store


def test_the_migrations_have_exactly_one_head() -> None:
    config = Config()
    location = Path(bollard.store.__file__).with_name("migrations")
    config.set_main_option("script_location", str(location))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several heads: {heads}; chain the newest migration after the other"


def test_migrating_creates_the_audit_checkpoints_table(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("audit_checkpoints")}
    assert columns == {"seq", "count", "head_hash", "ts_us", "key_id", "signature"}
