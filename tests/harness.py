"""The shared test harness: a real Bollard on loopback, its clients, and how to wait.

Importable from any test (`from tests.harness import Bollard, mcp_session`); the
conftest files import their fixtures from here, so every fixture name works as before.

- Waiting: `wait_until` (a condition, polled, with a deadline), `wait_ready` (a server
  answering), `clear_of_boundary` (not in the last seconds of a wall-clock window).
- Clocks: `Clock`, moved by hand, from `START`.
- Stores: `postgres_schema_url` (a PostgreSQL schema of one's own), `redis_url`.
- The gateway: `start_bollard` runs `create_app` under uvicorn on 127.0.0.1 in front
  of a sandbox served the same way, with a scoped and a master Apollo key; tests talk
  to it with httpx over real HTTP and look at what the sandbox received.
- MCP: `mcp_session` opens the official SDK's client session to Bollard's /mcp.
- The console: `sign_in`, `admin` (a Bollard with a known admin token), `console`.
- Policy: `changes`, `add_rule`, as every admin change is made; `cli`, the real CLI on
  a running Bollard's database.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import mcp_types as types
import psycopg
import pytest
from click.testing import CliRunner, Result
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from redis import Redis
from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bollard.agents import Agents
from bollard.app import create_app
from bollard.catalog import load_catalog
from bollard.changes import Actor, AdminChanges
from bollard.cli import main
from bollard.gateway import Gateway
from bollard.loopback import LoopbackServer
from bollard.policy import Rule
from bollard.sandbox import Sandbox, SandboxConfig, create_sandbox
from bollard.settings import Settings
from bollard.store import open_store
from bollard.store.tables import access_version, audit_records

# ─── waiting ─────────────────────────────────────────────────────────────────

POLL = 0.01


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Return once `condition()` holds; fail naming `what` if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(POLL)


async def wait_until_async(
    condition: Callable[[], Awaitable[bool]], what: str, within_s: float = 10.0
) -> None:
    """`wait_until` for a condition that is awaited, without blocking the event loop."""
    deadline = time.monotonic() + within_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within_s:g} s")
        await asyncio.sleep(POLL)


def wait_ready(
    url: str,
    path: str = "/readyz",
    process: subprocess.Popen[bytes] | None = None,
    timeout: float = 60.0,
) -> str:
    """`url` once GET `url + path` answers 200; a `process` that exits first fails the wait
    with what it wrote to stderr."""

    def answering() -> bool:
        if process is not None and process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"the server exited ({process.returncode}): {err}")
        try:
            return httpx.get(url + path, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answering, f"{url}{path} answering 200", timeout)
    return url


def clear_of_boundary(period_s: float, margin_s: float) -> None:
    """Begin at least `margin_s` before the end of the current wall-clock window of
    `period_s` (a minute, an hour): windows kept on the wall clock roll over at a
    moment, not on an event, so a test that must stay in one waits that moment out."""
    left = period_s - time.time() % period_s
    if left < margin_s:
        time.sleep(left + 0.05)


# ─── clocks ──────────────────────────────────────────────────────────────────

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


# ─── stores ──────────────────────────────────────────────────────────────────

POSTGRES_ENV = "BOLLARD_TEST_POSTGRES_URL"
REDIS_ENV = "BOLLARD_TEST_REDIS_URL"


def postgres_schema_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL schema of its own, dropped afterwards (a generator
    for a fixture to `yield from`): skipped without `BOLLARD_TEST_POSTGRES_URL`, a
    failure under CI."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set, and CI must run the PostgreSQL tests")
        pytest.skip(f"set {POSTGRES_ENV} to run against PostgreSQL")
    schema = f"t_{secrets.token_hex(8)}"
    url = make_url(base)
    # Pinged on checkout: a test may cut every connection (as a server restart would).
    admin = create_engine(url.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    try:
        with admin.begin() as conn:
            conn.execute(sql(f"CREATE SCHEMA {schema}"))
        pinned = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield pinned.render_as_string(hide_password=False)
    finally:
        try:
            _drop_schema(admin, schema)
        finally:
            admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema; PostgreSQL may pick the drop as a deadlock's victim while a
    Bollard the test started still writes there (its checkpoints), so try again."""
    for attempt in range(5):
        try:
            with admin.begin() as conn:
                conn.execute(sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            return
        except OperationalError as exc:
            if attempt == 4 or not isinstance(exc.orig, psycopg.errors.DeadlockDetected):
                raise


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


# ─── the gateway ─────────────────────────────────────────────────────────────

SCOPED_KEY = "sandbox-scoped-key-3f9a1c"
MASTER_KEY = "sandbox-master-key-77b2e0"
AUDIT_KEY = "test-audit-key-0b1c"


@dataclass
class Bollard:
    url: str
    engine: Engine
    agents: Agents
    sandbox: Sandbox
    settings: Settings
    server: LoopbackServer
    gateway: Gateway

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        sent = dict(headers)
        if key is not None:
            sent["X-Api-Key"] = key
        return httpx.Client(base_url=self.url, headers=sent, timeout=10)

    def settle(self) -> None:
        """Wait until every audit record queued so far is committed (outcomes are
        committed just after the agent is answered)."""
        self.server.call(self.gateway.audit.flush())

    def records(self) -> list[dict[str, Any]]:
        self.settle()
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_records).order_by(audit_records.c.seq))
            return [dict(r._mapping) for r in rows]


