"""`bollard policy export` and `apply` through the real CLI, on SQLite and PostgreSQL:
export → apply is no change, apply is one transaction (a failure at its last change
leaves the store and the log as they were), a bad file names its line, every change is
on the audit record with its actor, and the result is in force on a running Bollard."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from sqlalchemy import Engine, text

from tests.harness import Bollard, StartBollard, add_rule
from tests.harness import cli as _cli

SEARCH = "/api/v1/mixed_people/api_search"
POLICY = """\
version = 1

[[agents]]
name = "research"
note = "searches only"
grants = ["people:read", "organizations:read"]

[[agents.rules]]
selector = "people.search"
effect = "deny"
when = "has(args.per_page) && args.per_page > 25"
reason = "25 a page at most"

[[agents.rules]]
selector = "people.enrich"
effect = "hide"
fields = ["phone_numbers", "personal_emails"]

[[agents.limits]]
action = "*"
per_minute = 30
credits_per_day = 500

[[agents]]
name = "sdr"
grants = ["contacts:*", "sequences.add_contacts"]

[[agents.rules]]
selector = "sequences.add_contacts"
effect = "deny"
when = '!(args.emailer_campaign_id in ["seq_abc", "seq_def"])'
shadow = true
reason = "only the two approved sequences"

[[rules]]
selector = "people.enrich"
effect = "deny"
when = "has(args.reveal_phone_number) && args.reveal_phone_number == true"
reason = "no phone reveals, for anyone"
"""


def _export(bollard: Bollard) -> str:
    done = _cli(bollard, "policy", "export")
    assert done.exit_code == 0, done.output
    return "\n".join(line for line in done.output.splitlines() if not line.startswith("# Export"))


def _apply(bollard: Bollard, path: Path, *flags: str) -> Result:
    return _cli(bollard, "policy", "apply", str(path), "--actor", "alice@example.com", *flags)


def _admin_count(bollard: Bollard) -> int:
    return sum(1 for r in bollard.records() if r["kind"] == "admin")


def test_apply_makes_the_store_match_and_export_round_trips_to_no_changes(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    _, kept_key = bollard.agents.create("legacy", ["*:read"])
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)

    dry = _apply(bollard, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+ agent research grants people:read, organizations:read" in dry.output
    assert "dry run: 7 change(s) not applied" in dry.output
    assert "research" not in _export(bollard)

    done = _apply(bollard, path)
    assert done.exit_code == 0, done.output
    assert "applied 7 change(s)" in done.output
    new_key = done.output.split("key for research (shown once, store it now): ")[1].split()[0]
    exported = _export(bollard)
    assert kept_key not in exported
    assert new_key not in exported
    assert "bol_" not in exported
    assert 'name = "legacy"' in exported  # not in the file: left alone
    assert 'fields = ["phone_numbers", "personal_emails"]' in exported
    assert "shadow = true" in exported
    assert "credits_per_day = 500" in exported

    again = tmp_path / "exported.toml"
    again.write_text(exported)
    assert _apply(bollard, again).output.strip() == "no changes"

    with bollard.client(new_key) as client:
        refused = client.post(SEARCH, json={"per_page": 50})
        assert refused.json()["error"] == "25 a page at most"
    records = [r for r in bollard.records() if r["kind"] == "admin"]
    made = [(r["agent"], r["action"]) for r in records if json.loads(r["data"]).get("policy")]
    assert ("research", "agents.create") in made
    assert ("sdr", "rules.add") in made
    assert (None, "rules.add") in made  # the team-wide rule
    assert {json.loads(r["data"])["by"] for r in records[-len(made) :]} == {"alice@example.com"}


def test_changes_to_an_exported_file_are_the_diff_and_prune_revokes_the_rest(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    assert _apply(bollard, path).exit_code == 0
    _, legacy_key = bollard.agents.create("legacy", ["*:read"])
    edited = (
        POLICY.replace("per_page > 25", "per_page > 10")
        .replace("per_minute = 30", "per_minute = 0")
        .replace('"contacts:*", ', "")
    )
    path.write_text(edited)
    diff = _apply(bollard, path, "--prune")
    assert diff.exit_code == 0, diff.output
    lines = diff.output.splitlines()
    assert "- grant sdr contacts:*" in lines
    assert "~ limits research *: per_minute 30 → 0" in lines
    assert "- agent legacy (revoked)" in lines
    assert any(x.startswith("- rule #") and "per_page > 25" in x for x in lines)
    assert any(x.startswith("+ rule [research]") and "per_page > 10" in x for x in lines)
    assert "applied 5 change(s)" in diff.output
    with bollard.client(legacy_key) as client:
        assert client.post(SEARCH, json={}).status_code == 401
    assert _apply(bollard, path, "--prune").output.strip() == "no changes"


def test_a_file_failing_at_its_last_change_leaves_store_and_log_as_they_were(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    bollard.agents.create("legacy", ["people:read"])
    add_rule(bollard, "legacy", "people.search", when="args.per_page > 5")
    _refuse_rules_whose_reason_is(bollard.engine, "boom")
    before, records = _export(bollard), _admin_count(bollard)
    path = tmp_path / "policy.toml"
    # Many changes first (agents, grants, limits, rules), then one the database refuses.
    path.write_text(
        POLICY.replace('name = "research"', 'name = "legacy"')
        + '\n[[rules]]\nselector = "contacts.create"\neffect = "deny"\nreason = "boom"\n'
    )
    failed = _apply(bollard, path)
    assert failed.exit_code == 2
    assert "the database refused `+ rule [all agents] contacts.create deny: boom`" in failed.output
    assert "nothing was changed" in failed.output
    assert _export(bollard) == before
    assert _admin_count(bollard) == records


def test_a_bad_file_names_its_line_and_changes_nothing(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    assert _apply(bollard, path).exit_code == 0
    before = _export(bollard)
    cases = {
        # an unknown parameter in a condition, late in the file
        POLICY.replace("args.reveal_phone_number == true", "args.reveal_phone == true"): (
            "line 38: args.reveal_phone is not a parameter of people.enrich; did you mean "
            "reveal_phone_number"
        ),
        POLICY.replace("per_page > 25", "per_page >"): "line 11: condition does not compile",
        POLICY.replace('"sequences.add_contacts"]', '"sequences.add_contact"]'): (
            "line 26: unknown selector 'sequences.add_contact'"
        ),
        POLICY.replace('effect = "hide"', 'effect = "hid"'): "line 16: unknown effect 'hid'",
        POLICY.replace("credits_per_day = 500", "credit_per_day = 500"): (
            "line 22: unknown key 'credit_per_day': did you mean 'credits_per_day'?"
        ),
        POLICY.replace('grants = ["contacts:*"', 'grants = ["contacts:*",,'): "line 26",
    }
    for text_, said in cases.items():
        path.write_text(text_)
        refused = _apply(bollard, path)
        assert refused.exit_code == 2, refused.output
        assert said in refused.output, refused.output
        assert "nothing was changed" in refused.output
    assert _export(bollard) == before


def _refuse_rules_whose_reason_is(engine: Engine, reason: str) -> None:
    """A real constraint in the real database: a rule with this reason cannot be stored."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"ALTER TABLE policy_rules ADD CONSTRAINT injected CHECK (reason <> '{reason}')"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER injected BEFORE INSERT ON policy_rules "
                    f"WHEN NEW.reason = '{reason}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
                )
            )


