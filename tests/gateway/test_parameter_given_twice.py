"""A parameter sent in both the query string and the body is refused before it reaches
Apollo: Bollard checks and prices one value, and Apollo could act on the other."""

from __future__ import annotations

from tests.harness import Bollard

ENRICH = "/api/v1/people/match"


def test_a_reveal_flag_in_the_query_cannot_hide_behind_the_bodys(bollard: Bollard) -> None:
    _, key = bollard.agents.create("enricher", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(
            f"{ENRICH}?reveal_personal_emails=true",
            json={"email": "someone@example.com", "reveal_personal_emails": False},
        )
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error_code"] == "INVALID_REQUEST"
    assert "reveal_personal_emails given in both the query string and the body" in body["error"]
    assert bollard.sandbox.calls == []
    request, outcome = bollard.records()
    assert (request["decision"], outcome["outcome"]) == ("deny", "invalid")


def test_an_ungranted_agent_still_hears_only_not_granted(bollard: Bollard) -> None:
    _, key = bollard.agents.create("reader", ["contacts:read"])
    with bollard.client(key) as client:
        reply = client.post(f"{ENRICH}?email=a@example.com", json={"email": "b@example.com"})
    assert reply.status_code == 403
    assert reply.json()["error_code"] == "NOT_GRANTED"


def test_parameters_split_between_query_and_body_still_go_up(bollard: Bollard) -> None:
    _, key = bollard.agents.create("enricher", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(f"{ENRICH}?email=someone@example.com", json={"first_name": "Ann"})
    assert reply.status_code == 200, reply.text
    assert len(bollard.sandbox.calls) == 1
