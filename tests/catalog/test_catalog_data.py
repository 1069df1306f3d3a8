"""What the catalog says about Apollo: limits, costs, rules and the guide."""

from __future__ import annotations

import json

from bollard.catalog import Action, load_catalog
from bollard.catalog.rows import action_detail, filter_actions, guide_dict

PAGED = {
    "people.search",
    "organizations.search",
    "contacts.search",
    "accounts.search",
    "sequences.search",
    "tasks.search",
    "deals.list",
    "users.list",
}


def seed_actions() -> list[Action]:
    return [a for a in load_catalog().actions if a.origin == "seed"]


def action(action_id: str) -> Action:
    found = load_catalog().get(action_id)
    assert found is not None, action_id
    return found


def test_every_paged_search_caps_pages_at_500_and_per_page_at_100() -> None:
    for action_id in PAGED:
        a = action(action_id)
        page, per_page = a.param("page"), a.param("per_page")
        assert a.paging is not None, action_id
        assert page is not None, action_id
        assert per_page is not None, action_id
        assert a.paging.per_page_max == 100, action_id
        assert (page.minimum, page.maximum) == (1, 500), action_id
        assert (per_page.minimum, per_page.maximum) == (1, 100), action_id


def test_only_the_seeds_actions_with_page_parameters_declare_paging() -> None:
    # Apollo's document states no paging caps for its other searches, so none are set.
    with_paging = {a.id for a in load_catalog().actions if a.paging is not None}
    with_page = {a.id for a in seed_actions() if a.param("page") is not None}
    assert with_paging == with_page == PAGED


def test_people_search_uses_apollos_exact_filter_names() -> None:
    names = [p.name for p in action("people.search").params]
    assert names == [
        "person_titles", "include_similar_titles", "q_keywords", "person_locations",
        "person_seniorities", "organization_locations", "q_organization_domains_list",
        "contact_email_status", "organization_ids", "organization_num_employees_ranges",
        "revenue_range", "currently_using_all_of_technology_uids",
        "currently_using_any_of_technology_uids", "currently_not_using_any_of_technology_uids",
        "q_organization_job_titles", "organization_job_locations", "organization_num_jobs_range",
        "organization_job_posted_at_range", "page", "per_page",
    ]  # fmt: skip


def test_people_search_limits_domains_to_1000_and_lists_seniorities() -> None:
    a = action("people.search")
    domains, seniorities = a.param("q_organization_domains_list"), a.param("person_seniorities")
    assert domains is not None
    assert domains.max_items == 1000
    assert seniorities is not None
    assert "c_suite" in seniorities.enum
    assert len(seniorities.enum) == 11


def test_revenue_range_is_an_object_with_integer_min_and_max() -> None:
    revenue = action("organizations.search").param("revenue_range")
    assert revenue is not None
    assert revenue.type == "object"
    assert [(p.name, p.type) for p in revenue.properties] == [
        ("min", "integer"),
        ("max", "integer"),
    ]


def test_bulk_enrichment_takes_one_to_ten_people_in_a_required_details_array() -> None:
    a = action("people.bulk_enrich")
    details = a.param("details")
    assert a.bulk_max == 10
    assert details is not None
    assert (details.type, details.items, details.required, details.max_items) == (
        "array", "object", True, 10,
    )  # fmt: skip
    assert details.location == "body"
    assert "email" in [p.name for p in details.properties]


def test_phone_reveal_and_waterfall_require_a_webhook_on_both_enrichments() -> None:
    for action_id in ("people.enrich", "people.bulk_enrich"):
        rules = {(r.kind, r.when, r.fields) for r in action(action_id).rules}
        assert rules == {
            ("requires", flag, ("webhook_url",))
            for flag in ("reveal_phone_number", "run_waterfall_email", "run_waterfall_phone")
        }, action_id


def test_the_phone_rule_message_uses_apollos_wording() -> None:
    rule = next(r for r in action("people.enrich").rules if r.when == "reveal_phone_number")
    assert (
        "Please add a valid 'webhook_url' parameter when using 'reveal_phone_number'"
        in rule.message
    )


def test_one_of_rules_cover_organization_enrichment_sequences_and_accounts() -> None:
    one_of = {a.id: r.fields for a in load_catalog().actions for r in a.rules if r.kind == "one_of"}
    assert one_of == {
        "organizations.enrich": ("domain", "linkedin_url", "name", "website"),
        "accounts.create": ("name", "domain"),
        "sequences.add_contacts": ("contact_ids", "label_names"),
    }


