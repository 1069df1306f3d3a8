"""People and organization search over the generated database, in both encodings."""

from __future__ import annotations

import httpx
import pytest

from bollard.sandbox import Sandbox, SandboxConfig, create_sandbox
from bollard.sandbox.titles import terms
from tests.sandbox.conftest import small_config

pytestmark = pytest.mark.anyio

PEOPLE = "/api/v1/mixed_people/api_search"
COMPANIES = "/api/v1/mixed_companies/search"


def test_the_default_database_is_big_enough() -> None:
    # How long it takes to build is not asserted here: a timed assertion fails on a
    # slow host for the wrong reason (1.2 s of CPU in a clean-clone CI run here).
    box = create_sandbox(SandboxConfig())
    assert len(box.people.people) >= 10_000
    assert len(box.organizations.orgs) >= 2_000


def test_the_same_seed_generates_the_same_people_and_another_seed_does_not() -> None:
    a, b = create_sandbox(small_config()), create_sandbox(small_config())
    c = create_sandbox(small_config(seed=8))
    assert a.people.people[:50] == b.people.people[:50]
    assert a.people.people[0] != c.people.people[0]


async def test_people_search_returns_apollos_stub_shape_without_emails(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.post(PEOPLE, json={"per_page": 3})).json()
    assert set(body) == {"total_entries", "people"}
    assert body["total_entries"] == 2_000
    person = body["people"][0]
    assert "email" not in person
    assert "last_name" not in person
    assert person["last_name_obfuscated"].count("***") == 1
    assert isinstance(person["has_email"], bool)
    assert person["has_direct_phone"] in ("Yes", "Maybe: please try again later")
    assert {"name", "has_industry", "has_employee_count"} <= set(person["organization"])


async def test_people_search_filters_by_title_seniority_and_location(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    args = {
        "person_titles": ["director"],
        "person_seniorities": ["director"],
        "person_locations": ["united states"],
        "per_page": 100,
    }
    body = (await client.post(PEOPLE, json=args)).json()
    expected = [
        p
        for p in sandbox.people.people
        if p.seniority == "director"
        and "director" in terms(p.title)
        and p.location[2] == "United States"
    ]
    assert body["total_entries"] == len(expected) > 0
    assert all("Director" in p["title"] for p in body["people"])


async def test_strict_titles_match_only_the_exact_title(client: httpx.AsyncClient) -> None:
    similar = await client.post(PEOPLE, json={"person_titles": ["account executive"]})
    strict = await client.post(
        PEOPLE, json={"person_titles": ["account executive"], "include_similar_titles": False}
    )
    assert similar.json()["total_entries"] > strict.json()["total_entries"] > 0


async def test_query_arrays_and_json_bodies_give_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    query = (
        "person_seniorities[]=vp&person_seniorities[]=c_suite"
        "&organization_num_employees_ranges[]=1,200&revenue_range[min]=1000000&per_page=5"
    )
    body = {
        "person_seniorities": ["vp", "c_suite"],
        "organization_num_employees_ranges": ["1,200"],
        "revenue_range": {"min": 1_000_000},
        "per_page": 5,
    }
    by_query = (await client.post(f"{PEOPLE}?{query}")).json()
    by_body = (await client.post(PEOPLE, json=body)).json()
    assert by_query == by_body
    assert 0 < by_query["total_entries"] < 2_000


async def test_unknown_filter_names_are_ignored_as_apollo_does(client: httpx.AsyncClient) -> None:
    plain = (await client.post(PEOPLE)).json()
    misspelt = (await client.post(PEOPLE, json={"titles": ["ceo"], "q": "x"})).json()
    assert misspelt == plain


async def test_domain_filter_matches_current_and_previous_employers(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    org_index = sandbox.people.people[0].org
    domain = sandbox.organizations.orgs[org_index].domain
    body = (
        await client.post(
            PEOPLE, json={"q_organization_domains_list": [f"www.{domain}"], "per_page": 100}
        )
    ).json()
    expected = [p for p in sandbox.people.people if org_index in (p.org, p.previous_org)]
    assert body["total_entries"] == len(expected)
    assert any(p.previous_org == org_index for p in expected)


async def test_per_page_is_capped_at_100_and_pages_past_500_are_empty(
    client: httpx.AsyncClient,
) -> None:
    capped = (await client.post(PEOPLE, json={"per_page": 1000})).json()
    beyond = (await client.post(PEOPLE, json={"per_page": 1, "page": 501})).json()
    second = (await client.post(PEOPLE, json={"per_page": 10, "page": 2})).json()
    first = (await client.post(PEOPLE, json={"per_page": 20})).json()
    assert len(capped["people"]) == 100
    assert beyond["people"] == []
    assert beyond["total_entries"] == 2_000
    assert second["people"] == first["people"][10:]


async def test_organization_search_filters_and_pages_with_apollos_pagination(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    args = {
        "organization_locations": ["germany"],
        "currently_using_any_of_technology_uids": ["salesforce"],
        "per_page": 5,
    }
    body = (await client.post(COMPANIES, json=args)).json()
    expected = [
        o
        for o in sandbox.organizations.orgs
        if o.location[2] == "Germany" and "salesforce" in o.technologies
    ]
    assert body["pagination"] == {
        "page": 1,
        "per_page": 5,
        "total_entries": len(expected),
        "total_pages": -(-len(expected) // 5),
    }
    assert [o["id"] for o in body["organizations"]] == [o.id for o in expected[:5]]
    assert body["accounts"] == []


async def test_organization_search_by_partial_name_and_revenue_range(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    org = sandbox.organizations.orgs[3]
    args = {"q_organization_name": org.name[:6].lower(), "revenue_range[max]": str(org.revenue)}
    body = (
        await client.post(
            f"{COMPANIES}?q_organization_name={args['q_organization_name']}"
            f"&revenue_range[max]={org.revenue}&per_page=100"
        )
    ).json()
    ids = [o["id"] for o in body["organizations"]]
    assert org.id in ids
    assert all(
        sandbox.organizations.orgs[sandbox.organizations.by_id[i]].revenue <= org.revenue
        for i in ids
    )
