"""The log as the gateway writes it: complete, paired, signed, and fail-closed."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from bollard.audit.appender import append_records
from bollard.audit.chain import Record
from bollard.audit.checkpoint import sign
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.keyfile import signing_key
from bollard.audit.recovery import orphans
from bollard.audit.verify import verify
from bollard.store.engine import reader
from bollard.store.tables import audit_records
from tests.harness import Bollard, StartBollard, audit_insert_trigger

SEARCH = "/api/v1/mixed_people/api_search"


def test_every_kind_of_call_leaves_one_request_and_one_outcome_with_the_same_id(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("a", ["people:read"])
    calls = {
        "ok": ("POST", SEARCH, {"per_page": 1}, key),
        "denied": ("POST", "/api/v1/contacts", {"first_name": "x"}, key),
        "invalid": ("POST", SEARCH, {"per_page": 1000}, key),
        "unauthenticated": ("POST", SEARCH, {}, "bol_nope"),
    }
    for method, path, body, used in calls.values():
        with bollard.client(used) as client:
            for _ in range(3):
                client.request(method, path, json=body)
    records = bollard.records()
    outcomes = Counter(r["outcome"] for r in records if r["kind"] == "outcome")
    assert outcomes == dict.fromkeys(calls, 3)
    by_id = Counter((r["request_id"], r["kind"]) for r in records)
    assert set(by_id.values()) == {1}
    assert len(by_id) == 2 * 3 * len(calls)
    assert orphans(bollard.engine, now_us=2**62) == []


def test_the_log_verifies_after_the_gateway_stops_with_its_tail_anchored(
    start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard()
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        for _ in range(5):
            client.post(SEARCH, json={"per_page": 1})
    bollard.server.stop()  # commits the last outcome, then anchors the tail
    state = bollard.settings.state_dir
    report = verify(
        bollard.engine,
        signing_key(state, env={}).public_key(),
        CheckpointFile.in_state_dir(state),
    )
    assert report.ok
    assert report.records == 10


def test_a_request_left_without_outcome_is_closed_as_outcome_unknown_at_start(
    database_url: str, start_bollard: StartBollard
) -> None:
    first = start_bollard(database_url)
    append_records(
        first.engine,
        [Record("orphan-1", "request", 1, "rest", "a", "people.search", decision="allow")],
    )
    second = start_bollard(database_url)
    with second.engine.connect() as conn:
        stmt = select(audit_records.c.outcome).where(
            audit_records.c.request_id == "orphan-1", audit_records.c.kind == "outcome"
        )
        assert conn.execute(stmt).scalars().all() == ["outcome_unknown"]


def test_a_database_older_than_the_checkpoint_file_refuses_every_call(
    start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard()
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        client.post(SEARCH, json={"per_page": 1})
    file = CheckpointFile.in_state_dir(bollard.settings.state_dir)
    checkpoint = signing_key(bollard.settings.state_dir, env={})
    file.append([sign(checkpoint, 99, 10_000, "f" * 64, 1)])  # a future the database lacks
    again = start_bollard()
    with again.client(key) as client:
        refused = client.post(SEARCH, json={"per_page": 1})
        ready = client.get("/readyz")
    assert refused.status_code == 503
    # The agent is told only that calls cannot be recorded; the operator reads why.
    assert "cannot record calls right now" in refused.json()["error"]
    assert ready.status_code == 503
    assert "rolled back" in ready.json()["checks"]["audit"]


def test_an_audit_store_opened_read_only_means_no_call_is_forwarded(
    start_bollard: StartBollard, tmp_path: Path
) -> None:
    # The fault is injected into this process's engine, which a writer process does
    # not use: this writer is a thread (test_writer_process.py injects into the database).
    bollard = start_bollard(audit_writer="thread")
    _, key = bollard.agents.create("a", ["people:read"])

    @event.listens_for(bollard.engine, "connect")
    def _read_only(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # SQLite's own read-only switch: every write fails with "attempt to write a
        # readonly database", as it would on a read-only file or mount.
        dbapi_connection.execute("PRAGMA query_only = ON")

    bollard.engine.pool.dispose()  # pooled connections are re-made with the switch on

    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={"per_page": 1})
        # Write access returns: connections made from now on may write again.
        event.remove(bollard.engine, "connect", _read_only)
        bollard.engine.pool.dispose()
        assert bollard.gateway.audit.wait_writable(20)
        after = client.post(SEARCH, json={"per_page": 1})
    assert reply.status_code == 503
    assert reply.json()["error_code"] == "AUDIT_UNAVAILABLE"
    assert after.status_code == 200
    assert len(bollard.sandbox.calls) == 1


def test_a_full_audit_store_means_no_call_is_forwarded(start_bollard: StartBollard) -> None:
    # The fault is injected into this process's engine, which a writer process does
    # not use: this writer is a thread (test_writer_process.py injects into the database).
    bollard = start_bollard(audit_writer="thread")
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar()

    @event.listens_for(bollard.engine, "connect")
    def _full(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # The database may not grow by a single page: the next insert hits "full".
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    bollard.engine.pool.dispose()
    statuses: list[int] = []
    with bollard.client(key) as client:
        # Free space in the last pages takes a few records; then the store is full.
        while 503 not in statuses and len(statuses) < 500:
            statuses.append(client.post(SEARCH, json={"per_page": 1}).status_code)
        after = [client.post(SEARCH, json={"per_page": 1}) for _ in range(10)]
        ready = client.get("/readyz")
    assert statuses[-1] == 503
    assert {r.status_code for r in after} == {503}
    assert "cannot record calls right now" in after[0].json()["error"]
    assert ready.status_code == 503
    assert "full" in ready.json()["checks"]["audit"]
    # Forwarded: exactly the calls whose request record was committed (each answered
    # with Apollo's 200, even the last, whose outcome may no longer have fitted).
    requests = [r for r in bollard.records() if r["kind"] == "request"]
    assert len(bollard.sandbox.calls) == len(requests) == statuses.count(200)


def _kinds(bollard: Bollard) -> list[str]:
    """The records' kinds as committed now, without waiting for queued ones."""
    with reader(bollard.engine).connect() as conn:  # not behind the writer's lock
        return list(conn.execute(select(audit_records.c.kind).order_by("seq")).scalars())


