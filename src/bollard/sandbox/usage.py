"""API usage stats and the 429 answer, in Apollo's shapes."""

from __future__ import annotations

import json
from typing import Any

from bollard.catalog import Action
from bollard.sandbox.exchange import Invocation, Reply, ok
from bollard.sandbox.windows import PERIODS, Denial, RateWindows

UPGRADE = "https://app.apollo.io/#/settings/plans/upgrade"


def controller_action(action: Action) -> tuple[str, str]:
    """`api/v1/contacts/create` → (`api/v1/contacts`, `create`); deals drop `deals/`."""
    scope = action.key_scope.removeprefix("deals/").removeprefix("meetings/")
    controller, _, name = scope.rpartition("/")
    return controller, name


def too_many(action: Action, denial: Denial) -> dict[str, str]:
    """Apollo's 429 body for the window that is full."""
    controller, name = controller_action(action)
    return {
        "message": f"The maximum number of api calls allowed for {controller}/{name} is "
        f"{denial.limit} times per {denial.period}. Please upgrade your plan from {UPGRADE}."
    }


def stats(actions: tuple[Action, ...], windows: RateWindows, call: Invocation) -> Reply:
    """POST /usage_stats/api_usage_stats: every endpoint's day/hour/minute counters."""
    body: dict[str, Any] = {}
    for action in actions:
        usage = windows.usage(action.id)
        key = json.dumps(list(controller_action(action)))
        body[key] = {
            name: {"limit": limit, "consumed": used, "left_over": max(0, limit - used)}
            for (name, _), (limit, used) in sorted(
                zip(PERIODS, usage, strict=True), key=lambda pair: -pair[0][1]
            )
        }
    return ok(body)
