"""When Redis cannot be reached: budgets and (by default) rate limits fail closed."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bollard.catalog import Catalog
from bollard.errors import RateLimited
from bollard.limits import Limiter
from bollard.limits.limiter import FAILED_OPEN
from bollard.limits.redis import RedisCounters
from bollard.limits.refusals import BudgetExhausted
from bollard.limits.rule_store import load_events, set_rule
from bollard.limits.rules import LimitRule
from tests.harness import Clock

pytestmark = pytest.mark.anyio

# Nothing listens on port 1: every Redis call fails at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def dead_limiter(store: Engine, catalog: Catalog, clock: Clock, *, fail_open: bool) -> Limiter:
    counters = RedisCounters.from_url(DEAD_REDIS, clock)
    return Limiter(store, catalog, counters, clock=clock, fail_open=fail_open)


async def test_rate_limits_fail_closed_by_default_when_redis_is_down(
    store: Engine, catalog: Catalog, clock: Clock
) -> None:
    limiter = dead_limiter(store, catalog, clock, fail_open=False)
    search = catalog.get("people.search")
    assert search is not None
    with pytest.raises(RateLimited) as refused:
        await limiter.admit("research", search, {})
    await limiter.aclose()
    assert "could not be checked (Redis: ConnectionError)" in refused.value.message
    assert refused.value.headers == {"Retry-After": "1"}


async def test_failing_open_is_a_setting_and_every_fail_open_is_counted(
    store: Engine, catalog: Catalog, clock: Clock
) -> None:
    limiter = dead_limiter(store, catalog, clock, fail_open=True)
    search = catalog.get("people.search")
    assert search is not None
    for _ in range(3):
        admission = await limiter.admit("research", search, {})
        await limiter.settle(admission, 200, {"x-rate-limit-minute": "5"}, b"{}")
    await limiter.aclose()
    assert limiter.failed_open == 3
    assert load_events(store) == {FAILED_OPEN: 3}


async def test_credit_budgets_still_hold_when_rate_limits_fail_open(
    store: Engine, catalog: Catalog, clock: Clock
) -> None:
    set_rule(store, LimitRule("enricher", credits_per_day=1), clock())
    limiter = dead_limiter(store, catalog, clock, fail_open=True)
    enrich = catalog.get("organizations.enrich")
    assert enrich is not None
    await limiter.admit("enricher", enrich, {"domain": "apollo.io"})
    with pytest.raises(BudgetExhausted):
        await limiter.admit("enricher", enrich, {"domain": "apollo.io"})
    await limiter.aclose()
