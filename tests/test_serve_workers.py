"""`bollard serve --workers N`: several processes on one port, only where that is safe."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bollard.agents import Agents
from bollard.catalog import load_catalog
from bollard.cli import main
from bollard.store import open_store
from bollard.store.tables import audit_records
from tests.harness import wait_ready

SEARCH = "/api/v1/mixed_people/api_search"


def test_several_workers_on_sqlite_with_writer_threads_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bollard.db"
    result = CliRunner().invoke(
        main,
        ["serve", "--workers", "2"],
        env={
            "BOLLARD_DATABASE_URL": f"sqlite:///{db}",
            "BOLLARD_STATE_DIR": str(tmp_path),
            "BOLLARD_AUDIT_WRITER": "thread",
        },
    )
    assert result.exit_code == 2, result.output
    assert "--workers 2 on SQLite needs the audit writer process" in result.output
    assert "outcome_unknown" in result.output  # why: the reason, not just a no
    assert not db.exists()


def test_several_workers_without_redis_are_refused(postgres_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--workers", "3"],
        env={"BOLLARD_DATABASE_URL": postgres_url, "BOLLARD_STATE_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2, result.output
    assert "--workers 3 needs BOLLARD_REDIS_URL" in result.output


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow  # two workers start: seconds on a quiet host, minutes on a busy one
def test_two_workers_on_postgres_serve_calls_and_record_each(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    _two_workers_serve_calls_and_record_each(postgres_url, redis_url, tmp_path)


@pytest.mark.redis
@pytest.mark.slow
def test_two_workers_on_sqlite_share_one_audit_writer_process(
    redis_url: str, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'bollard.db'}"
    writers = _two_workers_serve_calls_and_record_each(database_url, redis_url, tmp_path)
    # One writer process, the server's; none of the workers started one of its own.
    assert writers == {"server": 1, "workers": 0}
    # One chain, written by one process: it verifies, checkpoints and all.
    result = CliRunner().invoke(
        main,
        ["audit", "verify"],
        env={"BOLLARD_DATABASE_URL": database_url, "BOLLARD_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.exit_code == 0, result.output


def _two_workers_serve_calls_and_record_each(
    database_url: str, redis_url: str, tmp_path: Path
) -> dict[str, int]:
    """Serve 24 calls with `bollard serve --workers 2`; how many audit writer processes
    the server and its workers had started."""
    engine = open_store(database_url)
    try:
        _, key = Agents(engine, load_catalog()).create("research", ["people:read"])
        port = _free_port()
        env = {
            **os.environ,
            "BOLLARD_DATABASE_URL": database_url,
            "BOLLARD_REDIS_URL": redis_url,
            "BOLLARD_REDIS_PREFIX": f"t{secrets.token_hex(6)}",
            "BOLLARD_STATE_DIR": str(tmp_path / "state"),
            "BOLLARD_USAGE_SYNC_SECONDS": "0",
        }
        for name in ("BOLLARD_APOLLO_KEY", "BOLLARD_APOLLO_MASTER_KEY", "BOLLARD_APOLLO_URL"):
            env.pop(name, None)  # the built-in sandbox, run by the parent process
        cmd = [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port), "--workers", "2"]
        with subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        ) as server:
            try:
                # Each worker's audit writer starts on its first request; /readyz: this one's.
                url = wait_ready(f"http://127.0.0.1:{port}", "/readyz", server, timeout=240)
                workers = _children(server.pid)
                statuses = _calls(url, key, 24)
                writers = {
                    "server": len(_children(server.pid, b"bollard.audit.child")),
                    "workers": sum(len(_children(w, b"bollard.audit.child")) for w in workers),
                }
            finally:
                server.terminate()
                server.wait(timeout=30)
        with engine.connect() as conn:
            recorded: dict[str, int] = dict(
                conn.execute(
                    select(audit_records.c.kind, func.count())
                    .where(audit_records.c.agent == "research")
                    .group_by(audit_records.c.kind)
                ).all()
            )
    finally:
        engine.dispose()
    assert statuses == [200] * 24
    assert len(workers) == 2, workers
    # Every call recorded before it was sent and its outcome after: a graceful stop
    # commits what each worker had queued.
    assert recorded == {"request": 24, "outcome": 24}
    return writers


def _calls(url: str, key: str, n: int) -> list[int]:
    body = {"person_titles": ["vp of sales"], "per_page": 5}

    def one(_: int) -> int:
        # A connection of its own each: the kernel spreads connections over the workers.
        with httpx.Client(base_url=url, timeout=30) as client:
            return client.post(SEARCH, json=body, headers={"X-Api-Key": key}).status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def _children(pid: int, *marks: bytes) -> list[int]:
    """The server's children whose command line holds one of `marks` (default: the
    worker processes, which run Python, not a tracker)."""
    marks = marks or (b"multiprocessing.spawn", b"spawn_main")
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if any(mark in cmdline for mark in marks):
                found.append(int(child))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
