"""Per-call cost of limits and budgets: admit + settle, in process and with Redis.

    uv run python bench/limits_cost.py [--redis redis://127.0.0.1:6379/15] [-n 3000]

Two calls are timed: people.search (free: window counters only, no SQL) and
organizations.enrich (credits: counters plus a reservation and a settlement
in the SQL ledger, here SQLite in a temporary directory). The agent has a
per-minute, per-hour and per-day limit, a share of Apollo's window and a
daily and monthly budget large enough never to refuse.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from redis import Redis

from bollard.catalog import Action, load_catalog
from bollard.limits import Limiter
from bollard.limits.counters import MemoryCounters
from bollard.limits.redis import RedisCounters
from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from bollard.store import open_store

HEADERS = {
    "x-rate-limit-minute": "1000000",
    "x-minute-usage": "1",
    "x-minute-requests-left": "999999",
}


async def per_call_us(limiter: Limiter, action: Action, n: int) -> float:
    args = {"domain": "apollo.io"}
    for _ in range(50):  # warm up (script load, connections, rule cache)
        await limiter.settle(await limiter.admit("bench", action, args), 200, HEADERS, b"{}")
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            admission = await limiter.admit("bench", action, args)
            await limiter.settle(admission, 200, HEADERS, b'{"organization": {}}')
        samples.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(samples)


async def run(redis_url: str | None, n: int) -> None:
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        rule = LimitRule(
            "bench",
            per_minute=10**9,
            per_hour=10**9,
            per_day=10**9,
            credits_per_day=10**9,
            credits_per_month=10**9,
            share_of_apollo=100,
        )
        set_rule(engine, rule, time.time())
        backends: list[tuple[str, Limiter, str | None]] = [
            ("in-process", Limiter(engine, catalog, MemoryCounters(time.time)), None)
        ]
        if redis_url:
            prefix: str | None = f"bench{secrets.token_hex(4)}"
            counters = RedisCounters.from_url(redis_url)
            limiter = Limiter(engine, catalog, counters, prefix=str(prefix))
            backends.append(("redis", limiter, prefix))
        for name, limiter, prefix in backends:
            for action_id, calls in (("people.search", n), ("organizations.enrich", n // 5)):
                action = catalog.get(action_id)
                assert action is not None
                cost = await per_call_us(limiter, action, calls)
                print(f"{name:10} {action_id:21} admit+settle {cost:8.1f} µs/call")
            await limiter.aclose()
            if redis_url and prefix:
                client = Redis.from_url(redis_url)
                for key in client.scan_iter(f"{prefix}:*"):
                    client.delete(key)
                client.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=None, help="Redis URL for the Redis backend")
    parser.add_argument("-n", type=int, default=3000, help="calls per sample")
    options = parser.parse_args()
    asyncio.run(run(options.redis, options.n))


if __name__ == "__main__":
    main()
