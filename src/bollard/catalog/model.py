"""The catalog's values: frozen, slotted dataclasses and nothing else."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Access = Literal["read", "write"]
ParamType = Literal["string", "integer", "number", "boolean", "array", "object"]
Location = Literal["path", "query", "body"]
# Where an action's entry comes from: the user's own guide, or Apollo's OpenAPI document.
Origin = Literal["seed", "openapi"]

# Apollo ids are 24 hex characters; we accept any short token of safe characters.
PATH_PARAM_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an action, as an agent should send it.

    `properties` describes the keys of an object, or of each item of an array
    of objects (e.g. `revenue_range.min`, `details[].email`); nested entries
    share their parent's location.
    """

    name: str
    type: ParamType
    location: Location
    description: str
    required: bool = False
    items: ParamType | None = None
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_items: int | None = None
    default: Any = None
    properties: tuple[Param, ...] = ()


@dataclass(frozen=True, slots=True)
class Credits:
    """What a call costs in Apollo credits.

    `base` is per page or per record (see `kind`); `email_reveal` and
    `phone_reveal` are added per record when that reveal flag is set and the
    item is returned; `waterfall` means vendor-priced extras may apply.
    """

    kind: str  # none | per_page | per_record | plan
    base: int = 0
    email_reveal: int = 0
    phone_reveal: int = 0
    waterfall: bool = False
    note: str = ""

    @property
    def spends(self) -> bool:
        """True when a call can draw down credits."""
        return self.kind != "none"


@dataclass(frozen=True, slots=True)
class Paging:
    """Apollo's page-based pagination limits for a search."""

    per_page_max: int = 100
    page_max: int = 500
    records_max: int = 50_000


# The fields on which the seed and Apollo's documents may disagree, and the type of
# value each claim gives: a credit count, or words a person reads.
DISPUTABLE: Mapping[str, type] = {
    "credits.base": int,
    "credits.email_reveal": int,
    "credits.phone_reveal": int,
    "rate_limit": str,
    "paging": str,
}


@dataclass(frozen=True, slots=True)
class Claim:
    """What one source says about a disputed field: the value, in its words, and where.

    `source` is "seed" (the user's own guide) or the address of Apollo's page.
    """

    value: int | str
    says: str
    source: str


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One field of an action on which the sources differ, with every claim."""

    field: str
    topic: str
    claims: tuple[Claim, ...]

    @property
    def highest(self) -> int | None:
        """The largest count claimed, for a numeric field; None for words."""
        counts = [c.value for c in self.claims if isinstance(c.value, int)]
        return max(counts) if counts else None


@dataclass(frozen=True, slots=True)
class Rule:
    """A check across parameters.

    `one_of`: at least one of `fields` must be present and non-empty.
    `requires`: when the `when` parameter is present and truthy, every one of
    `fields` must be present and non-empty.
    """

    kind: str
    fields: tuple[str, ...]
    message: str
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One Apollo endpoint and everything the guide says about it."""

    id: str
    resource: str
    access: Access
    method: str
    path: str
    master_key: bool
    key_scope: str
    oauth_scope: str
    mcp_tool: str
    summary: str
    notes: str
    acts_on: str
    credits: Credits
    params: tuple[Param, ...]
    rules: tuple[Rule, ...]
    version: str
    rate_limit: str
    webhook: str
    source: str
    destructive: bool = False
    result: str = ""  # the key of Apollo's answer holding what the action returns
    paging: Paging | None = None
    bulk_max: int | None = None
    segments: tuple[str, ...] = field(default=(), repr=False)
    origin: Origin = "seed"
    # Risk tags a person reads at a glance and a selector can name (`tag:sends_email`).
    tags: tuple[str, ...] = ()
    # Where the seed and Apollo's documents say different things about this action.
    disagreements: tuple[Disagreement, ...] = ()

    # Names Apollo still accepts but Bollard does not offer (deprecated in Apollo's
    # document): not refused as unknown, not listed in MCP schemas.
    accepted: tuple[str, ...] = ()

    # Worked out once from the fields above, as every call reads them: an Action is
    # frozen and `replace` runs __post_init__ again, so they never go stale.
    # The credits a budget reckons with: each disputed cost at the highest claim.
    budget_credits: Credits = field(init=False, repr=False, compare=False)
    # Names of the `{param}` segments, in path order.
    path_params: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # Every argument name Apollo takes for this action: its parameters (path ones too)
    # and what it still accepts.
    known_names: frozenset[str] = field(init=False, repr=False, compare=False)
    # Each parameter's place in `params`, by name; and the places of the required ones.
    places: Mapping[str, int] = field(init=False, repr=False, compare=False)
    required_places: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        budget = replace(
            self.credits,
            base=self._highest_cost("base"),
            email_reveal=self._highest_cost("email_reveal"),
            phone_reveal=self._highest_cost("phone_reveal"),
        )
        object.__setattr__(self, "budget_credits", budget)
        path_params = tuple(s[1:-1] for s in self.segments if s.startswith("{"))
        object.__setattr__(self, "path_params", path_params)
        names = frozenset(p.name for p in self.params) | frozenset(self.accepted)
        object.__setattr__(self, "known_names", names)
        places: dict[str, int] = {}
        for place, p in enumerate(self.params):
            places.setdefault(p.name, place)  # the first, as a search in order finds
        object.__setattr__(self, "places", places)
        required = frozenset(i for i, p in enumerate(self.params) if p.required)
        object.__setattr__(self, "required_places", required)

    def _highest_cost(self, name: str) -> int:
        held: int = getattr(self.credits, name)
        claimed = [d.highest for d in self.disagreements if d.field == f"credits.{name}"]
        return max([held, *(c for c in claimed if c is not None)])

    @property
    def full_path(self) -> str:
        """The path template as Apollo serves it, under /api/v1."""
        return "/api/v1" + self.path

    def param(self, name: str) -> Param | None:
        """The parameter with this name, if the action has one."""
        place = self.places.get(name)
        return None if place is None else self.params[place]

    def render_path(self, values: Mapping[str, str]) -> str:
        """The concrete path (under /api/v1) with path parameters filled in."""
        out = []
        for seg in self.segments:
            out.append(values[seg[1:-1]] if seg.startswith("{") else seg)
        return "/" + "/".join(out)


