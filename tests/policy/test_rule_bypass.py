"""A rule's condition sees each argument as Apollo reads it: a value the validator lets
through in another spelling ("true" for true, "26" for 26, one title for a list of one)
is decided as that value, never passed for lack of a match. REST and MCP; the sandbox
counts what reached it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Bollard, add_rule, mcp_session

ENRICH = "/api/v1/people/match"
SEARCH = "/api/v1/mixed_people/api_search"
HOOK = "https://example.com/apollo/phones"
REVEAL = "has(args.reveal_phone_number) && args.reveal_phone_number == true"

# (selector, condition, path, query, body): each call is what the rule denies
SPELLINGS: list[tuple[str, str, str, dict[str, str], dict[str, Any]]] = [
    (  # a JSON string "true": Apollo (and the sandbox) read it as true
        "people.enrich",
        REVEAL,
        ENRICH,
        {},
        {"email": "x@example.com", "reveal_phone_number": "true", "webhook_url": HOOK},
    ),
    (  # the query string's true, a POST's parameters in the query as Apollo takes them
        "people.enrich",
        REVEAL,
        ENRICH,
        {"reveal_phone_number": "true", "webhook_url": HOOK},
        {"email": "x@example.com"},
    ),
    (  # a whole number as a string
        "people.search",
        "has(args.per_page) && args.per_page == 100",
        SEARCH,
        {"per_page": "100"},
        {},
    ),
    (  # one title, not a list of one (person_titles=ceo in the query)
        "people.search",
        'has(args.person_titles) && "ceo" in args.person_titles',
        SEARCH,
        {"person_titles": "ceo"},
        {},
    ),
]


def _sent(bollard: Bollard) -> int:
    return len(bollard.sandbox.calls)


@pytest.mark.parametrize(("selector", "when", "path", "query", "body"), SPELLINGS)
def test_another_spelling_of_a_denied_value_is_denied_over_rest(
    bollard: Bollard,
    selector: str,
    when: str,
    path: str,
    query: dict[str, str],
    body: dict[str, Any],
) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", selector, when=when, reason="ask RevOps first")
    with bollard.client(key) as client:
        reply = client.post(path, params=query, json=body)
    assert reply.status_code == 403, reply.text
    assert reply.json()["error_code"] == "POLICY_DENIED"
    assert _sent(bollard) == 0


@pytest.mark.anyio
async def test_a_string_true_is_denied_over_mcp_too(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", "people.enrich", when=REVEAL, reason="ask RevOps first")
    async with mcp_session(bollard.url, key) as session:
        refused = await session.call_tool("apollo_people_match", SPELLINGS[0][4])
    assert refused.is_error
    assert isinstance(refused.structured_content, dict)
    assert refused.structured_content["error_code"] == "POLICY_DENIED"
    assert _sent(bollard) == 0


def test_a_string_true_is_held_by_an_approve_rule(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", "people.enrich", "approve", when=REVEAL, reason="phones cost 8")
    with bollard.client(key) as client:
        reply = client.post(ENRICH, json=SPELLINGS[0][4])
    assert reply.status_code == 202, reply.text
    assert _sent(bollard) == 0
