"""What the audit writer costs the event loop: the thread against the process.

In process, on uvloop: `--concurrency` callers each append a request record (and
wait for its commit) and defer an outcome, as every forwarded call does, against
a fresh SQLite store each; rounds alternate between the writer in a thread
(BOLLARD_AUDIT_WRITER=thread) and in a process of its own (process). Prints, per
writer, the medians of the event loop thread's CPU per call (`time.thread_time`:
the thread's alone, so it holds on a busy host), of the whole process tree's
(this process and the writer process), and the calls a second.

`--work` µs of pure Python CPU per call, before its request record (default 250, about
what the rest of a call costs the loop in `bollard serve`), with `bollard serve`'s GIL
switch interval: a writer thread then has to take the GIL from a busy loop, as it does
in the server. The figures printed are per call, that work excluded.

    uv run python bench/writer_loop_cost.py [--calls 4000] [--concurrency 16] [--rounds 6]
        [--work 250]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from bollard.audit.chain import Record
from bollard.audit.writer import AuditLog, writer_for
from bollard.settings import Settings
from bollard.store import open_store


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _records(n: int) -> tuple[Record, Record]:
    rid = f"{n:024x}"
    params = {"person_titles": ["vp of sales"], "per_page": 5, "page": 1}
    request = Record(
        rid, "request", time.time_ns() // 1000, "rest", "bench", "people.search", "allow",
        data={"params": params, "grant": "people:read", "key_kind": "scoped"},
    )  # fmt: skip
    outcome = Record(
        rid, "outcome", time.time_ns() // 1000, "rest", "bench", "people.search",
        outcome="ok", status=200, data={"upstream_ms": 12.5, "credits": 0},
    )  # fmt: skip
    return request, outcome


def _busy(us: float) -> None:
    """About `us` µs of Python work (the rest of a call), holding the GIL."""
    end = time.thread_time() + us / 1e6
    while time.thread_time() < end:
        pass


async def _round(
    kind: str, calls: int, concurrency: int, work: float
) -> tuple[float, float, float]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bollard-wlc-{kind}-"))
    settings = Settings.model_validate(
        {
            "database_url": f"sqlite:///{tmp / 'bollard.db'}",
            "state_dir": tmp / "state",
            "audit_key": "bench-audit-key",
            "audit_writer": kind,
        }
    )
    engine = open_store(settings.database_url)
    writer: AuditLog = writer_for(settings, engine)
    writer.start()
    pid = getattr(writer, "pid", None)
    each = calls // concurrency

    async def caller(c: int) -> None:
        for i in range(each):
            request, outcome = _records(c * each + i)
            _busy(work)
            await writer.append(request)
            writer.defer(outcome)

    await caller(0)  # warm
    tree = [os.getpid(), *([pid] if pid else [])]
    cpu, loop, wall = sum(map(_cpu, tree)), time.thread_time(), time.perf_counter()
    await asyncio.gather(*(caller(c + 1) for c in range(concurrency)))
    await writer.flush()
    wall = time.perf_counter() - wall
    loop = time.thread_time() - loop
    cpu = sum(map(_cpu, tree)) - cpu
    n = each * concurrency
    loop -= n * work / 1e6
    cpu -= n * work / 1e6
    writer.close()
    engine.dispose()
    return loop / n * 1e6, cpu / n * 1e6, n / wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--work", type=float, default=250, help="µs of other work a call")
    args = ap.parse_args()
    sys.setswitchinterval(0.0005)  # as `bollard serve` runs (cli/serve.py _tune_runtime)
    rows: dict[str, list[tuple[float, float, float]]] = {"thread": [], "process": []}
    print(f"load before: {os.getloadavg()[0]:.2f}")
    for r in range(args.rounds):
        for kind in rows:
            row = uvloop.run(_round(kind, args.calls, args.concurrency, args.work))
            rows[kind].append(row)
            print(
                f"round {r + 1} {kind:7s}: loop {row[0]:6.1f} µs/call  tree {row[1]:6.1f}"
                f" µs/call  {row[2]:6.0f} calls/s",
                flush=True,
            )
    print(
        f"medians over {args.rounds} rounds, concurrency {args.concurrency}, "
        f"{args.work:g} µs of other work a call (not counted):"
    )
    for kind, found in rows.items():
        loop, tree, rate = (statistics.median(x[i] for x in found) for i in range(3))
        print(f"  {kind:7s} loop {loop:6.1f} µs/call  tree {tree:6.1f} µs/call  {rate:6.0f}/s")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
