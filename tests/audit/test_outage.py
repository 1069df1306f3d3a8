"""Outages end: Bollard refuses calls while the database is away and resumes by itself.

PostgreSQL is reached through a loopback proxy (tests/blackhole.py) that refuses,
resets or goes silent; the machine's own server is never touched. Each test checks the
answers during the outage, that calls succeed again without a restart, the records
(nothing lost, doubled or forwarded unrecorded) and a full `audit verify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from bollard.loopback import LoopbackServer
from tests.audit.test_seal import full_verify
from tests.blackhole import Blackhole
from tests.harness import Bollard, StartBollard, drop_keys

SEARCH = "/api/v1/mixed_people/api_search"
# The writer tries the database every second; a bound on the wait, not a measurement.
RECOVERY_AT_MOST = 20.0


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[Blackhole, str]]:
    url = make_url(postgres_url)
    with Blackhole(url.host or "127.0.0.1", url.port or 5432) as hole:
        yield hole, url.set(port=hole.port).render_as_string(hide_password=False)


def resumed(bollard: Bollard, client: httpx.Client) -> httpx.Response:
    """The first call once the audit writer says the database takes writes again."""
    assert bollard.gateway.audit.wait_writable(RECOVERY_AT_MOST)
    return client.post(SEARCH, json={"per_page": 1})


def check_the_log(bollard: Bollard) -> None:
    """Every request has exactly one outcome, Apollo saw exactly the forwarded calls,
    and the chain verifies with every record's MAC."""
    records = bollard.records()
    requests = [r for r in records if r["kind"] == "request"]
    outcomes = [r for r in records if r["kind"] == "outcome"]
    assert sorted(r["request_id"] for r in requests) == sorted(r["request_id"] for r in outcomes)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    forwarded = [o for o in outcomes if o["outcome"] in ("ok", "upstream_error")]
    assert len(bollard.sandbox.calls) == len(forwarded)
    ok, kinds, _ = full_verify(bollard)
    assert ok, kinds


def refusal_says_nothing_of_the_database(reply: httpx.Response, port: int) -> None:
    assert reply.status_code == 503
    assert reply.headers["retry-after"].isdigit()
    body = reply.text
    for leak in (str(port), "5432", "127.0.0.1", "psycopg", "OperationalError", "connection"):
        assert leak not in body, (leak, body)
    assert "cannot record calls right now" in reply.json()["error"]


@pytest.mark.postgres
@pytest.mark.parametrize("failure", ["refuse", "reset"])
def test_postgresql_going_away_refuses_calls_and_they_resume_when_it_is_back(
    start_bollard: StartBollard, proxied_postgres: tuple[Blackhole, str], failure: str
) -> None:
    hole, url = proxied_postgres
    bollard = start_bollard(url)
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        before = client.post(SEARCH, json={"per_page": 1})
        getattr(hole, failure)()
        during = [client.post(SEARCH, json={"per_page": 1}) for _ in range(3)]
        ready, alive = client.get("/readyz"), client.get("/healthz")
        hole.heal()
        after = resumed(bollard, client)
        ready_after = client.get("/readyz")
    assert before.status_code == 200
    for reply in during:
        refusal_says_nothing_of_the_database(reply, hole.port)
    assert ready.status_code == 503
    assert alive.status_code == 200
    assert after.status_code == 200
    assert ready_after.status_code == 200
    check_the_log(bollard)


@pytest.mark.postgres
def test_postgresql_gone_silent_refuses_calls_within_the_commit_timeout_and_resumes(
    start_bollard: StartBollard, proxied_postgres: tuple[Blackhole, str]
) -> None:
    hole, url = proxied_postgres
    bollard = start_bollard(url)
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        client.timeout = httpx.Timeout(30)
        before = client.post(SEARCH, json={"per_page": 1})
        hole.partition()
        during = client.post(SEARCH, json={"per_page": 1})
        hole.heal()
        after = resumed(bollard, client)
    assert before.status_code == 200
    refusal_says_nothing_of_the_database(during, hole.port)
    assert after.status_code == 200
    check_the_log(bollard)


