"""A stored rule that a catalog change invalidated (a parameter it reads, or its action,
gone) is named at startup and in `bollard rules list`; the calls it still covers are denied
(fail closed) with a refusal naming the rule and the fix, and nothing reaches Apollo."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from bollard.policy import Rule
from bollard.rule_book import insert_rule
from tests.harness import Bollard, StartBollard
from tests.harness import cli as _cli

ENRICH = "/api/v1/people/match"


def _store_as_an_older_catalog_allowed(bollard: Bollard, rule: Rule) -> Rule:
    """Write a rule straight to the store, as one written against an older catalog is."""
    agent = bollard.agents.require(rule.agent) if rule.agent else None
    with bollard.engine.begin() as conn:
        return insert_rule(conn, rule, agent.id if agent else None, datetime.now(UTC))


def test_a_rule_reading_a_parameter_the_catalog_lost_denies_and_says_how_to_fix_it(
    database_url: str, start_bollard: StartBollard, caplog: pytest.LogCaptureFixture
) -> None:
    first = start_bollard(database_url)
    _, key = first.agents.create("agent", ["people:read"])
    gone = Rule(0, "agent", "people.enrich", "deny", "no phones", "args.reveal_mobile == true")
    rule = _store_as_an_older_catalog_allowed(first, gone)
    also = Rule(0, "agent", "people.retired_action", "deny", "", None)
    orphan = _store_as_an_older_catalog_allowed(first, also)

    with caplog.at_level(logging.WARNING, logger="bollard.rules"):
        bollard = start_bollard(database_url)  # a restart: the rules are checked
    logged = [r.getMessage() for r in caplog.records if r.name == "bollard.rules"]
    assert any(f"#{rule.id}" in m and "reveal_mobile" in m for m in logged), logged
    assert any(f"#{orphan.id}" in m and "retired_action" in m for m in logged), logged

    with bollard.client(key) as client:
        reply = client.post(ENRICH, json={"email": "x@example.com"})
        search = client.post("/api/v1/mixed_people/api_search", json={"per_page": 2})
    assert reply.status_code == 403, reply.text
    body = reply.json()
    assert body["error_code"] == "POLICY_DENIED"
    assert f"policy rule #{rule.id} on people.enrich no longer fits the catalog" in body["error"]
    assert f"bollard rules remove agent {rule.id}" in body["error"]
    assert search.status_code == 200  # a rule covers only what its selector covers
    assert [c.action_id for c in bollard.sandbox.calls] == ["people.search"]

    listed = _cli(bollard, "rules", "list", "agent")
    assert listed.exit_code == 0, listed.output
    assert f"#{rule.id}" in listed.stdout
    assert "BROKEN: no longer fits the catalog (args.reveal_mobile" in listed.stdout
    as_json = {
        r["id"]: r["broken"] for r in json.loads(_cli(bollard, "rules", "list", "--json").stdout)
    }
    assert "reveal_mobile" in as_json[rule.id]
    assert "unknown selector 'people.retired_action'" in as_json[orphan.id]
