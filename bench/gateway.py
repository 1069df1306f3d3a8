"""People search, in one run on loopback: direct, bare pass-through, Bollard on SQLite
and on PostgreSQL.

Each server runs in its own process. The closed loop is driven by wrk (Debian's
package; a compiled generator that is not the bottleneck, see bench/README.md) with
bench/people_search.lua at each `--concurrency`, every target in turn, `--rounds`
times: per target it prints req/s, p50, p99, the server's CPU per request (its whole
process tree) and wrk's own, then Bollard/bare for throughput and CPU per call (the
medians of the rounds' ratios). Then p99 at a fixed `--rate` with the Python client
(Debian has no wrk2), resident memory, and audit records per fsync.

    uv run python bench/gateway.py [--seconds 3] [--rounds 3] [--concurrency 16 64]
        [--rate 500] [--postgres URL] [--workers N]

Bollard on PostgreSQL runs when `--postgres` (default `$BOLLARD_TEST_POSTGRES_URL`)
names a database, in a schema of its own there, dropped at the end; `--workers N`
serves it with `bollard serve --workers N` (limits in `$BOLLARD_TEST_REDIS_URL`), and
the targets block then gives its req/s per worker and its ratio per core against the
bare pass-through's single process, beside the host's core count (which the workers
share with wrk, the sandbox, PostgreSQL and Redis).
The helpers below (process, open_loop, wrk, ...) serve the other bench scripts too.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
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
    port: int, proc: subprocess.Popen[bytes], errors: IO[bytes], timeout: float = 120
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


def medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each field's median over the rounds' rows."""
    return {f: statistics.median(row[f] for row in rows) for f in rows[0]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (noise-proof, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int, tid: int) -> float:
    """User + system CPU one thread of a process has used so far (the main thread, which
    runs the event loop, has tid == pid)."""
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rpartition(")")[2].split()
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


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    key: str
    pid: int


def process_tree(pid: int) -> list[int]:
    """pid and every process below it (the workers of `serve --workers`, granian's)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        with suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def wrk_command() -> str:
    """wrk's path; installed from Debian's package when missing (as root), else exit
    saying how to install it."""
    found = shutil.which("wrk")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk is not installed: apt-get install -y wrk (Debian's package) ...", flush=True)
        for step in (["apt-get", "update"], ["apt-get", "install", "-y", "wrk"]):
            subprocess.run(step, check=False, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        sys.exit(
            "bench/gateway.py drives its load with wrk, which is not installed here and "
            "could not be installed: as root, apt-get update && apt-get install -y wrk "
            "(Debian's package), then run the bench again"
        )
    return found


def wrk(
    target: Target,
    seconds: float,
    concurrency: int,
    processes: Callable[[int], list[int]] = lambda pid: [pid],
) -> dict[str, float]:
    """One closed-loop wrk run (1 thread, `concurrency` connections) against `target`.

    Returns req/s, p50/p99 (ms), the target process's CPU per request (ms), that of its
    main thread (the event loop) alone, and wrk's own (ms), so a reader can see the
    generator is not the bottleneck. `processes` names
    the processes whose CPU counts (default: the target's own).
    """
    cmd = [
        *(wrk_command(), "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s"),
        *("-s", str(ROOT / "bench" / "people_search.lua"), "-H", f"X-Api-Key: {target.key}"),
        target.url,
    ]
    pids = processes(target.pid)
    cpu = sum(cpu_seconds(p) for p in pids)
    loop = thread_cpu_seconds(target.pid, target.pid)
    mine = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = sum(cpu_seconds(p) for p in pids) - cpu
    loop = thread_cpu_seconds(target.pid, target.pid) - loop
    found = json.loads(out.strip().splitlines()[-1])
    n = found["requests"]
    failed = sum(found[k] for k in ("connect", "read", "write", "timeout", "non2xx"))
    if failed or not n:
        raise RuntimeError(f"{target.name}: {failed} of {n} requests failed: {out}")
    wrk_cpu = (used.ru_utime + used.ru_stime) - (mine.ru_utime + mine.ru_stime)
    return {
        "rps": n / (found["duration_us"] / 1e6),
        "p50": found["p50_us"] / 1000,
        "p99": found["p99_us"] / 1000,
        "cpu_ms": server_cpu / n * 1000,
        "loop_ms": loop / n * 1000,
        "wrk_cpu_ms": wrk_cpu / n * 1000,
        "requests": n,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3, help="each wrk run")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--rate-seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BOLLARD_TEST_POSTGRES_URL"),
        help="also run Bollard on this PostgreSQL, in a fresh schema "
        "(default: $BOLLARD_TEST_POSTGRES_URL; '' for none)",
    )
    ap.add_argument(
        "--workers", type=int, default=1, help="`bollard serve --workers` on PostgreSQL"
    )
    args = ap.parse_args()
    wrk_command()
    with ExitStack() as stack:
        database = stack.enter_context(postgres_schema(args.postgres)) if args.postgres else None
        run(args, database, stack)


def start_bollard(
    stack: ExitStack, name: str, sandbox_url: str, database_url: str | None, workers: int = 1
) -> Target:
    env = bollard_env(sandbox_url, name=name, database_url=database_url)
    key = create_agent(env)
    port = free_port()
    cmd = [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port)]
    if workers > 1:  # workers count rate limits together in Redis (serve refuses without)
        cmd += ["--workers", str(workers)]
        env["BOLLARD_REDIS_URL"] = os.environ.get("BOLLARD_TEST_REDIS_URL", "redis://127.0.0.1")
        env["BOLLARD_REDIS_PREFIX"] = f"bench{os.urandom(4).hex()}"
    pid = stack.enter_context(process(cmd, port, env))
    return Target(name, f"http://127.0.0.1:{port}", key, pid)


def run(args: argparse.Namespace, database_url: str | None, stack: ExitStack) -> None:
    py = sys.executable
    sp, pp = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sp}"
    sandbox_cmd = sandbox_command(sp, "people.search,people.enrich,organizations.search")
    bare_cmd = [py, "bench/passthrough.py", str(pp), sandbox_url, SCOPED]
    targets = [
        Target("direct", sandbox_url, SCOPED, stack.enter_context(process(sandbox_cmd, sp))),
        Target(
            "bare", f"http://127.0.0.1:{pp}", SCOPED, stack.enter_context(process(bare_cmd, pp))
        ),
        start_bollard(stack, "sqlite", sandbox_url, None),
    ]
    if database_url:
        targets.append(start_bollard(stack, "postgres", sandbox_url, database_url, args.workers))
    print(f"load before: {os.getloadavg()[0]:.2f} (1-minute average; {os.cpu_count()} cores)")
    for t in targets:
        wrk(t, 1, 16)  # warm up
    # Rounds: every target in turn at each concurrency, so a slow stretch of this shared
    # machine hits one round of all of them; each figure is the median of its rounds,
    # and each ratio the median of the rounds' ratios.
    runs: dict[int, dict[str, list[dict[str, float]]]] = {
        c: {t.name: [] for t in targets} for c in args.concurrency
    }
    for _ in range(args.rounds):
        for c in args.concurrency:
            for t in targets:
                with steal_meter() as steal:
                    row = wrk(t, args.seconds, c, process_tree)
                runs[c][t.name].append({**row, "steal": steal[0]})
    ratios = report_closed(args, runs, database_url is not None)
    fixed: dict[str, list[float]] = {t.name: [] for t in targets}
    histograms = asyncio.run(writer_histograms(targets[2].url))
    for _ in range(args.rounds):
        for t in targets:
            try:
                fixed[t.name] += asyncio.run(open_loop(t.url, t.key, args.rate_seconds, args.rate))
            except AssertionError as exc:  # a non-200: say so, and keep the other figures
                print(f"  at {args.rate} req/s, {t.name} answered {exc} (an overloaded host?)")
    rss = {t.name: sum(rss_mb(p) for p in process_tree(t.pid)) for t in targets[2:]}
    commits = asyncio.run(records_per_commit(targets[2].url))
    added = report_fixed(args, fixed, rss, commits)
    writer = writer_report(histograms, asyncio.run(writer_histograms(targets[2].url)))
    print(f"  the audit writer (sqlite) at {args.rate} req/s: {writer}")
    report_targets(args, ratios, added, rss)
    if database_url:
        report_per_core(args, runs)
    print(f"load after: {os.getloadavg()[0]:.2f}")


Ratios = dict[tuple[str, int], tuple[float, float]]  # (store, concurrency) -> throughput, CPU


def report_closed(
    args: argparse.Namespace, runs: dict[int, dict[str, list[dict[str, float]]]], postgres: bool
) -> Ratios:
    """Print each target's figures and Bollard/bare; return Bollard/bare by store."""
    ratios: Ratios = {}
    print(
        f"people search, wrk -t1, {args.rounds} rounds of {args.seconds:g}s per target and "
        "concurrency, loopback, medians; sqlite/postgres: Bollard's store"
        + (" (PostgreSQL on this machine)" if postgres else "")
    )
    for c, by_target in runs.items():
        print(f"  concurrency {c}:")
        for name, rows in by_target.items():
            r = medians(rows)
            print(
                f"    {name:8s} {r['rps']:7.0f} req/s  p50 {r['p50']:6.2f}  p99 {r['p99']:6.2f} ms"
                f"  CPU/req {r['cpu_ms']:.3f} ms (event loop {r['loop_ms']:.3f})"
                f"  (wrk {r['wrk_cpu_ms']:.3f} ms, steal {r['steal']:.0%})"
            )
        for name in ("sqlite", "postgres"):
            if name not in by_target:
                continue
            pairs = list(zip(by_target[name], by_target["bare"], strict=True))
            tput = [b["rps"] / p["rps"] for b, p in pairs]
            cpu = [b["cpu_ms"] / p["cpu_ms"] for b, p in pairs]
            workers = ""
            if name == "postgres" and args.workers > 1:
                per = statistics.median(tput) / args.workers
                workers = f" ({args.workers} workers; throughput per worker {per:.2f})"
            print(
                f"    {name}/bare{workers}: throughput {statistics.median(tput):.2f} "
                f"(rounds {' '.join(f'{x:.2f}' for x in tput)}), CPU per call "
                f"{statistics.median(cpu):.2f} (rounds {' '.join(f'{x:.2f}' for x in cpu)})"
            )
            ratios[name, c] = (statistics.median(tput), statistics.median(cpu))
    return ratios


def report_fixed(
    args: argparse.Namespace, fixed: dict[str, list[float]], rss: dict[str, float], commits: float
) -> dict[str, float]:
    """Print the fixed-rate p99s, memory and records per commit; return each target's
    p99 added over direct's (ms)."""
    direct99 = pct(fixed["direct"], 99)
    print(
        f"  at {args.rate} req/s for {args.rate_seconds:g}s x {args.rounds} (Python client): "
        + ", ".join(
            f"{name} p99 {pct(lat, 99):.2f} ms (+{pct(lat, 99) - direct99:.2f})"
            for name, lat in fixed.items()
            if lat
        )
    )
    print("  resident memory: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in rss.items()))
    print(f"  audit records per durable commit (sqlite): {commits:.1f}")
    return {name: pct(lat, 99) - direct99 for name, lat in fixed.items() if lat}


def report_targets(
    args: argparse.Namespace, ratios: Ratios, added: dict[str, float], rss: dict[str, float]
) -> None:
    """Issue 23's targets against this run's figures (PostgreSQL's are noted, not judged)."""
    print("targets (Bollard on SQLite; PostgreSQL noted):")
    for (store, c), (tput, cpu) in ratios.items():
        judged = store == "sqlite"
        print(
            f"  {store} c={c}: throughput/bare {tput:.2f} (>= 0.60: {_met(tput >= 0.60, judged)}),"
            f" CPU per call/bare {cpu:.2f} (<= 1.70: {_met(cpu <= 1.70, judged)})"
        )
    for store in ("sqlite", "postgres"):
        if store in added:
            extra = added[store] - added.get("bare", 0.0)
            print(
                f"  {store}: p99 added over direct at {args.rate} req/s {added[store]:.2f} ms "
                f"(<= 5 ms: {_met(added[store] <= 5, store == 'sqlite')}; the bare "
                f"pass-through adds {added.get('bare', 0.0):.2f}, Bollard {extra:+.2f} more)"
            )
        if store in rss:
            print(f"  {store}: resident memory {rss[store]:.0f} MB (< 200: "
                  f"{_met(rss[store] < 200, store == 'sqlite')})")  # fmt: skip


def report_per_core(
    args: argparse.Namespace, runs: dict[int, dict[str, list[dict[str, float]]]]
) -> None:
    """Bollard on PostgreSQL, N workers: req/s per worker and, per core, against the bare
    pass-through's one process (each worker counted as a core of its own)."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    for c, by_target in runs.items():
        pairs = list(zip(by_target["postgres"], by_target["bare"], strict=True))
        per_worker = statistics.median(p["rps"] / args.workers for p, _ in pairs)
        per_core = [p["rps"] / args.workers / b["rps"] for p, b in pairs]
        print(
            f"  postgres c={c}, {args.workers} worker{'s' if args.workers > 1 else ''}: "
            f"{per_worker:.0f} req/s per worker, per core/bare's one process "
            f"{statistics.median(per_core):.2f} "
            f"(rounds {' '.join(f'{x:.2f}' for x in per_core)})"
        )
    print(
        f"  cores: this host has {cores} ({usable} usable here); the workers share them "
        "with wrk, the sandbox, PostgreSQL and Redis, all on this machine"
    )


def _met(ok: bool, judged: bool) -> str:
    word = "met" if ok else "missed"
    return word if judged else f"{word}, noted"


if __name__ == "__main__":
    main()