class GatedApollo:
    """An upstream that answers only when told: a call in flight across an outage."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.arrived.set()
        await asyncio.to_thread(self.release.wait, 20)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"people": []}'})


@pytest.mark.postgres
def test_a_call_in_flight_when_the_database_goes_away_gets_its_outcome_written_after(
    start_bollard: StartBollard, proxied_postgres: tuple[Blackhole, str]
) -> None:
    hole, url = proxied_postgres
    gate = GatedApollo()
    with LoopbackServer(gate) as apollo:
        bollard = start_bollard(url, apollo_url=apollo.url)
        _, key = bollard.agents.create("a", ["people:read"])
        answers: list[int] = []
        with bollard.client(key) as client:
            caller = threading.Thread(
                target=lambda: answers.append(client.post(SEARCH, json={"per_page": 1}).status_code)
            )
            caller.start()
            assert gate.arrived.wait(10)  # its request record is committed: it was sent
            hole.refuse()
            gate.release.set()
            caller.join(20)
            refused = client.post(SEARCH, json={"per_page": 1})
            hole.heal()
            after = resumed(bollard, client)
    # Apollo answered the call in flight: the agent gets that answer, not a 503 ...
    assert answers == [200]
    assert refused.status_code == 503
    assert after.status_code == 200
    # ... and its outcome, held through the outage, is in the log once, as it was.
    records = bollard.records()
    first = records[0]["request_id"]
    assert [(r["kind"], r["outcome"]) for r in records if r["request_id"] == first] == [
        ("request", None),
        ("outcome", "ok"),
    ]
    ok, kinds, _ = full_verify(bollard)
    assert ok, kinds


@pytest.fixture
def proxied_redis(redis_url: str) -> Iterator[tuple[Blackhole, str, str]]:
    url = make_url(redis_url)
    prefix = f"t{secrets.token_hex(6)}"
    with Blackhole(url.host or "127.0.0.1", url.port or 6379) as hole:
        yield hole, url.set(port=hole.port).render_as_string(hide_password=False), prefix
    drop_keys(redis_url, prefix)


@pytest.mark.redis
def test_redis_going_away_refuses_rate_limited_calls_and_counting_resumes_exactly(
    start_bollard: StartBollard, proxied_redis: tuple[Blackhole, str, str]
) -> None:
    hole, url, prefix = proxied_redis
    bollard = start_bollard(redis_url=url, redis_prefix=prefix)
    _, key = bollard.agents.create("a", ["people:read"])
    set_rule(bollard.engine, LimitRule("a", per_day=4), time.time())
    with bollard.client(key) as client:
        before = [client.post(SEARCH, json={"per_page": 1}) for _ in range(2)]
        hole.refuse()
        during = client.post(SEARCH, json={"per_page": 1})
        hole.heal()
        after = [client.post(SEARCH, json={"per_page": 1}) for _ in range(3)]
    assert [r.status_code for r in before] == [200, 200]
    # Rate limits fail closed while their counters are away (the default): refused,
    # not sent, asked to retry in a second, the cause named without its address.
    assert during.status_code == 429
    assert during.headers["retry-after"] == "1"
    assert "could not be checked (Redis: ConnectionError)" in during.json()["error"]
    assert str(hole.port) not in during.text
    # Counting resumes where it was: the refused call took nothing, 2 more fit, not 3.
    assert [r.status_code for r in after] == [200, 200, 429]
    assert len(bollard.sandbox.calls) == 4
    check_the_log(bollard)


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of its own: a disk this test can fill without touching the host's.
    Needs root (mount); skipped elsewhere."""
    volume = tmp_path / "volume"
    volume.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(volume)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield volume
    finally:
        subprocess.run(["umount", "-l", str(volume)], check=False)


def fill(volume: Path) -> Path:
    """Write a file until the volume has no space left."""
    filler = volume / "filler"
    # Unbuffered, and the suppress outside the file: closing a buffered file on a full
    # volume raises too, after the loop's own error was suppressed.
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 65536)
    return filler


def test_a_full_disk_refuses_calls_and_they_resume_when_space_returns(
    start_bollard: StartBollard, small_volume: Path
) -> None:
    bollard = start_bollard(f"sqlite:///{small_volume / 'bollard.db'}")
    _, key = bollard.agents.create("a", ["people:read"])
    statuses: list[int] = []
    with bollard.client(key) as client:
        statuses.append(client.post(SEARCH, json={"per_page": 1}).status_code)
        filler = fill(small_volume)
        # The WAL reuses the space it has for a while; then a write needs a new block.
        while statuses[-1] != 503 and len(statuses) < 3000:
            statuses.append(client.post(SEARCH, json={"per_page": 1}).status_code)
        refused = client.post(SEARCH, json={"per_page": 1})
        ready = client.get("/readyz")
        filler.unlink()
        after = resumed(bollard, client)
    assert statuses[-1] == 503
    assert refused.status_code == 503
    assert "cannot record calls right now" in refused.json()["error"]
    assert "full" in ready.json()["checks"]["audit"]
    assert after.status_code == 200
    check_the_log(bollard)
