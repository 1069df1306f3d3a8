"""The team's CRM: contacts, accounts, sequences, tasks, deals and users."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bollard.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def post(client: httpx.AsyncClient, path: str, body: Any = None) -> Any:
    response = await client.post(f"/api/v1{path}", json=body or {})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_contact_is_created_with_lists_and_updated_in_place(
    client: httpx.AsyncClient,
) -> None:
    created = await post(
        client,
        "/contacts",
        {
            "first_name": "Ada",
            "last_name": "Byron",
            "label_names": ["Hot leads"],
            "mobile_phone": "(415) 555-0100",
        },
    )
    contact = created["contact"]
    assert contact["name"] == "Ada Byron"
    assert contact["source"] == "api"
    assert created["labels"][0]["name"] == "Hot leads"
    assert contact["label_ids"] == [created["labels"][0]["id"]]
    assert contact["sanitized_phone"] == "+14155550100"
    patched = await client.patch(
        f"/api/v1/contacts/{contact['id']}", json={"title": "CTO", "label_names": ["Board"]}
    )
    body = patched.json()
    assert body["contact"]["title"] == "CTO"
    assert body["contact"]["first_name"] == "Ada"
    assert [lb["name"] for lb in body["labels"]] == ["Board"]


async def test_contacts_are_duplicated_unless_run_dedupe_finds_the_match(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    first = await post(client, "/contacts", {"email": "pat@acme.example", "title": "A"})
    again = await post(client, "/contacts", {"email": "pat@acme.example"})
    deduped = await post(
        client, "/contacts", {"email": "PAT@acme.example", "title": "B", "run_dedupe": True}
    )
    assert again["contact"]["id"] != first["contact"]["id"]
    assert deduped["contact"]["id"] in (first["contact"]["id"], again["contact"]["id"])
    assert deduped["contact"]["title"] == "B"
    assert len(sandbox.team.contacts) == 2


async def test_a_contact_with_a_known_email_is_linked_to_the_person(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    person = next(p for p in sandbox.people.people if p.email_status == "verified")
    contact = (await post(client, "/contacts", {"email": person.email}))["contact"]
    assert contact["person_id"] == person.id
    assert contact["email_status"] == "verified"
    enriched = (await post(client, "/people/match", {"id": person.id}))["person"]
    assert enriched["contact_id"] == contact["id"]


async def test_updating_an_unknown_contact_or_naming_an_unknown_account_is_a_422(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.patch("/api/v1/contacts/abc123", json={"title": "x"})
    bad_account = await client.post("/api/v1/contacts", json={"account_id": "nope"})
    assert unknown.status_code == bad_account.status_code == 422
    assert unknown.json() == {"error": "Parameters misconfigured. abc123 is not a valid ID"}
    assert bad_account.json() == {"error": "Parameters misconfigured. nope is not a valid ID"}


async def test_contact_search_filters_by_keywords_and_sorts(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    for name in ("Zed", "Amy", "Bob"):
        await post(client, "/contacts", {"first_name": name, "title": "Engineer"})
        sandbox.advance(60)
    await post(client, "/contacts", {"first_name": "Other", "title": "Sales"})
    newest = await post(client, "/contacts/search", {"q_keywords": "engineer"})
    oldest = await post(
        client,
        "/contacts/search",
        {
            "q_keywords": "engineer",
            "sort_by_field": "contact_created_at",
            "sort_ascending": True,
            "per_page": 2,
        },
    )
    assert [c["first_name"] for c in newest["contacts"]] == ["Bob", "Amy", "Zed"]
    assert [c["first_name"] for c in oldest["contacts"]] == ["Zed", "Amy"]
    assert oldest["pagination"] == {"page": 1, "per_page": 2, "total_entries": 3, "total_pages": 2}


async def test_accounts_need_a_name_or_domain_and_link_the_organization(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    missing = await client.post("/api/v1/accounts", json={"phone": "1"})
    assert missing.status_code == 422
    assert missing.json() == {"error": "Please specify at least a name or domain."}
    org = sandbox.organizations.orgs[0]
    account = await post(client, "/accounts", {"name": org.name, "domain": f"www.{org.domain}"})
    assert account["account"]["organization_id"] == org.id
    assert account["account"]["domain"] == org.domain
    patched = await client.patch(f"/api/v1/accounts/{account['account']['id']}", json={"name": "N"})
    assert patched.json()["account"]["name"] == "N"
    unknown = await client.patch("/api/v1/accounts/missing1", json={"name": "N"})
    assert unknown.status_code == 422


async def test_account_search_matches_partial_names_and_refuses_unknown_sorts(
    client: httpx.AsyncClient,
) -> None:
    await post(client, "/accounts", {"name": "Globex Corporation"})
    await post(client, "/accounts", {"name": "Initech"})
    found = await post(client, "/accounts/search", {"q_organization_name": "globex"})
    bad = await client.post("/api/v1/accounts/search", json={"sort_by_field": "name"})
    assert [a["name"] for a in found["accounts"]] == ["Globex Corporation"]
    assert found["accounts"][0]["num_contacts"] == 0
    assert bad.status_code == 422
    assert bad.json() == {"error": "Invalid sort criteria", "skip_alert_dialog": True}


async def sequence_id(client: httpx.AsyncClient) -> str:
    body = await post(client, "/emailer_campaigns/search?q_name=inbound")
    assert len(body["emailer_campaigns"]) == 1
    assert body["breadcrumbs"][0]["signal_field_name"] == "q_name"
    return str(body["emailer_campaigns"][0]["id"])


async def test_adding_contacts_to_a_sequence_reports_skipped_ids_with_reasons(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    person = next(p for p in sandbox.people.people if p.email_status == "verified")
    good = (await post(client, "/contacts", {"email": person.email}))["contact"]["id"]
    no_email = (await post(client, "/contacts", {"first_name": "Q"}))["contact"]["id"]
    unverified = (await post(client, "/contacts", {"email": "x@made-up.example"}))["contact"]["id"]
    sid = await sequence_id(client)
    args = {
        "emailer_campaign_id": sid,
        "send_email_from_email_account_id": "mailbox1",
        "contact_ids": [good, no_email, unverified, "ghost"],
    }
    body = await post(client, f"/emailer_campaigns/{sid}/add_contact_ids", args)
    assert [c["id"] for c in body["contacts"]] == [good]
    assert body["contacts"][0]["contact_campaign_statuses"][0]["status"] == "active"
    assert body["skipped_contact_ids"] == {
        no_email: "contacts_without_email",
        unverified: "contacts_unverified_email",
        "ghost": "contact_not_found",
    }
    again = await post(
        client,
        f"/emailer_campaigns/{sid}/add_contact_ids",
        {**args, "contact_ids": [good, unverified], "sequence_unverified_email": True},
    )
    assert again["skipped_contact_ids"] == {good: "contacts_already_exists_in_current_campaign"}


async def test_adding_to_a_sequence_needs_contacts_and_a_sender(client: httpx.AsyncClient) -> None:
    sid = await sequence_id(client)
    path = f"/api/v1/emailer_campaigns/{sid}/add_contact_ids"
    no_contacts = await client.post(
        path, json={"emailer_campaign_id": sid, "send_email_from_email_account_id": "m"}
    )
    no_sender = await client.post(path, json={"contact_ids": ["a"]})
    assert no_contacts.json() == {"error": "Please specify either contact_ids or label_names."}
    assert no_sender.json() == {
        "error": "Please specify a emailer_campaign_id and send_email_from_email_account_id."
    }
    assert no_contacts.status_code == no_sender.status_code == 422


async def test_tasks_need_their_required_fields_and_can_be_searched(
    client: httpx.AsyncClient,
) -> None:
    user = (await client.get("/api/v1/users/search")).json()["users"][0]["id"]
    contact = (await post(client, "/contacts", {"first_name": "T"}))["contact"]["id"]
    blank = await client.post("/api/v1/tasks", json={"contact_id": contact})
    assert blank.status_code == 422
    assert blank.json() == {"error": "type and user can not be blank"}
    task = {
        "user_id": user,
        "contact_id": contact,
        "type": "call",
        "status": "scheduled",
        "due_at": "2026-02-01T09:00:00Z",
        "priority": "high",
    }
    created = (await post(client, "/tasks", task))["task"]
    assert created["contact"]["id"] == contact
    found = await post(
        client, "/tasks/search?open_factor_names[]=task_types&sort_by_field=task_priority"
    )
    assert [t["id"] for t in found["tasks"]] == [created["id"]]
    assert {"value": "call", "display_name": "Call", "count": 1} in found["faceting"]["task_types"]
    too_many = await client.post("/api/v1/tasks/search", json={"per_page": 101})
    assert too_many.json() == {"error": "Per page not supported"}


async def test_deals_need_a_name_and_unknown_ids_are_a_422(client: httpx.AsyncClient) -> None:
    nameless = await client.post("/api/v1/opportunities", json={"amount": "10"})
    assert nameless.status_code == 422
    assert nameless.json() == {"error": "Name is required"}
    deal = (await post(client, "/opportunities", {"name": "Big", "amount": "5000"}))["opportunity"]
    commas = (await post(client, "/opportunities", {"name": "Odd", "amount": "5,000"}))[
        "opportunity"
    ]
    assert (deal["amount"], commas["amount"]) == (5000.0, None)
    won = await client.patch(f"/api/v1/opportunities/{deal['id']}", json={"amount": 7000})
    assert won.json()["opportunity"]["amount"] == 7000.0
    missing = await client.patch("/api/v1/opportunities/nope", json={"name": "x"})
    assert missing.status_code == 422
    assert missing.json() == {"error": "Opportunity does not exist."}
    listed = (await client.get("/api/v1/opportunities/search?sort_by_field=amount")).json()
    assert [d["name"] for d in listed["opportunities"]] == ["Big", "Odd"]
    assert listed["pagination"]["total_entries"] == 2


async def test_users_are_seeded_and_listed_with_apollos_pagination(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/api/v1/users/search?per_page=2")).json()
    assert len(body["users"]) == 2
    assert body["pagination"] == {
        "page": "1",
        "per_page": "2",
        "total_entries": 3,
        "total_pages": 2,
    }
