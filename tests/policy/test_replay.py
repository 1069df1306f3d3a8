"""`bollard policy check FILE --replay`: traffic made through the real app, then a file
that changes exactly five known calls' decisions; the replay reports exactly those,
with the rule, and counts them per agent and rule."""

from __future__ import annotations

import json
from pathlib import Path

from bollard.changes import Actor
from tests.harness import Bollard, StartBollard, add_rule, changes
from tests.harness import cli as _cli

SEARCH = "/api/v1/mixed_people/api_search"
ENRICH = "/api/v1/people/match"
CONTACTS = "/api/v1/contacts"
ORGS = "/api/v1/mixed_companies/search"
FILE = """\
version = 1

[[agents]]
name = "research"
grants = ["people:read", "contacts.create"]

[[agents.rules]]
selector = "people.search"
effect = "deny"
when = "has(args.per_page) && args.per_page > 25"
reason = "25 a page at most"

[[agents.rules]]
selector = "people.enrich"
effect = "deny"
when = 'has(args.email) && args.email == "ada@example.com"'
reason = "not Ada"
"""


def _call(bollard: Bollard, key: str, path: str, body: dict[str, object], status: int) -> str:
    with bollard.client(key) as client:
        answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    return answer.headers["x-request-id"]


def _traffic(bollard: Bollard) -> tuple[set[str], set[str]]:
    """Calls through the real app: (those the file changes, those it leaves)."""
    _, key = bollard.agents.create("research", ["people:read"])
    _, other = bollard.agents.create("other", ["people:read"])
    add_rule(bollard, "research", "people.search", when="has(args.page) && args.page > 3")
    changed = {
        _call(bollard, key, SEARCH, {"per_page": 50}, 200),  # allowed → denied (per_page)
        _call(bollard, key, SEARCH, {"per_page": 100}, 200),  # allowed → denied (per_page)
        _call(bollard, key, ENRICH, {"email": "ada@example.com"}, 200),  # → denied (a hash)
        _call(bollard, key, CONTACTS, {"first_name": "Ada"}, 403),  # denied → allowed (grant)
        _call(bollard, key, SEARCH, {"page": 5}, 403),  # denied → allowed (rule not in file)
    }
    same = {
        _call(bollard, key, SEARCH, {"per_page": 10}, 200),
        _call(bollard, key, ENRICH, {"email": "bob@example.com"}, 200),
        _call(bollard, key, ORGS, {}, 403),  # still not granted
        _call(bollard, other, SEARCH, {"per_page": 50}, 200),  # agent not in the file
    }
    bollard.settle()
    return changed, same


