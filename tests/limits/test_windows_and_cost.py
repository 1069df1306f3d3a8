"""Pure parts: Apollo's headers and usage stats, fixed windows, and credit cost."""

from __future__ import annotations

import json

import pytest

from bollard.catalog import Action, Catalog
from bollard.limits.cost import actual, estimate
from bollard.limits.windows import (
    UsageStat,
    WindowReport,
    month_start,
    next_month_start,
    parse_rate_headers,
    parse_retry_after,
    parse_usage_stats,
    window_start,
)


def action(catalog: Catalog, action_id: str) -> Action:
    found = catalog.get(action_id)
    assert found is not None
    return found


def test_the_day_window_is_read_from_the_24_hour_spelling() -> None:
    headers = {
        "X-Rate-Limit-Minute": "200",
        "X-Minute-Usage": "1",
        "X-Minute-Requests-Left": "199",
        "x-rate-limit-24-hour": "2000",
        "x-24-hour-usage": "7",
        "x-24-hour-requests-left": "1993",
    }
    assert parse_rate_headers(headers) == (
        WindowReport("minute", 200, 1),
        WindowReport("day", 2000, 7),
    )


def test_the_day_window_is_read_from_the_documented_daily_spelling() -> None:
    headers = {"x-rate-limit-daily": "600", "x-daily-requests-left": "0"}
    assert parse_rate_headers(headers) == (WindowReport("day", 600, 600),)


def test_an_empty_limit_header_means_an_unlimited_window() -> None:
    assert parse_rate_headers({"x-rate-limit-hourly": "", "x-hourly-usage": "3"}) == ()


def test_usage_left_wins_over_a_lower_usage_count() -> None:
    headers = {"x-rate-limit-hourly": "10", "x-hourly-usage": "2", "x-hourly-requests-left": "1"}
    assert parse_rate_headers(headers) == (WindowReport("hour", 10, 9),)


def test_retry_after_is_read_in_seconds_with_a_default() -> None:
    assert parse_retry_after({"retry-after": "17"}) == 17
    assert parse_retry_after({}) == 60


def test_usage_stats_keys_name_the_endpoint_by_controller_and_action() -> None:
    body = json.dumps(
        {
            '["api/v1/contacts", "search"]': {
                "day": {"limit": 6000, "consumed": 5, "left_over": 5995},
                "hour": {"limit": 600, "consumed": 5, "left_over": 595},
                "minute": {"limit": 200, "consumed": 1, "left_over": 199},
            },
            "not json": {"minute": {"limit": 1}},
        }
    ).encode()
    assert parse_usage_stats(body) == (
        UsageStat("api/v1/contacts/search", "minute", 200, 1),
        UsageStat("api/v1/contacts/search", "hour", 600, 5),
        UsageStat("api/v1/contacts/search", "day", 6000, 5),
    )


def test_windows_are_fixed_and_aligned_to_the_epoch() -> None:
    assert window_start(1_767_225_659.9, 60) == 1_767_225_600
    assert window_start(1_767_225_660.0, 60) == 1_767_225_660


def test_the_month_runs_from_the_first_to_the_first_in_utc() -> None:
    dec_31 = 1_767_139_200.0 + 3600  # 2025-12-31T01:00:00Z
    assert (month_start(dec_31), next_month_start(dec_31)) == (1_764_547_200, 1_767_225_600)


def test_people_enrichment_worst_case_adds_8_per_revealed_phone(catalog: Catalog) -> None:
    enrich = action(catalog, "people.enrich")
    assert estimate(enrich, {"email": "a@b.c"}).credits == 1
    assert estimate(enrich, {"email": "a@b.c", "reveal_phone_number": "true"}).credits == 9


def test_bulk_enrichment_worst_case_is_per_person_asked_for(catalog: Catalog) -> None:
    bulk = action(catalog, "people.bulk_enrich")
    details = [{"email": f"{i}@b.c"} for i in range(4)]
    assert estimate(bulk, {"details": details, "reveal_phone_number": True}).credits == 36


def test_organization_search_costs_one_per_page_and_search_of_people_nothing(
    catalog: Catalog,
) -> None:
    assert estimate(action(catalog, "organizations.search"), {"page": 3}).credits == 1
    assert estimate(action(catalog, "people.search"), {}).credits == 0


def test_real_cost_is_apollos_credits_consumed_rounded_up(catalog: Catalog) -> None:
    bulk = action(catalog, "people.bulk_enrich")
    planned = estimate(bulk, {"details": [{}, {}, {}]})
    assert actual(bulk, planned, 200, b'{"credits_consumed": 1.2, "matches": []}') == 2


@pytest.mark.parametrize("reported", [b"Infinity", b"-Infinity", b"NaN", b"-3", b"1e300"])
def test_a_credits_consumed_that_is_no_real_count_costs_the_worst_case(
    catalog: Catalog, reported: bytes
) -> None:
    # Python's json reads Infinity and NaN; math.ceil of them raised inside settle, so
    # a call that reached Apollo escaped the pipeline with no outcome recorded.
    bulk = action(catalog, "people.bulk_enrich")
    planned = estimate(bulk, {"details": [{}, {}, {}]})
    body = b'{"credits_consumed": ' + reported + b', "matches": []}'
    assert actual(bulk, planned, 200, body) == planned.credits == 3


def test_real_cost_without_credits_consumed_counts_the_matches(catalog: Catalog) -> None:
    bulk = action(catalog, "people.bulk_enrich")
    planned = estimate(bulk, {"details": [{}, {}, {}], "reveal_phone_number": True})
    body = json.dumps({"matches": [{"id": "1"}, None, {"id": "3"}]}).encode()
    assert actual(bulk, planned, 200, body) == 18


def test_bulk_company_enrichment_reserves_per_domain_and_settles_per_company_found(
    catalog: Catalog,
) -> None:
    bulk = action(catalog, "organizations.bulk_enrich")
    args = {"domains": ["a.io", "b.io"], "details": [{"name": "C"}]}
    planned = estimate(bulk, args)
    assert planned.credits == 3
    assert estimate(bulk, {"domains": ["a.io"] * 12}).credits == 10
    body = json.dumps({"organizations": [{"id": "1"}, {"id": "2"}]}).encode()
    assert actual(bulk, planned, 200, body) == 2


def test_an_error_answer_costs_nothing_and_an_unreadable_one_the_worst_case(
    catalog: Catalog,
) -> None:
    enrich = action(catalog, "organizations.enrich")
    planned = estimate(enrich, {"domain": "apollo.io"})
    assert actual(enrich, planned, 422, b'{"error": "x"}') == 0
    assert actual(enrich, planned, 200, b"<html>") == 1


def test_a_disputed_cost_is_reckoned_at_the_higher_claim(catalog: Catalog) -> None:
    # Apollo's document prices a revealed email at 0 extra, the seed at more than 0.
    for action_id in ("people.enrich", "people.bulk_enrich"):
        enriching = action(catalog, action_id)
        dispute = next(d for d in enriching.disagreements if d.field == "credits.email_reveal")
        assert sorted(c.value for c in dispute.claims) == [0, 1]
        assert enriching.credits.email_reveal == 0
        assert enriching.budget_credits.email_reveal == 1
    asked = {"email": "a@b.c", "reveal_personal_emails": "true", "reveal_phone_number": "true"}
    assert estimate(action(catalog, "people.enrich"), asked).credits == 10
