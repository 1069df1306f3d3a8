"""Half-sent requests and text that is not text: refused alone, never forwarded, never fatal."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.harness import Bollard, wait_until

SEARCH = "/api/v1/mixed_people/api_search"
LONE_SURROGATE = b'{"per_page": 1, "person_titles": ["\\ud800"]}'


def send_then_hang_up(bollard: Bollard, key: str, head_only: bytes) -> None:
    """Headers promising a body, part of it, then the connection closed."""
    where = urlsplit(bollard.url)
    with socket.create_connection((where.hostname, where.port), timeout=5) as conn:
        conn.sendall(
            b"POST " + SEARCH.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 500\r\n"
            b"X-Api-Key: " + key.encode() + b"\r\n\r\n" + head_only
        )
    wait_until(lambda: not bollard.server.busy, "the server done with the hung-up connection")


def test_a_client_that_hangs_up_mid_body_sends_nothing_upstream(bollard: Bollard) -> None:
    _, key = bollard.agents.create("flaky", ["people:read"])
    send_then_hang_up(bollard, key, b"")
    send_then_hang_up(bollard, key, b'{"per_page": 1')
    with bollard.client(key) as client:  # the server is fine afterwards
        assert client.post(SEARCH, json={"per_page": 1}).status_code == 200
    assert len(bollard.sandbox.calls) == 1
    assert [r["kind"] for r in bollard.records()] == ["request", "outcome"]


def test_a_lone_surrogate_is_a_clear_400_and_the_log_keeps_working(bollard: Bollard) -> None:
    _, key = bollard.agents.create("odd", ["people:read"])
    _, nothing = bollard.agents.create("nothing")  # no grants at all
    with bollard.client(key) as client:
        refused = client.post(
            SEARCH, content=LONE_SURROGATE, headers={"content-type": "application/json"}
        )
        paired = client.post(
            SEARCH,
            content=b'{"per_page": 1, "person_titles": ["\\ud83d\\ude00"]}',
            headers={"content-type": "application/json"},
        )
        after = client.post(SEARCH, json={"per_page": 1})
    with bollard.client(nothing) as client:
        denied = client.post(
            SEARCH, content=LONE_SURROGATE, headers={"content-type": "application/json"}
        )
    with httpx.Client(base_url=bollard.url) as client:
        ready = client.get("/readyz")
    assert refused.status_code == 400
    assert "unpaired surrogate" in refused.json()["error"]
    assert paired.status_code == 200  # a complete pair is a real character
    assert after.status_code == 200
    assert denied.status_code == 403  # not granted: the body is not even looked at
    assert ready.status_code == 200
    assert len(bollard.sandbox.calls) == 2
    outcomes = [r["outcome"] for r in bollard.records() if r["kind"] == "outcome"]
    assert outcomes == ["invalid", "ok", "ok", "denied"]


DEEP = b'{"per_page": 1, "q": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
LONG_INTEGER = b'{"per_page": ' + b"7" * 5_000 + b"}"


def post_raw(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post(SEARCH, content=body, headers={"content-type": "application/json"})


def test_deep_nesting_and_huge_integers_are_a_clear_400_recorded_as_invalid(
    bollard: Bollard, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = bollard.agents.create("deep", ["people:read"])
    with bollard.client(key) as client:
        deep = post_raw(client, DEEP)
        long = post_raw(client, LONG_INTEGER)
    assert deep.status_code == long.status_code == 400
    assert "nests deeper than 8 levels" in deep.json()["error"]
    assert "integer of more than 4,300 digits" in long.json()["error"]
    assert bollard.sandbox.calls == []
    outcomes = [(r["outcome"], r["status"]) for r in bollard.records() if r["kind"] == "outcome"]
    assert outcomes == [("invalid", 400)] * 2
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log


def test_a_body_that_cannot_be_read_on_an_ungranted_action_is_refused_as_not_granted(
    bollard: Bollard,
) -> None:
    # Authorization comes before validation: the agent learns only "not granted".
    _, key = bollard.agents.create("reader", ["contacts:read"])
    with bollard.client(key) as client:
        replies = [post_raw(client, body) for body in (b"{not json", DEEP, LONG_INTEGER)]
    assert [r.status_code for r in replies] == [403] * 3
    assert {r.json()["error_code"] for r in replies} == {"NOT_GRANTED"}
    assert "people.search" in replies[0].json()["bollard"]["would_allow"]
    assert bollard.sandbox.calls == []
