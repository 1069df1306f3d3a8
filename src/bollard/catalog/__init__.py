"""The Apollo catalog: the 20 actions and the reference guide, as data.

`apollo.toml` beside this module is the single source of truth. It drives
routes, validation, MCP tools, the sandbox, the CLI and the reference page.
This module is pure: it parses and checks the file and answers questions
about it; it does no I/O beyond reading its own package data.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from bollard.errors import CatalogError

Access = Literal["read", "write"]
ParamType = Literal["string", "integer", "number", "boolean", "array", "object"]
Location = Literal["path", "query", "body"]

ACCESSES: tuple[Access, ...] = ("read", "write")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PARAM_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array", "object")
LOCATIONS: tuple[str, ...] = ("path", "query", "body")
CREDIT_KINDS = ("none", "per_page", "per_record", "plan")
RULE_KINDS = ("one_of", "requires")
EXPECTED_ACTIONS = 20

_ID = re.compile(r"^[a-z_]+\.[a-z_]+$")
_TEMPLATE_SEGMENT = re.compile(r"^(?:[a-z_]+|\{[a-z_]+\})$")
# Apollo ids are 24 hex characters; we accept any short token of safe characters.
PATH_PARAM_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an action, as an agent should send it."""

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


@dataclass(frozen=True, slots=True)
class Credits:
    """What a call costs in Apollo credits."""

    kind: str  # none | per_page | per_record | plan
    base: int = 0
    email_reveal: int = 0
    phone_reveal: int = 0
    waterfall: bool = False
    note: str = ""

    @property
    def spends(self) -> bool:
        return self.kind != "none"


@dataclass(frozen=True, slots=True)
class Paging:
    per_page_max: int = 100
    page_max: int = 500
    records_max: int = 50_000


@dataclass(frozen=True, slots=True)
class Rule:
    """A check across parameters: `one_of` fields, or `when` set `requires` fields."""

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
    paging: Paging | None = None
    bulk_max: int | None = None
    segments: tuple[str, ...] = field(default=(), repr=False)

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(s[1:-1] for s in self.segments if s.startswith("{"))

    @property
    def full_path(self) -> str:
        return "/api/v1" + self.path

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def render_path(self, values: Mapping[str, str]) -> str:
        """The concrete path (under /api/v1) with path parameters filled in."""
        out = []
        for seg in self.segments:
            out.append(values[seg[1:-1]] if seg.startswith("{") else seg)
        return "/" + "/".join(out)


@dataclass(frozen=True, slots=True)
class GuideSection:
    id: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class StatusCode:
    status: int
    name: str
    meaning: str
    what_to_do: str


@dataclass(frozen=True, slots=True)
class Area:
    resource: str
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class Guide:
    title: str
    intro: str
    sections: tuple[GuideSection, ...]
    status_codes: tuple[StatusCode, ...]
    areas: tuple[Area, ...]


