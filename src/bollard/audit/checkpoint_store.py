"""Where checkpoints live: the `audit_checkpoints` table and a file outside the database.

The file (`state_dir/checkpoints.jsonl`) is append-only JSON lines, each
fsynced. A checkpoint is committed to the database first and then appended
to the file, so a crash in between leaves the file one behind, never ahead;
`CheckpointFile.catch_up` copies what is missing at the next start. A file
ahead of the database therefore means the database was put back to an older
copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from bollard.audit.chain import canonical
from bollard.audit.checkpoint import Checkpoint
from bollard.audit.tables import audit_checkpoints

FILE_NAME = "checkpoints.jsonl"


class CheckpointFile:
    """The JSON-lines copy of every checkpoint, outside the database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> CheckpointFile:
        return cls(state_dir / FILE_NAME)

    def append(self, checkpoints: Iterable[Checkpoint]) -> None:
        """Append and fsync; raises OSError (the writer then fails closed)."""
        lines = "".join(canonical(c.to_json()) + "\n" for c in checkpoints)
        if not lines:
            return
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            _fsync_dir(self.path.parent)

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """The checkpoints in the file, and a description of each line that is not one."""
        if not self.path.exists():
            return [], []
        text = self.path.read_text("utf-8")
        found: list[Checkpoint] = []
        bad: list[str] = []
        lines = text.split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                found.append(Checkpoint.from_json(json.loads(line)))
            except ValueError:
                if number == len(lines):  # no newline after it: a write torn by a crash
                    bad.append(f"line {number} is incomplete (a write cut short)")
                else:
                    bad.append(f"line {number} is not a checkpoint")
        return found, bad

    def catch_up(self, in_database: list[Checkpoint]) -> None:
        """Append the database's checkpoints the file lacks (after a crash between the two)."""
        self._drop_torn_end()
        have, _ = self.read()
        last = max((c.seq for c in have), default=0)
        self.append(c for c in in_database if c.seq > last)

    def _drop_torn_end(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
                os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stored(conn: Connection | Engine) -> list[Checkpoint]:
    """Every checkpoint in the database, by seq."""
    stmt = select(audit_checkpoints).order_by(audit_checkpoints.c.seq)
    if isinstance(conn, Engine):
        with conn.connect() as c:
            rows = c.execute(stmt).mappings().all()
    else:
        rows = conn.execute(stmt).mappings().all()
    return [Checkpoint.from_json(r) for r in rows]


def latest(conn: Connection) -> Checkpoint | None:
    """The newest checkpoint in the database."""
    stmt = select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
    row = conn.execute(stmt).mappings().first()
    return Checkpoint.from_json(row) if row else None


def store(conn: Connection, checkpoint: Checkpoint) -> None:
    """Insert a checkpoint row (inside the caller's transaction)."""
    conn.execute(insert(audit_checkpoints).values(**checkpoint.to_json()))


def rollback_problem(in_db: Sequence[Checkpoint], in_file: Sequence[Checkpoint]) -> str | None:
    """Why the database looks older than the checkpoint file, or None."""
    by_seq = {c.seq: c for c in in_db}
    for cp in in_file:
        if cp.seq not in by_seq:
            return (
                f"the checkpoint file has checkpoint #{cp.seq} (record {cp.count}) that the "
                "database lacks: the database was rolled back to an older copy or replaced. "
                "Run `bollard audit verify`; if this database is new on purpose, move the "
                "checkpoint file aside"
            )
        if by_seq[cp.seq] != cp:
            return (
                f"checkpoint #{cp.seq} differs between the database and the checkpoint file: "
                "the database was rolled back or replaced; run `bollard audit verify`"
            )
    return None
