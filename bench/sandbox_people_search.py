"""Benchmark: People API Search straight against the sandbox on loopback.

Starts `bollard sandbox --no-rate-limits` in a subprocess, drives
POST /api/v1/mixed_people/api_search with aiohttp at a fixed concurrency for
N seconds, and prints requests/s and p50/p99 latency. The same figures through
Bollard (bench of the gateway) show what the gateway adds.

    uv run python bench/sandbox_people_search.py --concurrency 32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

KEY = "bench-master-key"
PATH = "/api/v1/mixed_people/api_search"
# A few realistic queries, rotated, each on a few pages.
QUERIES: list[dict[str, Any]] = [
    {"person_titles": ["vp sales", "head of sales"], "person_seniorities": ["vp", "head"]},
    {"person_locations": ["united states"], "organization_num_employees_ranges": ["51,500"]},
    {"q_organization_domains_list": [], "person_seniorities": ["director"], "per_page": 25},
    {"currently_using_any_of_technology_uids": ["salesforce"], "person_departments": ["sales"]},
    {"q_keywords": "engineer", "organization_locations": ["germany", "france"]},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-c",
        "from bollard.cli import main; main()",
        "sandbox",
        "--port",
        str(port),
        "--master-key",
        KEY,
        "--no-rate-limits",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


READY_WITHIN = 15.0


async def wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/api/v1/auth/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit(f"sandbox did not answer within {READY_WITHIN}s")


async def worker(
    session: aiohttp.ClientSession,
    url: str,
    n: int,
    until: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    i = n
    while time.perf_counter() < until:
        body = {**QUERIES[i % len(QUERIES)], "page": 1 + (i // len(QUERIES)) % 5}
        i += 1
        start = time.perf_counter()
        async with session.post(url, json=body, headers={"x-api-key": KEY}) as response:
            await response.read()
            if response.status != 200:
                errors.append(response.status)
        latencies.append(time.perf_counter() - start)


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


async def drive(base: str, concurrency: int, seconds: float, warmup: float) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_ready(session, base)
        url = base + PATH
        await asyncio.gather(
            *(
                worker(session, url, n, time.perf_counter() + warmup, [], [])
                for n in range(concurrency)
            )
        )
        latencies: list[float] = []
        errors: list[int] = []
        start = time.perf_counter()
        until = start + seconds
        await asyncio.gather(
            *(worker(session, url, n, until, latencies, errors) for n in range(concurrency))
        )
        elapsed = time.perf_counter() - start
    latencies.sort()
    print(f"people search, direct to sandbox: concurrency {concurrency}, {elapsed:.1f}s")
    print(f"  requests: {len(latencies)}  errors: {len(errors)}")
    print(f"  throughput: {len(latencies) / elapsed:,.0f} requests/s")
    print(
        f"  latency p50: {percentile(latencies, 0.50) * 1000:.2f} ms  "
        f"p99: {percentile(latencies, 0.99) * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    port = free_port()
    process = start_sandbox(port)
    try:
        asyncio.run(drive(f"http://127.0.0.1:{port}", args.concurrency, args.seconds, args.warmup))
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
