"""The refusals the limiter raises: which limit, what is left, when it resets. Pure."""

from __future__ import annotations

from bollard.catalog import Action
from bollard.errors import CreditBudgetExhausted, RateLimited
from bollard.limits.cost import Estimate
from bollard.limits.counters import Verdict
from bollard.limits.rules import ALL_ACTIONS, Check, Shortfall
from bollard.limits.windows import (
    UPGRADE_URL,
    apollo_429_message,
    apollo_endpoint,
    human_duration,
    iso,
    retry_after,
)


class ApolloWindowSpent(RateLimited):
    """Apollo's own window for the endpoint is spent: answered in Apollo's 429 shape.

    `message` starts with Apollo's own 429 text, so a client that reads
    Apollo's message keeps working, and goes on to say when the window resets.
    `body` is the whole Apollo-shaped JSON body.
    """

    def __init__(self, message: str, *, headers: dict[str, str]) -> None:
        super().__init__(message, headers=headers)
        self.body: dict[str, str] = {"message": message}


class LimitsUnavailable(RateLimited):
    """The counters could not be reached and limits fail closed: refused, retry shortly."""


class BudgetExhausted(CreditBudgetExhausted):
    """A call's worst-case cost does not fit the agent's remaining credit budget."""

    def __init__(self, message: str, *, headers: dict[str, str], left: int, reset_at: float):
        super().__init__(message, headers=headers)
        self.left = left
        self.reset_at = reset_at


def _when(reset_at: float, now: float) -> str:
    return f"resets in {human_duration(reset_at - now)} (at {iso(reset_at)})"


def _headers(reset_at: float, now: float) -> dict[str, str]:
    return {"Retry-After": str(retry_after(reset_at, now))}


def window_refusal(agent: str, action: Action, check: Check, verdict: Verdict) -> RateLimited:
    """The refusal for the check a decision found full."""
    now, reset_at = verdict.now, verdict.reset_at
    headers = _headers(reset_at, now)
    endpoint = apollo_endpoint(action.key_scope)
    if check.kind == "block":
        text = (
            f"The maximum number of api calls allowed for {endpoint} has been reached. "
            f"Please upgrade your plan from {UPGRADE_URL}."
        )
        note = (
            f"Apollo answered 429 for {endpoint}; its window is the whole team's, so Bollard "
            f"holds every agent's calls to it for {human_duration(reset_at - now)} more "
            f"(until {iso(reset_at)})"
        )
        return ApolloWindowSpent(f"{text} ({note}.)", headers=headers)
    if check.kind == "apollo":
        assert check.window is not None
        text = apollo_429_message(action.key_scope, verdict.limit, check.window)
        note = (
            f"Bollard refused without calling Apollo: the team's {check.window} window for "
            f"{endpoint} is spent ({verdict.used} calls counted against the limit of "
            f"{verdict.limit} Apollo last reported) "
            f"and {_when(reset_at, now)}"
        )
        return ApolloWindowSpent(f"{text} ({note}.)", headers=headers)
    scope = "" if check.rule_action == ALL_ACTIONS else f" for {check.rule_action}"
    if check.kind == "share":
        cap = verdict.limit
        message = (
            f"agent {agent!r} has used its {check.percent:g}% share{scope} of Apollo's "
            f"{check.window} window for {endpoint} ({verdict.used} of {cap} calls); "
            f"the window {_when(reset_at, now)}"
        )
        return RateLimited(message, headers=headers)
    message = (
        f"agent {agent!r} has made {verdict.used} of its {verdict.limit} requests per "
        f"{check.window}{scope}; the window {_when(reset_at, now)}"
    )
    return RateLimited(message, headers=headers)


def budget_refusal(
    agent: str, action: Action, planned: Estimate, shortfall: Shortfall, now: float
) -> BudgetExhausted:
    """The refusal for a call whose worst case does not fit what is left of a budget."""
    budget = shortfall.budget
    scope = "" if budget.scope == ALL_ACTIONS else f" for {budget.scope}"
    message = (
        f"agent {agent!r} has {shortfall.left} of its {budget.limit} credits per "
        f"{budget.period}{scope} left; this {action.id} call may cost up to "
        f"{planned.credits} ({planned.reckoning}); the budget {_when(shortfall.reset_at, now)}"
    )
    return BudgetExhausted(
        message,
        headers=_headers(shortfall.reset_at, now),
        left=shortfall.left,
        reset_at=shortfall.reset_at,
    )


def unavailable(reason: str) -> LimitsUnavailable:
    """Limits could not be checked: refuse (fail closed) and ask for a retry in a second."""
    return LimitsUnavailable(
        f"rate limits and credit budgets could not be checked ({reason}); Bollard refuses "
        "calls it cannot check. Retry in a moment.",
        headers={"Retry-After": "1"},
    )