def test_the_answer_does_not_wait_for_the_outcome_and_a_stop_still_commits_it(
    start_bollard: StartBollard,
) -> None:
    # The fault is injected into this process's engine, which a writer process does
    # not use: this writer is a thread (test_writer_process.py injects into the database).
    bollard = start_bollard(audit_writer="thread")
    _, key = bollard.agents.create("a", ["people:read"])
    release = threading.Event()

    @event.listens_for(bollard.engine, "connect")
    def _hold(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.create_function("hold", 0, lambda: release.wait(10))

    bollard.engine.pool.dispose()
    # Every outcome insert waits until released: a very slow disk, for outcomes only.
    audit_insert_trigger(bollard.engine, "hold_outcomes", "SELECT hold()", kind="outcome")
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={"per_page": 1})
    assert reply.status_code == 200
    assert _kinds(bollard) == ["request"]  # answered while its outcome was being written
    threading.Timer(0.2, release.set).start()
    bollard.server.stop()  # a graceful stop commits what is queued
    assert _kinds(bollard) == ["request", "outcome"]


def test_an_outcome_that_cannot_be_committed_still_answers_and_is_closed_at_the_next_start(
    start_bollard: StartBollard, caplog: pytest.LogCaptureFixture
) -> None:
    bollard = start_bollard()
    _, key = bollard.agents.create("a", ["people:read"])
    fail = "SELECT RAISE(ABORT, 'disk I/O error')"
    audit_insert_trigger(bollard.engine, "outcomes_fail", fail, kind="outcome")
    with bollard.client(key) as client:
        answered = client.post(SEARCH, json={"per_page": 1})
        bollard.settle()
        refused = client.post(SEARCH, json={"per_page": 1})
    # Apollo acted: its answer goes back (a 503 would invite a repeated write) ...
    assert answered.status_code == 200
    request_id = answered.headers["x-request-id"]
    # ... and the failed log refuses every later call while it cannot write.
    assert refused.status_code == 503
    assert refused.json()["error_code"] == "AUDIT_UNAVAILABLE"
    assert len(bollard.sandbox.calls) == 1
    # Stopped while the log still fails: the outcome it held is lost with the process.
    bollard.server.stop()
    assert f"the outcome of request {request_id} could not be recorded" in caplog.text
    with bollard.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER outcomes_fail"))
    again = start_bollard()
    pair = [r for r in again.records() if r["request_id"] == request_id]
    assert [(r["kind"], r["outcome"]) for r in pair] == [
        ("request", None),
        ("outcome", "outcome_unknown"),
    ]
