"""Benchmark: People API Search straight against the sandbox on loopback.

For each database size asked for (default: the default 10,000 people and
1,000,000), starts `bollard sandbox --no-rate-limits --people N` in a
subprocess, then:

1. title-search latency: each of TITLE_QUERIES once, one at a time, so every
   answer is computed (the sandbox caches a query's hits; these are all
   different), with p50/p90/max;
2. throughput: POST /api/v1/mixed_people/api_search with aiohttp at a fixed
   concurrency for N seconds (repeated queries, so mostly cached), requests/s
   and p50/p99. The same figures through Bollard (bench of the gateway) show
   what the gateway adds.

    uv run python bench/sandbox_people_search.py --sizes 10000,1000000 --seconds 5
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


# Distinct title searches, as prospectors type them; some narrowed by place or rank.
TITLES = (
    "CEO", "cto", "CFO", "COO", "CMO", "CRO", "vp sales", "VP of Sales", "vice president",
    "sales director", "Director of Marketing", "head of sales", "head of engineering",
    "founder", "co-founder", "owner", "engineering manager", "software engineer",
    "sr software engineer", "account executive", "SDR", "customer success manager",
    "product manager", "director", "manager", "VP Engineering", "svp", "chief",
    "marketing manager", "recruiter", "general counsel", "IT manager", "data engineer",
    "director of product", "head of people", "controller", "designer", "partner",
)  # fmt: skip
TITLE_QUERIES: list[dict[str, Any]] = [
    *({"person_titles": [t]} for t in TITLES),
    *({"person_titles": [t], "include_similar_titles": False} for t in TITLES[:12]),
    *({"person_titles": [t], "person_locations": ["California, US"]} for t in TITLES[:12]),
    *({"person_titles": [t], "person_seniorities": ["vp", "director"]} for t in TITLES[6:14]),
]


def start_sandbox(port: int, people: int) -> subprocess.Popen[bytes]:
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
        "--people",
        str(people),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


READY_WITHIN = 600.0  # a million people take a minute or more to generate


async def wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/api/v1/auth/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.2)
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


async def title_latency(session: aiohttp.ClientSession, url: str, people: int) -> None:
    """Each title query once, sequentially: the latency of a search computed afresh."""
    latencies: list[float] = []
    totals: list[int] = []
    for query in TITLE_QUERIES:
        start = time.perf_counter()
        async with session.post(url, json=query, headers={"x-api-key": KEY}) as response:
            body = await response.json()
        latencies.append(time.perf_counter() - start)
        totals.append(int(body["total_entries"]))
    latencies.sort()
    print(f"title search at {people:,} people: {len(latencies)} distinct queries, uncached")
    print(
        f"  latency p50: {percentile(latencies, 0.50) * 1000:.1f} ms  "
        f"p90: {percentile(latencies, 0.90) * 1000:.1f} ms  max: {latencies[-1] * 1000:.1f} ms"
        f"  (hits per query: median {sorted(totals)[len(totals) // 2]:,}, max {max(totals):,})"
    )


async def drive(base: str, people: int, concurrency: int, seconds: float, warmup: float) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_ready(session, base)
        url = base + PATH
        await title_latency(session, url, people)
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
    print(
        f"people search at {people:,} people, direct to sandbox: "
        f"concurrency {concurrency}, {elapsed:.1f}s"
    )
    print(f"  requests: {len(latencies)}  errors: {len(errors)}")
    print(f"  throughput: {len(latencies) / elapsed:,.0f} requests/s")
    print(
        f"  latency p50: {percentile(latencies, 0.50) * 1000:.2f} ms  "
        f"p99: {percentile(latencies, 0.99) * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="People per run, comma-separated.")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    for people in (int(n) for n in args.sizes.split(",")):
        port = free_port()
        process = start_sandbox(port, people)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(drive(base, people, args.concurrency, args.seconds, args.warmup))
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
