"""One Bollard limiter process for the concurrency test: run as `python -m tests.limits.hammer`.

Reads its orders as JSON on the first line of stdin, builds a limiter on the
shared PostgreSQL and Redis, waits for "go" on the next line (so both
processes start together), fires every call at once, and prints one JSON
line per call: the action, whether it was admitted, and its window start.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bollard.catalog import load_catalog
from bollard.errors import RateLimited
from bollard.limits import Limiter
from bollard.limits.redis import RedisCounters
from bollard.store import engine_for


async def one(limiter: Limiter, agent: str, action_id: str) -> dict[str, Any]:
    action = load_catalog().get(action_id)
    assert action is not None
    try:
        admission = await limiter.admit(agent, action, {"domain": "apollo.io"})
    except RateLimited as exc:
        return {"action": action_id, "admitted": False, "code": exc.error_code, "why": exc.message}
    minute = next((t.start for t in admission.tokens if t.key.endswith(":minute")), None)
    await limiter.settle(admission, 200, {}, b'{"organization": {"id": "x"}}')
    return {"action": action_id, "admitted": True, "window": minute}


async def main() -> None:
    orders = json.loads(sys.stdin.readline())
    engine = engine_for(orders["database_url"])
    counters = RedisCounters.from_url(orders["redis_url"])
    limiter = Limiter(engine, load_catalog(), counters, prefix=orders["prefix"])
    await limiter.rules()
    print("ready", flush=True)
    sys.stdin.readline()
    calls = [one(limiter, orders["agent"], a) for a in orders["actions"]]
    for result in await asyncio.gather(*calls):
        print(json.dumps(result))
    await limiter.aclose()
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
