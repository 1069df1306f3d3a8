"""Fixtures: a small sandbox on a manual clock, and an HTTP client to its real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bollard.sandbox import ManualClock, Sandbox, SandboxConfig, create_sandbox

MASTER = "master-key-for-tests"
SCOPED = "scoped-key-for-tests"
# A scoped key holding every action, so only the master-key rule can refuse it.
SCOPED_ALL = "scoped-all-key-for-tests"
SCOPED_ACTIONS = ("people.search", "contacts.create", "contacts.search")

ALL_ACTIONS = (
    "people.search",
    "people.enrich",
    "people.bulk_enrich",
    "organizations.search",
    "organizations.enrich",
    "contacts.create",
    "contacts.update",
    "contacts.search",
    "accounts.create",
    "accounts.update",
    "accounts.search",
    "sequences.search",
    "sequences.add_contacts",
    "tasks.create",
    "tasks.search",
    "deals.create",
    "deals.update",
    "deals.list",
    "users.list",
    "usage.stats",
)


def small_config(**overrides: Any) -> SandboxConfig:
    """A sandbox small enough to build per test (the default size has its own test)."""
    values: dict[str, Any] = {
        "master_keys": (MASTER,),
        "scoped_keys": {SCOPED: SCOPED_ACTIONS, SCOPED_ALL: ALL_ACTIONS},
        "people": 2_000,
        "organizations": 400,
        "clock": ManualClock(),
    }
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Sandbox:
    return create_sandbox(small_config())


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": MASTER}
    ) as c:
        yield c
