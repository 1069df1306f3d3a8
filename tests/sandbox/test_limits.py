"""Fixed-window rate limits, their headers, the 429, and usage stats."""

from __future__ import annotations

import json

import httpx
import pytest

from bollard.catalog import load_catalog
from bollard.sandbox import Sandbox, create_sandbox
from bollard.sandbox.usage import controller_action
from tests.sandbox.conftest import MASTER, small_config

pytestmark = pytest.mark.anyio

SEARCH = "/api/v1/contacts/search"


def client_for(box: Sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=box.app),
        base_url="http://sandbox",
        headers={"x-api-key": MASTER},
    )


async def test_every_answer_carries_the_three_windows_in_the_24_hour_spelling(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SEARCH)
    headers = (await client.post(SEARCH)).headers
    assert (
        headers["x-rate-limit-minute"],
        headers["x-minute-usage"],
        headers["x-minute-requests-left"],
    ) == ("200", "2", "198")
    assert (headers["x-rate-limit-hourly"], headers["x-hourly-usage"]) == ("600", "2")
    assert (headers["x-rate-limit-24-hour"], headers["x-24-hour-requests-left"]) == ("6000", "5998")
    assert "x-rate-limit-daily" not in headers


async def test_the_documented_daily_spelling_can_be_selected() -> None:
    async with client_for(create_sandbox(small_config(daily_header_spelling="daily"))) as c:
        headers = (await c.post(SEARCH)).headers
    assert (headers["x-rate-limit-daily"], headers["x-daily-usage"]) == ("6000", "1")
    assert "x-rate-limit-24-hour" not in headers


async def test_bulk_enrichment_gets_a_tenth_of_the_limits(client: httpx.AsyncClient) -> None:
    headers = (await client.post("/api/v1/people/bulk_match", json={})).headers
    assert (headers["x-rate-limit-minute"], headers["x-rate-limit-hourly"]) == ("20", "100")


async def test_over_the_minute_window_answers_429_until_the_window_rolls_over() -> None:
    box = create_sandbox(small_config(limits={"contacts.search": (2, 10, 100)}))
    async with client_for(box) as c:
        await c.post(SEARCH)
        box.advance(30)
        await c.post(SEARCH)
        refused = await c.post(SEARCH)
        box.advance(29)
        still = await c.post(SEARCH)
        box.advance(1)
        rolled = await c.post(SEARCH)
    assert refused.status_code == 429
    assert refused.json() == {
        "message": "The maximum number of api calls allowed for "
        "api/v1/contacts/search is 2 times per minute. Please upgrade your "
        "plan from https://app.apollo.io/#/settings/plans/upgrade."
    }
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["x-minute-requests-left"] == "0"
    assert still.status_code == 429
    assert still.headers["retry-after"] == "1"
    assert rolled.status_code == 200
    assert (rolled.headers["x-minute-usage"], rolled.headers["x-hourly-usage"]) == ("1", "3")


async def test_the_hour_window_names_the_hour_and_waits_for_its_end() -> None:
    box = create_sandbox(small_config(limits={"contacts.search": (5, 1, 100)}))
    async with client_for(box) as c:
        await c.post(SEARCH)
        box.advance(600)
        refused = await c.post(SEARCH)
    assert "is 1 times per hour" in refused.json()["message"]
    assert refused.headers["retry-after"] == "3000"


async def test_windows_are_per_endpoint(client: httpx.AsyncClient) -> None:
    await client.post(SEARCH)
    other = (await client.post("/api/v1/accounts/search")).headers
    assert other["x-minute-usage"] == "1"


async def test_without_rate_limits_nothing_is_refused_and_no_limit_headers_are_sent() -> None:
    box = create_sandbox(small_config(rate_limits=False, limits={"contacts.search": (1, 1, 1)}))
    async with client_for(box) as c:
        answers = [await c.post(SEARCH) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not any(h.startswith("x-rate-limit") for h in answers[-1].headers)


async def test_usage_stats_report_the_same_counters_in_apollos_shape(
    client: httpx.AsyncClient,
) -> None:
    await client.post(SEARCH)
    await client.post(SEARCH)
    body = (await client.post("/api/v1/usage_stats/api_usage_stats", json={})).json()
    # One key per endpoint scope: contacts.deals shares deals.list's.
    assert len(body) == len({controller_action(a) for a in load_catalog().actions}) == 79
    contacts = body[json.dumps(["api/v1/contacts", "search"])]
    assert contacts == {
        "day": {"limit": 6000, "consumed": 2, "left_over": 5998},
        "hour": {"limit": 600, "consumed": 2, "left_over": 598},
        "minute": {"limit": 200, "consumed": 2, "left_over": 198},
    }
    assert '["api/v1/opportunities", "create"]' in body
    assert body['["api/v1/people", "bulk_match"]']["minute"]["limit"] == 20


async def test_refused_keys_do_not_use_up_the_window(client: httpx.AsyncClient) -> None:
    await client.post(SEARCH, headers={"x-api-key": "wrong"})
    headers = (await client.post(SEARCH)).headers
    assert headers["x-minute-usage"] == "1"
