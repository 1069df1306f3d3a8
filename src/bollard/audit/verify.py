"""`verify`: re-walk the stored chain and check every checkpoint (the I/O shell of chainwalk)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, select

from bollard.audit import checkpoints
from bollard.audit.chainwalk import COLUMNS, ChainWalk, Report, Sources, check_checkpoints
from bollard.audit.checkpoints import CheckpointFile
from bollard.store.tables import audit_head, audit_records

BATCH = 20_000
Rows = Sequence[Sequence[Any]]


def count(engine: Engine) -> int:
    """How many records the log holds (for a progress bar)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_records)).scalar_one())


def verify(
    engine: Engine,
    key: Ed25519PublicKey,
    file: CheckpointFile | None,
    progress: Callable[[int], None] = lambda n: None,
) -> Report:
    """Walk every record and checkpoint; the report says what, if anything, is wrong."""
    in_db = checkpoints.stored(engine)
    in_file, file_problems = file.read() if file is not None else ([], [])
    with engine.connect() as conn:
        head_row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    head = (int(head_row[0]), str(head_row[1])) if head_row else None
    wanted = {c.count for c in (*in_db, *in_file)} | ({head[0]} if head else set())
    walk = ChainWalk(wanted)
    for batch in _batches(engine):
        walk.feed(batch)
        progress(len(batch))
    sources = Sources(in_db, in_file if file is not None else None, file_problems, head)
    return check_checkpoints(walk, sources, key)


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
