"""An upstream that redirects, resets or floods: the key stays home, nothing is sent
twice, and nothing larger than Bollard reads is held."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bollard.limits.usage import usage_fetch
from bollard.loopback import LoopbackServer
from bollard.upstream import MAX_REPLY_BYTES
from tests.harness import MASTER_KEY, SCOPED_KEY, StartBollard
from tests.hostile_upstreams import catcher, flooder, redirector, resetter

SEARCH = "/api/v1/mixed_people/api_search"  # POST, scoped key
USERS = "/api/v1/users/search"  # GET, master key
ENRICH_ORG = "/api/v1/organizations/enrich?domain=apollo.io"  # GET, spends a credit


@pytest.mark.parametrize(
    ("status", "method", "path"),
    [
        (302, "POST", SEARCH),
        (307, "POST", SEARCH),  # would re-POST the body
        (301, "GET", USERS),  # master key
        (303, "GET", USERS),
        (308, "GET", USERS),
    ],
)
def test_a_redirect_from_upstream_is_a_502_naming_it_and_no_key_reaches_the_other_host(
    start_bollard: StartBollard, status: int, method: str, path: str
) -> None:
    with catcher() as other:
        # `localhost`, not 127.0.0.1: the host named in the answer tells them apart.
        elsewhere = other.url.replace("127.0.0.1", "localhost")
        with redirector(status, elsewhere) as url:
            bollard = start_bollard(apollo_url=url)
            _, key = bollard.agents.create("a", ["*:read"])
            with bollard.client(key) as client:
                reply = client.request(method, path, json={} if method == "POST" else None)
            records = bollard.records()
    assert other.seen == []
    assert reply.status_code == 502
    body = reply.json()
    assert body["error_code"] == "UPSTREAM_REDIRECTED"
    assert f"answered {status}" in body["error"]
    assert "'localhost'" in body["error"]
    outcome = records[-1]
    assert (outcome["outcome"], outcome["status"]) == ("upstream_error", 502)
    for secret in (SCOPED_KEY, MASTER_KEY):
        assert secret not in reply.text
        assert secret not in str(records)


def test_a_connection_reset_after_sending_is_not_resent_and_is_recorded(
    start_bollard: StartBollard,
) -> None:
    with resetter() as upstream:
        bollard = start_bollard(apollo_url=upstream.url)
        _, key = bollard.agents.create("a", ["organizations:read"])
        with bollard.client(key) as client:
            reply = client.get(ENRICH_ORG)
        records = bollard.records()
        assert upstream.requests == 1
    assert reply.status_code == 502
    assert "not resent" in reply.json()["error"]
    request, outcome = records[-2:]
    assert (request["kind"], request["action"]) == ("request", "organizations.enrich")
    assert (outcome["outcome"], outcome["status"]) == ("upstream_error", 502)


@pytest.fixture
def flooding_apollo() -> Iterator[str]:
    """Answers too large to hold: with its length declared, or gzipped."""
    big = b'{"people": "' + b"x" * (MAX_REPLY_BYTES + 10) + b'"}'

    async def declared(request: Request) -> Response:
        return Response(big, media_type="application/json")

    async def bomb(request: Request) -> Response:
        packed = gzip.compress(big)  # a few KB on the wire
        headers = {"content-encoding": "gzip"}
        return Response(packed, media_type="application/json", headers=headers)

    path = "/api/v1/mixed_people/api_search"
    app = Starlette(
        routes=[
            Route(f"/declared{path}", declared, methods=["POST"]),
            Route(f"/gzip{path}", bomb, methods=["POST"]),
        ]
    )
    with LoopbackServer(app) as server:
        yield server.url


@pytest.mark.parametrize("kind", ["declared", "gzip"])
def test_an_upstream_answer_past_the_cap_is_a_502_and_recorded(
    start_bollard: StartBollard, flooding_apollo: str, kind: str
) -> None:
    bollard = start_bollard(apollo_url=f"{flooding_apollo}/{kind}")
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={})
    assert reply.status_code == 502
    assert reply.json()["error_code"] == "UPSTREAM_REPLY_TOO_LARGE"
    outcome = bollard.records()[-1]
    assert (outcome["outcome"], outcome["status"]) == ("upstream_error", 502)


def test_an_endless_upstream_answer_is_cut_off_not_read_whole(
    start_bollard: StartBollard,
) -> None:
    limit = 25 * MAX_REPLY_BYTES
    with flooder(limit) as upstream:
        bollard = start_bollard(apollo_url=upstream.url)
        _, key = bollard.agents.create("a", ["people:read"])
        with bollard.client(key) as client:
            reply = client.post(SEARCH, json={})
        assert upstream.ended.wait(10)
    assert reply.status_code == 502
    assert reply.json()["error_code"] == "UPSTREAM_REPLY_TOO_LARGE"
    # What Bollard read, plus what the two sockets' buffers on loopback held.
    assert upstream.sent < limit / 2


def test_the_usage_sync_does_not_follow_a_redirect_with_the_master_key(
    start_bollard: StartBollard,
) -> None:
    with catcher() as other, redirector(307, other.url) as url:
        settings = start_bollard(apollo_url=url).settings
        fetch = usage_fetch(settings)
        assert fetch is not None

        async def sync() -> tuple[int, bytes]:
            return await fetch()

        status, _ = asyncio.run(sync())
    assert status == 307
    assert other.seen == []
