"""`bollard catalog` through the real command group."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from bollard.catalog import load_catalog
from bollard.catalog.rows import action_detail, action_row
from bollard.cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["catalog", *args])


def listed_ids(*args: str) -> list[str]:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.output)]


def test_bare_catalog_lists_all_eighty_actions_as_a_table_marking_where_each_comes_from() -> None:
    result = run()
    assert result.exit_code == 0
    assert "METHOD" in result.output
    assert "MASTER KEY" in result.output
    assert "FROM" in result.output
    for a in load_catalog().actions:
        assert a.id in result.output
        assert a.full_path in result.output
    assert "80 of 80 actions" in result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if " people.search " in line)
    assert " seed " in row
    row = next(line for line in lines if " email_accounts.list " in line)
    assert " Apollo's document " in row


def test_from_filter_splits_the_seeds_twenty_from_the_documents_sixty() -> None:
    seed = listed_ids("--from", "seed")
    document = listed_ids("--from", "openapi")
    assert (len(seed), len(document)) == (20, 60)
    assert seed == [a.id for a in load_catalog().actions][:20]
    assert "sequences.activate" in document


def test_tag_filter_lists_every_action_that_sends_email() -> None:
    assert listed_ids("--tag", "sends_email") == [
        "sequences.add_contacts", "sequences.create", "sequences.update",
        "sequences.activate", "emails.send_now",
    ]  # fmt: skip
    destructive = listed_ids("--tag", "destructive")
    assert {"sequences.archive", "sequences.remove_contacts"} <= set(destructive)
    result = run("--tag", "sends_mail")
    assert result.exit_code == 2
    assert "sends_email" in result.output


def test_show_names_the_origin_and_the_risk_tags() -> None:
    out = run("show", "emails.send_now").output
    assert "from         Apollo's document" in out
    assert "tags         sends_email" in out
    assert "from         seed" in run("show", "people.enrich").output


def test_json_rows_are_the_shared_row_dicts() -> None:
    result = run("--json")
    assert json.loads(result.output) == [action_row(a) for a in load_catalog().actions]


def test_master_only_and_scoped_ok_split_the_catalog() -> None:
    master = listed_ids("--master-only")
    scoped = listed_ids("--scoped-ok")
    # The seed marks 9 master-only; Apollo's document marks 4 of its other 60.
    assert len(master) == 9 + 4
    assert len(scoped) == 11 + 56
    assert "users.list" in master
    assert "calls.search" in master
    assert "people.search" in scoped
    assert not set(master) & set(scoped)


def test_method_and_access_filters_combine() -> None:
    assert listed_ids("--method", "patch", "--access", "write", "--from", "seed") == [
        "contacts.update", "accounts.update", "deals.update",
    ]  # fmt: skip
    assert listed_ids("--method", "patch", "--access", "write", "--from", "openapi") == [
        "tasks.update", "lists.update", "fields.update",
    ]  # fmt: skip
    assert listed_ids("--method", "GET", "--access", "write") == []


def test_resource_filter_lists_only_that_resource() -> None:
    assert listed_ids("--resource", "deals") == [
        "deals.create", "deals.update", "deals.list", "deals.get", "deals.list_stages",
    ]  # fmt: skip


def test_search_matches_path_id_or_summary_ignoring_case() -> None:
    assert listed_ids("--search", "MIXED_") == ["people.search", "organizations.search"]
    assert listed_ids("--search", "Teammates", "--from", "seed") == ["users.list"]
    assert listed_ids("--search", "add_contacts") == ["sequences.add_contacts"]


def test_a_filter_matching_nothing_says_so() -> None:
    result = run("--search", "no-such-thing")
    assert result.exit_code == 0
    assert "No actions match" in result.output


def test_an_unknown_resource_fails_with_exit_2_and_a_suggestion() -> None:
    result = run("--resource", "peple")
    assert result.exit_code == 2
    assert "unknown resource 'peple'" in result.output
    assert "people" in result.output


def test_show_prints_parameters_limits_credits_webhook_and_source() -> None:
    result = run("show", "people.bulk_enrich")
    assert result.exit_code == 0
    out = result.output
    assert "POST /api/v1/people/bulk_match" in out
    assert "details  (array of object, in body, required)" in out
    assert "at most 10 items" in out
    assert "+8 phone reveal" in out
    assert "≤ 10 records per call" in out
    assert "webhook_url" in out
    assert "one tenth" in out
    assert "https://docs.apollo.io/reference/bulk-people-enrichment" in out
    assert "available since the API's base version" in out


def test_show_prints_enums_and_ranges() -> None:
    out = run("show", "people.search").output
    assert "one of: owner, founder, c_suite" in out
    assert "range: 1..500" in out
    assert "range: 1..100" in out
    assert "revenue_range  (object, in query, optional)" in out
    assert "min  (integer, in query, optional)" in out


def test_show_marks_destructive_actions_and_master_keys() -> None:
    out = run("show", "sequences.add_contacts").output
    assert "confirm first" in out
    assert "yes: a scoped key gets 403" in out
    assert "at least one of contact_ids, label_names: Please specify either" in out


def test_show_json_is_the_shared_detail_dict() -> None:
    result = run("show", "organizations.enrich", "--json")
    action = load_catalog().get("organizations.enrich")
    assert action is not None
    assert json.loads(result.output) == action_detail(action)


def test_show_accepts_an_mcp_tool_name() -> None:
    result = run("show", "apollo_people_match")
    assert result.exit_code == 0
    assert result.output.startswith("people.enrich")


def test_an_unknown_action_fails_with_exit_2_naming_the_nearest_ids() -> None:
    result = run("show", "people.enrch")
    assert result.exit_code == 2
    assert "unknown action 'people.enrch'" in result.output
    assert "did you mean people.enrich" in result.output


def test_guide_prints_the_sections_and_status_codes() -> None:
    result = run("guide")
    assert result.exit_code == 0
    out = result.output
    assert "https://api.apollo.io/api/v1" in out
    assert "https://mcp.apollo.io/mcp" in out
    assert "x-rate-limit-24-hour" in out
    assert "50,000" in out
    for line in ("401 Unauthorized", "403 Forbidden", "404 Not Found", "429 Too Many Requests"):
        assert line in out


def test_guide_json_lists_status_codes_and_areas() -> None:
    data = json.loads(run("guide", "--json").output)
    assert [c["status"] for c in data["status_codes"]][:2] == [400, 401]
    assert [a["resource"] for a in data["areas"]] == list(load_catalog().resources)


SEED = "the seed (the user's reference guide)"


def test_show_prints_both_claims_of_a_disputed_cost_with_their_sources_and_the_budget() -> None:
    result = run("show", "people.enrich")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "credits 1 per record, +8 phone reveal, + waterfall" in text
    assert "budgets 1 per record, +1 email reveal, +8 phone reveal, + waterfall" in text
    assert "Sources disagree Credits for revealed personal emails" in text
    assert "- 1: Personal emails are returned only when reveal_personal_emails" in text
    assert f"Source: {SEED}." in text
    assert "- 0: 1 credit for demographics or an email" in text
    assert "Source: https://docs.apollo.io/reference/people-enrichment." in text


def test_guide_lists_every_disagreement_between_the_seed_and_apollos_documents() -> None:
    result = run("guide")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    disputes = text.split("Where the seed and Apollo's documents disagree")[1]
    for action_id, topic, sources in [
        (
            "people.enrich",
            "Credits for revealed personal emails (budgets reckon the higher: 1)",
            ["https://docs.apollo.io/reference/people-enrichment"],
        ),
        (
            "people.bulk_enrich",
            "The bulk endpoint's rate limit",
            ["https://docs.apollo.io/reference/rate-limits"],
        ),
        (
            "organizations.search",
            "Whether the 500-page cap applies",
            ["https://docs.apollo.io/reference/organization-search"],
        ),
        (
            "tasks.search",
            "Whether the 500-page cap applies",
            ["https://docs.apollo.io/reference/search-tasks"],
        ),
    ]:
        block = disputes.split(f"{action_id} /api/v1/")[1].split(" /api/v1/")[0]
        assert topic in block
        assert f"Source: {SEED}." in block
        assert all(f"Source: {s}." in block for s in sources)
    as_json = json.loads(run("guide", "--json").output)["disagreements"]
    assert [(d["action"], d["field"]) for d in as_json] == [
        ("people.enrich", "credits.email_reveal"),
        ("people.bulk_enrich", "credits.email_reveal"),
        ("people.bulk_enrich", "rate_limit"),
        ("organizations.search", "paging"),
        ("tasks.search", "paging"),
    ]
