"""Hidden fields never reach the agent, on either door; a reveal flag for a hidden field is
refused before any credit is spent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bollard.withholding import withhold
from tests.harness import Bollard, StartBollard, add_rule, mcp_session

ENRICH = "/api/v1/people/match"
BULK = "/api/v1/people/bulk_match"
HIDDEN = ("email", "personal_emails", "linkedin_url")


def _emails(bollard: Bollard, count: int) -> list[str]:
    return list(bollard.sandbox.people.by_email)[:count]


def _keys(node: Any) -> set[str]:
    """Every key in people, contacts and matches of an answer."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("person", "contact") and isinstance(value, dict):
                found |= value.keys()
            if key in ("people", "contacts", "matches") and isinstance(value, list):
                found |= {k for item in value if isinstance(item, dict) for k in item}
            found |= _keys(value)
    elif isinstance(node, list):
        for item in node:
            found |= _keys(item)
    return found


def test_hidden_fields_never_reach_the_agent_over_rest_and_the_record_lists_them(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", "people:read", "hide", fields=HIDDEN)
    one, *more = _emails(bollard, 3)
    with bollard.client(key) as client:
        single = client.post(ENRICH, json={"email": one})
        bulk = client.post(BULK, json={"details": [{"email": e} for e in more]})
    assert single.status_code == bulk.status_code == 200
    assert single.json()["person"]["id"]
    assert not _keys(single.json()) & set(HIDDEN)
    assert not _keys(bulk.json()) & set(HIDDEN)
    assert single.json()["person"]["organization"].get("linkedin_url") is not None
    outcomes = [json.loads(r["data"]) for r in bollard.records() if r["kind"] == "outcome"]
    assert outcomes[0]["withheld"] == ["email", "linkedin_url", "personal_emails"]


@pytest.mark.anyio
async def test_hidden_fields_never_reach_the_agent_over_mcp(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", "people.enrich", "hide", fields=HIDDEN)
    async with mcp_session(bollard.url, key) as session:
        result = await session.call_tool("apollo_people_match", {"email": _emails(bollard, 1)[0]})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["person"]["id"]
    assert not _keys(result.structured_content) & set(HIDDEN)
    assert "@" not in json.dumps(result.content[0].model_dump())  # nor in the summary


def test_a_reveal_flag_for_a_hidden_field_is_refused_before_any_credit_is_spent(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    add_rule(bollard, "agent", "people.enrich", "hide", fields=("personal_emails",))
    with bollard.client(key) as client:
        reply = client.post(
            ENRICH, json={"email": _emails(bollard, 1)[0], "reveal_personal_emails": True}
        )
    assert reply.status_code == 403
    assert reply.json()["error_code"] == "POLICY_DENIED"
    assert "reveal_personal_emails" in reply.json()["error"]
    assert bollard.sandbox.calls == []
    assert bollard.sandbox.credits_spent == 0


_VALUE = st.one_of(st.none(), st.integers(), st.text(max_size=5))
_PERSON = st.dictionaries(
    st.sampled_from((*HIDDEN, "id", "name", "title", "phone_numbers")), _VALUE, max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(_PERSON, _VALUE),
        lambda inner: st.one_of(
            st.dictionaries(
                st.sampled_from(("person", "contact", "people", "contacts", "matches", "x")),
                st.one_of(inner, st.lists(inner, max_size=3), _PERSON),
                max_size=3,
            ),
            st.lists(inner, max_size=3),
        ),
        max_leaves=12,
    )
)
def test_no_hidden_field_survives_in_any_people_contacts_or_matches_shape(answer: Any) -> None:
    body, _ = withhold(json.dumps(answer).encode(), HIDDEN)
    assert not _keys(json.loads(body)) & set(HIDDEN)