APPROVALS = """\
version = 1

[[agents]]
name = "sdr"
allow_unknown_parameters = true
grants = ["sequences.add_contacts"]

[[agents.rules]]
selector = "sequences.add_contacts"
effect = "approve"
expires_after = "8h"
reason = "a person approves each enrolment"
"""


def test_an_approve_rules_expiry_and_the_unknown_parameters_switch_round_trip(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    path = tmp_path / "policy.toml"
    path.write_text(APPROVALS)
    done = _apply(bollard, path)
    assert done.exit_code == 0, done.output
    assert "~ agent sdr allow_unknown_parameters: false → true" in done.output
    assert bollard.agents.require("sdr").allow_unknown_parameters is True
    listed = json.loads(_cli(bollard, "rules", "list", "sdr", "--json").output)
    assert [r["expires_after"] for r in listed] == [8 * 3600]
    switched = [json.loads(r["data"]) for r in bollard.records() if r["action"] == "agents.set"]
    assert [(d["after"]["allow_unknown_parameters"], d["by"]) for d in switched] == [
        (True, "alice@example.com")
    ]

    exported = _export(bollard)
    assert "allow_unknown_parameters = true" in exported
    assert 'expires_after = "8h"' in exported
    again = tmp_path / "exported.toml"
    again.write_text(exported)
    assert _apply(bollard, again).output.strip() == "no changes"

    path.write_text(
        APPROVALS.replace('"8h"', '"2d"').replace("parameters = true", "parameters = false")
    )
    diff = _apply(bollard, path)
    assert diff.exit_code == 0, diff.output
    assert "~ agent sdr allow_unknown_parameters: true → false" in diff.output
    assert any(x.startswith("+ rule [sdr]") and "(held 2d)" in x for x in diff.output.splitlines())
    assert bollard.agents.require("sdr").allow_unknown_parameters is False
    exported = _export(bollard)
    assert 'expires_after = "2d"' in exported
    assert "allow_unknown_parameters" not in exported  # false is the default


def test_a_bad_expiry_or_switch_names_its_line_and_changes_nothing(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    path = tmp_path / "policy.toml"
    before = _export(bollard)
    cases = {
        APPROVALS.replace('"8h"', '"8 hours"'): "line 11: expires_after: duration '8 hours'",
        APPROVALS.replace('"8h"', "8"): 'line 11: expires_after must be a string like "8h"',
        APPROVALS.replace('"8h"', '"31d"'): (
            "line 11: expires_after must be from 1 minute to 30 days"
        ),
        APPROVALS.replace('effect = "approve"', 'effect = "deny"'): (
            'line 11: expires_after goes with effect = "approve"'
        ),
        APPROVALS.replace("parameters = true", 'parameters = "yes"'): (
            "line 5: allow_unknown_parameters must be true or false"
        ),
    }
    for text_, said in cases.items():
        path.write_text(text_)
        refused = _apply(bollard, path)
        assert refused.exit_code == 2, refused.output
        assert said in refused.output, refused.output
        assert "nothing was changed" in refused.output
    assert _export(bollard) == before
