"""What a handler receives (an `Invocation`) and returns (a `Reply`), plus paging.

Handlers are plain functions of these values, so the HTTP shell in `app.py`
stays the only place that knows about Starlette.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bollard.sandbox.args import as_int
from bollard.sandbox.credits import CreditLedger

T = TypeVar("T")

PER_PAGE_DEFAULT = 10
PER_PAGE_MAX = 100
PAGE_MAX = 500  # Apollo's display cap: 100 per page x 500 pages = 50,000 records


@dataclass(frozen=True, slots=True)
class SandboxCall:
    """One request that reached the sandbox (health checks excepted)."""

    action_id: str | None
    method: str
    path: str
    api_key: str | None
    query: dict[str, Any]
    body: Any
    content_type: str | None = None  # how the body was declared (Apollo parses it so)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One admitted call: its normalised arguments, path parameters and time."""

    action_id: str
    args: dict[str, Any]
    path: dict[str, str]
    now: float
    ledger: CreditLedger

    def charge(self, amount: int, reason: str) -> None:
        self.ledger.charge(self.action_id, amount, reason, self.now)


@dataclass(frozen=True, slots=True)
class Reply:
    """A JSON answer."""

    status: int
    body: Any


def ok(body: Any) -> Reply:
    return Reply(200, body)


def error(status: int, message: str, **extra: Any) -> Reply:
    """Apollo's usual error shape, `{"error": "<human text>", ...}`."""
    return Reply(status, {"error": message, **extra})


def misconfigured(value: Any) -> Reply:
    """Apollo's 422 for an id that names nothing."""
    return error(422, f"Parameters misconfigured. {value} is not a valid ID")


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page starts and how long it is (per_page already capped)."""

    page: int
    per_page: int

    def slice(self, items: Sequence[T]) -> Sequence[T]:
        if self.page > PAGE_MAX:
            return ()
        start = (self.page - 1) * self.per_page
        return items[start : start + self.per_page]

    def pagination(self, total: int) -> dict[str, int]:
        # The true count, as Apollo reports it, even past the 500 pages it will show.
        pages = math.ceil(total / self.per_page)
        return {
            "page": self.page,
            "per_page": self.per_page,
            "total_entries": total,
            "total_pages": pages,
        }


def page_of(args: dict[str, Any], default: int = PER_PAGE_DEFAULT) -> Page:
    """`page`/`per_page` from the arguments; per_page over 100 is cut to 100."""
    page = max(1, as_int(args.get("page"), 1))
    per_page = min(max(1, as_int(args.get("per_page"), default)), PER_PAGE_MAX)
    return Page(page, per_page)
