"""CPU per call of each thread of a Bollard server at saturation (the event loop, the audit writer).

Starts the sandbox and one build of Bollard (SQLite), names its threads with
`py-spy dump`, then runs wrk at `--concurrency` for `--rounds` rounds and prints, per
round, req/s, the process's CPU per call, and each busy thread's CPU per call read
from /proc/<pid>/task/<tid>/schedstat (time on a core, so waits are not counted).
Run it for two builds in turn to compare them:

    uv run --with py-spy python bench/thread_cpu.py /tmp/base/src [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from gateway import (
    Target,
    bollard_env,
    create_agent,
    free_port,
    open_loop,
    process,
    sandbox_command,
    wrk,
)


def on_core_ns(pid: int) -> dict[int, int]:
    """Each thread's time on a core so far, in nanoseconds."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            found[int(tid)] = int(f.read().split()[0])
    return found


def thread_names(pid: int) -> dict[int, str]:
    """Thread id to its Python name, from py-spy's dump."""
    dump = subprocess.run(
        ["py-spy", "dump", "--pid", str(pid)], capture_output=True, text=True, check=True
    ).stdout
    names = {}
    for line in dump.splitlines():
        if line.startswith("Thread ") and '"' in line:
            names[int(line.split()[1], 0)] = line.split('"')[1]
    return names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", help="a directory holding the bollard package")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sp = free_port()
    sandbox_url = f"http://127.0.0.1:{sp}"
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(sandbox_command(sp), sp))
        env = {
            **bollard_env(sandbox_url, "thread-cpu"),
            "PYTHONPATH": str(Path(args.src).resolve()),
        }
        key = create_agent(env)
        port = free_port()
        serve = [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port)]
        pid = stack.enter_context(process(serve, port, env))
        url = f"http://127.0.0.1:{port}"
        asyncio.run(open_loop(url, key, 1.0, 200))  # warm up
        names = thread_names(pid)
        for _ in range(args.rounds):
            before = on_core_ns(pid)
            found = wrk(Target("bollard", url, key, pid), args.seconds, args.concurrency)
            after = on_core_ns(pid)
            calls = found["rps"] * args.seconds
            per_call = {t: (ns - before.get(t, 0)) / 1e3 / calls for t, ns in after.items()}
            busiest = sorted(per_call.items(), key=lambda item: -item[1])[:3]
            threads = ", ".join(f"{names.get(t, t)} {us:.1f}" for t, us in busiest)
            print(
                f"{args.src}: {found['rps']:.0f} req/s, {found['cpu_ms']:.3f} CPU ms a call; "
                f"µs a call by thread: {threads}",
                flush=True,
            )


if __name__ == "__main__":
    main()
