"""Fixtures for the limits tests: a moved clock, the store, and both counter backends.

`limiter` runs a test once with counters in process and once with counters
in Redis (`BOLLARD_TEST_REDIS_URL`; skipped locally without it, a failure
under CI). Each Redis limiter gets its own key prefix, so tests never see
each other's counters, and checks afterwards that every key it left expires.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from redis import Redis
from sqlalchemy import Engine

from bollard.catalog import Catalog, load_catalog
from bollard.limits import Limiter
from bollard.limits.counters import MemoryCounters
from bollard.limits.redis import RedisCounters

REDIS_ENV = "BOLLARD_TEST_REDIS_URL"
# 2026-01-01T00:00:00Z, a day and month boundary: every window starts at 0.
START = 1_767_225_600.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{REDIS_ENV} is not set, and CI must run the Redis tests")
        pytest.skip(f"set {REDIS_ENV} to run against Redis")
    return url


def keys_without_expiry(url: str, prefix: str) -> list[str]:
    """Keys under `prefix` that would live for ever."""
    client = Redis.from_url(url)
    try:
        return [k.decode() for k in client.scan_iter(f"{prefix}:*") if client.ttl(k) < 0]
    finally:
        client.close()


def drop_keys(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    finally:
        client.close()


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
