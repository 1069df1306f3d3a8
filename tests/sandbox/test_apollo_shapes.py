"""Waterfall enrichment, a missed match, run_dedupe and embedded organizations."""

from __future__ import annotations

import httpx
import pytest

from bollard.sandbox import Sandbox, create_sandbox
from tests.sandbox.conftest import MASTER, Receiver, small_config

pytestmark = pytest.mark.anyio

MATCH = "/api/v1/people/match"
BULK = "/api/v1/people/bulk_match"
CONTACTS = "/api/v1/contacts"
HOOK_TEXT = "Please add a valid 'webhook_url' parameter when using '{}'"


def emailed(sandbox: Sandbox, n: int) -> list[str]:
    return [p.email for p in sandbox.people.people if p.email][:n]


@pytest.mark.parametrize("flag", ["run_waterfall_email", "run_waterfall_phone"])
async def test_a_waterfall_without_a_webhook_url_is_a_400_and_costs_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox, flag: str
) -> None:
    email = emailed(sandbox, 1)[0]
    single = await client.post(MATCH, json={"email": email, flag: True})
    bulk = await client.post(BULK, json={"details": [{"email": email}], flag: True})
    for reply in (single, bulk):
        assert reply.status_code == 400
        assert reply.json() == {"error": HOOK_TEXT.format(flag)}
    assert sandbox.credits_spent == 0


async def test_a_waterfall_answers_with_its_block_then_reaches_the_webhook(
    receiver: Receiver,
) -> None:
    box = create_sandbox(small_config())
    email = emailed(box, 1)[0]
    transport = httpx.ASGITransport(app=box.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": MASTER}
    ) as client:
        args = {"email": email, "run_waterfall_email": True, "webhook_url": receiver.url}
        body = (await client.post(MATCH, json=args)).json()
        await box.join_webhooks()
    assert body["waterfall"]["status"] == "accepted"
    assert body["waterfall"]["request_id"] == body["request_id"]
    assert "email" not in body["person"]  # it comes by webhook
    assert len(receiver.payloads) == 1
    delivered = receiver.payloads[0]
    assert delivered["request_id"] == body["request_id"]
    assert delivered["request_type"] == "waterfall"
    assert delivered["people"][0]["emails"][0]["email"] == email


async def test_a_bulk_waterfall_replaces_the_counts_with_the_waterfall_block(
    receiver: Receiver,
) -> None:
    box = create_sandbox(small_config())
    emails = emailed(box, 2)
    transport = httpx.ASGITransport(app=box.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": MASTER}
    ) as client:
        args = {
            "details": [{"email": e} for e in emails],
            "run_waterfall_email": True,
            "webhook_url": receiver.url,
        }
        body = (await client.post(BULK, json=args)).json()
        await box.join_webhooks()
    assert body["status"] == "success"
    assert body["waterfall"]["status"] == "accepted"
    for absent in ("unique_enriched_records", "missing_records", "credits_consumed"):
        assert absent not in body
    assert all("email" not in m for m in body["matches"])
    assert len(receiver.payloads[0]["people"]) == 2


async def test_people_match_without_a_match_answers_person_null(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    reply = await client.post(MATCH, json={"email": "nobody@nowhere.example"})
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"person", "request_id"}
    assert body["person"] is None
    assert isinstance(body["request_id"], int)
    assert sandbox.credits_spent == 0


async def test_run_dedupe_reports_what_it_matched_and_did(client: httpx.AsyncClient) -> None:
    first = (
        await client.post(
            CONTACTS, json={"first_name": "Ada", "email": "ada@x.example", "run_dedupe": True}
        )
    ).json()
    again = (
        await client.post(
            CONTACTS, json={"email": "ADA@x.example", "title": "CTO", "run_dedupe": True}
        )
    ).json()
    plain = (await client.post(CONTACTS, json={"email": "ada@x.example"})).json()
    assert first["dedupe_result"] == {
        "duplicate_found": False,
        "action": "created",
        "matched_by": None,
        "contact_id": first["contact"]["id"],
    }
    assert again["dedupe_result"] == {
        "duplicate_found": True,
        "action": "updated",
        "matched_by": "email",
        "contact_id": first["contact"]["id"],
    }
    assert again["contact"]["title"] == "CTO"
    assert "dedupe_result" not in plain
    assert plain["contact"]["id"] != first["contact"]["id"]


async def test_contacts_and_accounts_embed_their_organization(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    person = next(p for p in sandbox.people.people if p.email)
    org = sandbox.organizations.orgs[person.org]
    contact = (await client.post(CONTACTS, json={"email": person.email})).json()["contact"]
    assert contact["organization_id"] == org.id
    assert contact["organization"]["id"] == org.id
    assert contact["organization"]["primary_domain"] == org.domain
    account = (
        await client.post("/api/v1/accounts", json={"name": org.name, "domain": org.domain})
    ).json()["account"]
    assert account["organization"]["id"] == org.id
    listed = (await client.post("/api/v1/contacts/search", json={})).json()
    assert listed["contacts"][0]["organization"]["id"] == org.id
    unknown = await client.post(CONTACTS, json={"first_name": "No", "email": "no@x.example"})
    assert unknown.json()["contact"]["organization"] is None


async def test_crm_searches_echo_their_filters_as_breadcrumbs(client: httpx.AsyncClient) -> None:
    await client.post(CONTACTS, json={"first_name": "Grace", "label_names": ["Hot leads"]})
    listed = (await client.post("/api/v1/contacts/search", json={})).json()
    label_id = listed["contacts"][0]["label_ids"][0]
    body = (
        await client.post(
            "/api/v1/contacts/search", json={"q_keywords": "grace", "contact_label_ids": [label_id]}
        )
    ).json()
    assert body["breadcrumbs"] == [
        {
            "label": "Keywords",
            "signal_field_name": "q_keywords",
            "value": "grace",
            "display_name": "grace",
        },
        {
            "label": "Lists",
            "signal_field_name": "contact_label_ids",
            "value": label_id,
            "display_name": "Hot leads",
        },
    ]
    assert body["pagination"]["total_entries"] == 1
