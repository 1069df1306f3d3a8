"""Bollard's HTTP protocol alone, two builds against each other: CPU and socket writes per response.

Serves one small ASGI app (it reads the request body and answers a fixed body of
`--size` bytes, 4.7 KB by default: the sandbox's answer to the bench's people search)
under uvicorn with each build's `bollard.protocol.GuardedHttpToolsProtocol`, and drives
both with wrk in alternating rounds. Prints, per round and as medians, req/s, the
server's CPU per response, and its write syscalls per response (`syscw` of
/proc/<pid>/io: write(2) and writev(2), which uvloop sends with), so the one-write
change shows as 2 -> 1 without strace.

    git worktree add /tmp/base HEAD~1
    uv run python bench/response_writes.py /tmp/base/src src [--concurrency 16]
        [--seconds 3] [--rounds 6] [--size 4691]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from starlette.types import Receive, Scope, Send

from gateway import ROOT, Target, free_port, medians, process, wrk

# The server process's answer (its size from the bench's --size, via the environment).
BODY = b"x" * int(os.environ.get("BENCH_BODY_SIZE", "4691"))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Every request answered 200 with BODY, after its body is read."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def write_syscalls(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise RuntimeError(f"no syscw in /proc/{pid}/io")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a", help="build A: a directory holding the bollard package")
    ap.add_argument("b", help="build B")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--size", type=int, default=4691, help="the answer's body, in bytes")
    args = ap.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    with contextlib.ExitStack() as stack:
        targets = {}
        for name, src in (("A", args.a), ("B", args.b)):
            port = free_port()
            cmd = [
                *(sys.executable, "-m", "uvicorn", "--loop", "uvloop", "--port", str(port)),
                *("--http", "bollard.protocol:GuardedHttpToolsProtocol"),
                *("--log-level", "warning", "--no-access-log", "response_writes:app"),
            ]
            env = {
                "PYTHONPATH": os.pathsep.join([str(Path(src).resolve()), str(ROOT / "bench")]),
                "BENCH_BODY_SIZE": str(args.size),
            }
            pid = stack.enter_context(process(cmd, port, env))
            targets[name] = Target(name, f"http://127.0.0.1:{port}", "unused", pid)
        print(f"load before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
        for t in targets.values():
            wrk(t, 1, args.concurrency)  # warm up
        for i in range(args.rounds):
            line = []
            for name, t in targets.items():
                before = write_syscalls(t.pid)
                row = wrk(t, args.seconds, args.concurrency)
                row["writes"] = (write_syscalls(t.pid) - before) / row["requests"]
                rows[name].append(row)
                line.append(
                    f"{name} {row['rps']:6.0f}/s {row['cpu_ms'] * 1000:5.1f} µs CPU "
                    f"{row['writes']:.2f} writes"
                )
            print(f"round {i + 1}: " + " | ".join(line), flush=True)
    print(
        f"medians over {args.rounds} rounds, concurrency {args.concurrency}, "
        f"a {args.size}-byte answer (wrk; per response):"
    )
    for name, found in rows.items():
        r = medians(found)
        print(
            f"  {name} {r['rps']:6.0f} req/s  CPU {r['cpu_ms'] * 1000:5.1f} µs "
            f"(event loop {r['loop_ms'] * 1000:5.1f})  write syscalls {r['writes']:.2f}  "
            f"p50 {r['p50']:.2f} ms  (wrk {r['wrk_cpu_ms'] * 1000:.1f} µs)"
        )
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
