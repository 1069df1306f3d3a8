"""The /mcp transport: keys, origins and sessions, checked before the SDK sees a request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mcp import MCPError

from tests.harness import Bollard, StartBollard, keys_made_uncheckable, mcp_session

pytestmark = pytest.mark.anyio
ACCEPT = "application/json, text/event-stream"
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def initialize(client: httpx.Client, key: str) -> httpx.Response:
    message: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    return client.post("/mcp", json=message, headers={"Authorization": f"Bearer {key}"})


def raw_client(bollard: Bollard) -> httpx.Client:
    return httpx.Client(base_url=bollard.url, headers={"Accept": ACCEPT}, timeout=10)


def test_request_without_a_valid_key_is_401_with_a_bearer_challenge(bollard: Bollard) -> None:
    with raw_client(bollard) as client:
        missing = client.post("/mcp", json=LIST)
        wrong = client.post("/mcp", json=LIST, headers={"Authorization": "Bearer bol_nope"})
    for reply in (missing, wrong):
        assert reply.status_code == 401
        challenge = reply.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="bollard", error="invalid_token"')
        assert "error_description=\"send the agent's Bollard key as 'Authorization: Bearer" in (
            challenge
        )
        assert "no OAuth sign-in" in challenge
        assert reply.json()["error_code"] == "INVALID_API_KEY"
        assert "tools" not in reply.text


async def test_sdk_client_without_a_key_cannot_connect(bollard: Bollard) -> None:
    with pytest.raises(BaseExceptionGroup) as refused:
        async with mcp_session(bollard.url, None):
            pass
    assert refused.group_contains(MCPError, depth=None)


async def test_x_api_key_is_accepted_like_bearer(bollard: Bollard) -> None:
    _, key = bollard.agents.create("plain", ["people.search"])
    async with mcp_session(bollard.url, None, headers={"X-Api-Key": key}) as session:
        assert [t.name for t in (await session.list_tools()).tools] == [
            "apollo_mixed_people_api_search"
        ]


async def test_revoked_key_is_refused_on_the_next_request(bollard: Bollard) -> None:
    _, key = bollard.agents.create("soon-gone", ["people:read"])
    async with mcp_session(bollard.url, key) as session:
        assert (await session.list_tools()).tools
        bollard.agents.revoke("soon-gone")
        with pytest.raises(MCPError):
            await session.list_tools()
        with pytest.raises(MCPError):
            await session.call_tool("apollo_mixed_people_api_search", {})
    assert bollard.sandbox.calls == []
    request, outcome = bollard.records()
    assert (request["door"], request["agent"], request["decision"]) == ("mcp", None, "deny")
    assert (outcome["outcome"], outcome["status"]) == ("unauthenticated", 401)


def test_foreign_browser_origin_is_refused_and_loopback_origins_are_not(bollard: Bollard) -> None:
    _, key = bollard.agents.create("browser", ["people.search"])
    with raw_client(bollard) as client:
        for origin in ("https://evil.example", "http://localhost.evil.example", "null"):
            client.headers["Origin"] = origin
            assert initialize(client, key).status_code == 403, origin
        for origin in ("http://localhost:5173", "http://127.0.0.1", "https://[::1]:8443"):
            client.headers["Origin"] = origin
            assert initialize(client, key).status_code == 200, origin


def test_configured_origin_is_allowed(start_bollard: StartBollard) -> None:
    bollard = start_bollard(mcp_allowed_origins="https://console.example.com")
    _, key = bollard.agents.create("browser", ["people.search"])
    with raw_client(bollard) as client:
        client.headers["Origin"] = "https://console.example.com"
        assert initialize(client, key).status_code == 200
        client.headers["Origin"] = "https://other.example.com"
        assert initialize(client, key).status_code == 403


def test_session_ids_are_128_random_bits_bound_to_their_agent(bollard: Bollard) -> None:
    _, alice = bollard.agents.create("alice", ["people.search"])
    _, bob = bollard.agents.create("bob", ["*:read"])
    with raw_client(bollard) as client:
        first = initialize(client, alice).headers["mcp-session-id"]
        second = initialize(client, alice).headers["mcp-session-id"]
        assert first != second
        assert len(bytes.fromhex(first[:32])) * 8 == 128
        with_owner = client.post(
            "/mcp", json=LIST, headers={"Authorization": f"Bearer {alice}", "Mcp-Session-Id": first}
        )
        with_other = client.post(
            "/mcp", json=LIST, headers={"Authorization": f"Bearer {bob}", "Mcp-Session-Id": first}
        )
        forged = client.post(
            "/mcp",
            json=LIST,
            headers={"Authorization": f"Bearer {alice}", "Mcp-Session-Id": first[:-1] + "0"},
        )
    assert with_owner.status_code == 200
    assert [t["name"] for t in with_owner.json()["result"]["tools"]] == [
        "apollo_mixed_people_api_search"
    ]
    assert with_other.status_code == 404
    assert "tools" not in with_other.text
    assert forged.status_code == 404 or first.endswith("0")


def test_a_session_opened_on_one_replica_is_served_by_another(
    start_bollard: StartBollard,
) -> None:
    one = start_bollard()
    two = start_bollard(database_url=one.settings.database_url)
    _, key = one.agents.create("roaming", ["people.search"])
    with raw_client(one) as first:
        session = initialize(first, key).headers["mcp-session-id"]
    with raw_client(two) as second:
        listed = second.post(
            "/mcp", json=LIST, headers={"Authorization": f"Bearer {key}", "Mcp-Session-Id": session}
        )
    assert listed.status_code == 200
    assert len(listed.json()["result"]["tools"]) == 1


def test_a_key_that_cannot_be_checked_is_refused_and_the_tool_call_recorded(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    key = keys_made_uncheckable(bollard, "people.search")
    call = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "apollo_mixed_people_api_search", "arguments": {}},
    }
    with raw_client(bollard) as client:
        called = client.post("/mcp", json=call, headers={"Authorization": f"Bearer {key}"})
        listed = client.post("/mcp", json=LIST, headers={"Authorization": f"Bearer {key}"})
    assert called.status_code == 500
    assert called.json()["error_code"] == "INTERNAL_ERROR"
    assert listed.status_code == 503
    assert "tools" not in listed.text
    assert bollard.sandbox.calls == []
    request, outcome = bollard.records()  # the tool call only: a listing is not a call
    assert (request["door"], request["action"], request["decision"]) == (
        "mcp",
        "people.search",
        "deny",
    )
    assert (outcome["outcome"], outcome["status"]) == ("error", 500)
    assert bollard.gateway.outcomes["mcp", "error"] == 1  # and counted for /metrics


def tool_call(arguments: bytes) -> bytes:
    return (
        b'{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": '
        b'{"name": "apollo_mixed_people_api_search", "arguments": ' + arguments + b"}}"
    )


TOO_DEEP = b'{"per_page": 1, "q": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
TOO_LONG = b'{"per_page": ' + b"7" * 5_000 + b"}"


def test_json_too_deep_to_parse_or_with_a_huge_integer_is_a_clear_400_recorded(
    bollard: Bollard, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = bollard.agents.create("deep", ["people:read"])
    sent = {"content-type": "application/json"}
    with raw_client(bollard) as client:
        keyed = [
            client.post("/mcp", content=tool_call(a), headers=sent | bearer(key))
            for a in (TOO_DEEP, TOO_LONG)
        ]
        keyless = [
            client.post("/mcp", content=tool_call(a), headers=sent) for a in (TOO_DEEP, TOO_LONG)
        ]
    assert [r.status_code for r in keyed] == [400, 400]
    assert "nests deeper than 8 levels" in keyed[0].json()["error"]
    assert "integer of more than 4,300 digits" in keyed[1].json()["error"]
    assert [r.status_code for r in keyless] == [401, 401]  # the key first, and no 500
    assert bollard.sandbox.calls == []
    outcomes = [
        (r["agent"], r["outcome"], r["status"]) for r in bollard.records() if r["kind"] == "outcome"
    ]
    assert outcomes == [("deep", "invalid", 400)] * 2  # an unknown caller's are not
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
