"""The limiter's decisions, on both counter backends, with a moved clock."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from bollard.catalog import Action, Catalog
from bollard.errors import CreditBudgetExhausted, RateLimited
from bollard.limits import Admission, Limiter
from bollard.limits.refusals import ApolloWindowSpent
from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from tests.harness import Clock

pytestmark = pytest.mark.anyio

SEARCH_ARGS = {"person_titles": ["cto"]}


def action(catalog: Catalog, action_id: str) -> Action:
    found = catalog.get(action_id)
    assert found is not None
    return found


def limit(store: Engine, clock: Clock, agent: str, **fields: object) -> None:
    set_rule(store, LimitRule(agent=agent, **fields), clock())  # type: ignore[arg-type]


def apollo_headers(minute: tuple[int, int], hour: tuple[int, int] = (600, 0)) -> dict[str, str]:
    """Apollo's rate headers, with the day window in its 24-hour spelling."""
    return {
        "x-rate-limit-minute": str(minute[0]),
        "x-minute-usage": str(minute[1]),
        "x-minute-requests-left": str(minute[0] - minute[1]),
        "x-rate-limit-hourly": str(hour[0]),
        "x-hourly-usage": str(hour[1]),
        "x-hourly-requests-left": str(hour[0] - hour[1]),
        "x-rate-limit-24-hour": "6000",
        "x-24-hour-usage": "1",
        "x-24-hour-requests-left": "5999",
    }


async def admit_n(limiter: Limiter, agent: str, act: Action, n: int) -> list[Admission]:
    return [await limiter.admit(agent, act, SEARCH_ARGS) for _ in range(n)]


async def test_agent_is_refused_past_its_per_minute_limit_and_admitted_in_the_next_minute(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "research", per_minute=3)
    search = action(catalog, "people.search")
    await admit_n(limiter, "research", search, 3)
    with pytest.raises(RateLimited) as refused:
        await limiter.admit("research", search, SEARCH_ARGS)
    clock.advance(60)
    await limiter.admit("research", search, SEARCH_ARGS)
    assert "3 of its 3 requests per minute" in refused.value.message


async def test_window_refusal_says_which_window_and_when_it_resets(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "research", per_hour=1)
    search = action(catalog, "people.search")
    await limiter.admit("research", search, SEARCH_ARGS)
    clock.advance(600)
    with pytest.raises(RateLimited) as refused:
        await limiter.admit("research", search, SEARCH_ARGS)
    assert refused.value.headers == {"Retry-After": "3000"}
    assert "per hour" in refused.value.message
    assert "resets in 50 min 0 s (at 2026-01-01T01:00:00Z)" in refused.value.message
    assert refused.value.error_code == "RATE_LIMITED"


async def test_a_limit_for_one_action_leaves_the_agents_other_actions_alone(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "sdr", action="contacts.search", per_minute=1)
    contacts, accounts = action(catalog, "contacts.search"), action(catalog, "accounts.search")
    await limiter.admit("sdr", contacts, {})
    with pytest.raises(RateLimited) as refused:
        await limiter.admit("sdr", contacts, {})
    await admit_n(limiter, "sdr", accounts, 5)
    assert "for contacts.search" in refused.value.message


async def test_agents_do_not_share_their_own_windows(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "a", per_minute=1)
    limit(store, clock, "b", per_minute=1)
    search = action(catalog, "people.search")
    await limiter.admit("a", search, SEARCH_ARGS)
    await limiter.admit("b", search, SEARCH_ARGS)
    with pytest.raises(RateLimited):
        await limiter.admit("a", search, SEARCH_ARGS)


async def test_released_call_gives_its_place_in_the_window_back(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "research", per_minute=1)
    search = action(catalog, "people.search")
    admission = await limiter.admit("research", search, SEARCH_ARGS)
    await limiter.release(admission)
    await limiter.admit("research", search, SEARCH_ARGS)
    with pytest.raises(RateLimited):
        await limiter.admit("research", search, SEARCH_ARGS)


