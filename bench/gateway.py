"""People search three ways, in one run on loopback: direct, bare pass-through, Bollard.

Each server runs in its own process; the load generator (aiohttp) in this one.
Prints requests/s and p50/p99 latency at a fixed concurrency, then p99 at a
fixed 500 requests/s, then Bollard's resident memory, and the ratios.

Both phases run the targets in turn, `--rounds` times, and report medians: on a
shared machine a slow stretch then hits one round of each rather than all of one
target. The fixed-rate phase reports each round's added p99 (and what the bare
pass-through adds: the floor for any proxy on this machine). Each phase prints the
share of the machine's time the hypervisor took ("steal"): figures from a run with
much steal describe the host, not Bollard.

    uv run python bench/gateway.py [--seconds 8] [--concurrency 32] [--rate 500] [--rounds 3]
        [--postgres postgresql://USER@HOST/DB]

Bollard keeps its store in SQLite (the embedded default) unless `--postgres` names a
database: then in a schema of its own there, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

import aiohttp
import psycopg
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

ROOT = Path(__file__).resolve().parents[1]
MASTER, SCOPED = "bench-master-key", "bench-scoped-key"
SEARCH = "/api/v1/mixed_people/api_search"
BODY = json.dumps({"person_titles": ["vp of sales"], "per_page": 10}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[int]:
    # The server's stderr goes to a file, read only if it dies: a pipe nobody reads
    # would block a server that logs more than the pipe holds.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            wait_port(port, proc, errors)
            yield proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def wait_port(
    port: int, proc: subprocess.Popen[bytes], errors: IO[bytes], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            errors.seek(0)
            raise RuntimeError(f"server exited: {errors.read().decode(errors='replace')}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


async def closed_loop(url: str, key: str, seconds: float, concurrency: int) -> list[float]:
    with no_gc_pauses():
        return await _closed_loop(url, key, seconds, concurrency)


async def _closed_loop(url: str, key: str, seconds: float, concurrency: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with s.post(url + SEARCH, data=BODY, headers=headers) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def open_loop(url: str, key: str, seconds: float, rate: int) -> list[float]:
    with no_gc_pauses():
        return await _open_loop(url, key, seconds, rate)


async def _open_loop(url: str, key: str, seconds: float, rate: int) -> list[float]:
    latencies: list[float] = []
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as s:

        async def one() -> None:
            t0 = time.perf_counter()
            async with s.post(url + SEARCH, data=BODY, headers=headers) as r:
                await r.read()
                assert r.status == 200, r.status
            latencies.append(time.perf_counter() - t0)

        tasks = []
        start = time.perf_counter()
        for i in range(int(seconds * rate)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


async def scrape(url: str) -> list[Sample]:
    """Every sample in Bollard's /metrics, read by Prometheus's own parser."""
    async with aiohttp.ClientSession() as s, s.get(url + "/metrics") as r:
        text = await r.text()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


async def records_per_commit(url: str) -> float:
    """From Bollard's /metrics: how many audit records shared each fsync."""
    found = {s.name: s.value for s in await scrape(url) if not s.labels}
    batches = found["bollard_audit_batches_total"]
    return found["bollard_audit_records_written_total"] / batches if batches else 0.0


Buckets = dict[str, list[tuple[float, float]]]  # series -> (upper bound, cumulative count)


async def writer_histograms(url: str) -> Buckets:
    """From Bollard's /metrics: the audit writer's cumulative duration buckets, by series."""
    found: Buckets = {}
    for sample in await scrape(url):
        if sample.name.endswith("_bucket") and sample.name.startswith("bollard_audit"):
            name = sample.name.removeprefix("bollard_audit_").removesuffix("_seconds_bucket")
            found.setdefault(name, []).append((float(sample.labels["le"]), sample.value))
    return found


