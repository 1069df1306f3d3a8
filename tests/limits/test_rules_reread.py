"""The limit rules are re-read in the background: calls under load never wait for the read,
and still never act on rules older than RULES_TTL.

On PostgreSQL, where a table lock can hold the re-read for as long as the test likes.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bollard.catalog import Catalog
from bollard.limits import Limiter
from bollard.limits.counters import MemoryCounters
from bollard.limits.limiter import RULES_TTL
from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from bollard.store import open_store
from tests.harness import Clock, wait_until_async

pytestmark = pytest.mark.anyio


async def test_the_rules_are_reread_ahead_of_time_and_never_used_past_their_age(
    postgres_url: str, catalog: Catalog, clock: Clock
) -> None:
    store = open_store(postgres_url)
    limiter = Limiter(store, catalog, MemoryCounters(clock), clock=clock)
    locker = store.connect()
    try:
        assert "research" not in (await limiter.rules()).agents
        set_rule(store, LimitRule("research", per_minute=5), clock())

        # Past half their age, a call starts a re-read and goes on with what it has.
        clock.advance(RULES_TTL * 0.6)

        async def reread() -> bool:
            return "research" in (await limiter.rules()).agents

        await wait_until_async(reread, "the rules re-read in the background")

        # The table locked: a read would wait. The rules are fresh from the re-read,
        # so a call at the old rules' full age does not (it starts the next re-read).
        locker.execute(text("LOCK TABLE limits IN ACCESS EXCLUSIVE MODE"))
        clock.advance(RULES_TTL * 0.6)
        rules = await asyncio.wait_for(limiter.rules(), timeout=5)
        assert "research" in rules.agents

        # Past RULES_TTL with the re-read still held: a call waits rather than use them.
        clock.advance(RULES_TTL * 0.6)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(limiter.rules(), timeout=0.5)
        locker.rollback()
        assert "research" in (await asyncio.wait_for(limiter.rules(), timeout=5)).agents
    finally:
        locker.rollback()
        locker.close()
        await limiter.aclose()
        store.dispose()