@dataclass(frozen=True, slots=True)
class GuideSection:
    """One general section of the reference guide (connecting, keys, limits…)."""

    id: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One HTTP status an agent should handle, and what to do about it."""

    status: int
    name: str
    meaning: str
    what_to_do: str


@dataclass(frozen=True, slots=True)
class Area:
    """One resource area of the API, with its one-line summary."""

    resource: str
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Guide:
    """The general part of the reference guide."""

    title: str
    intro: str
    sections: tuple[GuideSection, ...]
    status_codes: tuple[StatusCode, ...]
    areas: tuple[Area, ...]

    def section(self, section_id: str) -> GuideSection | None:
        """The section with this id, if there is one."""
        return next((s for s in self.sections if s.id == section_id), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The checked catalog, with lookups by id, MCP tool and route."""

    actions: tuple[Action, ...]
    guide: Guide
    _by_id: Mapping[str, Action] = field(repr=False)
    _by_tool: Mapping[str, Action] = field(repr=False)
    # (method, segment count) → candidate actions, fewest {param} segments first.
    _by_shape: Mapping[tuple[str, int], tuple[Action, ...]] = field(repr=False)

    @property
    def resources(self) -> tuple[str, ...]:
        """Resources in catalog order, each once."""
        return tuple(dict.fromkeys(a.resource for a in self.actions))

    def get(self, action_id: str) -> Action | None:
        """The action with this id, if any."""
        return self._by_id.get(action_id)

    def by_tool(self, tool: str) -> Action | None:
        """The action behind this MCP tool name, if any."""
        return self._by_tool.get(tool)

    def nearest(self, text: str, n: int = 3) -> list[str]:
        """The ids closest to a mistyped one, for 'did you mean' messages."""
        return difflib.get_close_matches(text, list(self._by_id), n=n, cutoff=0.4)

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags in use, in catalog order, each once."""
        return tuple(dict.fromkeys(t for a in self.actions for t in a.tags))

    def match(self, method: str, segments: Sequence[str]) -> tuple[Action, dict[str, str]] | None:
        """The action whose template matches these (already split) path segments.

        A literal segment beats a `{param}` one, so `GET /opportunities/search` is the
        search and not the deal with id "search": candidates are tried fewest
        parameters first, and only those of this method and length.
        """
        for action in self._by_shape.get((method, len(segments)), ()):
            params = _bind(action.segments, segments)
            if params is not None:
                return action, params
        return None

    def methods_for(self, segments: Sequence[str]) -> list[str]:
        """Methods that exist for a path, to tell 405 from 404."""
        return [
            a.method
            for a in self.actions
            if len(a.segments) == len(segments) and _bind(a.segments, segments) is not None
        ]


def _bind(template: Sequence[str], segments: Sequence[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for want, got in zip(template, segments, strict=True):
        if want.startswith("{"):
            if not PATH_PARAM_VALUE.fullmatch(got):
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params
