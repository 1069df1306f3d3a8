"""The sandbox's answers to the actions from Apollo's OpenAPI document, over its real app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bollard.sandbox import Sandbox, create_sandbox
from tests.sandbox.conftest import MASTER, SCOPED_ALL, small_config

pytestmark = pytest.mark.anyio


def client_for(box: Sandbox, key: str = MASTER) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=box.app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": key}
    )


async def made(client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> Any:
    answer = await client.post(f"/api/v1{path}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()[key]


async def test_an_activated_sequence_searches_as_active_and_an_archived_one_as_archived(
    client: httpx.AsyncClient,
) -> None:
    steps = {"emailer_steps": [{"type": "auto_email", "wait_time": 1}]}
    sequence = await made(
        client, "/sequences", {"name": "Launch week", **steps}, "emailer_campaign"
    )
    assert sequence["active"] is False
    activated = await client.post(f"/api/v1/emailer_campaigns/{sequence['id']}/approve")
    again = await client.post(f"/api/v1/emailer_campaigns/{sequence['id']}/approve")
    found = await client.post("/api/v1/emailer_campaigns/search", params={"q_name": "launch"})
    assert activated.json()["emailer_campaign"]["active"] is True
    assert (again.status_code, again.json()) == (422, {"error": "The sequence is already active."})
    assert [s["active"] for s in found.json()["emailer_campaigns"]] == [True]
    await client.post(f"/api/v1/emailer_campaigns/{sequence['id']}/archive")
    found = await client.post("/api/v1/emailer_campaigns/search", params={"q_name": "launch"})
    (row,) = found.json()["emailer_campaigns"]
    assert (row["active"], row["archived"]) == (False, True)


async def test_a_sequence_without_steps_cannot_be_turned_on(client: httpx.AsyncClient) -> None:
    sequence = await made(client, "/sequences", {"name": "Empty"}, "emailer_campaign")
    answer = await client.put(f"/api/v1/sequences/{sequence['id']}", json={"active": True})
    unknown = await client.put("/api/v1/sequences/0123456789abcdef01234567", json={"name": "x"})
    assert answer.status_code == 422
    assert "non-empty body" in answer.json()["error"]
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Record not found."})


async def test_owner_changes_take_both_encodings_and_show_on_the_next_read(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    first = await made(client, "/contacts", {"first_name": "Ada", "last_name": "One"}, "contact")
    second = await made(client, "/contacts", {"first_name": "Bo", "last_name": "Two"}, "contact")
    users = list(sandbox.team.users)
    by_query = await client.post(
        "/api/v1/contacts/update_owners",
        params=[("contact_ids[]", first["id"]), ("owner_id", users[1])],
    )
    by_body = await client.post(
        "/api/v1/contacts/update_owners", json={"contact_ids": [second["id"]], "owner_id": users[2]}
    )
    missing = await client.post("/api/v1/contacts/update_owners", json={"owner_id": users[2]})
    assert by_query.status_code == by_body.status_code == 200
    shown = [
        (await client.get(f"/api/v1/contacts/{c['id']}")).json()["contact"] for c in (first, second)
    ]
    assert [c["owner_id"] for c in shown] == users[1:3]
    assert (missing.status_code, missing.json()) == (
        422, {"error": "Required parameter 'contact_ids' missing"},
    )  # fmt: skip


async def test_a_sent_draft_reads_as_sent(client: httpx.AsyncClient) -> None:
    contact = await made(client, "/contacts", {"first_name": "Cy", "email": "cy@x.io"}, "contact")
    draft = await made(
        client, "/emailer_messages", {"contact_id": contact["id"]}, "emailer_message"
    )
    before = await client.post(
        "/api/v1/emailer_messages/email_send_status", json={"id": draft["id"]}
    )
    sent = await client.post(f"/api/v1/emailer_messages/{draft['id']}/send_now")
    after = await client.post(
        "/api/v1/emailer_messages/email_send_status", json={"id": draft["id"]}
    )
    unknown = await client.post("/api/v1/emailer_messages/email_send_status", json={"id": "nope"})
    assert before.json()["status"] == "drafted"
    assert sent.json()["emailer_message"]["status"] == "sent"
    assert after.json()["status"] == "sent"
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Email message not found"})


async def test_removing_a_contact_from_a_sequence_shows_in_its_status(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    sequence_id = next(iter(sandbox.team.sequences))
    mailbox = next(iter(sandbox.workspace.email_accounts))
    contact = await made(client, "/contacts", {"first_name": "Di", "email": "di@x.io"}, "contact")
    enrol = {
        "emailer_campaign_id": sequence_id,
        "contact_ids": [contact["id"]],
        "send_email_from_email_account_id": mailbox,
        "sequence_unverified_email": True,
    }
    added = await client.post(
        f"/api/v1/emailer_campaigns/{sequence_id}/add_contact_ids", json=enrol
    )
    removed = await client.post(
        "/api/v1/emailer_campaigns/remove_or_stop_contact_ids",
        params=[("emailer_campaign_ids[]", sequence_id), ("contact_ids[]", contact["id"]),
                ("mode", "remove")],
    )  # fmt: skip
    feed = await client.post(
        "/api/v1/emailer_campaigns/activity_feed", json={"contact_id": contact["id"]}
    )
    assert added.json()["skipped_contact_ids"] == {}
    assert removed.json()["contact_statuses"][0]["status"] == "removed"
    assert [e["type"] for e in feed.json()["events"]] == ["removed"]


async def test_documented_errors_for_ids_that_name_nothing(client: httpx.AsyncClient) -> None:
    zero = "0" * 24
    deal = await client.get(f"/api/v1/opportunities/{zero}")
    label = await client.patch(f"/api/v1/labels/{zero}", json={"name": "x"})
    notes = await client.get("/api/v1/notes")
    person = await client.get(f"/api/v1/people/{zero}")
    assert (deal.status_code, deal.json()) == (404, {"status": 404, "error": "Not Found"})
    assert label.status_code == 404
    assert label.json() == {
        "message": f"Could not find label with id {zero}",
        "error": "Record not found.",
    }
    assert (notes.status_code, notes.json()) == (
        400,
        {"error": "At least one argument is required"},
    )
    assert (person.status_code, person.json()) == (422, {"error": "Person does not exist."})


async def test_company_lookups_spend_the_documented_credits(
    sandbox: Sandbox, client: httpx.AsyncClient
) -> None:
    orgs = sandbox.organizations.orgs[:2]
    got = await client.get(f"/api/v1/organizations/{orgs[0].id}")
    bulk = await client.post(
        "/api/v1/organizations/bulk_enrich", params=[("domains[]", o.domain) for o in orgs]
    )
    too_many = await client.post(
        "/api/v1/organizations/bulk_enrich", json={"domains": ["a.io"] * 11}
    )
    assert got.json()["organization"]["id"] == orgs[0].id
    assert [o["id"] for o in bulk.json()["organizations"]] == [o.id for o in orgs]
    assert sandbox.credits.by_action == {"organizations.get": 1, "organizations.bulk_enrich": 2}
    assert too_many.status_code == 400
    assert too_many.json()["error_code"] == "RECORD_LIMIT_EXCEEDED"
    assert bulk.headers["x-rate-limit-minute"] == "20"
    credits = await client.post("/api/v1/usage_stats/credit_usage_stats", json={})
    assert credits.json()["credit_usage_stats"]["lead_credit"]["consumed"] == 3


async def test_new_actions_have_their_own_windows_and_the_documents_master_only_rule() -> None:
    scoped_keys = {SCOPED_ALL: ("calls.search", "deals.list")}
    config = small_config(
        limits={"email_accounts.list": (1, 10, 10)}, master_mode="scoped", scoped_keys=scoped_keys
    )
    box = create_sandbox(config)
    async with client_for(box) as master:
        first = await master.get("/api/v1/email_accounts")
        second = await master.get("/api/v1/email_accounts")
    async with client_for(box, SCOPED_ALL) as scoped:
        calls = await scoped.get("/api/v1/phone_calls/search")
        deals = await scoped.get("/api/v1/opportunities/search")
    assert first.headers["x-minute-requests-left"] == "0"
    assert len(first.json()["email_accounts"]) == 3
    assert second.status_code == 429
    assert "api/v1/email_accounts/index is 1 times per minute" in second.json()["message"]
    # "scoped" lifts the seed's master marks (deals.list), not the document's (calls.search).
    assert calls.status_code == 403
    assert "api/v1/phone_calls/search" in calls.json()["error"]
    assert deals.status_code == 200