async def test_a_window_apollo_reported_spent_is_refused_in_apollos_shape_until_it_rolls_over(
    limiter: Limiter, clock: Clock, catalog: Catalog
) -> None:
    search = action(catalog, "people.search")
    clock.advance(15)
    admission = await limiter.admit("research", search, SEARCH_ARGS)
    await limiter.settle(admission, 200, apollo_headers(minute=(200, 200)), b"{}")
    with pytest.raises(ApolloWindowSpent) as refused:
        await limiter.admit("other-agent", search, SEARCH_ARGS)
    clock.advance(45)
    await limiter.admit("other-agent", search, SEARCH_ARGS)
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "45"}
    assert refused.value.message.startswith(
        "The maximum number of api calls allowed for api/v1/mixed_people/api_search "
        "is 200 times per minute. Please upgrade your plan"
    )
    assert "resets in 45 s" in refused.value.message
    assert "(200 calls counted against the limit of 200 Apollo last reported)" in (
        refused.value.message
    )
    assert json.loads(json.dumps(refused.value.body)) == {"message": refused.value.message}


async def test_bollard_counts_its_own_calls_into_apollos_window_between_reports(
    limiter: Limiter, clock: Clock, catalog: Catalog
) -> None:
    search = action(catalog, "people.search")
    first = await limiter.admit("research", search, SEARCH_ARGS)
    await limiter.settle(first, 200, apollo_headers(minute=(5, 1)), b"{}")
    await admit_n(limiter, "research", search, 4)
    with pytest.raises(ApolloWindowSpent):
        await limiter.admit("research", search, SEARCH_ARGS)


async def test_a_report_that_may_be_from_the_last_window_teaches_the_limit_not_the_use(
    limiter: Limiter, clock: Clock, catalog: Catalog
) -> None:
    search = action(catalog, "people.search")
    clock.advance(59.9)
    admission = await limiter.admit("research", search, SEARCH_ARGS)
    clock.advance(0.2)
    await limiter.settle(admission, 200, apollo_headers(minute=(200, 200)), b"{}")
    await limiter.admit("research", search, SEARCH_ARGS)


async def test_apollos_own_429_holds_the_endpoint_for_every_agent_for_its_retry_after(
    limiter: Limiter, clock: Clock, catalog: Catalog
) -> None:
    search = action(catalog, "people.search")
    admission = await limiter.admit("research", search, SEARCH_ARGS)
    await limiter.settle(admission, 429, {"Retry-After": "30"}, b'{"message": "slow down"}')
    with pytest.raises(ApolloWindowSpent) as refused:
        await limiter.admit("research", search, SEARCH_ARGS)
    # Apollo's windows are the team's: one agent's 429 would be every agent's.
    with pytest.raises(ApolloWindowSpent) as other:
        await limiter.admit("enrichment", search, SEARCH_ARGS)
    clock.advance(30)
    await limiter.admit("enrichment", search, SEARCH_ARGS)
    assert refused.value.headers == {"Retry-After": "30"}
    assert "holds every agent's calls to it for 30 s more" in other.value.message
    assert "the whole team's" in other.value.message


async def test_share_of_apollo_caps_one_agent_while_the_others_keep_calling(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "research", share_of_apollo=50)
    search = action(catalog, "people.search")
    first = await limiter.admit("other", search, SEARCH_ARGS)
    await limiter.settle(first, 200, apollo_headers(minute=(10, 1)), b"{}")
    await admit_n(limiter, "research", search, 5)
    with pytest.raises(RateLimited) as refused:
        await limiter.admit("research", search, SEARCH_ARGS)
    await admit_n(limiter, "other", search, 4)
    assert "50% share of Apollo's minute window" in refused.value.message
    assert "(5 of 5 calls)" in refused.value.message


async def test_limits_set_take_effect_within_a_second(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "research", per_minute=5)
    search = action(catalog, "people.search")
    await admit_n(limiter, "research", search, 2)
    limit(store, clock, "research", per_minute=2)
    clock.advance(1)
    with pytest.raises(RateLimited):
        await limiter.admit("research", search, SEARCH_ARGS)


