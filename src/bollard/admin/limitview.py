"""Rate-limit windows and credit budgets as a person reads them. Pure.

"12 / 60 requests this minute, resets in 40 seconds" instead of epoch
numbers and snake_case header names: `now` is passed in, nothing is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bollard.limits.rules import ALL_ACTIONS
from bollard.limits.windows import WINDOW_SECONDS

_PER = {"minute": "per minute", "hour": "per hour", "day": "per day", "month": "per month"}
# Apollo's header stems for each window (the daily one has two spellings, see apollo-api.md).
_HEADER_WINDOWS = (
    ("minute", "minute", "per minute"),
    ("hourly", "hourly", "per hour"),
    ("24-hour", "24-hour", "per 24 hours"),
    ("daily", "daily", "per day"),
)


def in_words(seconds: float) -> str:
    """A wait as words: 'in 40 seconds', 'in 3 minutes', 'in 2 hours 5 minutes', 'in 3 days'."""
    s = max(0, round(seconds))
    if s < 60:
        return "now" if s == 0 else f"in {_n(s, 'second')}"
    if s < 3600:
        return f"in {_n(round(s / 60), 'minute')}"
    if s < 86400:
        hours, minutes = divmod(round(s / 60), 60)
        return f"in {_n(hours, 'hour')}" + (f" {_n(minutes, 'minute')}" if minutes else "")
    return f"in {_n(round(s / 86400), 'day')}"


def scope(action: str) -> str:
    return "every action" if action == ALL_ACTIONS else action


def agent_windows(rows: Iterable[Mapping[str, Any]], now: float) -> list[dict[str, str]]:
    """The limiter's windows for one agent (`Limiter.windows`), in words."""
    return [
        {
            "what": f"{scope(r['action'])}, {_PER.get(r['window'], r['window'])}",
            "used": f"{r['used']:,} / {r['limit']:,}"
            if r["limit"] is not None
            else f"{r['used']:,}",
            "resets": f"resets {in_words(r['resets_at'] - now)}" if r.get("resets_at") else "",
        }
        for r in rows
    ]


def credit_rows(rows: Iterable[Mapping[str, Any]], now: float) -> list[dict[str, str]]:
    """Credit budgets (budget, spent, resets_at in seconds) in words."""
    return [
        {
            "what": f"credits, {scope(r['action'])}, {_PER.get(r['period'], r['period'])} (UTC)",
            "used": f"{r['spent']:,} / {r['budget']:,}",
            "resets": f"resets {in_words(r['resets_at'] - now)}",
        }
        for r in rows
    ]


def apollo_snapshot(rows: Iterable[Mapping[str, Any]], now: float) -> list[dict[str, str]]:
    """Apollo's windows as the last usage sync stored them (`load_windows`), in words."""
    out = []
    for r in rows:
        seconds = WINDOW_SECONDS.get(r["window"], 0)
        ends = r["window_start"] + seconds
        out.append(
            {
                "what": f"{r['endpoint']}, {_PER.get(r['window'], r['window'])}",
                "used": f"{r['used']:,} / {r['limit']:,}",
                "resets": f"resets {in_words(ends - now)}" if ends > now else "window over",
            }
        )
    return out


def apollo_headers(rate: Mapping[str, str]) -> list[dict[str, str]]:
    """The x-rate-limit-* headers of Apollo's last answer, one row per window."""
    out = []
    for stem, usage, per in _HEADER_WINDOWS:
        limit = rate.get(f"x-rate-limit-{stem}")
        used = rate.get(f"x-{usage}-usage")
        left = rate.get(f"x-{usage}-requests-left")
        if limit is None and used is None:
            continue
        shown = f"{used or '?'} / {limit}" if limit else f"{used} (no limit)"
        out.append({"what": f"that endpoint, {per}", "used": shown, "resets": f"{left} left then"})
    return out


def _n(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
