"""Who may poll a webhook result is kept in the database: two replicas on one PostgreSQL
answer a poll the same way, whichever served the enrichment."""

from __future__ import annotations

import pytest

from tests.harness import StartBollard

REVEAL_HOOK = "http://127.0.0.1:9/phones"  # loopback, nobody listening: the sandbox records it


@pytest.mark.postgres
def test_a_poll_on_the_other_replica_is_answered_for_the_owner_only(
    start_bollard: StartBollard, postgres_url: str
) -> None:
    first = start_bollard(postgres_url)
    second = start_bollard(postgres_url)
    _, alice = first.agents.create("alice", ["people:read"])
    _, bob = first.agents.create("bob", ["people:read"])
    email = first.sandbox.people.people[0].email or ""
    reveal = {"email": email, "reveal_phone_number": True, "webhook_url": REVEAL_HOOK}
    with first.client(alice) as client:
        enriched = client.post("/api/v1/people/match", json=reveal)
    assert enriched.status_code == 200, enriched.text
    path = f"/api/v1/webhook_result/{enriched.json()['request_id']}"
    sent = len(first.sandbox.calls)
    with second.client(bob) as client:
        bobs = client.get(path)
    assert (bobs.status_code, bobs.json()["error_code"]) == (404, "request_id_unknown")
    assert len(first.sandbox.calls) == sent  # refused before Apollo
    with second.client(alice) as client:
        alices = client.get(path)
    # Alice's poll reached the sandbox through the replica that did not enrich.
    assert len(first.sandbox.calls) == sent + 1
    assert first.sandbox.calls[-1].action_id == "people.webhook_result"
    assert alices.status_code in (200, 404)
    if alices.status_code == 404:
        assert alices.json()["error_code"] == "result_pending"


def test_ownership_outlives_a_restart_of_the_replica_that_recorded_it(
    database_url: str, start_bollard: StartBollard
) -> None:
    before = start_bollard(database_url)
    _, alice = before.agents.create("alice", ["people:read"])
    email = before.sandbox.people.people[0].email or ""
    reveal = {"email": email, "reveal_phone_number": True, "webhook_url": REVEAL_HOOK}
    with before.client(alice) as client:
        request_id = client.post("/api/v1/people/match", json=reveal).json()["request_id"]
    before.server.stop()
    after = start_bollard(database_url)
    sent = len(after.sandbox.calls)
    with after.client(alice) as client:
        polled = client.get(f"/api/v1/webhook_result/{request_id}")
    assert len(after.sandbox.calls) == sent + 1
    assert polled.status_code in (200, 404)
    assert polled.status_code == 200 or polled.json()["error_code"] == "result_pending"
