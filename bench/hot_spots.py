"""Where a call's CPU goes at saturation: py-spy on the bare pass-through and on Bollard.

Starts the sandbox, the bare pass-through and Bollard (SQLite, or `--postgres URL`),
drives each in turn with wrk at `--concurrency` while py-spy samples its process
(every thread, idle samples dropped), and prints, per target, the share of samples
under each step of a call, then the functions with the most samples of their own.
The collapsed stacks stay in `--out` for a flame graph or a closer read.

    uv run python bench/hot_spots.py [--seconds 10] [--concurrency 64] [--postgres URL]

py-spy comes from PyPI through `uvx py-spy` (it needs ptrace: run as root, or allow it).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from gateway import (
    SCOPED,
    Target,
    free_port,
    postgres_schema,
    process,
    sandbox_command,
    start_bollard,
    wrk,
    wrk_command,
)

# A call's steps, each by the frames ('file.py:qualified name', as py-spy names them)
# that mark it; a sample counts for the step of the frame nearest its leaf.
STEPS = {
    "audit writer thread (hash, INSERT, fsync'd COMMIT, WAL checkpoints)": (
        "writer.py:AuditWriter._run",
    ),
    "1 authenticate (access_version read, agent in memory)": ("gateway.py:Gateway.authenticate",),
    "2-4 resolve, redact, authorize, rules, validate": (
        "gateway.py:Gateway._resolve",
        "gateway.py:Gateway._apply_rules",
        "redaction.py:redact",
        "policy.py:decide",
        "arguments.py:check",
        "webhook_owners.py:WebhookOwners.check",
    ),
    "5 admit, 8 settle (limits)": ("limiter.py:Limiter.admit", "limiter.py:Limiter.settle"),
    "6 request record (build, encode, queue, wait)": (
        "trace.py:Trace.request_record",
        "writer.py:AuditWriter.append",
    ),
    "8 outcome record (build, encode, defer)": ("gateway.py:Gateway._answered",),
    "7 upstream client (aiohttp: request, answer)": (
        "upstream.py:Upstream.send",
        "passthrough.py:build.<locals>.forward",
        "client_proto.py:ResponseHandler.data_received",
        "client_reqrep.py:ClientRequest.write_bytes",
    ),
    "writing the response (uvicorn, the socket)": ("httptools_impl.py:RequestResponseCycle.send",),
    "the door or app (headers, body, routing)": (
        "rest.py:RestDoor.__call__",
        "app.py:BollardApp.__call__",
        "applications.py:Starlette.__call__",
    ),
    "reading requests (uvicorn's protocol, httptools)": (
        "httptools_impl.py:HttpToolsProtocol.data_received",
        "protocol.py:GuardedHttpToolsProtocol.data_received",
    ),
}
_STEP_OF = {mark: step for step, marks in STEPS.items() for mark in marks}
OTHER = "event loop (uvloop) and other"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--postgres", metavar="URL")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bollard-profile")
    args = ap.parse_args()
    wrk_command()
    args.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        database = stack.enter_context(postgres_schema(args.postgres)) if args.postgres else None
        sp, pp = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sp}"
        stack.enter_context(process(sandbox_command(sp), sp))
        bare_cmd = [sys.executable, "bench/passthrough.py", str(pp), sandbox_url, SCOPED]
        targets = [
            Target(
                "bare", f"http://127.0.0.1:{pp}", SCOPED, stack.enter_context(process(bare_cmd, pp))
            ),
            start_bollard(stack, "bollard", sandbox_url, database),
        ]
        for t in targets:
            wrk(t, 1, args.concurrency)  # warm up
            stacks = profile(t, args)
            report(t.name, stacks)


def profile(target: Target, args: argparse.Namespace) -> collections.Counter[str]:
    out = args.out / f"{target.name}.txt"
    spy = subprocess.Popen(
        [
            *("uvx", "py-spy", "record", "--format", "raw", "--rate", "200", "--nonblocking"),
            *("--pid", str(target.pid), "--duration", f"{args.seconds + 1:g}", "-o", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # py-spy attaches
    row = wrk(target, args.seconds, args.concurrency)
    spy.wait(timeout=60)
    print(f"{target.name}: {row['rps']:.0f} req/s, CPU/req {row['cpu_ms']:.3f} ms under py-spy")
    found: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        found[stack] += int(count)
    return found


def frames(stack: str) -> list[str]:
    """'function (path/file.py:line)' frames, root first, as 'file.py:function'."""
    out = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        out.append(f"{Path(where.split(':')[0]).name}:{name}")
    return out


def report(name: str, stacks: collections.Counter[str]) -> None:
    total = sum(stacks.values())
    by_step: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for stack, count in stacks.items():
        fs = frames(stack)
        own[fs[-1]] += count
        step = next((_STEP_OF[f] for f in reversed(fs) if f in _STEP_OF), OTHER)
        by_step[step] += count
    print(f"  {name}: {total} busy samples")
    for step, count in by_step.most_common():
        print(f"    {count / total:6.1%}  {step}")
    print("    most samples of their own:")
    for fn, count in own.most_common(25):
        print(f"      {count / total:6.1%}  {fn}")


if __name__ == "__main__":
    main()