def keys_made_uncheckable(bollard: Bollard, grant: str) -> str:
    """An agent's key, and then the row every key check reads (access_version) gone:
    a real error from the real database while deciding."""
    _, key = bollard.agents.create("unlucky", [grant])
    with bollard.engine.begin() as conn:
        conn.execute(delete(access_version))
    return key


def audit_insert_trigger(engine: Engine, name: str, action: str, kind: str = "") -> None:
    """A SQLite trigger run before each audit record insert (of one `kind`, if given):
    a real failure or delay from the real database, on the real insert path."""
    when = f"WHEN NEW.kind = '{kind}' " if kind else ""
    with engine.begin() as conn:
        conn.execute(
            sql(f"CREATE TRIGGER {name} BEFORE INSERT ON audit_records {when}BEGIN {action}; END")
        )


def sandbox_config(**overrides: Any) -> SandboxConfig:
    covered = tuple(a.id for a in load_catalog().actions if not a.master_key)
    values: dict[str, Any] = {
        "master_keys": (MASTER_KEY,),
        "scoped_keys": {SCOPED_KEY: covered},
        "people": 500,
        "organizations": 100,
    }
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    box = create_sandbox(sandbox_config())
    with LoopbackServer(box.app) as server:
        yield box, server.url


StartBollard = Callable[..., Bollard]


@pytest.fixture
def start_bollard(tmp_path: Path, sandbox: tuple[Sandbox, str]) -> Iterator[StartBollard]:
    """Start Bollard with settings overrides; stopped at the end of the test."""
    servers: list[LoopbackServer] = []
    engines: list[Engine] = []

    def start(
        database_url: str | None = None, clock: Callable[[], float] | None = None, **overrides: Any
    ) -> Bollard:
        box, url = sandbox
        values: dict[str, Any] = {
            "database_url": database_url or f"sqlite:///{tmp_path / 'bollard.db'}",
            "apollo_url": url,
            "apollo_key": SCOPED_KEY,
            "apollo_master_key": MASTER_KEY,
            "audit_key": AUDIT_KEY,
            "state_dir": tmp_path / "state",
            "upstream_read_timeout": 2.0,
            # No background usage sync: tests count exactly what reached the sandbox.
            "usage_sync_seconds": 0,
        }
        values.update(overrides)
        settings = Settings.model_validate(values)
        engine = open_store(settings.database_url)
        engines.append(engine)
        app = create_app(settings, engine=engine, clock=clock or time.time)
        server = LoopbackServer(app).start()
        servers.append(server)
        agents = Agents(engine, load_catalog())
        return Bollard(server.url, engine, agents, box, settings, server, app.state.gateway)

    yield start
    for server in servers:
        server.stop()
    for engine in engines:
        engine.dispose()


