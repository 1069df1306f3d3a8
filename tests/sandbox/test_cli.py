"""`bollard sandbox`: its options turn into the keys the sandbox accepts."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from bollard.cli import main
from bollard.cli.sandbox import generated_keys, parse_scoped
from bollard.sandbox import SandboxConfig, create_sandbox


def test_scoped_key_options_become_key_to_action_ids() -> None:
    assert parse_scoped(["k1=people.search, contacts.create", "k2=usage.stats"]) == {
        "k1": ("people.search", "contacts.create"),
        "k2": ("usage.stats",),
    }


def test_a_scoped_key_naming_an_unknown_action_is_refused_with_a_suggestion() -> None:
    with pytest.raises(click.BadParameter, match=r"did you mean: people\.search"):
        parse_scoped(["k=people.serch"])


def test_generated_keys_are_a_master_key_and_a_scoped_key_the_sandbox_accepts() -> None:
    masters, scoped = generated_keys()
    box = create_sandbox(
        SandboxConfig(master_keys=masters, scoped_keys=scoped, people=10, organizations=5)
    )
    assert box.accepted_keys[masters[0]] == "master"
    assert "usage.stats" not in next(iter(scoped.values()))


def test_the_sandbox_command_documents_its_options() -> None:
    result = CliRunner().invoke(main, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--master-key", "--scoped-key", "--no-rate-limits", "--scoped-mode"):
        assert option in result.output
