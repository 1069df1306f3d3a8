"""GET /metrics: Prometheus text, behind the admin token, counting what really happened."""

from __future__ import annotations

import sqlite3

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from tests.harness import SCOPED_KEY, StartBollard

SEARCH = "/api/v1/mixed_people/api_search"
ADMIN_TOKEN = "bat_metrics-test-admin-token"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as (name, sorted labels) → value, parsed by the official parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_calls_by_outcome_and_the_audit_writers_work(
    start_bollard: StartBollard,
) -> None:
    bollard = start_bollard(admin_token=ADMIN_TOKEN)
    _, key = bollard.agents.create("reader", ["people:read"])
    with bollard.client(key) as client:
        for _ in range(3):
            assert client.post(SEARCH, json={"per_page": 1}).status_code == 200
        assert client.post("/api/v1/contacts", json={"first_name": "A"}).status_code == 403
        assert client.post(SEARCH, json={"per_page": 1000}).status_code == 422
    with bollard.client("bol_not-a-key") as client:
        assert client.post(SEARCH, json={}).status_code == 401
    bollard.settle()  # the outcomes of the calls answered are committed
    with bollard.client() as client:
        anonymous = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer bat_wrong"})
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert anonymous.status_code == wrong.status_code == 401
    assert "admin token" in anonymous.json()["error"]
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    found = samples(scraped.text)
    calls = {
        dict(labels)["outcome"]: value
        for (name, labels), value in found.items()
        if name == "bollard_calls_total"
    }
    assert calls == {"ok": 3, "denied": 1, "invalid": 1, "unauthenticated": 1}
    # Six calls, a request and an outcome record each, in at least one commit.
    assert found["bollard_audit_records_written_total", ()] == 12
    assert 1 <= found["bollard_audit_batches_total", ()] <= 12
    assert found["bollard_audit_failed", ()] == 0
    assert found["bollard_rate_limits_failed_open_total", ()] == 0
    # Every commit is timed (an idle one that only signs a checkpoint is not a batch).
    commits = found["bollard_audit_commit_seconds_count", ()]
    assert commits >= found["bollard_audit_batches_total", ()]
    assert found["bollard_audit_commit_seconds_bucket", (("le", "+Inf"),)] == commits
    assert found["bollard_audit_commit_seconds_sum", ()] > 0
    assert "bollard_audit_wal_checkpoint_seconds_count" in {name for name, _ in found}
    assert key not in scraped.text
    assert SCOPED_KEY not in scraped.text


def test_metrics_show_a_failed_audit_log_and_can_be_opened_for_a_scraper(
    start_bollard: StartBollard,
) -> None:
    # The fault is injected into this process's engine, which a writer process does
    # not use: this writer is a thread (test_writer_process.py injects into the database).
    bollard = start_bollard(metrics_public=True, audit_writer="thread")
    _, key = bollard.agents.create("reader", ["people:read"])

    @event.listens_for(bollard.engine, "connect")
    def _read_only(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    bollard.engine.pool.dispose()
    with bollard.client(key) as client:
        assert client.post(SEARCH, json={"per_page": 1}).status_code == 503
        scraped = client.get("/metrics")
    assert scraped.status_code == 200
    found = samples(scraped.text)
    assert found["bollard_audit_failed", ()] == 1
    assert found["bollard_calls_total", (("door", "rest"), ("outcome", "error"))] == 1
    assert found["bollard_audit_records_written_total", ()] == 0
    assert bollard.sandbox.calls == []
