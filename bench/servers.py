"""The ASGI server's own cost: the bare pass-through and Bollard under each server.

uvicorn with httptools (what `bollard serve` runs), uvicorn with h11, and granian,
each serving the bare pass-through and Bollard (SQLite) in front of one sandbox; wrk
drives each pair in alternating rounds. Prints, per server, req/s and the server
processes' CPU per request (every process of its tree: granian serves from a child),
and Bollard/bare.

    uv run --with granian python bench/servers.py [--seconds 3] [--rounds 3] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from contextlib import ExitStack

from gateway import (
    SCOPED,
    Target,
    bollard_env,
    create_agent,
    free_port,
    process,
    process_tree,
    sandbox_command,
    wrk,
    wrk_command,
)

SERVERS = {
    "uvicorn httptools": ["-m", "uvicorn", "--http", "httptools", "--loop", "uvloop"],
    "uvicorn h11": ["-m", "uvicorn", "--http", "h11", "--loop", "uvloop"],
    "granian": ["-m", "granian", "--interface", "asgi", "--loop", "uvloop", "--workers", "1"],
}
APPS = {"bare": "passthrough:from_env", "bollard": "bollard.cli.serve:worker_app"}


def command(server: str, app: str, port: int) -> list[str]:
    args = [sys.executable, *SERVERS[server], "--factory", "--port", str(port)]
    if server.startswith("uvicorn"):
        args += ["--log-level", "warning", "--no-access-log", "--app-dir", "bench"]
    else:
        args += ["--log-level", "warning", "--working-dir", "bench"]
    return [*args, app]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--servers", nargs="+", default=list(SERVERS))
    args = ap.parse_args()
    wrk_command()
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    with ExitStack() as stack:
        sp = free_port()
        sandbox_url = f"http://127.0.0.1:{sp}"
        stack.enter_context(process(sandbox_command(sp), sp))
        targets: list[tuple[str, str, Target]] = []
        for server in args.servers:
            for app, spec in APPS.items():
                port = free_port()
                if app == "bare":
                    env, key = {"BENCH_UPSTREAM": sandbox_url, "BENCH_KEY": SCOPED}, SCOPED
                else:
                    env = bollard_env(sandbox_url, name=server.replace(" ", "-"))
                    key = create_agent(env)
                pid = stack.enter_context(process(command(server, spec, port), port, env))
                target = Target(f"{server}/{app}", f"http://127.0.0.1:{port}", key, pid)
                targets.append((server, app, target))
                wrk(target, 1, 16, process_tree)  # warm up
        for _ in range(args.rounds):
            for server, app, target in targets:
                row = wrk(target, args.seconds, args.concurrency, process_tree)
                rows.setdefault((server, app), []).append(row)
    print(f"wrk -t1 -c{args.concurrency}, {args.rounds} rounds of {args.seconds:g}s, medians")
    for server in args.servers:
        bare, bollard = rows[server, "bare"], rows[server, "bollard"]
        for app, found in (("bare", bare), ("bollard", bollard)):
            rps = statistics.median(r["rps"] for r in found)
            cpu = statistics.median(r["cpu_ms"] for r in found)
            p99 = statistics.median(r["p99"] for r in found)
            print(
                f"  {server:18s} {app:8s} {rps:6.0f} req/s  p99 {p99:6.1f} ms  CPU/req {cpu:.3f} ms"
            )
        ratio = statistics.median(b["rps"] / p["rps"] for b, p in zip(bollard, bare, strict=True))
        print(f"  {server:18s} bollard/bare throughput {ratio:.2f}")


if __name__ == "__main__":
    main()
