"""A small audit log with signed checkpoints, for tests that tamper with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from bollard.audit import Record
from bollard.audit.appender import append_records, ensure_head
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.checkpointer import Checkpointer
from bollard.audit.verify import verify
from bollard.audit.walk import Report


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class ChainLog:
    engine: Engine
    key: Ed25519PrivateKey
    file: CheckpointFile
    checkpointer: Checkpointer

    def add(self, calls: int, agent: str = "research", ts_us: int = 1_700_000_000_000_000) -> None:
        records: list[Record] = []
        for i in range(calls):
            rid = f"{agent}-{ts_us}-{i}"
            records.append(
                Record(
                    rid,
                    "request",
                    ts_us + i,
                    "rest",
                    agent,
                    "people.search",
                    decision="allow",
                    data={"params": {"page": i}},
                )
            )
            records.append(
                Record(
                    rid,
                    "outcome",
                    ts_us + i,
                    "rest",
                    agent,
                    "people.search",
                    outcome="ok",
                    status=200,
                    data={"credits": 0},
                )
            )
        for start in range(0, len(records), 64):
            append_records(self.engine, records[start : start + 64], self.checkpointer)

    def checkpoint(self) -> None:
        append_records(self.engine, (), self.checkpointer, force_checkpoint=True)

    def verify(self) -> Report:
        return verify(self.engine, self.key.public_key(), self.file)


def checkpointed_log(engine: Engine, state_dir: Path) -> ChainLog:
    """300 calls (600 records) with checkpoints: what the tamper tests start from."""
    made = chain_log(engine, state_dir)
    made.add(300)
    made.checkpoint()
    return made


def chain_log(engine: Engine, state_dir: Path, every: int = 100) -> ChainLog:
    ensure_head(engine)
    key = Ed25519PrivateKey.generate()
    file = CheckpointFile.in_state_dir(state_dir)
    clock = FixedClock()
    return ChainLog(engine, key, file, Checkpointer(key, file, every=every, clock=clock))
