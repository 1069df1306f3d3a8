"""Fixed windows and Apollo's rate-limit reports. Pure: values in, values out.

Apollo limits each endpoint in three fixed windows (minute, hour, day) and
reports them in `x-rate-limit-*` headers and the usage-stats endpoint. Bollard
counts its own agents in the same fixed windows, aligned to the Unix epoch, so
that every replica computes the same window from the same clock.
"""

from __future__ import annotations

import calendar
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

WindowName = Literal["minute", "hour", "day"]
WINDOW_NAMES: tuple[WindowName, ...] = ("minute", "hour", "day")
WINDOW_SECONDS: Mapping[WindowName, int] = {"minute": 60, "hour": 3600, "day": 86400}
UPGRADE_URL = "https://app.apollo.io/#/settings/plans/upgrade"

# Header names per window: (limit, usage, left). The day window has two
# spellings: the documented `daily` one and the `24-hour` one production sends.
_HEADERS: Mapping[WindowName, tuple[tuple[str, str, str], ...]] = {
    "minute": (("x-rate-limit-minute", "x-minute-usage", "x-minute-requests-left"),),
    "hour": (("x-rate-limit-hourly", "x-hourly-usage", "x-hourly-requests-left"),),
    "day": (
        ("x-rate-limit-24-hour", "x-24-hour-usage", "x-24-hour-requests-left"),
        ("x-rate-limit-daily", "x-daily-usage", "x-daily-requests-left"),
    ),
}


def window_start(now: float, seconds: int) -> int:
    """Start of the fixed window of this length that contains `now`."""
    return math.floor(now / seconds) * seconds


def window_end(now: float, seconds: int) -> int:
    """End (exclusive) of the fixed window of this length that contains `now`."""
    return window_start(now, seconds) + seconds


def retry_after(reset_at: float, now: float) -> int:
    """Whole seconds to wait until `reset_at`, at least 1 (what `Retry-After` carries)."""
    return max(1, math.ceil(reset_at - now))


def day_start(now: float) -> int:
    """Start of the UTC day containing `now` (credit budgets reset at UTC midnight)."""
    return window_start(now, 86400)


def month_start(now: float) -> int:
    """Start of the UTC calendar month containing `now`."""
    moment = datetime.fromtimestamp(now, UTC)
    return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0))


def next_month_start(now: float) -> int:
    """Start of the UTC calendar month after the one containing `now`."""
    moment = datetime.fromtimestamp(now, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


def iso(moment: float) -> str:
    """A UTC timestamp as `2026-01-02T03:04:05Z`, for messages."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(seconds: float) -> str:
    """`45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`: short enough for an error message."""
    total = max(0, math.ceil(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@dataclass(frozen=True, slots=True)
class WindowReport:
    """One window of one endpoint as Apollo reported it."""

    window: WindowName
    limit: int
    used: int


def parse_rate_headers(headers: Mapping[str, str]) -> tuple[WindowReport, ...]:
    """Apollo's windows from a response's headers; unlimited or absent windows are left out."""
    lower = {k.lower(): v for k, v in headers.items()}
    reports = []
    for window in WINDOW_NAMES:
        for names in _HEADERS[window]:
            report = _one_window(window, lower, names)
            if report is not None:
                reports.append(report)
                break
    return tuple(reports)


def _one_window(
    window: WindowName, headers: Mapping[str, str], names: tuple[str, str, str]
) -> WindowReport | None:
    limit = _int(headers.get(names[0]))
    if limit is None:
        return None
    used = _int(headers.get(names[1]))
    left = _int(headers.get(names[2]))
    if used is None:
        used = limit - left if left is not None else 0
    elif left is not None:
        used = max(used, limit - left)
    return WindowReport(window=window, limit=limit, used=max(0, used))


def _int(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(float(text.strip()))
    except ValueError:
        return None


def parse_retry_after(headers: Mapping[str, str], default: int = 60) -> int:
    """Seconds from a `Retry-After` header (seconds form), or `default` when absent."""
    lower = {k.lower(): v for k, v in headers.items()}
    value = _int(lower.get("retry-after"))
    return value if value is not None and value > 0 else default


def apollo_endpoint(key_scope: str) -> str:
    """The endpoint name Apollo uses in messages and usage stats (`deals/` prefix dropped)."""
    return key_scope.removeprefix("deals/")


def apollo_429_message(key_scope: str, limit: int, window: WindowName) -> str:
    """The text of Apollo's own 429 body for a spent window."""
    return (
        f"The maximum number of api calls allowed for {apollo_endpoint(key_scope)} "
        f"is {limit} times per {window}. Please upgrade your plan from {UPGRADE_URL}."
    )


@dataclass(frozen=True, slots=True)
class UsageStat:
    """One endpoint's window from the usage-stats endpoint."""

    endpoint: str
    window: WindowName
    limit: int
    used: int


def parse_usage_stats(body: bytes | str | Mapping[str, Any]) -> tuple[UsageStat, ...]:
    """Windows from the usage-stats answer, keyed like '["api/v1/contacts", "search"]'."""
    data = json.loads(body) if isinstance(body, bytes | str) else body
    if not isinstance(data, Mapping):
        return ()
    stats = []
    for key, value in data.items():
        endpoint = _usage_key(key)
        if endpoint is None or not isinstance(value, Mapping):
            continue
        for window in WINDOW_NAMES:
            stat = _usage_window(endpoint, window, value.get(window))
            if stat is not None:
                stats.append(stat)
    return tuple(stats)


def _usage_key(key: str) -> str | None:
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    if not isinstance(parts, list) or len(parts) != 2 or not all(isinstance(p, str) for p in parts):
        return None
    return f"{parts[0].strip('/')}/{parts[1]}"


def _usage_window(endpoint: str, window: WindowName, raw: Any) -> UsageStat | None:
    if not isinstance(raw, Mapping):
        return None
    limit = raw.get("limit")
    consumed = raw.get("consumed", 0)
    if not isinstance(limit, int | float) or not isinstance(consumed, int | float):
        return None
    return UsageStat(endpoint=endpoint, window=window, limit=int(limit), used=int(consumed))
