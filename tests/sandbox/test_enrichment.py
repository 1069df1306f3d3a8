"""Enrichment: full records, Apollo's limits and errors, and the credits ledger."""

from __future__ import annotations

import httpx
import pytest

from bollard.sandbox import Sandbox

pytestmark = pytest.mark.anyio

MATCH = "/api/v1/people/match"
BULK = "/api/v1/people/bulk_match"
ORG = "/api/v1/organizations/enrich"
WEBHOOK_MISSING = "Please add a valid 'webhook_url' parameter when using 'reveal_phone_number'"


def emailed(sandbox: Sandbox, n: int) -> list[str]:
    return [p.email for p in sandbox.people.people if p.email][:n]


async def test_people_match_by_email_returns_the_full_record_and_costs_one_credit(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    email = emailed(sandbox, 1)[0]
    body = (await client.post(MATCH, json={"email": email})).json()
    person = body["person"]
    assert person["email"] == email
    assert person["last_name"]
    assert person["organization"]["primary_domain"] in email
    assert person["employment_history"][0]["current"] is True
    assert isinstance(body["request_id"], int)
    assert sandbox.credits_spent == 1
    assert sandbox.credits.by_action == {"people.enrich": 1}


async def test_people_match_by_name_and_domain_finds_the_person(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    p = sandbox.people.people[10]
    domain = sandbox.organizations.orgs[p.org].domain
    query = f"first_name={p.first_name}&last_name={p.last_name}&domain={domain}"
    body = (await client.post(f"{MATCH}?{query}")).json()
    assert body["person"]["id"] == p.id


async def test_people_match_with_too_little_data_returns_no_record_and_costs_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    body = (await client.post(MATCH, json={"first_name": "Nobody"})).json()
    assert body["person"] is None
    assert sandbox.credits_spent == 0


async def test_bulk_match_reports_matches_misses_and_credits_consumed(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    a, b = emailed(sandbox, 2)
    details = [{"email": a}, {"email": "missing@nowhere.example"}, {"email": b}, {"email": a}]
    body = (await client.post(BULK, json={"details": details})).json()
    assert body["status"] == "success"
    assert body["total_requested_enrichments"] == 4
    assert body["missing_records"] == 1
    assert body["unique_enriched_records"] == 2
    assert body["credits_consumed"] == 2 == sandbox.credits_spent
    assert body["matches"][1] is None
    assert body["matches"][0]["email"] == a


async def test_bulk_match_refuses_more_than_ten(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    response = await client.post(BULK, json={"details": [{"email": "x@y.z"}] * 11})
    assert response.status_code == 400
    assert response.json() == {
        "status": "failed",
        "error_code": "RECORD_LIMIT_EXCEEDED",
        "error_message": "cannot enrich more than 10 in a single request",
    }
    assert sandbox.credits_spent == 0


async def test_bulk_match_without_details_is_an_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post(BULK, json={})
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_REQUEST"
    assert response.json()["error_message"] == "invalid request, missing details"


@pytest.mark.parametrize("path", [MATCH, BULK])
async def test_revealing_a_phone_without_a_webhook_url_is_a_400(
    client: httpx.AsyncClient, sandbox: Sandbox, path: str
) -> None:
    email = emailed(sandbox, 1)[0]
    response = await client.post(
        f"{path}?reveal_phone_number=true", json={"email": email, "details": [{"email": email}]}
    )
    assert response.status_code == 400
    assert response.json() == {"error": WEBHOOK_MISSING}
    assert sandbox.credits_spent == 0


async def test_organization_enrichment_needs_an_identifier(client: httpx.AsyncClient) -> None:
    response = await client.get(ORG)
    assert response.status_code == 422
    assert response.json() == {"error": "Required parameter 'domain' missing"}


async def test_organization_enrichment_by_domain_costs_one_credit(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    org = sandbox.organizations.orgs[0]
    body = (await client.get(ORG, params={"domain": f"https://www.{org.domain}/"})).json()
    missing = (await client.get(ORG, params={"domain": "no-such-company.example"})).json()
    assert body["organization"]["id"] == org.id
    assert body["organization"]["estimated_num_employees"] == org.employees
    assert missing == {}
    assert sandbox.credits.by_action == {"organizations.enrich": 1}


async def test_organization_search_costs_one_credit_per_page(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await client.post("/api/v1/mixed_companies/search", json={"page": 1})
    await client.post("/api/v1/mixed_companies/search", json={"page": 2})
    await client.post("/api/v1/mixed_companies/search", json={"q_organization_name": "zzzzzz"})
    assert sandbox.credits.by_action == {"organizations.search": 2}
    assert sandbox.credits.by_reason() == {"page": 2}


async def test_people_search_costs_nothing(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    await client.post("/api/v1/mixed_people/api_search")
    assert sandbox.credits_spent == 0
