"""Risk-tag grants and the webhook-result poll, through both doors of a real Bollard."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import Bollard, mcp_session, text

pytestmark = pytest.mark.anyio
REVEAL_HOOK = "http://127.0.0.1:9/phones"  # loopback, nobody listening: the sandbox records it


async def enrich_with_phone_reveal(client: httpx.AsyncClient, key: str, email: str) -> str:
    reveal = {"email": email, "reveal_phone_number": True, "webhook_url": REVEAL_HOOK}
    answer = await client.post("/api/v1/people/match", json=reveal, headers={"X-Api-Key": key})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["request_id"])


async def test_the_webhook_result_answers_only_the_agent_whose_enrichment_produced_it(
    bollard: Bollard,
) -> None:
    _, alice = bollard.agents.create("alice", ["people:read"])
    _, bob = bollard.agents.create("bob", ["people:read"])
    email = bollard.sandbox.people.people[0].email or ""
    async with httpx.AsyncClient(base_url=bollard.url, timeout=10) as client:
        request_id = await enrich_with_phone_reveal(client, alice, email)
        path = f"/api/v1/webhook_result/{request_id}"
        before = len(bollard.sandbox.calls)
        bobs = await client.get(path, headers={"X-Api-Key": bob})
        made_up = await client.get("/api/v1/webhook_result/-42", headers={"X-Api-Key": alice})
        assert len(bollard.sandbox.calls) == before  # neither reached Apollo
        async with mcp_session(bollard.url, bob) as session:
            by_tool = await session.call_tool(
                "apollo_webhook_result_show", {"request_id": request_id}
            )
        assert len(bollard.sandbox.calls) == before
        alices = await client.get(path, headers={"X-Api-Key": alice})
    assert bobs.status_code == 404
    assert bobs.json()["error_code"] == "request_id_unknown"
    assert (made_up.status_code, made_up.json()["error_code"]) == (404, "request_id_unknown")
    assert by_tool.is_error
    assert "request_id_unknown" in text(by_tool)
    # Alice's poll reaches the sandbox: the result, or Apollo's "still pending".
    assert bollard.sandbox.calls[-1].action_id == "people.webhook_result"
    assert alices.status_code in (200, 404)
    if alices.status_code == 404:
        assert alices.json()["error_code"] == "result_pending"
    else:
        assert str(alices.json()["request_id"]) == request_id
    denied = [r for r in bollard.records() if r["agent"] == "bob" and r["kind"] == "request"]
    assert [r["decision"] for r in denied] == ["deny", "deny"]


async def test_a_tag_grant_covers_exactly_the_actions_with_that_tag_on_both_doors(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("sender", ["tag:sends_email"])
    inactive = next(s for s in bollard.sandbox.team.sequences.values() if not s["active"])
    async with httpx.AsyncClient(base_url=bollard.url, timeout=10) as client:
        activated = await client.post(
            f"/api/v1/emailer_campaigns/{inactive['id']}/approve", headers={"X-Api-Key": key}
        )
        refused = await client.post(
            "/api/v1/contacts", json={"first_name": "Ada"}, headers={"X-Api-Key": key}
        )
    async with mcp_session(bollard.url, key) as session:
        tools = sorted(t.name for t in (await session.list_tools()).tools)
        archived = await session.call_tool(
            "apollo_emailer_campaigns_archive", {"sequence_id": inactive["id"]}
        )
    assert activated.status_code == 200
    assert activated.json()["emailer_campaign"]["active"] is True
    assert refused.status_code == 403
    assert "contacts.create" in refused.json()["bollard"]["would_allow"]
    assert tools == [
        "apollo_emailer_campaigns_add_contact_ids",
        "apollo_emailer_campaigns_approve",
        "apollo_emailer_messages_send_now",
        "apollo_sequences_create",
        "apollo_sequences_update",
    ]
    assert archived.is_error
    assert "not granted" in text(archived)
    assert [c.action_id for c in bollard.sandbox.calls] == ["sequences.activate"]
