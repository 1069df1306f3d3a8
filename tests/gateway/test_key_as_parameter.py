"""A key sent the legacy Apollo way, as an `api_key` parameter, never reaches Apollo
and is never written to the audit log (its keyed hash is)."""

from __future__ import annotations

import pytest

from tests.harness import Bollard

SEARCH = "/api/v1/mixed_people/api_search"


@pytest.mark.parametrize("where", ["query", "body"])
def test_an_api_key_parameter_is_refused_and_kept_out_of_the_log(
    bollard: Bollard, where: str
) -> None:
    _, key = bollard.agents.create("legacy", ["people:read"])
    with bollard.client(key) as client:
        if where == "query":
            reply = client.post(f"{SEARCH}?api_key={key}", json={"per_page": 1})
        else:
            reply = client.post(SEARCH, json={"per_page": 1, "api_key": key})
    assert reply.status_code == 422, reply.text
    assert "X-Api-Key" in reply.json()["error"]
    assert bollard.sandbox.calls == []
    records = bollard.records()
    assert [r["outcome"] for r in records if r["kind"] == "outcome"] == ["invalid"]
    assert key not in str(records)
