"""`bollard serve --workers N` on SQLite (one shared audit writer process) against one worker.

Both on SQLite with their limits in Redis (`$BOLLARD_TEST_REDIS_URL`, as `--workers`
needs), in front of one sandbox; wrk rounds alternate between them. Prints the medians
of req/s, p50/p99 and the CPU of each server's whole process tree per call.

    uv run python bench/sqlite_workers.py [--workers 2] [--concurrency 64] [--seconds 3]
        [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys

from gateway import (
    Target,
    bollard_env,
    create_agent,
    free_port,
    open_loop,
    process,
    process_tree,
    sandbox_command,
    wrk,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    sp = free_port()
    sandbox_url = f"http://127.0.0.1:{sp}"
    rows: dict[str, list[dict[str, float]]] = {}
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(sandbox_command(sp), sp))
        targets = []
        for workers in (1, args.workers):
            env = bollard_env(sandbox_url, f"workers{workers}")
            env["BOLLARD_REDIS_URL"] = os.environ.get("BOLLARD_TEST_REDIS_URL", "redis://127.0.0.1")
            env["BOLLARD_REDIS_PREFIX"] = f"bench{os.urandom(4).hex()}"
            key = create_agent(env)
            port = free_port()
            cmd = [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port)]
            cmd += ["--workers", str(workers)] if workers > 1 else []
            pid = stack.enter_context(process(cmd, port, env))
            name = f"{workers} worker{'s' if workers > 1 else ''}"
            targets.append(Target(name, f"http://127.0.0.1:{port}", key, pid))
            rows[name] = []
        for t in targets:  # warm up (each worker's first calls)
            asyncio.run(open_loop(t.url, t.key, 2.0, 200))
        for r in range(args.rounds):
            line = []
            for t in targets:
                found = wrk(t, args.seconds, args.concurrency, process_tree)
                rows[t.name].append(found)
                line.append(f"{t.name} {found['rps']:5.0f}/s {found['cpu_ms']:.3f} CPU ms")
            print(f"round {r + 1}: " + " | ".join(line), flush=True)
    print(f"medians over {args.rounds} rounds, wrk at concurrency {args.concurrency}:")
    for name, found in rows.items():
        rps, p50, p99, cpu = (
            statistics.median(x[k] for x in found) for k in ("rps", "p50", "p99", "cpu_ms")
        )
        print(
            f"  {name:10s} {rps:6.0f} req/s  p50 {p50:6.2f}  p99 {p99:7.2f} ms  "
            f"{cpu:.3f} CPU ms a call (process tree)"
        )
    print(f"load after: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
