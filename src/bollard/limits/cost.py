"""What a call costs in Apollo credits: worst case before, real cost after. Pure.

The catalog says how an action spends (`Credits.kind`): per matched record
(people and organization enrichment), per page (organization search), by plan,
or not at all. Before a call Bollard reserves the worst case; after it, the
response says what was really spent (`credits_consumed`, the matches). Where the
seed and Apollo's documents disagree on a cost, the worst case takes the higher
(`Action.budget_credits`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bollard.catalog import Action

_TRUE = ("true", "1", "yes", "on")
# Top-level keys that hold the one record a single enrichment returns.
_SINGLE_RECORD_KEYS = ("person", "organization")


@dataclass(frozen=True, slots=True)
class Estimate:
    """The worst-case cost of one call, with how it was reckoned (for messages)."""

    credits: int
    records: int
    per_record: int
    reckoning: str


_FREE = Estimate(0, 0, 0, "free")


def estimate(action: Action, args: Mapping[str, Any]) -> Estimate:
    """The most this call can cost, from the catalog and the call's own arguments."""
    credits = action.budget_credits
    if credits.kind == "none":
        return _FREE
    if credits.kind in ("per_page", "plan"):
        return Estimate(credits.base, 1, credits.base, f"{credits.base} per {_unit(action)}")
    records = _records(action, args)
    unit = _per_record(action, args)
    return Estimate(records * unit, records, unit, f"{records} × {unit} per {_unit(action)}")


def _unit(action: Action) -> str:
    if action.credits.kind == "per_page":
        return "page"
    if action.credits.kind == "plan":
        return "call"
    return action.acts_on or "record"


def _per_record(action: Action, args: Mapping[str, Any]) -> int:
    credits = action.budget_credits
    unit = credits.base
    if _flag(args, "reveal_personal_emails") or _flag(args, "run_waterfall_email"):
        unit += credits.email_reveal
    if _flag(args, "reveal_phone_number") or _flag(args, "run_waterfall_phone"):
        unit += credits.phone_reveal
    return unit


def _records(action: Action, args: Mapping[str, Any]) -> int:
    """How many records the call asks for: the bulk list's length, else one."""
    if action.bulk_max is None:
        return 1
    # Every list the call sends counts: bulk company enrichment takes domains[] and
    # details together.
    sent = [args.get(p.name) for p in action.params if p.type == "array"]
    lists = [v for v in sent if isinstance(v, list | tuple)]
    return min(sum(map(len, lists)), action.bulk_max) if lists else action.bulk_max


def _flag(args: Mapping[str, Any], name: str) -> bool:
    value = args.get(name)
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


# More than any one call could cost; a larger "credits_consumed" is not believed.
_MOST_CREDITS = 1_000_000


def actual(action: Action, planned: Estimate, status: int, body: bytes) -> int:
    """What the call really cost, from Apollo's answer; unreadable answers cost the worst case."""
    if planned.credits == 0 or not 200 <= status < 300:
        return 0
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return planned.credits
    if not isinstance(data, Mapping):
        return planned.credits
    consumed = data.get("credits_consumed")
    if isinstance(consumed, int | float) and not isinstance(consumed, bool):
        if not 0 <= consumed <= _MOST_CREDITS:  # NaN, Infinity, negative, absurd: unreadable
            return planned.credits
        # Apollo can report fractions; the ledger counts whole credits, rounding up.
        return math.ceil(consumed)
    if action.credits.kind != "per_record":
        return planned.credits
    return _matched(data, planned) * planned.per_record


def _matched(data: Mapping[str, Any], planned: Estimate) -> int:
    # people/bulk_match answers in "matches", organizations/bulk_enrich in "organizations".
    matches = data.get("matches", data.get("organizations"))
    if isinstance(matches, list):
        return min(planned.records, sum(1 for m in matches if isinstance(m, Mapping)))
    for key in _SINGLE_RECORD_KEYS:
        if key in data:
            return 1 if isinstance(data[key], Mapping) else 0
    return planned.records
