"""Audit log benchmark: verify speed, search latency at 1M records, cost of durable records.

    uv run python bench/audit_log.py [--records 1000000] [--url sqlite:///...]

Builds a log of N records (8 agents, 20 actions, one request and one outcome per
call, a signed checkpoint every 1000 records) in a fresh database, then:
- verify: `bollard.audit.verify.verify` over the whole log, records per second (and
  CPU seconds: the fast path hashes in a second thread); on SQLite also the general
  walk (what PostgreSQL gets, and SQLite when the fast path does not apply);
- search: `bollard.audit.search.search` by agent and a one-hour time range, limit 50,
  median and p99 of 200 searches with random agents and hours;
- durability: `append_records` committing 1, 8 and 64 records per transaction
  (what group commit gives under concurrency), milliseconds per record, with
  SQLite's WAL + synchronous=FULL (or PostgreSQL's defaults).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from bollard.audit import Record
from bollard.audit.appender import append_records, ensure_head
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.checkpointer import Checkpointer
from bollard.audit.search import AuditFilters, search
from bollard.audit.verify import verify
from bollard.catalog import load_catalog
from bollard.store import open_store

HOUR_US = 3_600_000_000
START_US = 1_750_000_000_000_000


def build(url: str, records: int, state: Path) -> tuple[Engine, Ed25519PrivateKey]:
    engine = open_store(url)
    ensure_head(engine)
    key = Ed25519PrivateKey.generate()
    clock = lambda: 0.0  # noqa: E731 - count-based checkpoints only
    checkpointer = Checkpointer(key, CheckpointFile.in_state_dir(state), every=1000, clock=clock)
    actions = [a.id for a in load_catalog().actions]
    agents = [f"agent-{i}" for i in range(8)]
    rng = random.Random(1)
    span_us = 30 * 24 * HOUR_US  # a month of traffic
    step = span_us // (records // 2)
    started = time.perf_counter()
    batch: list[Record] = []
    for call in range(records // 2):
        ts = START_US + call * step
        agent, action = rng.choice(agents), rng.choice(actions)
        rid = f"{call:024x}"
        batch.append(Record(rid, "request", ts, "rest", agent, action, decision="allow",
                            data={"params": {"per_page": 10, "q_keywords": "hmac:abc"},
                                  "reason": f"granted by {action}"}))  # fmt: skip
        batch.append(Record(rid, "outcome", ts + 900, "rest", agent, action, outcome="ok",
                            status=200, data={"latency_ms": 12.5, "credits": 1,
                                              "response_bytes": 5120}))  # fmt: skip
        if len(batch) >= 5000:
            append_records(engine, batch, checkpointer)
            batch = []
    append_records(engine, batch, checkpointer, force_checkpoint=True)
    print(f"built {records:,} records in {time.perf_counter() - started:.1f}s")
    return engine, key


def bench_verify(engine: Engine, key: Ed25519PrivateKey, state: Path) -> None:
    # On SQLite the fast path, then (for comparison) the general walk PostgreSQL takes.
    ways = [("verify", True)]
    if engine.dialect.name == "sqlite":
        ways.append(("verify, general walk", False))
    for label, fast in ways:
        started, cpu = time.perf_counter(), time.process_time()
        report = verify(engine, key.public_key(), CheckpointFile.in_state_dir(state), fast=fast)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert report.ok, report.problems
        rate = report.records / seconds
        print(f"{label}: {report.records:,} records, {report.checkpoints} checkpoints in "
              f"{seconds:.2f}s ({cpu:.2f}s CPU) = {rate:,.0f} records/s")  # fmt: skip


def bench_search(engine: Engine, records: int) -> None:
    rng = random.Random(2)
    hours = 30 * 24
    timings = []
    for _ in range(200):
        hour = rng.randrange(hours)
        filters = AuditFilters(
            agent=f"agent-{rng.randrange(8)}",
            since_us=START_US + hour * HOUR_US,
            until_us=START_US + (hour + 1) * HOUR_US,
        )
        started = time.perf_counter()
        rows = search(engine, filters, limit=50)
        timings.append((time.perf_counter() - started) * 1000)
        assert all(r.agent == filters.agent for r in rows)
    timings.sort()
    median, p99, worst = statistics.median(timings), timings[197], timings[-1]
    print(
        f"search by agent + 1h range at {records:,} records: median {median:.2f} ms, "
        f"p99 {p99:.2f} ms, max {worst:.2f} ms"
    )


def bench_durability(url: str) -> None:
    engine = open_store(url)
    ensure_head(engine)
    record = Record("x" * 24, "request", START_US, "rest", "a", "people.search",
                    decision="allow", data={"params": {"per_page": 10}})  # fmt: skip
    for per_commit in (1, 8, 64):
        commits = 200 if per_commit == 1 else 100
        started = time.perf_counter()
        for _ in range(commits):
            append_records(engine, [record] * per_commit)
        seconds = time.perf_counter() - started
        print(f"durable append, {per_commit:>2} record(s) per commit: "
              f"{seconds / commits * 1000:.2f} ms per commit, "
              f"{seconds / (commits * per_commit) * 1000:.3f} ms per record")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.db"
        engine, key = build(url, args.records, Path(tmp) / "state")
        bench_verify(engine, key, Path(tmp) / "state")
        bench_search(engine, args.records)
        durable = args.url or f"sqlite:///{tmp}/durable.db"
        bench_durability(durable)


if __name__ == "__main__":
    main()
