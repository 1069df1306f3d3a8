"""Limit rules, credit budgets and the checks they turn into for one call. Pure.

A rule is what `bollard limits set` stores: for one agent, and either every
action (`*`) or one action, request limits per window, credit budgets, and a
cap on the agent's share of Apollo's own window. For a call, the rules that
apply become a list of checks that a counters backend decides all at once:
every check passes and every counter moves, or nothing moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bollard.catalog import Action
from bollard.limits.windows import WINDOW_NAMES, WINDOW_SECONDS, WindowName

ALL_ACTIONS = "*"
CheckKind = Literal["count", "apollo", "share", "block"]
PREFIX = "bollard"

Period = Literal["day", "month"]
PERIODS: tuple[Period, ...] = ("day", "month")


@dataclass(frozen=True, slots=True)
class Budget:
    """A cap on credits for `scope` (`*` or one action) per UTC day or calendar month."""

    scope: str
    period: Period
    limit: int


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why a reservation did not fit: the budget, what is used of it, and when it resets."""

    budget: Budget
    used: int
    reset_at: float

    @property
    def left(self) -> int:
        return max(0, self.budget.limit - self.used)


@dataclass(frozen=True, slots=True)
class LimitRule:
    """An agent's limits, for every action (`action == "*"`) or for one."""

    agent: str
    action: str = ALL_ACTIONS
    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None
    credits_per_day: int | None = None
    credits_per_month: int | None = None
    share_of_apollo: float | None = None

    def per_window(self, window: WindowName) -> int | None:
        """The request limit for one window, if set."""
        return {"minute": self.per_minute, "hour": self.per_hour, "day": self.per_day}[window]

    @property
    def is_empty(self) -> bool:
        return all(
            v is None
            for v in (
                self.per_minute,
                self.per_hour,
                self.per_day,
                self.credits_per_day,
                self.credits_per_month,
                self.share_of_apollo,
            )
        )


@dataclass(frozen=True, slots=True)
class Rules:
    """Every stored rule, looked up by agent and action."""

    by_key: Mapping[tuple[str, str], LimitRule]

    @classmethod
    def of(cls, rules: Iterable[LimitRule]) -> Rules:
        return cls({(r.agent, r.action): r for r in rules})

    def for_call(self, agent: str, action_id: str) -> tuple[LimitRule, ...]:
        """The agent-wide rule, then the rule for this action, where they exist."""
        found = (self.by_key.get((agent, ALL_ACTIONS)), self.by_key.get((agent, action_id)))
        return tuple(r for r in found if r is not None)

    def for_agent(self, agent: str) -> tuple[LimitRule, ...]:
        return tuple(r for (a, _), r in sorted(self.by_key.items()) if a == agent)

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(sorted({a for a, _ in self.by_key}))


@dataclass(frozen=True, slots=True)
class Check:
    """One counter that must have room for this call.

    count: the agent's own requests in a window, against `limit`.
    apollo: the team's use of an endpoint in Apollo's window, against the limit
      Apollo last reported (no limit known yet: counted, never refused).
    share: the agent's use of that endpoint's window, against `percent` of
      Apollo's limit (the apollo check at index `ref`).
    block: Apollo answered 429 and Bollard holds calls until the key expires.
    """

    kind: CheckKind
    key: str
    window: WindowName | None = None
    limit: int = 0
    percent: float = 0.0
    ref: int = 0
    rule_action: str = ALL_ACTIONS
    # The window's length, worked out once: every call's decision reads it.
    seconds: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seconds = WINDOW_SECONDS[self.window] if self.window else 1
        object.__setattr__(self, "seconds", seconds)


def rate_key(agent: str, action: str, window: WindowName, prefix: str = PREFIX) -> str:
    return f"{prefix}:rate:{agent}:{action}:{window}"


def apollo_key(key_scope: str, window: WindowName, prefix: str = PREFIX) -> str:
    return f"{prefix}:apollo:{key_scope}:{window}"


def block_key(key_scope: str, prefix: str = PREFIX) -> str:
    return f"{prefix}:apollo:{key_scope}:block"


def share_key(agent: str, key_scope: str, window: WindowName, prefix: str = PREFIX) -> str:
    return f"{prefix}:share:{agent}:{key_scope}:{window}"


def plan(rules: Sequence[LimitRule], action: Action, prefix: str = PREFIX) -> tuple[Check, ...]:
    """The checks one call of `action` must pass under these rules."""
    checks: list[Check] = [Check("block", block_key(action.key_scope, prefix))]
    refs: dict[WindowName, int] = {}
    for window in WINDOW_NAMES:
        refs[window] = len(checks)
        checks.append(Check("apollo", apollo_key(action.key_scope, window, prefix), window))
    for rule in rules:
        checks.extend(rate_checks(rule, prefix))
    checks.extend(_share_checks(rules, action, refs, prefix))
    return tuple(checks)


def rate_checks(rule: LimitRule, prefix: str = PREFIX) -> list[Check]:
    """The rule's own request windows, one count check per window it limits."""
    checks = []
    for window in WINDOW_NAMES:
        limit = rule.per_window(window)
        if limit is not None:
            key = rate_key(rule.agent, rule.action, window, prefix)
            checks.append(Check("count", key, window, limit=limit, rule_action=rule.action))
    return checks


def _share_checks(
    rules: Sequence[LimitRule], action: Action, refs: Mapping[WindowName, int], prefix: str
) -> list[Check]:
    # Both rules count the same calls on the same endpoint: one counter, the tighter cap.
    shared = [r for r in rules if r.share_of_apollo is not None]
    if not shared:
        return []
    rule = min(shared, key=lambda r: r.share_of_apollo or 0.0)
    percent = rule.share_of_apollo or 0.0
    return [
        Check(
            "share",
            share_key(rule.agent, action.key_scope, window, prefix),
            window,
            percent=percent,
            ref=refs[window],
            rule_action=rule.action,
        )
        for window in WINDOW_NAMES
    ]


def share_cap(apollo_limit: int, percent: float) -> int:
    """How many calls of Apollo's window an agent capped at `percent` may make."""
    return int(apollo_limit * percent // 100)


def budgets_of(rules: Sequence[LimitRule]) -> list[Budget]:
    """The credit budgets these rules set, agent-wide (`*`) or per action."""
    budgets = []
    for rule in rules:
        if rule.credits_per_day is not None:
            budgets.append(Budget(rule.action, "day", rule.credits_per_day))
        if rule.credits_per_month is not None:
            budgets.append(Budget(rule.action, "month", rule.credits_per_month))
    return budgets