def writer_report(before: Buckets, after: Buckets) -> str:
    """How many commits/checkpoints a round had, how many held the writer over 5 ms, and
    the bucket bound of the slowest (the writer holds every call queued behind it)."""
    parts = []
    for name, buckets in after.items():
        old = dict(before.get(name, []))
        delta = [(bound, count - old.get(bound, 0.0)) for bound, count in buckets]
        total = delta[-1][1]
        if not total:
            continue
        over5 = total - dict(delta)[0.005]
        slowest = next(f"{bound * 1000:g}" for bound, count in delta if count == total)
        parts.append(f"{name} {total:.0f}, {over5:.0f} over 5 ms, slowest <= {slowest} ms")
    return "; ".join(parts)


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """The load generator's own garbage collector off while it measures.

    Measured: with it on, this process paused 30-75 ms in full collections every
    20 s or so of load, adding that to whichever target's calls were in flight.
    Reference counting still frees nearly everything; a collection runs after.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000 if len(values) > 2 else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (noise-proof, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(all CPU ticks, ticks stolen by the hypervisor) so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


@contextmanager
def steal_meter() -> Iterator[list[float]]:
    """Yields a list that holds, after the block, the share of machine time stolen."""
    share: list[float] = []
    total, stolen = machine_ticks()
    yield share
    total2, stolen2 = machine_ticks()
    share.append((stolen2 - stolen) / (total2 - total) if total2 > total else 0.0)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A URL to a fresh schema in the PostgreSQL database at `url`, dropped afterwards."""
    schema = f"bench_{os.urandom(6).hex()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in url else "?"
        yield f"{url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def sandbox_command(port: int, scoped: str = "people.search") -> list[str]:
    """`bollard sandbox` on `port`, without rate limits, taking the bench's two keys
    (`scoped`: the actions, comma-separated, the scoped key covers)."""
    return [
        *(sys.executable, "-m", "bollard.cli", "sandbox", "--port", str(port)),
        *("--no-rate-limits", "--master-key", MASTER, "--scoped-key", f"{SCOPED}={scoped}"),
    ]


