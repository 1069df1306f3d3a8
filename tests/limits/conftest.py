"""Fixtures for the limits tests: a moved clock, the store, and both counter backends.

`limiter` runs a test once with counters in process and once with counters
in Redis (`BOLLARD_TEST_REDIS_URL`; skipped locally without it, a failure
under CI). Each Redis limiter gets its own key prefix, so tests never see
each other's counters, and checks afterwards that every key it left expires.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy import Engine

from bollard.catalog import Catalog, load_catalog
from bollard.limits import Limiter
from bollard.limits.counters import MemoryCounters
from bollard.limits.redis import RedisCounters
from tests.harness import (
    REDIS_ENV,
    START,
    Clock,
    drop_keys,
    keys_without_expiry,
    redis_url,
)

__all__ = [
    "REDIS_ENV",
    "START",
    "Clock",
    "MakeLimiter",
    "drop_keys",
    "keys_without_expiry",
    "redis_url",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def store(engine: Engine) -> Engine:
    """The migrated store (migration 0002_limits adds the limits tables)."""
    return engine


MakeLimiter = Callable[..., Limiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def limiter(
    backend: str, store: Engine, catalog: Catalog, clock: Clock, request: pytest.FixtureRequest
) -> AsyncIterator[Limiter]:
    """A limiter on `store` with in-process or Redis counters, on the moved clock."""
    if backend == "memory":
        made = Limiter(store, catalog, MemoryCounters(clock), clock=clock)
        yield made
        await made.aclose()
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"bt{secrets.token_hex(6)}"
    made = Limiter(store, catalog, RedisCounters.from_url(url, clock), clock=clock, prefix=prefix)
    yield made
    await made.aclose()
    try:
        assert keys_without_expiry(url, prefix) == []
    finally:
        drop_keys(url, prefix)


@pytest.fixture
def run() -> Iterator[Callable[..., object]]:
    """Run a coroutine to completion from a sync test (for Hypothesis machines)."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()