@pytest.fixture
def bollard(start_bollard: StartBollard) -> Bollard:
    return start_bollard()


# ─── MCP ─────────────────────────────────────────────────────────────────────

Era = Literal["legacy", "modern"]
TIMEOUT = 10.0


@asynccontextmanager
async def mcp_session(
    url: str, key: str | None, era: Era = "legacy", headers: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    """A connected MCP client session to Bollard at `url` (its base URL), in either
    protocol era: `"legacy"` runs the initialize handshake, `"modern"` the stateless
    2026-07-28 `server/discover`. Bounded by `read_timeout_seconds`: no test waits forever."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    async with (
        create_mcp_http_client(headers=sent) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session,
    ):
        if era == "modern":
            await session.discover()
        else:
            await session.initialize()
        yield session


def text(result: types.CallToolResult, index: int = 0) -> str:
    """The text of one content block of a tool result ('' when it is not text)."""
    block = result.content[index]
    return block.text if isinstance(block, types.TextContent) else ""


# ─── the console ─────────────────────────────────────────────────────────────

ADMIN_TOKEN = "test-admin-token-5d1e"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Console:
    """A signed-in browser-like client and its session's CSRF token."""

    client: httpx.Client
    csrf: str
    bollard: Bollard


@pytest.fixture
def admin(start_bollard: StartBollard) -> Bollard:
    return start_bollard(admin_token=ADMIN_TOKEN)


def sign_in(client: httpx.Client, token: str = ADMIN_TOKEN) -> httpx.Response:
    """Post the sign-in form with its own CSRF token; the client keeps the cookies."""
    form = client.get("/admin/login")
    found = CSRF_INPUT.search(form.text)
    assert found is not None
    return client.post(
        "/admin/login", data={"csrf": found[1], "token": token, "next": "/admin/agents"}
    )


@pytest.fixture
def console(admin: Bollard) -> Iterator[Console]:
    with httpx.Client(base_url=admin.url, timeout=10, follow_redirects=True) as client:
        page = sign_in(client)
        meta = CSRF_META.search(page.text)
        assert page.status_code == 200
        assert meta is not None
        yield Console(client, meta[1], admin)


# ─── policy ──────────────────────────────────────────────────────────────────

ADMIN = Actor("alice@example.com", "cli")


def changes(bollard: Bollard) -> AdminChanges:
    """The server's own way of making admin changes (its checkpointer seals the records)."""
    return AdminChanges(bollard.engine, bollard.agents, bollard.gateway.audit.checkpointer)


def add_rule(
    bollard: Bollard,
    agent: str | None,
    selector: str,
    effect: str = "deny",
    when: str | None = None,
    *,
    fields: Sequence[str] = (),
    shadow: bool = False,
    reason: str = "",
) -> Rule:
    rule = Rule(0, agent, selector, effect, reason, when, tuple(fields), shadow)
    return changes(bollard).add_rule(ADMIN, rule)


def cli(bollard: Bollard, *args: str) -> Result:
    """The real CLI on the server's database and state (its audit key seals the records)."""
    env = {
        "BOLLARD_DATABASE_URL": bollard.settings.database_url,
        "BOLLARD_STATE_DIR": str(bollard.settings.state_dir),
    }
    if bollard.settings.audit_key is not None:
        env["BOLLARD_AUDIT_KEY"] = bollard.settings.audit_key.get_secret_value()
    return CliRunner().invoke(main, list(args), env=env)