def test_of_the_seeds_actions_only_updates_and_sequence_enrolment_are_destructive() -> None:
    destructive = {a.id for a in seed_actions() if a.destructive}
    assert destructive == {
        "contacts.update", "accounts.update", "deals.update", "sequences.add_contacts",
    }  # fmt: skip


def test_every_write_that_removes_stops_archives_or_sends_is_destructive() -> None:
    for a in load_catalog().actions:
        if {"destructive", "sends_email"} & set(a.tags):
            assert (a.access, a.destructive) == ("write", True), a.id
    tagged = {a.id for a in load_catalog().actions if "destructive" in a.tags}
    assert tagged == {
        "sequences.remove_contacts", "sequences.deactivate", "sequences.archive",
        "lists.remove_records",
    }  # fmt: skip


def test_spends_credits_is_tagged_exactly_on_the_actions_that_spend() -> None:
    for a in load_catalog().actions:
        assert ("spends_credits" in a.tags) == a.credits.spends, a.id
    owners = {a.id for a in load_catalog().actions if "changes_owner" in a.tags}
    assert {"contacts.update_owners", "accounts.update_owners"} <= owners


def test_of_the_seeds_actions_only_enrichment_and_company_search_spend_credits() -> None:
    spenders = {a.id: a.credits for a in seed_actions() if a.credits.spends}
    assert set(spenders) == {
        "people.enrich", "people.bulk_enrich", "organizations.search", "organizations.enrich",
    }  # fmt: skip
    assert spenders["organizations.search"].kind == "per_page"
    for action_id in ("people.enrich", "people.bulk_enrich"):
        credits = spenders[action_id]
        assert (credits.base, credits.phone_reveal, credits.waterfall) == (1, 8, True)


def test_only_enrichments_and_their_poll_describe_a_webhook() -> None:
    with_webhook = {a.id for a in load_catalog().actions if a.webhook != "None"}
    assert with_webhook == {"people.enrich", "people.bulk_enrich", "people.webhook_result"}


def test_bulk_enrichment_notes_its_tenth_of_the_rate_limit() -> None:
    assert "one tenth" in action("people.bulk_enrich").rate_limit


def test_each_action_cites_its_own_apollo_reference_page() -> None:
    sources = [a.source for a in load_catalog().actions]
    assert len(set(sources)) == len(sources) == 80
    assert action("people.search").source == "https://docs.apollo.io/reference/people-api-search"


def test_path_parameters_are_required_strings_in_the_path() -> None:
    for a in load_catalog().actions:
        for name in a.path_params:
            p = a.param(name)
            assert p is not None, a.id
            assert (p.location, p.required) == ("path", True), a.id


def test_the_guide_covers_connecting_keys_limits_and_every_resource() -> None:
    guide = load_catalog().guide
    assert [s.id for s in guide.sections] == [
        "connect", "mcp", "keys", "credits", "rate_limits", "pagination", "format",
        "versioning", "webhooks",
    ]  # fmt: skip
    assert {401, 403, 404, 422, 429} <= {c.status for c in guide.status_codes}
    assert [a.resource for a in guide.areas] == list(load_catalog().resources)


def test_the_rate_limit_section_names_both_day_header_spellings() -> None:
    section = load_catalog().guide.section("rate_limits")
    assert section is not None
    for header in ("x-minute-requests-left", "x-rate-limit-24-hour", "x-rate-limit-daily"):
        assert header in section.body


def test_every_action_and_the_guide_serialise_to_json() -> None:
    for a in load_catalog().actions:
        detail = json.loads(json.dumps(action_detail(a)))
        assert detail["id"] == a.id
        assert len(detail["params"]) == len(a.params)
    assert json.loads(json.dumps(guide_dict(load_catalog().guide)))["status_codes"]


def test_filters_combine_and_search_ignores_case() -> None:
    actions = load_catalog().actions
    assert [a.id for a in filter_actions(actions, search="BULK", origin="seed")] == [
        "people.bulk_enrich"
    ]
    patched = filter_actions(actions, method="patch", master_key=False, origin="seed")
    assert [a.id for a in patched] == ["contacts.update", "accounts.update"]


def test_tools_and_routes_resolve_to_their_actions() -> None:
    catalog = load_catalog()
    by_tool = catalog.by_tool("apollo_people_match")
    assert by_tool is not None
    assert by_tool.id == "people.enrich"
    matched = catalog.match("POST", ["emailer_campaigns", "abc123", "add_contact_ids"])
    assert matched is not None
    assert (matched[0].id, matched[1]) == ("sequences.add_contacts", {"sequence_id": "abc123"})
