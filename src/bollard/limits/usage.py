"""What `bollard usage` shows, and the fetch that reads Apollo's usage stats.

Agents' own windows are live when counters are in Redis; with in-process
counters they live inside the serving process, so the CLI says so instead of
showing zeros. Apollo's windows come live from Redis, else from the snapshot
of the last usage sync. Credits always come from the SQL ledger.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bollard.limits import ledger, rule_store
from bollard.limits.limiter import Fetch, Limiter
from bollard.limits.redis import RedisCounters
from bollard.limits.rules import Check, apollo_key, budgets_of
from bollard.limits.windows import WINDOW_NAMES, apollo_endpoint, iso
from bollard.settings import Settings
from bollard.upstream import MAX_REPLY_BYTES, read_capped

USAGE_PATH = "/api/v1/usage_stats/api_usage_stats"


def usage_fetch(settings: Settings) -> Fetch | None:
    """A fetch of Apollo's usage stats with the master key, or None without one."""
    if settings.apollo_master_key is None:
        return None
    key = settings.apollo_master_key.get_secret_value()
    url = settings.apollo_url.rstrip("/") + USAGE_PATH
    timeout = aiohttp.ClientTimeout(
        connect=settings.upstream_connect_timeout, total=settings.upstream_read_timeout
    )

    async def fetch() -> tuple[int, bytes]:
        # The master key goes to the configured host only: a redirect is not followed
        # (the sync then fails on its 3xx status), and an answer is read up to the cap.
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(
                url, json={}, headers={"x-api-key": key}, allow_redirects=False
            ) as response,
        ):
            body = await read_capped(response, MAX_REPLY_BYTES)
            if body is None:
                return 502, b"usage stats larger than Bollard reads"
            return response.status, body

    return fetch


async def agent_usage(limiter: Limiter, agent: str) -> dict[str, Any]:
    """One agent's rules, windows and credits, as JSON-ready data."""
    rules = (await limiter.rules()).for_agent(agent)
    now = limiter.clock()
    spent = await asyncio.to_thread(ledger.balances, limiter.engine, agent, now)
    used = {(b.scope, b.period): b.used for b in spent}
    credits = []
    for budget in budgets_of(rules):
        taken = used.get((budget.scope, budget.period), 0)
        credits.append(
            {
                "action": budget.scope,
                "period": budget.period,
                "budget": budget.limit,
                "spent": taken,
                "left": max(0, budget.limit - taken),
                "resets_at": iso(ledger.period_end(budget.period, now)),
            }
        )
    return {
        "agent": agent,
        "limits": [rule_store.rule_dict(r) for r in rules],
        "windows": await _windows(limiter, agent),
        "credits": credits,
        "credits_spent": [
            {"action": b.scope, "period": b.period, "spent": b.used}
            for b in sorted(spent, key=lambda b: (b.scope, b.period))
        ],
    }


async def _windows(limiter: Limiter, agent: str) -> list[dict[str, Any]] | None:
    if not isinstance(limiter.counters, RedisCounters):
        return None
    rows = await limiter.windows(agent)
    for row in rows:
        row["resets_at"] = iso(row["resets_at"])
    return rows


async def apollo_usage(limiter: Limiter) -> list[dict[str, Any]]:
    """Apollo's windows per endpoint: live from Redis, else as last synced."""
    if not isinstance(limiter.counters, RedisCounters):
        rows = await asyncio.to_thread(rule_store.load_windows, limiter.engine)
        return [{**r, "reported_at": iso(r["reported_at"]), "source": "last sync"} for r in rows]
    pairs = [
        (s, w) for s in sorted({a.key_scope for a in limiter.catalog.actions}) for w in WINDOW_NAMES
    ]
    checks = [Check("apollo", apollo_key(s, w, limiter.prefix), w) for s, w in pairs]
    values = await limiter.counters.read(checks)
    return [
        {
            "endpoint": apollo_endpoint(scope),
            "window": window,
            "limit": limit,
            "used": used,
            "resets_at": iso(reset_at),
            "source": "live",
        }
        for (scope, window), (used, limit, reset_at) in zip(pairs, values, strict=True)
        if limit is not None or used
    ]


async def usage_report(limiter: Limiter, agent: str | None) -> dict[str, Any]:
    """Everything `bollard usage [NAME]` shows."""
    names = [agent] if agent is not None else list((await limiter.rules()).agents)
    events = await asyncio.to_thread(rule_store.load_events, limiter.engine)
    return {
        "agents": [await agent_usage(limiter, name) for name in names],
        "apollo": await apollo_usage(limiter),
        "events": events,
        "counters": "redis" if isinstance(limiter.counters, RedisCounters) else "in-process",
    }
