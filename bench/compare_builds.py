"""Two builds of Bollard against each other, in alternating rounds, on one sandbox.

For deciding whether a change helps when the machine is too noisy for two separate
runs of bench/gateway.py to compare: each round runs direct, build A and build B in
turn (each its own `bollard serve` process, its own SQLite store), so a slow stretch
hits one round of all three. Prints every round and the medians (CPU per call: the
whole server process's, and its event-loop thread's).

    git worktree add /tmp/base HEAD~1
    uv run python bench/compare_builds.py /tmp/base/src src [--rate 300] [--closed]
        [--seconds 4] [--rounds 8]

A build is a directory holding the `bollard` package (put first on PYTHONPATH).
`--closed` runs wrk at a fixed concurrency (`--concurrency`, default 16) instead of the
Python client at a fixed rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from pathlib import Path

from gateway import (
    SCOPED,
    Target,
    bollard_env,
    cpu_seconds,
    create_agent,
    free_port,
    open_loop,
    pct,
    process,
    process_tree,
    sandbox_command,
    thread_cpu_seconds,
    wrk,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="build A: a directory holding the bollard package")
    ap.add_argument("b", help="build B")
    ap.add_argument("--rate", type=int, default=300)
    ap.add_argument("--closed", action="store_true", help="wrk at --concurrency, not a rate")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    py = sys.executable
    sp = free_port()
    sandbox_url = f"http://127.0.0.1:{sp}"
    sandbox_cmd = sandbox_command(sp)
    # Per round: req/s, p50 ms, p99 ms, CPU ms per call (the server's process tree, so
    # an audit writer process too; its event loop).
    Row = tuple[float, float, float, float, float]
    rows: dict[str, list[Row]] = {"direct": [], "A": [], "B": []}
    with contextlib.ExitStack() as stack:
        targets = {"direct": (sandbox_url, SCOPED, stack.enter_context(process(sandbox_cmd, sp)))}
        for name, src in (("A", args.a), ("B", args.b)):
            env = {
                **bollard_env(sandbox_url, f"compare-{name}"),
                "PYTHONPATH": str(Path(src).resolve()),
            }
            key = create_agent(env)
            port = free_port()
            serve = [py, "-m", "bollard.cli", "serve", "--port", str(port)]
            pid = stack.enter_context(process(serve, port, env))
            targets[name] = (f"http://127.0.0.1:{port}", key, pid)
        for url, key, _ in targets.values():
            asyncio.run(open_loop(url, key, 1.0, 200))  # warm up
        for r in range(args.rounds):
            line = []
            for name, (url, key, pid) in targets.items():
                tree = process_tree(pid)
                cpu, loop = sum(map(cpu_seconds, tree)), thread_cpu_seconds(pid, pid)
                if args.closed:
                    found = wrk(
                        Target(name, url, key, pid), args.seconds, args.concurrency, process_tree
                    )
                    row = (
                        found["rps"],
                        found["p50"],
                        found["p99"],
                        found["cpu_ms"],
                        found["loop_ms"],
                    )
                else:
                    lat = asyncio.run(open_loop(url, key, args.seconds, args.rate))
                    row = (
                        len(lat) / args.seconds,
                        pct(lat, 50),
                        pct(lat, 99),
                        (sum(map(cpu_seconds, tree)) - cpu) / len(lat) * 1000,
                        (thread_cpu_seconds(pid, pid) - loop) / len(lat) * 1000,
                    )
                rows[name].append(row)
                line.append(f"{name} {row[0]:5.0f}/s p50 {row[1]:6.2f} p99 {row[2]:7.2f} ms")
            print(f"round {r + 1}: " + " | ".join(line), flush=True)
    load = f"concurrency {args.concurrency} (wrk)" if args.closed else f"{args.rate} req/s"
    print(f"medians over {args.rounds} rounds at {load}:")
    for name, found in rows.items():
        rps, p50, p99, cpu, loop = (statistics.median(x[i] for x in found) for i in range(5))
        print(
            f"  {name:6s} {rps:6.0f} req/s  p50 {p50:6.2f}  p99 {p99:7.2f} ms  {cpu:.3f} CPU ms"
            f" (process tree; event loop {loop:.3f})"
        )
    for name in ("A", "B"):
        added = [b[2] - d[2] for d, b in zip(rows["direct"], rows[name], strict=True)]
        each = " ".join(f"{x:.1f}" for x in added)
        median = statistics.median(added)
        print(f"  {name} p99 added over direct, by round: {each}; median {median:.2f}")


if __name__ == "__main__":
    main()
