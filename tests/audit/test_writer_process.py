"""The audit writer in a process of its own (BOLLARD_AUDIT_WRITER=process).

The sandbox here is watched: on every call it receives, before answering, it reads
the database (through a connection of its own, which sees only what was committed)
for that call's request record. Either process is killed with SIGKILL: the gateway
must refuse when its writer is gone, and a writer whose gateway is gone must commit
what it received and end.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bollard.agents import Agents
from bollard.audit.process import WriterProcess
from bollard.audit.recovery import orphans
from bollard.catalog import load_catalog
from bollard.loopback import LoopbackServer
from bollard.sandbox import Sandbox, create_sandbox
from bollard.store import open_store
from tests.audit.test_crash import (
    Zygote,
    _markers_received,
    _markers_recorded,
    under_load,
    zygote_settings,
)
from tests.harness import (
    StartBollard,
    audit_insert_trigger,
    sandbox_config,
    wait_ready,
    wait_until,
)

SEARCH = "/api/v1/mixed_people/api_search"


class Watch:
    """What the sandbox saw: each call's marker, and whether its request record was
    committed when the call arrived."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.arrived: list[tuple[str, bool]] = []

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def watched(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
            marker = _marker(body)
            if marker is not None:
                engine = create_engine(f"sqlite:///{self.database}")
                try:
                    self.arrived.append((marker, marker in _markers_recorded(engine)))
                finally:
                    engine.dispose()
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await app(scope, replay, send)

        return watched


def _marker(body: bytes) -> str | None:
    try:
        titles = json.loads(body).get("person_titles")
    except (ValueError, AttributeError):
        return None
    return titles[0] if titles else None


@pytest.fixture
def watch(tmp_path: Path) -> Watch:
    return Watch(tmp_path / "bollard.db")


@pytest.fixture
def sandbox(watch: Watch) -> Iterator[tuple[Sandbox, str]]:
    roomy = (1_000_000, 10_000_000, 100_000_000)
    box = create_sandbox(sandbox_config(limits={"people.search": roomy}))
    with LoopbackServer(watch.wrap(box.app)) as server:
        yield box, server.url


def _call(client: httpx.Client, marker: str) -> httpx.Response:
    return client.post(SEARCH, json={"person_titles": [marker], "per_page": 1})


def test_every_call_reaches_apollo_after_its_request_record_is_committed(
    start_bollard: StartBollard, watch: Watch
) -> None:
    bollard = start_bollard(audit_writer="process")
    assert isinstance(bollard.gateway.audit, WriterProcess)
    _, key = bollard.agents.create("a", ["people:read"])
    markers = [f"m-{n}" for n in range(64)]
    with bollard.client(key) as client, ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda m: _call(client, m), markers))
    assert {r.status_code for r in replies} == {200}
    assert sorted(m for m, _ in watch.arrived) == sorted(markers)
    assert all(committed for _, committed in watch.arrived), watch.arrived
    records = bollard.records()
    assert [r["kind"] for r in records].count("request") == len(markers)
    assert [r["kind"] for r in records].count("outcome") == len(markers)


def test_a_killed_writer_process_means_every_call_is_refused_and_readyz_says_why(
    start_bollard: StartBollard, watch: Watch
) -> None:
    bollard = start_bollard(audit_writer="process")
    assert isinstance(bollard.gateway.audit, WriterProcess)
    writer = bollard.gateway.audit.pid
    assert writer is not None
    _, key = bollard.agents.create("a", ["people:read"])
    clients = [httpx.Client(headers={"X-Api-Key": key}, timeout=10) for _ in range(4)]
    try:
        with under_load(clients, bollard.url, join_seconds=20):
            wait_until(lambda: len(watch.arrived) >= 20, "calls under way")
            os.kill(writer, signal.SIGKILL)
            wait_until(lambda: bollard.gateway.audit.failure is not None, "the gateway told")
        reached = len(bollard.sandbox.calls)
        with bollard.client(key) as client:
            refused = _call(client, "after")
            ready = client.get("/readyz")
    finally:
        for client in clients:
            client.close()
    assert refused.status_code == 503
    assert refused.json()["error_code"] == "AUDIT_UNAVAILABLE"
    assert ready.status_code == 503
    assert "writer process stopped" in ready.json()["checks"]["audit"]
    assert len(bollard.sandbox.calls) == reached  # nothing more went up
    # Every call that went up had its request record committed when it arrived.
    assert all(committed for _, committed in watch.arrived), watch.arrived
    assert _markers_received(bollard.sandbox) <= _markers_recorded(bollard.engine)


def test_a_failure_in_the_writer_process_reaches_readyz_and_clears(
    start_bollard: StartBollard,
) -> None:
    bollard = start_bollard(audit_writer="process")
    _, key = bollard.agents.create("a", ["people:read"])
    fail = "SELECT RAISE(ABORT, 'disk I/O error, injected')"
    audit_insert_trigger(bollard.engine, "requests_fail", fail, kind="request")
    with bollard.client(key) as client:
        refused = _call(client, "refused")
        ready = client.get("/readyz")
        with bollard.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER requests_fail"))
        assert bollard.gateway.audit.wait_writable(20)
        after = _call(client, "after")
        ready_after = client.get("/readyz")
    assert refused.status_code == 503
    assert ready.status_code == 503
    assert "disk I/O error, injected" in ready.json()["checks"]["audit"]
    assert after.status_code == 200
    assert ready_after.status_code == 200
    assert _markers_received(bollard.sandbox) == {"after"}


def _writer_of(pid: int) -> int:
    """The audit writer process started by process `pid`."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"bollard.audit.child" in cmdline:
                return int(child)
    raise AssertionError(f"process {pid} has no audit writer process")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_writer_whose_gateway_is_killed_commits_what_it_received_and_ends(
    tmp_path: Path, sandbox: tuple[Sandbox, str], watch: Watch
) -> None:
    box, sandbox_url = sandbox
    settings = zygote_settings(tmp_path, sandbox_url, audit_writer="process")
    engine = open_store(settings["database_url"])
    _, key = Agents(engine, load_catalog()).create("loader", ["people:read"])
    zygote = Zygote(settings)
    clients = [httpx.Client(headers={"X-Api-Key": key}, timeout=5) for _ in range(4)]
    try:
        pid, url = zygote.start()
        wait_ready(url, "/healthz", timeout=30)
        writer = _writer_of(pid)
        with under_load(clients, url):
            wait_until(lambda: len(watch.arrived) >= 20, "calls under way")
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _running(writer), "the writer process ended", timeout=30)
        assert all(committed for _, committed in watch.arrived), watch.arrived
        assert _markers_received(box) <= _markers_recorded(engine)
        # The next start closes what the killed one left in flight, and nothing else.
        pid, url = zygote.start()
        wait_ready(url, "/healthz", timeout=30)
        assert orphans(engine, now_us=int(time.time() * 1e6)) == []
        os.kill(pid, signal.SIGKILL)
    finally:
        for client in clients:
            client.close()
        zygote.close()
        engine.dispose()