def bollard_env(
    sandbox_url: str, name: str = "bench", database_url: str | None = None
) -> dict[str, str]:
    """Settings for a `bollard serve` in front of the bench's sandbox, in a fresh directory."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bollard-{name}-"))
    return {
        "BOLLARD_DATABASE_URL": database_url or f"sqlite:///{tmp / 'bollard.db'}",
        "BOLLARD_APOLLO_URL": sandbox_url,
        "BOLLARD_APOLLO_KEY": SCOPED,
        "BOLLARD_APOLLO_MASTER_KEY": MASTER,
        "BOLLARD_STATE_DIR": str(tmp / "state"),
        # The sandbox runs without windows here; no sync, so Bollard knows none either.
        "BOLLARD_USAGE_SYNC_SECONDS": "0",
        "BOLLARD_METRICS_PUBLIC": "true",
    }


def create_agent(env: dict[str, str]) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bollard.cli",
            "agents",
            "create",
            "bench",
            "--grant",
            "people:read",
            "--json",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return str(json.loads(out)["key"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", metavar="URL", help="keep Bollard's store in this database")
    args = ap.parse_args()
    with ExitStack() as stack:
        database = stack.enter_context(postgres_schema(args.postgres)) if args.postgres else None
        run(args, database)


def run(args: argparse.Namespace, database_url: str | None) -> None:
    py = sys.executable
    sp, pp, bp = free_port(), free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sp}"
    env = bollard_env(sandbox_url, database_url=database_url)
    key = create_agent(env)
    sandbox_cmd = sandbox_command(sp, "people.search,people.enrich,organizations.search")
    results: dict[str, dict[str, float]] = {}
    with (
        process(sandbox_cmd, sp) as sandbox_pid,
        process([py, "bench/passthrough.py", str(pp), sandbox_url, SCOPED], pp) as bare_pid,
        process([py, "-m", "bollard.cli", "serve", "--port", str(bp)], bp, env) as bollard_pid,
    ):
        targets = {
            "direct": (sandbox_url, SCOPED, sandbox_pid),
            "bare": (f"http://127.0.0.1:{pp}", SCOPED, bare_pid),
            "bollard": (f"http://127.0.0.1:{bp}", key, bollard_pid),
        }
        for url, k, _ in targets.values():
            asyncio.run(closed_loop(url, k, 1.0, args.concurrency))  # warm up
        # Closed loop, in rounds too: each target's figures are the median of its rounds,
        # and the throughput ratio the median of the rounds' ratios.
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, k, pid) in targets.items():
                cpu = cpu_seconds(pid)
                with steal_meter() as steal:
                    lat = asyncio.run(closed_loop(url, k, args.seconds, args.concurrency))
                runs[name].append(
                    {
                        "rps": len(lat) / args.seconds,
                        "p50": pct(lat, 50),
                        "p99": pct(lat, 99),
                        # The front process's own CPU per request (direct: the sandbox's).
                        "cpu_ms": (cpu_seconds(pid) - cpu) / len(lat) * 1000,
                        "steal": steal[0],
                    }
                )
        for name, rows in runs.items():
            results[name] = {f: statistics.median(r[f] for r in rows) for f in rows[0]}
        ratios = [b["rps"] / p["rps"] for p, b in zip(runs["bare"], runs["bollard"], strict=True)]
        # The bare pass-through runs too: the p99 that any proxy adds on this machine.
        fixed: dict[str, list[float]] = {name: [] for name in targets}
        rounds: list[tuple[float, float, float, float]] = []  # direct, bare, bollard p99; steal
        writer: list[str] = []  # per round: how long the audit writer's work held it
        for _ in range(args.rounds):
            p99s = []
            with steal_meter() as steal:
                for name, (url, k, _) in targets.items():
                    if name == "bollard":
                        before = asyncio.run(writer_histograms(url))
                    lat = asyncio.run(open_loop(url, k, args.seconds, args.rate))
                    if name == "bollard":
                        writer.append(writer_report(before, asyncio.run(writer_histograms(url))))
                    fixed[name] += lat
                    p99s.append(pct(lat, 99))
            rounds.append((p99s[0], p99s[1], p99s[2], steal[0]))
        results["bollard"]["rss_mb"] = rss_mb(bollard_pid)
        commits = asyncio.run(records_per_commit(targets["bollard"][0]))
    print(
        f"people search, concurrency {args.concurrency}, {args.rounds} rounds of "
        f"{args.seconds:.0f}s each, loopback (medians of the rounds); "
        f"Bollard's store: {'PostgreSQL' if database_url else 'SQLite'}"
    )
    for name, r in results.items():
        print(
            f"  {name:8s} {r['rps']:8.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
            f"   {r['cpu_ms']:.3f} CPU ms/req   (steal {r['steal']:.0%})"
        )
    d, b = results["direct"], results["bollard"]
    print(
        f"  bollard / bare throughput: {statistics.median(ratios):.0%} "
        f"(rounds: {', '.join(f'{r:.0%}' for r in ratios)})"
    )
    print(f"  bollard / direct throughput: {b['rps'] / d['rps']:.0%}")
    print(
        f"  CPU per request in the front process: bare {results['bare']['cpu_ms']:.3f} ms, "
        f"bollard {b['cpu_ms']:.3f} ms (the sandbox's own: {d['cpu_ms']:.3f} ms)"
    )
    print(
        f"  at {args.rate} req/s ({args.rounds} alternating rounds): pooled p99 direct "
        f"{pct(fixed['direct'], 99):.2f} ms, bare {pct(fixed['bare'], 99):.2f} ms, "
        f"bollard {pct(fixed['bollard'], 99):.2f} ms"
    )
    for i, (d99, p99, b99, st) in enumerate(rounds, 1):
        print(
            f"    round {i}: p99 direct {d99:.2f}, bare {p99:.2f}, bollard {b99:.2f} ms; "
            f"added by bare {p99 - d99:.2f}, by bollard {b99 - d99:.2f} ms   (steal {st:.0%})"
        )
        print(f"      audit writer: {writer[i - 1]}")
    added = statistics.median(b99 - d99 for d99, _, b99, _ in rounds)
    bare_added = statistics.median(p99 - d99 for d99, p99, _, _ in rounds)
    print(
        f"  added p99 at {args.rate} req/s, median of rounds: bollard {added:.2f} ms "
        f"(the bare pass-through: {bare_added:.2f} ms)"
    )
    print(f"  bollard resident memory: {b['rss_mb']:.0f} MB")
    print(f"  audit records per durable commit: {commits:.1f}")


if __name__ == "__main__":
    main()
