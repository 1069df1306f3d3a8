"""MCP tool calls against the REST pass-through, on the same people search, in one run.

A sandbox and one Bollard (`bollard serve`) run in their own processes on
loopback; the load generator (aiohttp) runs in this one. Each door gets the
same closed loop of N workers for the same time, with the same agent:

  rest          POST /api/v1/mixed_people/api_search
  mcp 2026      POST /mcp tools/call, stateless 2026-07-28 (one POST per call)
  mcp 2025      POST /mcp tools/call in a 2025-11-25 session (initialize once)

Prints requests/s and p50/p99 for each, and MCP's throughput as a share of
REST's (the bar is 40%).

    uv run python bench/mcp_vs_rest.py [--seconds 8] [--concurrency 16] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from gateway import MASTER, SCOPED, sandbox_command

ROOT = Path(__file__).resolve().parents[1]
ARGS = {"person_titles": ["vp of sales"], "per_page": 10}
TOOL = "apollo_mixed_people_api_search"
ACCEPT = "application/json, text/event-stream"
DOORS = ("rest", "mcp 2026", "mcp 2025")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"server on port {port} did not start: {err}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def create_agent(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "bollard.cli", "agents", "create", "bench", "--grant", "people:read",
         "--json"], cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return str(json.loads(out)["key"])


def tool_call(request_id: int) -> bytes:
    params = {"name": TOOL, "arguments": ARGS}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                       "params": params}).encode()  # fmt: skip


def modern_envelope(body: bytes) -> bytes:
    message = json.loads(body)
    message["params"]["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    return json.dumps(message).encode()


async def open_session(s: aiohttp.ClientSession, url: str, key: str) -> dict[str, str]:
    """A 2025-11-25 session: the headers every later request carries."""
    headers = {"Authorization": f"Bearer {key}", "Accept": ACCEPT,
               "Content-Type": "application/json"}  # fmt: skip
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "bench", "version": "0"}}}  # fmt: skip
    async with s.post(url + "/mcp", json=init, headers=headers) as r:
        assert r.status == 200, await r.text()
        session_id = r.headers["mcp-session-id"]
    headers |= {"Mcp-Session-Id": session_id, "MCP-Protocol-Version": "2025-11-25"}
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    async with s.post(url + "/mcp", json=done, headers=headers) as r:
        assert r.status == 202, r.status
    return headers


def check_mcp(reply: Any) -> None:
    result = reply["result"]
    assert not result.get("isError"), result
    assert result["structuredContent"]["people"], result


async def closed_loop(url: str, key: str, door: str, seconds: float, workers: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers)) as s:
        if door == "rest":
            target = url + "/api/v1/mixed_people/api_search"
            headers = {"X-Api-Key": key, "Content-Type": "application/json"}
        elif door == "mcp 2025":
            target, headers = url + "/mcp", await open_session(s, url, key)
        else:
            target = url + "/mcp"
            headers = {"Authorization": f"Bearer {key}", "Accept": ACCEPT,
                       "Content-Type": "application/json", "MCP-Protocol-Version": "2026-07-28",
                       "Mcp-Method": "tools/call", "Mcp-Name": TOOL}  # fmt: skip

        async def worker() -> None:
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                body = json.dumps(ARGS).encode() if door == "rest" else tool_call(n)
                if door == "mcp 2026":
                    body = modern_envelope(body)
                t0 = time.perf_counter()
                async with s.post(target, data=body, headers=headers) as r:
                    payload = await r.read()
                    assert r.status == 200, (r.status, payload[:300])
                if door != "rest":
                    check_mcp(json.loads(payload))
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(workers)))
    return latencies


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] * 1000 if len(values) > 2 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    py = sys.executable
    sp, bp = free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bollard-bench-mcp-"))
    env = {
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp / 'bollard.db'}",
        "BOLLARD_APOLLO_URL": f"http://127.0.0.1:{sp}",
        "BOLLARD_APOLLO_KEY": SCOPED,
        "BOLLARD_APOLLO_MASTER_KEY": MASTER,
        "BOLLARD_STATE_DIR": str(tmp / "state"),
        # The sandbox runs without windows here; no sync, so Bollard knows none either.
        "BOLLARD_USAGE_SYNC_SECONDS": "0",
    }
    key = create_agent(env)
    sandbox = sandbox_command(sp)
    url = f"http://127.0.0.1:{bp}"
    results: dict[str, dict[str, float]] = {}
    with (
        process(sandbox, sp),
        process([py, "-m", "bollard.cli", "serve", "--port", str(bp)], bp, env),
    ):
        for door in DOORS:
            asyncio.run(closed_loop(url, key, door, 1.0, args.concurrency))  # warm up
        # Interleaved rounds, so a busy neighbour on the machine weighs on every door alike.
        latencies: dict[str, list[float]] = {door: [] for door in DOORS}
        for _ in range(args.rounds):
            for door in DOORS:
                latencies[door] += asyncio.run(
                    closed_loop(url, key, door, args.seconds / args.rounds, args.concurrency)
                )
        for door, lat in latencies.items():
            results[door] = {
                "rps": len(lat) / args.seconds,
                "p50": pct(lat, 50),
                "p99": pct(lat, 99),
            }
    print(f"people search through Bollard, concurrency {args.concurrency}, {args.seconds:.0f}s "
          f"each in {args.rounds} interleaved rounds, loopback")  # fmt: skip
    for door, r in results.items():
        print(
            f"  {door:9s} {r['rps']:8.0f} calls/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
        )
    rest = results["rest"]["rps"]
    for door in ("mcp 2026", "mcp 2025"):
        share = results[door]["rps"] / rest
        print(
            f"  {door} / rest throughput: {share:.0%} ({'meets' if share >= 0.4 else 'MISSES'} 40%)"
        )


if __name__ == "__main__":
    main()
