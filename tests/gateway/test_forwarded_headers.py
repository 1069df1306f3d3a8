"""What of an agent's request reaches Apollo: the REST door hands the gateway every header
but the agent's key, and upstream.py's allow-list is the one filter. Checked here on the
wire, at a server that keeps every header it is sent."""

from __future__ import annotations

import httpx

from tests.harness import SCOPED_KEY, StartBollard
from tests.hostile_upstreams import catcher

SEARCH = "/api/v1/mixed_people/api_search"


def test_only_the_allow_listed_headers_and_the_team_key_reach_apollo(
    start_bollard: StartBollard,
) -> None:
    with catcher() as upstream:
        bollard = start_bollard(apollo_url=upstream.url)
        _, key = bollard.agents.create("a", ["people:read"])
        sent = {
            "X-Api-Key": key,
            "Authorization": f"Bearer {key}",
            "Proxy-Authorization": f"Basic {key}",
            "Cookie": f"k={key}",
            "Connection": "keep-alive, X-Secret",
            "X-Secret": key,
            "Upgrade": "h2c",
            "TE": "trailers",
            "Keep-Alive": "timeout=5",
            "Expect": "100-continue",
            "X-Forwarded-For": "203.0.113.9",
            "X-HTTP-Method-Override": "DELETE",
            "Accept-Encoding": "identity",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Cache-Control": "no-cache",
        }
        with httpx.Client(base_url=bollard.url, timeout=10) as client:
            reply = client.post(SEARCH, content=b"{}", headers=sent)
    assert reply.status_code == 200, reply.text
    [seen] = upstream.seen
    assert key not in str(seen)
    assert seen["x-api-key"] == SCOPED_KEY
    assert (seen["accept"], seen["content-type"], seen["cache-control"]) == (
        "application/json",
        "application/json",
        "no-cache",
    )
    # Everything else is the HTTP client's own, none of it the agent's.
    assert set(seen) - {"x-api-key", "accept", "content-type", "cache-control"} <= {
        "host",
        "content-length",
        "accept-encoding",
    }
    assert seen["accept-encoding"] != "identity"
