"""Usage for the console: calls and credits per agent over time, as inline SVG charts.

`tally` and `bar_chart` are pure (records and numbers in, values out); the
two readers at the bottom fetch the records and Apollo's last reported windows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from bollard.audit.search import AuditFilters, AuditRow, follow
from bollard.store.tables import audit_records

HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
PERIODS = {1: HOUR_US, 7: DAY_US, 30: DAY_US}  # days shown → bucket size


@dataclass(slots=True)
class Series:
    """One agent's calls, denied calls and credits, bucket by bucket."""

    calls: list[int]
    denied: list[int]
    credits: list[int]
    total_calls: int = 0
    total_credits: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """The time axis: `n` buckets of `bucket_us` starting at `start_us`."""

    start_us: int
    bucket_us: int
    n: int

    @classmethod
    def ending(cls, now_us: int, days: int) -> Window:
        """The window of `days` days ending with the bucket that holds `now_us`."""
        bucket = PERIODS.get(days, DAY_US)
        n = days * DAY_US // bucket
        end = (now_us // bucket + 1) * bucket
        return cls(end - n * bucket, bucket, n)

    def index(self, ts_us: int) -> int | None:
        """The bucket a moment falls in, or None outside the window."""
        i = (ts_us - self.start_us) // self.bucket_us
        return i if 0 <= i < self.n else None

    def labels(self) -> list[str]:
        """A short label per bucket: the hour, or the day."""
        fmt = "%H:00" if self.bucket_us < DAY_US else "%b %d"
        return [
            datetime.fromtimestamp((self.start_us + i * self.bucket_us) / 1e6, UTC).strftime(fmt)
            for i in range(self.n)
        ]


def tally(rows: Iterable[AuditRow], window: Window) -> dict[str, Series]:
    """Per agent: calls and denials (request records) and credits (outcome records)."""
    out: dict[str, Series] = {}
    for row in rows:
        i = window.index(row.ts_us)
        if i is None or row.agent is None or row.kind not in ("request", "outcome"):
            continue
        series = out.setdefault(row.agent, Series([0] * window.n, [0] * window.n, [0] * window.n))
        if row.kind == "request":
            series.calls[i] += 1
            series.total_calls += 1
            series.denied[i] += row.decision == "deny"
        else:
            credits = row.data.get("credits") or 0
            if isinstance(credits, int):
                series.credits[i] += credits
                series.total_credits += credits
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True, slots=True)
class Chart:
    """Geometry of a bar chart, ready for an SVG template."""

    width: int
    height: int
    top: int
    bars: list[Bar] = field(default_factory=list)
    title: str = ""


def bar_chart(
    values: list[int], labels: list[str], title: str, width: int = 480, height: int = 120
) -> Chart:
    """Bars scaled to the largest value (at least 1), bottom-aligned in `height`."""
    top = max([1, *values])
    slot = width / max(1, len(values))
    bars = [
        Bar(
            x=round(i * slot + 1, 2),
            y=round(height - v / top * height, 2),
            width=round(max(1.0, slot - 2), 2),
            height=round(v / top * height, 2),
            label=label,
            value=v,
        )
        for i, (v, label) in enumerate(zip(values, labels, strict=True))
    ]
    return Chart(width, height, top, bars, title)


def usage_rows(engine: Engine, window: Window) -> Iterable[AuditRow]:
    """The records in the window, in chain order."""
    return follow(engine, AuditFilters(since_us=window.start_us), after_seq=0)


def apollo_windows(engine: Engine) -> tuple[str, list[dict[str, Any]]]:
    """Apollo's team-wide windows: from the limits module's snapshots if there are
    any, else the x-rate-limit headers of the newest outcome that carried them."""
    try:
        from bollard.limits.rule_store import load_windows

        stored = load_windows(engine)
    except (ImportError, SQLAlchemyError):
        stored = []
    if stored:
        return "usage stats synced by the limiter", stored
    stmt = (
        select(audit_records.c.data, audit_records.c.ts_us)
        .where(audit_records.c.kind == "outcome", audit_records.c.data.like('%"x-rate%'))
        .order_by(audit_records.c.seq.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        found = conn.execute(stmt).first()
    if found is None:
        return "no rate-limit headers recorded yet", []

    rate = json.loads(found.data).get("rate") or {}
    when = datetime.fromtimestamp(found.ts_us / 1e6, UTC).isoformat(timespec="seconds")
    headers = [{"header": k, "value": v} for k, v in sorted(rate.items())]
    return f"headers of Apollo's last answer ({when})", headers


def limit_rules(engine: Engine) -> list[dict[str, Any]]:
    """Bollard's own per-agent limits (rate and credit budgets), if the limits module is there."""
    try:
        from bollard.limits.rule_store import load_rules, rule_dict

        rules = load_rules(engine)
    except (ImportError, SQLAlchemyError):
        return []
    return [rule_dict(r) for _, r in sorted(rules.by_key.items())]