@dataclass(frozen=True, slots=True)
class Catalog:
    """The checked catalog, with lookups by id, MCP tool and route."""

    actions: tuple[Action, ...]
    guide: Guide
    _by_id: Mapping[str, Action] = field(repr=False)
    _by_tool: Mapping[str, Action] = field(repr=False)

    @property
    def resources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.resource for a in self.actions))

    def get(self, action_id: str) -> Action | None:
        return self._by_id.get(action_id)

    def by_tool(self, tool: str) -> Action | None:
        return self._by_tool.get(tool)

    def nearest(self, text: str, n: int = 3) -> list[str]:
        """The ids closest to a mistyped one, for 'did you mean' messages."""
        return difflib.get_close_matches(text, list(self._by_id), n=n, cutoff=0.4)

    def match(self, method: str, segments: Sequence[str]) -> tuple[Action, dict[str, str]] | None:
        """The action whose template matches these (already split) path segments."""
        for action in self.actions:
            if action.method != method or len(action.segments) != len(segments):
                continue
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
            if not PATH_PARAM_VALUE.match(got):
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with Bollard, parsed and checked once per process."""
    text = resources.files("bollard.catalog").joinpath("apollo.toml").read_text("utf-8")
    return parse_catalog(text)


def parse_catalog(text: str) -> Catalog:
    """Parse and check catalog TOML; a broken file raises `CatalogError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError("<file>", "<syntax>", str(exc)) from exc
    raw_actions = data.get("actions")
    if not isinstance(raw_actions, list):
        raise CatalogError("<file>", "actions", "missing [[actions]] entries")
    actions = tuple(_action(i, raw) for i, raw in enumerate(raw_actions))
    _check_unique(actions)
    if len(actions) != EXPECTED_ACTIONS:
        raise CatalogError(
            "<file>", "actions", f"expected exactly {EXPECTED_ACTIONS}, found {len(actions)}"
        )
    guide = _guide(data.get("guide"))
    return Catalog(
        actions=actions,
        guide=guide,
        _by_id={a.id: a for a in actions},
        _by_tool={a.mcp_tool: a for a in actions},
    )


def _check_unique(actions: Sequence[Action]) -> None:
    seen_ids: set[str] = set()
    seen_routes: set[tuple[str, str]] = set()
    seen_tools: set[str] = set()
    for a in actions:
        if a.id in seen_ids:
            raise CatalogError(a.id, "id", "duplicate id")
        if (a.method, a.path) in seen_routes:
            raise CatalogError(a.id, "path", f"duplicate route {a.method} {a.path}")
        if a.mcp_tool in seen_tools:
            raise CatalogError(a.id, "mcp_tool", f"duplicate tool name {a.mcp_tool}")
        seen_ids.add(a.id)
        seen_routes.add((a.method, a.path))
        seen_tools.add(a.mcp_tool)


def _str(entry: str, raw: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise CatalogError(entry, key, "must be a non-empty string")
    return value


def _choice(entry: str, raw: Mapping[str, Any], key: str, choices: Sequence[str]) -> str:
    value = _str(entry, raw, key)
    if value not in choices:
        raise CatalogError(entry, key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _action(index: int, raw: Any) -> Action:
    if not isinstance(raw, dict):
        raise CatalogError(f"#{index}", "<entry>", "must be a table")
    entry = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index}"
    action_id = _str(entry, raw, "id")
    if not _ID.match(action_id):
        raise CatalogError(entry, "id", "must look like 'resource.verb'")
    path = _str(entry, raw, "path")
    segments = _segments(entry, path)
    params = tuple(_param(entry, i, p) for i, p in enumerate(raw.get("params", [])))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise CatalogError(entry, "params", "duplicate parameter name")
    path_names = {s[1:-1] for s in segments if s.startswith("{")}
    declared = {p.name for p in params if p.location == "path"}
    if path_names != declared:
        raise CatalogError(entry, "params", f"path parameters {sorted(path_names)} must be declared")
    rules = tuple(_rule(entry, r, set(names)) for r in raw.get("rules", []))
    paging = Paging(**raw["paging"]) if "paging" in raw else None
    bulk_max = raw.get("bulk_max")
    if bulk_max is not None and (not isinstance(bulk_max, int) or bulk_max < 1):
        raise CatalogError(entry, "bulk_max", "must be a positive integer")
    master = raw.get("master_key")
    if not isinstance(master, bool):
        raise CatalogError(entry, "master_key", "must be true or false")
    return Action(
        id=action_id,
        resource=_str(entry, raw, "resource"),
        access=_choice(entry, raw, "access", ACCESSES),  # type: ignore[arg-type]
        method=_choice(entry, raw, "method", METHODS),
        path=path,
        master_key=master,
        key_scope=_str(entry, raw, "key_scope"),
        oauth_scope=_str(entry, raw, "oauth_scope"),
        mcp_tool=_str(entry, raw, "mcp_tool"),
        summary=_str(entry, raw, "summary"),
        notes=_str(entry, raw, "notes"),
        acts_on=_str(entry, raw, "acts_on"),
        credits=_credits(entry, raw.get("credits")),
        params=params,
        rules=rules,
        version=_str(entry, raw, "version"),
        rate_limit=_str(entry, raw, "rate_limit"),
        webhook=_str(entry, raw, "webhook"),
        source=_str(entry, raw, "source"),
        destructive=bool(raw.get("destructive", False)),
        paging=paging,
        bulk_max=bulk_max,
        segments=segments,
    )


def _segments(entry: str, path: str) -> tuple[str, ...]:
    if not path.startswith("/") or path.endswith("/"):
        raise CatalogError(entry, "path", "must start with '/' and not end with one")
    segments = tuple(path[1:].split("/"))
    for seg in segments:
        if not _TEMPLATE_SEGMENT.match(seg):
            raise CatalogError(entry, "path", f"segment {seg!r} is not a name or {{param}}")
    return segments


def _param(entry: str, index: int, raw: Any) -> Param:
    if not isinstance(raw, dict):
        raise CatalogError(entry, f"params[{index}]", "must be a table")
    name = _str(entry, raw, "name")
    where = f"params.{name}"
    ptype = raw.get("type")
    if ptype not in PARAM_TYPES:
        raise CatalogError(entry, f"{where}.type", f"{ptype!r} is not one of {PARAM_TYPES}")
    location = raw.get("in")
    if location not in LOCATIONS:
        raise CatalogError(entry, f"{where}.in", f"{location!r} is not one of {LOCATIONS}")
    items = raw.get("items")
    if ptype == "array" and items not in PARAM_TYPES:
        raise CatalogError(entry, f"{where}.items", "an array needs an item type")
    description = raw.get("description")
    if not isinstance(description, str) or len(description) < 10:
        raise CatalogError(entry, f"{where}.description", "needs a real description")
    enum = raw.get("enum", [])
    if not isinstance(enum, list) or not all(isinstance(e, str) for e in enum):
        raise CatalogError(entry, f"{where}.enum", "must be a list of strings")
    return Param(
        name=name,
        type=ptype,
        location=location,
        description=description,
        required=bool(raw.get("required", False)),
        items=items,
        enum=tuple(enum),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        max_items=raw.get("max_items"),
        default=raw.get("default"),
    )


def _rule(entry: str, raw: Any, names: set[str]) -> Rule:
    if not isinstance(raw, dict) or raw.get("kind") not in RULE_KINDS:
        raise CatalogError(entry, "rules", f"each rule needs a kind in {RULE_KINDS}")
    fields = tuple(raw.get("fields", []))
    when = raw.get("when")
    unknown = [f for f in (*fields, *([when] if when else [])) if f not in names]
    if not fields or unknown:
        raise CatalogError(entry, "rules", f"rule names unknown parameters {unknown}")
    return Rule(kind=raw["kind"], fields=fields, when=when, message=_str(entry, raw, "message"))


def _credits(entry: str, raw: Any) -> Credits:
    if not isinstance(raw, dict):
        raise CatalogError(entry, "credits", "must be a table")
    kind = _choice(entry, raw, "kind", CREDIT_KINDS)
    return Credits(
        kind=kind,
        base=int(raw.get("base", 0)),
        email_reveal=int(raw.get("email_reveal", 0)),
        phone_reveal=int(raw.get("phone_reveal", 0)),
        waterfall=bool(raw.get("waterfall", False)),
        note=str(raw.get("note", "")),
    )


def _guide(raw: Any) -> Guide:
    if not isinstance(raw, dict):
        raise CatalogError("guide", "<entry>", "missing [guide] table")
    sections = tuple(
        GuideSection(id=_str("guide", s, "id"), title=_str("guide", s, "title"),
                     body=_str("guide", s, "body"))
        for s in raw.get("sections", [])
    )
    codes = tuple(
        StatusCode(status=int(c["status"]), name=_str("guide", c, "name"),
                   meaning=_str("guide", c, "meaning"), what_to_do=_str("guide", c, "what_to_do"))
        for c in raw.get("status_codes", [])
    )
    areas = tuple(
        Area(resource=_str("guide", a, "resource"), title=_str("guide", a, "title"),
             summary=_str("guide", a, "summary"))
        for a in raw.get("areas", [])
    )
    return Guide(title=_str("guide", raw, "title"), intro=_str("guide", raw, "intro"),
                 sections=sections, status_codes=codes, areas=areas)
