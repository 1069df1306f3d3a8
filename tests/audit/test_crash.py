"""Crash safety: a gateway under load killed with SIGKILL at random moments, 50 times.

The sandbox runs here, in the test process, so the test knows exactly which
calls reached "Apollo". Only the gateway runs in the child that is killed.
After every kill: the SQLite database passes its integrity check, the chain
and its checkpoints verify (an unanchored tail is allowed), and every call the
sandbox received has its request record. After every restart: no request is
left without an outcome (the start wrote `outcome_unknown` for them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, text

from bollard.agents import Agents
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.keyfile import signing_key
from bollard.audit.recovery import orphans
from bollard.audit.verify import verify
from bollard.catalog import load_catalog
from bollard.loopback import LoopbackServer
from bollard.sandbox import Sandbox, create_sandbox
from bollard.store import open_store
from bollard.store.tables import audit_records
from tests.harness import (
    AUDIT_KEY,
    MASTER_KEY,
    SCOPED_KEY,
    sandbox_config,
    wait_ready,
    wait_until,
)

# bench/audit_crash.py runs more rounds through this variable.
ROUNDS = int(os.environ.get("BOLLARD_CRASH_ROUNDS", "50"))
SEARCH = "/api/v1/mixed_people/api_search"


class Zygote:
    def __init__(self, settings: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.audit.crash_child", json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[2],
        )

    def start(self) -> tuple[int, str]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        pid, port = self.process.stdout.readline().split()
        return int(pid), f"http://127.0.0.1:{port}"

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not _alive(pid), f"process {pid} gone after SIGKILL")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _load(client: httpx.Client, url: str, stop: threading.Event, worker: int) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        marker = f"m-{worker}-{n}-{random.getrandbits(32)}"
        try:
            client.post(f"{url}{SEARCH}", json={"person_titles": [marker], "per_page": 1})
        except httpx.TransportError:
            return


def zygote_settings(tmp_path: Path, sandbox_url: str, **more: str) -> dict[str, str]:
    """A server's settings for `Zygote`: SQLite in `tmp_path`, in front of the sandbox."""
    return {
        "database_url": f"sqlite:///{tmp_path / 'bollard.db'}",
        "apollo_url": sandbox_url,
        "apollo_key": SCOPED_KEY,
        "apollo_master_key": MASTER_KEY,
        "audit_key": AUDIT_KEY,
        "state_dir": str(tmp_path / "state"),
        **more,
    }


@contextmanager
def under_load(clients: list[httpx.Client], url: str, join_seconds: float = 10) -> Iterator[None]:
    """Each client sends marked searches in a thread of its own until the block ends."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=_load, args=(client, url, stop, n))
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=join_seconds)


def _markers_received(box: Sandbox) -> set[str]:
    return {
        c.body["person_titles"][0]
        for c in list(box.calls)
        if isinstance(c.body, dict) and c.body.get("person_titles")
    }


def _markers_recorded(engine: Engine) -> set[str]:
    stmt = select(audit_records.c.data).where(audit_records.c.kind == "request")
    with engine.connect() as conn:
        datas = [json.loads(d) for d in conn.execute(stmt).scalars()]
    return {
        d["params"]["person_titles"][0]
        for d in datas
        if (d.get("params") or {}).get("person_titles")
    }


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    # Windows far above what the load reaches: Bollard must not refuse on Apollo's behalf.
    roomy = (1_000_000, 10_000_000, 100_000_000)
    box = create_sandbox(sandbox_config(limits={"people.search": roomy}))
    with LoopbackServer(box.app) as server:
        yield box, server.url


@pytest.mark.slow
def test_sigkill_under_load_never_loses_a_forwarded_call_or_breaks_the_chain(
    tmp_path: Path, sandbox: tuple[Sandbox, str]
) -> None:
    box, sandbox_url = sandbox
    settings = zygote_settings(tmp_path, sandbox_url)
    engine = open_store(settings["database_url"])
    _, key = Agents(engine, load_catalog()).create("loader", ["people:read"])
    zygote = Zygote(settings)
    # Made once: building an httpx client costs tens of milliseconds.
    clients = [httpx.Client(headers={"X-Api-Key": key}, timeout=5) for _ in range(4)]
    rng = random.Random(os.environ.get("BOLLARD_CRASH_SEED", "4"))
    try:
        for _ in range(ROUNDS):
            pid, url = zygote.start()
            wait_ready(url, "/healthz", timeout=20)
            assert orphans(engine, now_us=0) == [], "the start left a request without outcome"
            warm = clients[0].post(f"{url}{SEARCH}", json={"per_page": 1})
            assert warm.status_code == 200, warm.text
            with under_load(clients, url):
                time.sleep(rng.uniform(0.02, 0.2))  # the random moment of the kill
                _kill(pid)
            with engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            public = signing_key(tmp_path / "state", env={}).public_key()
            report = verify(engine, public, CheckpointFile.in_state_dir(tmp_path / "state"))
            assert report.ok, [p.message for p in report.problems]
            missing = _markers_received(box) - _markers_recorded(engine)
            assert not missing, f"calls reached the sandbox without a request record: {missing}"
    finally:
        for client in clients:
            client.close()
        zygote.close()
        engine.dispose()
    assert len(_markers_received(box)) > 2 * ROUNDS  # the load really reached the sandbox