async def test_a_call_whose_worst_case_does_not_fit_the_budget_is_refused_before_it_is_sent(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "enricher", credits_per_day=20)
    bulk = action(catalog, "people.bulk_enrich")
    details = [{"email": f"p{i}@example.com"} for i in range(10)]
    await limiter.admit("enricher", bulk, {"details": details})
    clock.advance(3600)
    with pytest.raises(CreditBudgetExhausted) as refused:
        await limiter.admit("enricher", bulk, {"details": details, "reveal_phone_number": True})
    assert refused.value.error_code == "CREDIT_BUDGET_EXHAUSTED"
    assert refused.value.status == 429
    assert refused.value.message == (
        "agent 'enricher' has 10 of its 20 credits per day left; this people.bulk_enrich "
        "call may cost up to 90 (10 × 9 per person); the budget resets in 23 h 0 min "
        "(at 2026-01-02T00:00:00Z)"
    )
    assert refused.value.headers == {"Retry-After": str(23 * 3600)}


async def test_a_budget_refusal_does_not_use_up_the_agents_window(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "enricher", per_minute=1, credits_per_day=0)
    enrich, search = action(catalog, "people.enrich"), action(catalog, "people.search")
    with pytest.raises(CreditBudgetExhausted):
        await limiter.admit("enricher", enrich, {"email": "a@example.com"})
    await limiter.admit("enricher", search, SEARCH_ARGS)


async def test_settling_replaces_the_reservation_by_what_apollo_says_was_spent(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "enricher", credits_per_day=10)
    bulk = action(catalog, "people.bulk_enrich")
    details = [{"email": f"p{i}@example.com"} for i in range(10)]
    admission = await limiter.admit("enricher", bulk, {"details": details})
    body = json.dumps({"status": "success", "credits_consumed": 2.5, "matches": []}).encode()
    spent = await limiter.settle(admission, 200, {}, body)
    again = await limiter.admit("enricher", bulk, {"details": details[:7]})
    with pytest.raises(CreditBudgetExhausted) as refused:
        await limiter.admit("enricher", bulk, {"details": details[:1]})
    assert (admission.reserved_credits, spent, again.reserved_credits) == (10, 3, 7)
    assert "has 0 of its 10 credits per day left" in refused.value.message


async def test_an_enrichment_that_matched_nobody_costs_nothing(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "enricher", credits_per_month=1)
    enrich = action(catalog, "people.enrich")
    first = await limiter.admit("enricher", enrich, {"email": "nobody@example.com"})
    spent = await limiter.settle(first, 200, {}, b'{"person": null}')
    await limiter.admit("enricher", enrich, {"email": "somebody@example.com"})
    assert spent == 0


async def test_a_released_reservation_is_given_back_to_the_budget(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "enricher", credits_per_day=1)
    enrich = action(catalog, "people.enrich")
    admission = await limiter.admit("enricher", enrich, {"email": "a@example.com"})
    await limiter.release(admission)
    await limiter.admit("enricher", enrich, {"email": "a@example.com"})


async def test_the_daily_budget_resets_at_utc_midnight_and_the_monthly_one_next_month(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "enricher", credits_per_day=1, credits_per_month=2)
    enrich = action(catalog, "organizations.enrich")
    await limiter.admit("enricher", enrich, {"domain": "apollo.io"})
    clock.advance(86400)
    await limiter.admit("enricher", enrich, {"domain": "apollo.io"})
    clock.advance(86400)
    with pytest.raises(CreditBudgetExhausted) as refused:
        await limiter.admit("enricher", enrich, {"domain": "apollo.io"})
    clock.now = 1_769_904_000.0  # 2026-02-01T00:00:00Z
    await limiter.admit("enricher", enrich, {"domain": "apollo.io"})
    assert "0 of its 2 credits per month left" in refused.value.message
    assert "(at 2026-02-01T00:00:00Z)" in refused.value.message


async def test_free_actions_never_touch_the_ledger(
    limiter: Limiter, store: Engine, clock: Clock, catalog: Catalog
) -> None:
    limit(store, clock, "sdr", credits_per_day=0)
    admission = await limiter.admit("sdr", action(catalog, "contacts.create"), {})
    assert (admission.ledger_id, admission.reserved_credits) == (None, 0)
    assert await limiter.settle(admission, 200, {}, b"{}") == 0
