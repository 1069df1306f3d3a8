"""The audit log page's view of entries, filters and facet counts. Pure but for the clock.

`entry_view` turns a log entry into what a row shows; `facet_links` turns
facet counts into links that add or remove one filter (as Datasette does);
`time_ranges` offers the last hour, day and week as links.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bollard.admin import limitform
from bollard.admin import log as audit_log

AUDIT_CHOICES = {
    "kind": ("request", "outcome", "admin"),
    "door": ("rest", "mcp", "admin"),
    "decision": ("allow", "deny"),
    "outcome": (
        "ok",
        "denied",
        "invalid",
        "unauthenticated",
        "limited",
        "upstream_error",
        "timeout",
        "error",
    ),
}
FACET_TITLES = {
    "kind": "Kind",
    "door": "Door",
    "decision": "Decision",
    "outcome": "Outcome",
    "action": "Action",
    "agent": "Agent",
}


def facet_links(
    counts: dict[str, list[tuple[str, int]]], params: dict[str, str]
) -> list[dict[str, Any]]:
    """Datasette-style facets: each value's count, linking to the log with it (un)selected."""
    out = []
    for name, values in counts.items():
        links = []
        for value, n in values:
            chosen = params.get(name) == value
            wanted = {k: v for k, v in params.items() if k != name}
            if not chosen:
                wanted[name] = value
            href = "/admin/audit" + (f"?{urlencode(wanted)}" if wanted else "")
            links.append({"value": value, "count": n, "href": href, "chosen": chosen})
        out.append({"name": name, "title": FACET_TITLES[name], "values": links})
    return out


def time_ranges(params: dict[str, str]) -> list[dict[str, str]]:
    """Links to the last hour, day and week (UTC), keeping the other filters."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rest = {k: v for k, v in params.items() if k not in ("since", "until")}
    out = []
    for text, hours in (("last hour", 1), ("last 24 hours", 24), ("last 7 days", 168)):
        since = (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")
        out.append({"text": text, "href": "/admin/audit?" + urlencode({**rest, "since": since})})
    return out


def entry_view(entry: audit_log.Entry) -> dict[str, Any]:
    data = entry.to_json()
    data["when"] = when_us(data["ts_us"])
    if entry.admin is not None:
        change = dict(entry.admin.data)
        via = f" ({change['via']})" if change.get("via") else ""
        data["summary"] = f"{change.get('change', 'change')} by {change.get('by', 'admin')}{via}"
        data["reason"] = _admin_summary(change)
    return data


def _admin_summary(change: dict[str, Any]) -> str:
    parts = []
    for key in ("added", "removed"):
        if change.get(key):
            parts.append(f"{key} {', '.join(change[key])}")
    kind, after = change.get("change"), change.get("after")
    if kind == "agents.create" and isinstance(after, dict):
        parts.append("grants " + (", ".join(after.get("grants") or []) or "none"))
    if kind == "limits.set" and isinstance(after, dict):
        parts.append(limitform.describe(after))
    if kind == "limits.clear" and isinstance(change.get("before"), list):
        parts.append(f"{len(change['before'])} limit rule(s) cleared")
    if change.get("reason"):
        parts.append(f"reason: {change['reason']}")
    return "; ".join(parts)


def when_us(ts_us: int | None) -> str:
    """A moment in microseconds as 'YYYY-MM-DD HH:MM:SS UTC' (blank for None)."""
    if ts_us is None:
        return ""
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
