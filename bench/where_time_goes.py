"""Where Bollard's time goes: the same fixed-rate load on Bollard with parts switched off.

Runs, in alternating rounds on one sandbox: the bare pass-through (bench/passthrough.py),
Bollard with only its HTTP plumbing (`pipeline` off), Bollard without the audit log,
limits and the per-call access_version read, Bollard without the audit log, and the
whole of Bollard (see bench/ablated_serve.py). For each it prints the medians of:
latency p50/p99, the CPU per call of the event-loop thread and of the busiest other
thread (the audit writer), and how long each waited for a CPU per call (run-queue
wait, from /proc/<pid>/task/<tid>/schedstat): on a 2-core machine with the load
generator and the sandbox beside it, that wait is part of every hop between threads.

    uv run python bench/where_time_goes.py [--rate 300] [--seconds 4] [--rounds 4]
        [--closed 64]   # wrk at that concurrency (saturation) instead of a fixed rate
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
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
    wrk,
)

VARIANTS = {
    "bare pass-through": None,
    "plumbing only": "pipeline",
    "no audit/limits/version": "audit,limits,version",
    "no audit": "audit",
    "all of Bollard": "",
}


def threads(pid: int) -> dict[str, tuple[float, float]]:
    """Each thread's (CPU seconds, seconds spent waiting for a CPU) so far."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            cpu, wait, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
            found[tid] = (int(cpu) / 1e9, int(wait) / 1e9)
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--closed", type=int, metavar="CONCURRENCY", help="wrk, not a fixed rate")
    args = ap.parse_args()
    py = sys.executable
    sp = free_port()
    sandbox_url = f"http://127.0.0.1:{sp}"
    sandbox = sandbox_command(sp)
    rows: dict[str, list[tuple[float, ...]]] = {name: [] for name in VARIANTS}
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(sandbox, sp))
        targets = {}
        for name, without in VARIANTS.items():
            port = free_port()
            if without is None:
                cmd = [py, "bench/passthrough.py", str(port), sandbox_url, SCOPED]
                pid = stack.enter_context(process(cmd, port))
                targets[name] = (f"http://127.0.0.1:{port}", SCOPED, pid)
                continue
            env = {**bollard_env(sandbox_url, "ablated"), "BOLLARD_BENCH_WITHOUT": without}
            key = create_agent(env)
            cmd = [py, "bench/ablated_serve.py", str(port)]
            targets[name] = (
                f"http://127.0.0.1:{port}",
                key,
                stack.enter_context(process(cmd, port, env)),
            )
        for url, key, _ in targets.values():
            asyncio.run(open_loop(url, key, 1.0, 200))  # warm up
        for _ in range(args.rounds):
            for name, (url, key, pid) in targets.items():
                before = threads(pid)
                children = process_tree(pid)[1:]  # an audit writer process
                before_children = sum(map(cpu_seconds, children))
                if args.closed:
                    found = wrk(Target(name, url, key, pid), args.seconds, args.closed)
                    n = max(round(found["rps"] * args.seconds), 1)
                    p50, p99 = found["p50"], found["p99"]
                else:
                    lat = asyncio.run(open_loop(url, key, args.seconds, args.rate))
                    n = max(len(lat), 1)
                    p50, p99 = pct(lat, 50), pct(lat, 99)
                after = threads(pid)
                child_cpu = (sum(map(cpu_seconds, children)) - before_children) / n * 1000
                per_call = [
                    tuple(
                        (a - b) / n * 1000
                        for a, b in zip(after[t], before.get(t, (0, 0)), strict=True)
                    )
                    for t in after
                ]
                used = [*sorted(per_call, reverse=True), (0.0, 0.0)]
                (loop_cpu, loop_wait), (other_cpu, other_wait) = used[0], used[1]
                rows[name].append(
                    (p50, p99, loop_cpu, loop_wait, other_cpu, other_wait, child_cpu, n)
                )
    load = f"wrk at concurrency {args.closed}" if args.closed else f"{args.rate} req/s"
    print(f"people search at {load}, medians of {args.rounds} rounds of {args.seconds:g}s")
    print(
        "  (ms per call: CPU and run-queue wait of the loop thread, then of the busiest other,"
        " then the CPU of child processes: an audit writer process)"
    )
    for name, found in rows.items():
        p50, p99, lc, lw, oc, ow, cc, n = (statistics.median(r[i] for r in found) for i in range(8))
        print(
            f"  {name:24s} {n / args.seconds:6.0f}/s p50 {p50:6.2f} p99 {p99:6.2f} ms  loop CPU"
            f" {lc:.3f} wait {lw:.3f}  other CPU {oc:.3f} wait {ow:.3f}  children CPU {cc:.3f}"
        )


if __name__ == "__main__":
    main()
