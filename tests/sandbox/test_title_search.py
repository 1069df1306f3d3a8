"""People API Search on title terms, locations and the generated prospect database.

Driven through the real sandbox app over ASGI, on the default-size database
(built once for the module: it is what users and agents meet first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bollard.sandbox import Sandbox, SandboxConfig, create_sandbox
from bollard.sandbox.titles import departments, query, seniority, terms
from tests.sandbox.conftest import MASTER

pytestmark = pytest.mark.anyio

PEOPLE = "/api/v1/mixed_people/api_search"
COMPANIES = "/api/v1/mixed_companies/search"


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return create_sandbox(SandboxConfig(master_keys=(MASTER,), rate_limits=False))


@pytest.fixture
async def api(box: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=box.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": MASTER}
    ) as c:
        yield c


async def found(api: httpx.AsyncClient, path: str = PEOPLE, **args: Any) -> list[dict[str, Any]]:
    """Every result of a search (all pages), as Apollo returns them."""
    out: list[dict[str, Any]] = []
    key = "people" if path == PEOPLE else "organizations"
    for page in range(1, 500):
        body = (await api.post(path, json={**args, "per_page": 100, "page": page})).json()
        out += body[key]
        if len(body[key]) < 100:
            return out
    raise AssertionError("more than 50,000 results")


def ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in rows}


# Each abbreviation and its written-out form find the same people, either way round.
SPELLINGS = [
    ("CEO", "Chief Executive Officer"),
    ("CTO", "Chief Technology Officer"),
    ("CFO", "Chief Financial Officer"),
    ("COO", "Chief Operating Officer"),
    ("CMO", "Chief Marketing Officer"),
    ("CRO", "Chief Revenue Officer"),
    ("VP Sales", "Vice President of Sales"),
    ("SVP Sales", "Senior Vice President, Sales"),
    ("EVP Sales", "Executive Vice President of Sales"),
    ("Sr Account Executive", "Senior Account Executive"),
    ("Dir of Marketing", "Director of Marketing"),
    ("Sales Mgr", "Sales Manager"),
    ("Software Eng", "Software Engineer"),
]


@pytest.mark.parametrize(("short", "long"), SPELLINGS)
async def test_an_abbreviation_and_its_written_out_form_find_the_same_people(
    api: httpx.AsyncClient, short: str, long: str
) -> None:
    by_short = await found(api, person_titles=[short])
    by_long = await found(api, person_titles=[long])
    assert by_short, f"nobody found for {short!r}"
    assert ids(by_short) == ids(by_long)
    wanted = query(long, similar=True)
    assert all(wanted.matches(frozenset(terms(p["title"]))) for p in by_short)
    strict = await found(api, person_titles=[short], include_similar_titles=False)
    assert ids(strict) == ids(await found(api, person_titles=[long], include_similar_titles=False))


async def test_the_issues_searches_find_people(api: httpx.AsyncClient) -> None:
    for title in ("CEO", "VP Sales", "vp of sales", "sales director", "CTO"):
        assert await found(api, person_titles=[title]), title


async def test_word_order_is_loose(api: httpx.AsyncClient) -> None:
    sales_director = await found(api, person_titles=["sales director"])
    director_of_sales = await found(api, person_titles=["Director of Sales"])
    assert ids(sales_director) == ids(director_of_sales)
    titles = {p["title"] for p in sales_director}
    assert {"Director of Sales", "Sales Director"} <= titles


async def test_a_term_never_matches_inside_another_word(
    api: httpx.AsyncClient, box: Sandbox
) -> None:
    ctos = await found(api, person_titles=["cto"])
    assert ctos
    assert all({"chief", "technology", "officer"} <= set(terms(p["title"])) for p in ctos)
    assert not any("Director" in p["title"] for p in ctos)
    directors = [p for p in box.people.people if "director" in p.title.lower()]
    assert directors  # the people "cto" must not find exist
    for part in ("direct", "market", "manage", "york"):  # parts of "Director", "Marketing"...
        assert await found(api, person_titles=[part]) == [], part


async def test_strict_titles_match_the_same_terms_only(api: httpx.AsyncClient) -> None:
    similar = await found(api, person_titles=["vp sales"])
    strict = await found(api, person_titles=["vp sales"], include_similar_titles=False)
    strict_titles = {p["title"] for p in strict}
    assert strict_titles >= {"VP, Sales", "Vice President of Sales"}
    assert all(set(terms(t)) == {"vice", "president", "sales"} for t in strict_titles)
    assert ids(strict) < ids(similar)
    assert any(p["title"].startswith("SVP") for p in similar)
    by_query = (
        await api.post(f"{PEOPLE}?person_titles[]=vp%20sales&include_similar_titles=false")
    ).json()
    assert by_query["total_entries"] == len(strict)


async def test_seniority_and_department_follow_the_title(
    api: httpx.AsyncClient, box: Sandbox
) -> None:
    for p in box.people.people:
        assert p.seniority == seniority(p.title), p.title
        assert p.departments == departments(p.title), p.title
    vp_sales = await found(api, person_titles=["VP of Sales"], include_similar_titles=False)
    narrowed = await found(
        api,
        person_titles=["VP of Sales"],
        include_similar_titles=False,
        person_seniorities=["vp"],
        person_departments=["sales"],
    )
    assert vp_sales
    assert ids(vp_sales) == ids(narrowed)
    # Every CEO is filed c_suite, or founder when the title says so ("Founder & CEO").
    ceos = await found(api, person_titles=["CEO"])
    ranked = await found(api, person_titles=["CEO"], person_seniorities=["c_suite", "founder"])
    assert ceos
    assert ids(ceos) == ids(ranked)
    founders = await found(api, person_titles=["CEO"], person_seniorities=["founder"])
    assert founders
    assert all("founder" in p["title"].lower() for p in founders)
    assert await found(api, person_titles=["CEO"], person_seniorities=["intern"]) == []


def test_every_company_is_led_by_someone(box: Sandbox) -> None:
    leaders: set[int] = set()
    for p in box.people.people:
        found_terms = set(terms(p.title))
        chief = {"chief", "executive", "officer"} <= found_terms
        if chief or found_terms & {"founder", "cofounder", "owner"}:
            leaders.add(p.org)
    assert leaders == set(range(len(box.organizations.orgs)))


def test_the_database_has_real_title_variants_and_full_teams_at_large_companies(
    box: Sandbox,
) -> None:
    titles = box.people.titles.titles
    assert len(titles) >= 300
    assert {"VP, Sales", "Vice President of Sales", "Head of Sales", "Founder & CEO"} <= set(titles)
    largest = max(
        range(len(box.organizations.orgs)), key=lambda i: box.organizations.orgs[i].employees
    )
    team = {p.title for p in box.people.people if p.org == largest}
    chiefs = {t for t in team if seniority(t) == "c_suite"}
    assert len(chiefs) >= 8
    assert sum(seniority(t) == "vp" for t in team) >= 5
    # Staff outnumber leaders at every level below them.
    counts = dict.fromkeys(("entry", "senior", "manager", "director", "vp", "c_suite"), 0)
    for p in box.people.people:
        if p.seniority in counts:
            counts[p.seniority] += 1
    assert counts["entry"] > counts["director"] > 0
    assert counts["senior"] > counts["vp"]


def test_revenue_headcount_and_technologies_agree(box: Sandbox) -> None:
    orgs = box.organizations.orgs
    for o in orgs:
        per_head = o.revenue / o.employees
        assert 50_000 <= per_head <= 1_500_000, (o.name, o.employees, o.revenue)
    small = [len(o.technologies) for o in orgs if o.employees < 20]
    large = [len(o.technologies) for o in orgs if o.employees > 2000]
    assert sum(large) / len(large) > sum(small) / len(small)
    countries = {o.location[2] for o in orgs}
    assert len(countries) >= 8


LOCATION_FORMS = [
    ("California, US", lambda loc: loc[1] == "California"),
    ("california", lambda loc: loc[1] == "California"),
    ("San Francisco, CA", lambda loc: loc[0] == "San Francisco"),
    ("Austin, Texas, United States", lambda loc: loc[0] == "Austin"),
    ("london, united kingdom", lambda loc: loc[0] == "London"),
    ("London, UK", lambda loc: loc[0] == "London"),
    ("United Kingdom", lambda loc: loc[2] == "United Kingdom"),
    ("GB", lambda loc: loc[2] == "United Kingdom"),
    ("germany", lambda loc: loc[2] == "Germany"),
    ("DE", lambda loc: loc[2] == "Germany"),
    ("Ontario, Canada", lambda loc: loc[1] == "Ontario"),
    ("united states", lambda loc: loc[2] == "United States"),
    ("USA", lambda loc: loc[2] == "United States"),
]


@pytest.mark.parametrize(("text", "where"), LOCATION_FORMS)
async def test_person_locations_take_apollos_forms_on_whole_place_names(
    api: httpx.AsyncClient, box: Sandbox, text: str, where: Any
) -> None:
    body = (await api.post(PEOPLE, json={"person_locations": [text], "per_page": 1})).json()
    expected = [p for p in box.people.people if where(p.location)]
    assert body["total_entries"] == len(expected) > 0


@pytest.mark.parametrize(("text", "where"), LOCATION_FORMS)
async def test_organization_locations_take_the_same_forms(
    api: httpx.AsyncClient, box: Sandbox, text: str, where: Any
) -> None:
    body = (
        await api.post(COMPANIES, json={"organization_locations": [text], "per_page": 1})
    ).json()
    expected = [o for o in box.organizations.orgs if where(o.location)]
    assert body["pagination"]["total_entries"] == len(expected) > 0


async def test_a_part_of_a_place_name_matches_nothing(api: httpx.AsyncClient) -> None:
    for text in ("york", "francisco", "united", "land"):
        body = (await api.post(PEOPLE, json={"person_locations": [text]})).json()
        assert body["total_entries"] == 0, text


async def test_keywords_match_whole_words(api: httpx.AsyncClient, box: Sandbox) -> None:
    body = (await api.post(PEOPLE, json={"q_keywords": "cto"})).json()
    directors = (await api.post(PEOPLE, json={"q_keywords": "director"})).json()
    assert body["total_entries"] > 0
    assert directors["total_entries"] > 0
    names = {
        p["title"]
        for p in (await api.post(PEOPLE, json={"q_keywords": "cto", "per_page": 100})).json()[
            "people"
        ]
    }
    assert not any("Director" in t for t in names)


async def test_breadcrumbs_echo_the_filters_and_total_pages_is_the_true_count(
    api: httpx.AsyncClient, box: Sandbox
) -> None:
    args = {"organization_num_employees_ranges": ["250,1000"], "per_page": 1}
    body = (await api.post(COMPANIES, json=args)).json()
    assert body["breadcrumbs"] == [
        {
            "label": "# Employees",
            "signal_field_name": "organization_num_employees_ranges",
            "value": "250,1000",
            "display_name": "250-1000",
        }
    ]
    total = body["pagination"]["total_entries"]
    assert body["pagination"]["total_pages"] == total
    everything = (await api.post(COMPANIES, json={"per_page": 1})).json()
    assert everything["pagination"]["total_pages"] == len(box.organizations.orgs) > 500
    assert everything["breadcrumbs"] == []


async def test_the_deprecated_people_search_answers_apollos_422(api: httpx.AsyncClient) -> None:
    reply = await api.post("/api/v1/mixed_people/search", json={"person_titles": ["ceo"]})
    assert reply.status_code == 422
    assert reply.json() == {
        "error": "This endpoint is deprecated for API callers. Please use the new "
        "mixed_people/api_search endpoint: https://docs.apollo.io/reference/people-api-search."
    }
    unknown_key = await api.post("/api/v1/mixed_people/search", headers={"x-api-key": "nope"})
    assert unknown_key.status_code == 401
