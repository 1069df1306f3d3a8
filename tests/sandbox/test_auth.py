"""Keys, scopes and the master-key rule, answered with Apollo's bodies."""

from __future__ import annotations

import httpx
import pytest

from bollard.sandbox import Sandbox, SandboxConfig, create_sandbox
from tests.sandbox.conftest import MASTER, SCOPED, SCOPED_ALL, small_config

pytestmark = pytest.mark.anyio

INVALID = (
    "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
)
SEARCH = "/api/v1/mixed_people/api_search"


async def test_a_call_without_a_key_gets_apollos_plain_text_401(client: httpx.AsyncClient) -> None:
    response = await client.post(SEARCH, headers={"x-api-key": ""})
    assert response.status_code == 401
    assert response.text == INVALID
    assert response.headers["content-type"].startswith("text/plain")


async def test_an_unknown_key_gets_401_and_no_rate_limit_headers(client: httpx.AsyncClient) -> None:
    response = await client.post(SEARCH, headers={"x-api-key": "nope"})
    assert response.status_code == 401
    assert response.text == INVALID
    assert "x-minute-usage" not in response.headers


async def test_a_bearer_header_instead_of_x_api_key_is_refused_as_apollo_does(
    sandbox: Sandbox,
) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        response = await c.post(SEARCH, headers={"authorization": f"Bearer {MASTER}"})
    assert response.status_code == 401
    assert response.text == "Invalid access credentials."


async def test_a_scoped_key_outside_its_scope_gets_403_naming_the_key_scope(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/accounts", json={"name": "Acme"}, headers={"x-api-key": SCOPED}
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "This API key is not authorized to access api/v1/accounts/create. Request an "
        "API key from your administrator that includes this endpoint in its configured scope.",
        "error_code": "API_INACCESSIBLE",
    }


async def test_a_scoped_key_inside_its_scope_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post(SEARCH, headers={"x-api-key": SCOPED})
    assert response.status_code == 200


async def test_in_seed_mode_a_scoped_key_cannot_call_a_master_only_action(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/opportunities/search", headers={"x-api-key": SCOPED_ALL})
    assert response.status_code == 403
    assert "deals/api/v1/opportunities/search" in response.json()["error"]
    assert response.json()["error_code"] == "API_INACCESSIBLE"


async def test_in_scoped_mode_a_scoped_key_reaches_master_only_actions_in_its_scope() -> None:
    box = create_sandbox(small_config(master_mode="scoped"))
    transport = httpx.ASGITransport(app=box.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        allowed = await c.get("/api/v1/opportunities/search", headers={"x-api-key": SCOPED_ALL})
        outside = await c.get("/api/v1/opportunities/search", headers={"x-api-key": SCOPED})
    assert allowed.status_code == 200
    assert outside.status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/emailer_campaigns/search"),
        ("POST", "/api/v1/usage_stats/api_usage_stats"),
        ("GET", "/api/v1/users/search"),
        ("POST", "/api/v1/tasks/search"),
    ],
)
async def test_a_master_key_reaches_master_only_actions(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 200


async def test_health_answers_without_a_key_and_is_not_recorded(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    response = await client.get("/api/v1/auth/health", headers={"x-api-key": ""})
    assert response.json() == {"healthy": True, "is_logged_in": True}
    assert sandbox.calls == []


async def test_unknown_routes_and_wrong_methods_get_a_json_404(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/v1/mixed_people/no_such_search")
    wrong_method = await client.get("/api/v1/contacts")
    for response in (unknown, wrong_method):
        assert response.status_code == 404
        assert response.json() == {"error": "Not Found", "status": 404}


async def test_every_call_is_recorded_with_its_key_query_and_body(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await client.post(
        f"{SEARCH}?person_titles[]=cto", json={"page": 2}, headers={"x-api-key": "wrong"}
    )
    await client.post("/api/v1/nowhere")
    first, second = sandbox.calls
    assert (first.action_id, first.method, first.path) == ("people.search", "POST", SEARCH)
    assert (first.api_key, first.query, first.body) == (
        "wrong",
        {"person_titles": ["cto"]},
        {"page": 2},
    )
    assert second.action_id is None


async def test_a_body_that_is_not_json_gets_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        SEARCH, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_a_config_naming_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match=r"people\.serch"):
        create_sandbox(SandboxConfig(scoped_keys={"k": ("people.serch",)}))
