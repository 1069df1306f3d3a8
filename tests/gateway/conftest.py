"""A real Bollard on loopback in front of a real sandbox on loopback.

`bollard_server` runs `create_app` under uvicorn on 127.0.0.1 and points it at
a sandbox served the same way, with a scoped and a master Apollo key. Tests
talk to it with httpx over real HTTP and look at what the sandbox received.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, delete, select, text

from bollard.agents import Agents
from bollard.app import create_app
from bollard.catalog import load_catalog
from bollard.gateway import Gateway
from bollard.loopback import LoopbackServer
from bollard.sandbox import Sandbox, SandboxConfig, create_sandbox
from bollard.settings import Settings
from bollard.store import open_store
from bollard.store.tables import access_version, audit_records

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
            text(f"CREATE TRIGGER {name} BEFORE INSERT ON audit_records {when}BEGIN {action}; END")
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
