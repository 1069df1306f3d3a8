"""Fixtures: a small sandbox on a manual clock, and an HTTP client to its real app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

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


class Receiver:
    """A tiny loopback HTTP server that keeps what it was sent."""

    def __init__(self) -> None:
        self.payloads: list[Any] = []
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.payloads.append(await request.json())
        self.arrived.set()
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    box = Receiver()
    app = web.Application()
    app.router.add_post("/hook", box.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    box.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield box
    finally:
        await runner.cleanup()
