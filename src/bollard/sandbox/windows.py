"""Apollo's rate limits: fixed windows per endpoint per minute, hour and day.

The team shares one set of counters per endpoint (Apollo limits the account,
not the key). The clock is injected, so tests roll windows by moving it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PERIODS: tuple[tuple[str, int], ...] = (("minute", 60), ("hour", 3600), ("day", 86_400))
DEFAULT_LIMITS = (200, 600, 6000)


@dataclass(frozen=True, slots=True)
class Denial:
    """Why a call was refused: the window that is full and when it ends."""

    period: str
    limit: int
    retry_after: int


class EndpointWindows:
    """The three fixed windows of one endpoint."""

    __slots__ = ("counts", "indexes", "limits")

    def __init__(self, limits: tuple[int, int, int]) -> None:
        self.limits = limits
        self.indexes = [-1, -1, -1]
        self.counts = [0, 0, 0]

    def _roll(self, now: float) -> None:
        for i, (_, length) in enumerate(PERIODS):
            index = int(now // length)
            if index != self.indexes[i]:
                self.indexes[i] = index
                self.counts[i] = 0

    def admit(self, now: float, enforce: bool) -> Denial | None:
        """Count one call, or refuse it (uncounted) when a window is full."""
        self._roll(now)
        if enforce:
            denial = self._full(now)
            if denial is not None:
                return denial
        counts = self.counts
        counts[0] += 1
        counts[1] += 1
        counts[2] += 1
        return None

    def _full(self, now: float) -> Denial | None:
        # When several windows are full the longest wait is the honest retry-after.
        worst: Denial | None = None
        for i, (name, length) in enumerate(PERIODS):
            if self.counts[i] >= self.limits[i]:
                wait = max(1, math.ceil((self.indexes[i] + 1) * length - now))
                if worst is None or wait > worst.retry_after:
                    worst = Denial(name, self.limits[i], wait)
        return worst

    def usage(self, now: float) -> list[tuple[int, int]]:
        """(limit, consumed) per period, minute first, as of `now`."""
        self._roll(now)
        return list(zip(self.limits, self.counts, strict=True))


class RateWindows:
    """Every endpoint's windows, keyed by action id."""

    def __init__(
        self,
        action_ids: list[str],
        limits: Mapping[str, tuple[int, int, int]],
        clock: Callable[[], float],
        enforce: bool,
    ) -> None:
        self.clock = clock
        self.enforce = enforce
        self.endpoints = {a: EndpointWindows(limits.get(a, DEFAULT_LIMITS)) for a in action_ids}

    def admit(self, action_id: str) -> Denial | None:
        return self.endpoints[action_id].admit(self.clock(), self.enforce)

    def usage(self, action_id: str) -> list[tuple[int, int]]:
        return self.endpoints[action_id].usage(self.clock())


def default_limits(
    overrides: Mapping[str, tuple[int, int, int]],
) -> dict[str, tuple[int, int, int]]:
    """Plan values from Apollo's usage-stats example; bulk gets a tenth per minute/hour."""
    limits = {"people.bulk_enrich": (20, 100, 6000), "organizations.bulk_enrich": (20, 100, 600)}
    limits.update(overrides)
    return limits


def limit_headers(usage: list[tuple[int, int]], daily_spelling: str) -> dict[str, str]:
    """The nine `x-rate-limit-*` / `x-*-usage` / `x-*-requests-left` headers."""
    day = "24-hour" if daily_spelling == "24-hour" else "daily"
    names = (("minute", "minute"), ("hourly", "hourly"), (day, day))
    out: dict[str, str] = {}
    for (limit_name, usage_name), (limit, used) in zip(names, usage, strict=True):
        out[f"x-rate-limit-{limit_name}"] = str(limit)
        out[f"x-{usage_name}-usage"] = str(used)
        out[f"x-{usage_name}-requests-left"] = str(max(0, limit - used))
    return out