def test_replay_reports_exactly_the_calls_whose_decision_the_file_changes(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    changed, same = _traffic(bollard)
    path = tmp_path / "policy.toml"
    path.write_text(FILE)

    done = _cli(bollard, "policy", "check", str(path), "--replay", "--since", "1d", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert {c["request_id"] for c in report["changed"]} == changed
    assert report["examined"] == len(changed) + len(same)
    by_id = {c["request_id"]: c for c in report["changed"]}
    flips = sorted((c["action"], c["before"], c["after"]) for c in by_id.values())
    assert flips == [
        ("contacts.create", "deny", "allow"),
        ("people.enrich", "allow", "deny"),
        ("people.search", "allow", "deny"),
        ("people.search", "allow", "deny"),
        ("people.search", "deny", "allow"),
    ]
    assert report["by_agent"] == {"research": 5}
    rule_7 = "rule at line 7: [research] people.search deny when has(args.per_page) && "
    assert report["by_rule"][rule_7 + "args.per_page > 25: 25 a page at most"] == 2
    assert any("(was: denied by rule #" in cause for cause in report["by_rule"])
    assert report["agents_not_in_file"] == {"other": 1}

    text = _cli(bollard, "policy", "check", str(path), "--replay")
    assert "9 call(s) in the last 7d examined; 5 would be decided differently" in text.output
    assert "allow → deny" in text.output


def test_replay_does_not_guess_a_hashed_parameter_beyond_equality(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    _traffic(bollard)
    path = tmp_path / "policy.toml"
    path.write_text(FILE.replace('args.email == "ada@example.com"', 'args.email.endsWith("@x.io")'))
    done = _cli(bollard, "policy", "check", str(path), "--replay", "--json")
    report = json.loads(done.output)
    assert len(report["unjudged"]) == 2  # the two enrichments that carry an email
    assert all(c["action"] != "people.enrich" for c in report["changed"])


HOLDS = """\
version = 1

[[agents]]
name = "research"
allow_unknown_parameters = true
grants = ["people:read"]

[[agents.rules]]
selector = "people.search"
effect = "approve"
when = "has(args.per_page) && args.per_page > 25"
reason = "a person approves big pages"

[[agents]]
name = "loose"
grants = ["people:read"]
"""


def _held_traffic(bollard: Bollard) -> tuple[set[str], set[str], int]:
    """Held calls, one of them approved and sent, and unknown parameters refused and let
    through: (those the file changes, those it leaves)."""
    _, key = bollard.agents.create("research", ["people:read"])
    _, loose = bollard.agents.create("loose", ["people:read"])
    changes(bollard).set_allow_unknown_parameters(Actor("alice", "cli"), "loose", True)
    rule = add_rule(
        bollard, "research", "people.search", "approve", "has(args.page) && args.page > 3"
    )
    approved = _call(bollard, key, SEARCH, {"page": 6}, 202)  # held → allowed
    changed = {
        _call(bollard, key, SEARCH, {"page": 5}, 202),  # held → allowed
        approved,
        _call(bollard, key, SEARCH, {"per_page": 50}, 200),  # allowed → held
        _call(bollard, key, SEARCH, {"titles": ["cto"]}, 422),  # refused → allowed (switch)
        _call(bollard, loose, SEARCH, {"titles": ["cto"]}, 200),  # allowed → refused
    }
    held = bollard.gateway.approvals.list(status="pending")
    approval = next(h for h in held if h.request_id == approved)
    bollard.gateway.approvals.approve(approval.id, Actor("alice", "cli"))
    with bollard.client(key) as client:  # the approved call is sent: not a call of its own
        assert client.get(f"/bollard/v1/approvals/{approval.id}").status_code == 200
    same = {
        _call(bollard, key, SEARCH, {"per_page": 10}, 200),
        _call(bollard, key, SEARCH, {"page": 2}, 200),
        _call(bollard, loose, SEARCH, {"per_page": 10}, 200),
    }
    bollard.settle()
    return changed, same, rule.id


def test_replay_reports_calls_that_would_be_held_or_no_longer_held_or_refused_as_unknown(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    bollard = start_bollard(database_url)
    changed, same, held_by = _held_traffic(bollard)
    path = tmp_path / "policy.toml"
    path.write_text(HOLDS)

    done = _cli(bollard, "policy", "check", str(path), "--replay", "--since", "1d", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert {c["request_id"] for c in report["changed"]} == changed
    assert report["examined"] == len(changed) + len(same)
    flips = sorted((c["before"], c["after"], c["cause"]) for c in report["changed"])
    rule = (
        "rule at line 8: [research] people.search approve when has(args.per_page) && "
        "args.per_page > 25: a person approves big pages"
    )
    assert flips == [
        ("allow", "deny", "unknown parameter titles (the file does not set "
         "allow_unknown_parameters for loose)"),
        ("allow", "held", rule),
        ("deny", "allow", "granted by people:read (was: unknown parameter titles)"),
        ("held", "allow", f"granted by people:read (was: held by rule #{held_by})"),
        ("held", "allow", f"granted by people:read (was: held by rule #{held_by})"),
    ]  # fmt: skip
    text = _cli(bollard, "policy", "check", str(path), "--replay").output
    assert "held → allow" in text
    assert "allow → held" in text


BULK = "/api/v1/people/bulk_match"
HIDDEN = """\
version = 1

[[agents]]
name = "research"
grants = ["people:read"]

[[agents.rules]]
selector = "people.bulk_enrich"
effect = "deny"
when = 'size(args.details) == 1 && args.details[0].email == "ada@example.com"'

[[agents.rules]]
selector = "people.enrich"
effect = "deny"
when = 'has(args.email) && args["email"] == "ada@example.com"'
"""


def test_replay_does_not_judge_a_hashed_value_a_rule_reads_inside_a_list_or_by_index(
    database_url: str, start_bollard: StartBollard, tmp_path: Path
) -> None:
    """Emails inside bulk enrichment's details, and args["email"], are kept as keyed hashes
    too: a rule reading them is not judged against the hashes (which never equal the
    file's plain literal, so every call would wrongly stay allowed)."""
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("research", ["people:read"])
    bulk = _call(bollard, key, BULK, {"details": [{"email": "ada@example.com"}]}, 200)
    single = _call(bollard, key, ENRICH, {"email": "ada@example.com"}, 200)
    bollard.settle()
    path = tmp_path / "policy.toml"
    path.write_text(HIDDEN)

    done = _cli(bollard, "policy", "check", str(path), "--replay", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["examined"] == 2
    assert bulk in report["unjudged"]  # no way to compare a hash to d.email inside a list
    assert [c["request_id"] for c in report["changed"]] == [single]  # equality, hashed
