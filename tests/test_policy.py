"""Grant selectors, `tag:` included: parsed, checked and decided."""

from __future__ import annotations

import json

import pytest

from bollard.catalog import load_catalog
from bollard.errors import ConfigError
from bollard.policy import allowed_actions, decide, parse_selector
from tests.test_agents_cli import BollardCli, bollard

__all__ = ["bollard"]


def test_a_tag_selector_allows_exactly_the_actions_carrying_that_tag() -> None:
    catalog = load_catalog()
    assert parse_selector(" tag:sends_email ", catalog) == "tag:sends_email"
    allowed = {a.id for a in allowed_actions(["tag:sends_email"], catalog)}
    assert allowed == {a.id for a in catalog.actions if "sends_email" in a.tags}
    assert "emails.send_now" in allowed
    activate = catalog.get("sequences.activate")
    create = catalog.get("contacts.create")
    assert activate is not None
    assert create is not None
    decision = decide(["tag:sends_email"], activate)
    assert (decision.allowed, decision.grant) == (True, "tag:sends_email")
    assert not decide(["tag:sends_email"], create).allowed


def test_an_unknown_tag_is_refused_naming_the_tags_and_the_nearest() -> None:
    with pytest.raises(ConfigError, match=r"unknown tag 'sends_mail'.*did you mean sends_email"):
        parse_selector("tag:sends_mail", load_catalog())
    with pytest.raises(ConfigError, match="tags are spends_credits, sends_email, bulk"):
        parse_selector("tag:", load_catalog())


def test_an_agent_can_be_granted_a_tag_from_the_cli(bollard: BollardCli) -> None:
    bollard.create("sender", "tag:sends_email")
    allowed = bollard("check", "sender", "sequences.activate")
    refused = bollard("check", "sender", "contacts.create")
    typo = bollard("agents", "create", "typo", "--grant=tag:spends", "--json")
    assert allowed.exit_code == 0, allowed.output
    assert "tag:sends_email" in allowed.output
    assert refused.exit_code != 0
    assert typo.exit_code != 0
    assert "spends_credits" in typo.output
    listed = json.loads(bollard("agents", "list", "--json").output)
    assert [a["grants"] for a in listed if a["name"] == "sender"] == [["tag:sends_email"]]
