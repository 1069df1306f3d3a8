"""Parse and check the catalog TOML into the model's values.

Every problem raises `CatalogError(entry, field, problem)` so that a broken
data file fails at load, naming the action (or `guide`) and the field at fault,
before any route, tool or page is built from it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from bollard.catalog.model import (
    DISPUTABLE,
    Access,
    Action,
    Area,
    Catalog,
    Claim,
    Credits,
    Disagreement,
    Guide,
    GuideSection,
    Location,
    Origin,
    Paging,
    Param,
    ParamType,
    Rule,
    StatusCode,
)
from bollard.errors import CatalogError

ACCESSES: tuple[Access, ...] = ("read", "write")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PARAM_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array", "object")
LOCATIONS: tuple[str, ...] = ("path", "query", "body")
CREDIT_KINDS = ("none", "per_page", "per_record", "plan")
RULE_KINDS = ("one_of", "requires")
# The seed's 20, and the other 60 operations of Apollo's OpenAPI document.
EXPECTED_ACTIONS = {"seed": 20, "openapi": 60}
ORIGINS = ("seed", "openapi")
TAGS = ("spends_credits", "sends_email", "bulk", "changes_owner", "destructive")

_ID = re.compile(r"[a-z_]+\.[a-z_]+")
_TEMPLATE_SEGMENT = re.compile(r"[a-z_]+|\{[a-z_]+\}")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


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
    for origin, expected in EXPECTED_ACTIONS.items():
        found = sum(a.origin == origin for a in actions)
        if found != expected:
            raise CatalogError(
                "<file>", "actions", f"expected exactly {expected} from {origin}, found {found}"
            )
    guide = _guide(data.get("guide"), actions)
    return Catalog(
        actions=actions,
        guide=guide,
        _by_id={a.id: a for a in actions},
        _by_tool={a.mcp_tool: a for a in actions},
        _by_shape=_by_shape(actions),
    )


def _by_shape(actions: Sequence[Action]) -> dict[tuple[str, int], tuple[Action, ...]]:
    shapes: dict[tuple[str, int], list[Action]] = {}
    for a in sorted(actions, key=lambda a: len(a.path_params)):
        shapes.setdefault((a.method, len(a.segments)), []).append(a)
    return {shape: tuple(group) for shape, group in shapes.items()}


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
    if default is None and value.strip().upper().startswith("TODO"):
        # The skeleton shipped with TODO placeholders; never serve one as guidance.
        raise CatalogError(entry, key, "is still a TODO placeholder")
    return value


def _choice(entry: str, raw: Mapping[str, Any], key: str, choices: Sequence[str]) -> str:
    value = _str(entry, raw, key)
    if value not in choices:
        raise CatalogError(entry, key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _bool(entry: str, raw: Mapping[str, Any], key: str, default: bool | None = None) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise CatalogError(entry, key, "must be true or false")
    return value


def _opt_int(entry: str, raw: Mapping[str, Any], key: str, minimum: int = 0) -> int | None:
    value = raw.get(key)
    # bool is an int subclass in Python; `true` is not a count.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogError(entry, key, f"must be an integer ≥ {minimum}")
    return value


def _table_list(entry: str, raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise CatalogError(entry, key, "must be a list of tables")
    return value


def _action(index: int, raw: Any) -> Action:
    if not isinstance(raw, dict):
        raise CatalogError(f"#{index}", "<entry>", "must be a table")
    raw_id = raw.get("id")
    entry = raw_id if isinstance(raw_id, str) and raw_id else f"#{index}"
    action_id = _str(entry, raw, "id")
    if not _ID.fullmatch(action_id):
        raise CatalogError(entry, "id", "must look like 'resource.verb'")
    resource = _str(entry, raw, "resource")
    if action_id.split(".")[0] != resource:
        raise CatalogError(entry, "resource", f"{resource!r} must be the id's prefix")
    path = _str(entry, raw, "path")
    segments = _segments(entry, path)
    params = _params(entry, raw, segments)
    names = {p.name for p in params}
    rules = tuple(_rule(entry, r, names) for r in _table_list(entry, raw, "rules"))
    credits = _credits(entry, raw.get("credits"))
    return Action(
        id=action_id,
        resource=resource,
        access=cast(Access, _choice(entry, raw, "access", ACCESSES)),
        method=_choice(entry, raw, "method", METHODS),
        path=path,
        master_key=_bool(entry, raw, "master_key"),
        key_scope=_str(entry, raw, "key_scope"),
        oauth_scope=_str(entry, raw, "oauth_scope"),
        mcp_tool=_mcp_tool(entry, raw),
        summary=_str(entry, raw, "summary"),
        notes=_str(entry, raw, "notes"),
        acts_on=_str(entry, raw, "acts_on"),
        credits=credits,
        params=params,
        rules=rules,
        version=_str(entry, raw, "version"),
        rate_limit=_str(entry, raw, "rate_limit"),
        webhook=_str(entry, raw, "webhook"),
        source=_source(entry, raw),
        destructive=_bool(entry, raw, "destructive", False),
        result=_result(entry, raw),
        paging=_paging(entry, raw.get("paging")),
        bulk_max=_opt_int(entry, raw, "bulk_max", minimum=1),
        segments=segments,
        origin=cast(Origin, _choice(entry, raw, "origin", ORIGINS) if "origin" in raw else "seed"),
        tags=_tags(entry, raw, credits),
        disagreements=_disagreements(entry, raw, credits),
        accepted=_accepted(entry, raw, names),
    )


def _accepted(entry: str, raw: Mapping[str, Any], names: set[str]) -> tuple[str, ...]:
    accepted = raw.get("accepted", [])
    if not isinstance(accepted, list) or not all(isinstance(a, str) for a in accepted):
        raise CatalogError(entry, "accepted", "must be a list of parameter names")
    both = sorted(names & set(accepted))
    if both:
        raise CatalogError(entry, "accepted", f"{both[0]!r} is a parameter already")
    return tuple(accepted)


def _tags(entry: str, raw: Mapping[str, Any], credits: Credits) -> tuple[str, ...]:
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CatalogError(entry, "tags", "must be a list of strings")
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        raise CatalogError(entry, "tags", f"{unknown[0]!r} is not one of {', '.join(TAGS)}")
    # Derived, so that a tag:spends_credits rule can never miss an action that spends.
    if ("spends_credits" in tags) != credits.spends:
        raise CatalogError(entry, "tags", "spends_credits is tagged exactly when credits spend")
    return tuple(dict.fromkeys(tags))


def _mcp_tool(entry: str, raw: Mapping[str, Any]) -> str:
    tool = _str(entry, raw, "mcp_tool")
    if not tool.startswith("apollo_") or not _NAME.fullmatch(tool):
        raise CatalogError(entry, "mcp_tool", "must be 'apollo_' then lowercase words")
    return tool


def _result(entry: str, raw: Mapping[str, Any]) -> str:
    result = _str(entry, raw, "result", "")
    if result and not _NAME.match(result):
        raise CatalogError(entry, "result", "must be the name of a key in Apollo's answer")
    return result


def _source(entry: str, raw: Mapping[str, Any]) -> str:
    source = _str(entry, raw, "source")
    prefix = "https://docs.apollo.io/reference/"
    if not source.startswith(prefix) or len(source) == len(prefix):
        raise CatalogError(entry, "source", f"must be a page under {prefix}")
    return source


def _segments(entry: str, path: str) -> tuple[str, ...]:
    if not path.startswith("/") or path.endswith("/"):
        raise CatalogError(entry, "path", "must start with '/' and not end with one")
    segments = tuple(path[1:].split("/"))
    for seg in segments:
        if not _TEMPLATE_SEGMENT.fullmatch(seg):
            raise CatalogError(entry, "path", f"segment {seg!r} is not a name or {{param}}")
    return segments


def _params(entry: str, raw: Mapping[str, Any], segments: Sequence[str]) -> tuple[Param, ...]:
    params = tuple(_param(entry, "params", p, None) for p in _table_list(entry, raw, "params"))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise CatalogError(entry, "params", "duplicate parameter name")
    path_names = {s[1:-1] for s in segments if s.startswith("{")}
    declared = {p.name for p in params if p.location == "path"}
    if path_names != declared:
        raise CatalogError(
            entry, "params", f"path parameters {sorted(path_names)} must be declared"
        )
    for p in params:
        if p.location == "path" and not (p.required and p.type == "string"):
            raise CatalogError(entry, f"params.{p.name}", "a path parameter is a required string")
    return params


def _param(entry: str, prefix: str, raw: Any, parent: Location | None) -> Param:
    if not isinstance(raw, dict):
        raise CatalogError(entry, prefix, "each parameter must be a table")
    name = _str(entry, raw, "name")
    where = f"{prefix}.{name}"
    if not _NAME.fullmatch(name):
        raise CatalogError(entry, f"{where}.name", "must be lowercase words joined by '_'")
    ptype = _param_type(entry, where, raw)
    location = parent or _location(entry, where, raw)
    items = _items(entry, where, raw, ptype)
    description = raw.get("description")
    if not isinstance(description, str) or len(description) < 10:
        raise CatalogError(entry, f"{where}.description", "needs a real description")
    nested = _table_list(entry, raw, "properties")
    if nested and "object" not in (ptype, items):
        raise CatalogError(entry, f"{where}.properties", "only objects have properties")
    return Param(
        name=name,
        type=ptype,
        location=location,
        description=description,
        required=_bool(entry, raw, "required", False),
        items=items,
        enum=_enum(entry, where, raw),
        minimum=_number(entry, where, raw, "minimum"),
        maximum=_number(entry, where, raw, "maximum"),
        max_items=_max_items(entry, where, raw, ptype),
        default=raw.get("default"),
        properties=tuple(_param(entry, f"{where}.properties", p, location) for p in nested),
    )


def _param_type(entry: str, where: str, raw: Mapping[str, Any]) -> ParamType:
    ptype = raw.get("type")
    if ptype not in PARAM_TYPES:
        raise CatalogError(entry, f"{where}.type", f"{ptype!r} is not one of {PARAM_TYPES}")
    return cast(ParamType, ptype)


def _location(entry: str, where: str, raw: Mapping[str, Any]) -> Location:
    location = raw.get("in")
    if location not in LOCATIONS:
        raise CatalogError(entry, f"{where}.in", f"{location!r} is not one of {LOCATIONS}")
    return cast(Location, location)


def _items(entry: str, where: str, raw: Mapping[str, Any], ptype: str) -> ParamType | None:
    items = raw.get("items")
    if ptype == "array" and items not in PARAM_TYPES:
        raise CatalogError(entry, f"{where}.items", "an array needs an item type")
    if ptype != "array" and items is not None:
        raise CatalogError(entry, f"{where}.items", "only an array has an item type")
    return cast("ParamType | None", items)


def _enum(entry: str, where: str, raw: Mapping[str, Any]) -> tuple[str, ...]:
    enum = raw.get("enum", [])
    if not isinstance(enum, list) or not all(isinstance(e, str) for e in enum):
        raise CatalogError(entry, f"{where}.enum", "must be a list of strings")
    return tuple(enum)


def _number(entry: str, where: str, raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise CatalogError(entry, f"{where}.{key}", "must be a number")
    return value


def _max_items(entry: str, where: str, raw: Mapping[str, Any], ptype: str) -> int | None:
    value = _opt_int(entry, raw, "max_items", minimum=1)
    if value is not None and ptype != "array":
        raise CatalogError(entry, f"{where}.max_items", "only an array has max_items")
    return value


def _rule(entry: str, raw: Any, names: set[str]) -> Rule:
    if not isinstance(raw, dict) or raw.get("kind") not in RULE_KINDS:
        raise CatalogError(entry, "rules", f"each rule needs a kind in {RULE_KINDS}")
    fields = raw.get("fields", [])
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise CatalogError(entry, "rules", "a rule needs a non-empty list of field names")
    when = raw.get("when")
    if (raw["kind"] == "requires") != isinstance(when, str):
        raise CatalogError(entry, "rules", "'requires' needs a 'when'; 'one_of' takes none")
    unknown = [f for f in (*fields, *([when] if when else [])) if f not in names]
    if unknown:
        raise CatalogError(entry, "rules", f"rule names unknown parameters {unknown}")
    return Rule(
        kind=raw["kind"], fields=tuple(fields), when=when, message=_str(entry, raw, "message")
    )


def _credits(entry: str, raw: Any) -> Credits:
    if not isinstance(raw, dict):
        raise CatalogError(entry, "credits", "must be a table")
    kind = _choice(entry, raw, "kind", CREDIT_KINDS)
    base = _opt_int(entry, raw, "base") or 0
    if (kind == "none") != (base == 0):
        raise CatalogError(entry, "credits", "kind 'none' costs 0; any other kind needs a base")
    return Credits(
        kind=kind,
        base=base,
        email_reveal=_opt_int(entry, raw, "email_reveal") or 0,
        phone_reveal=_opt_int(entry, raw, "phone_reveal") or 0,
        waterfall=_bool(entry, raw, "waterfall", False),
        note=_str(entry, raw, "note", ""),
    )


def _disagreements(
    entry: str, raw: Mapping[str, Any], credits: Credits
) -> tuple[Disagreement, ...]:
    found = tuple(
        _disagreement(entry, d, credits) for d in _table_list(entry, raw, "disagreements")
    )
    fields = [d.field for d in found]
    if len(set(fields)) != len(fields):
        raise CatalogError(entry, "disagreements", "one entry per field; put every claim in it")
    return found


def _disagreement(entry: str, raw: Any, credits: Credits) -> Disagreement:
    if not isinstance(raw, dict):
        raise CatalogError(entry, "disagreements", "each disagreement must be a table")
    field = _choice(entry, raw, "field", tuple(DISPUTABLE))
    where = f"disagreements.{field}"
    claims = tuple(_claim(entry, where, c) for c in _table_list(entry, raw, "claims"))
    if len(claims) < 2 or len({c.source for c in claims}) != len(claims):
        raise CatalogError(entry, where, "needs at least two claims, each from its own source")
    if len({c.value for c in claims}) < 2:
        raise CatalogError(entry, where, "the claims agree; a disagreement needs differing values")
    kind = DISPUTABLE[field]
    if not all(type(c.value) is kind for c in claims):
        raise CatalogError(entry, f"{where}.claims", f"every value must be a {kind.__name__}")
    if field.startswith("credits."):
        held = getattr(credits, field.removeprefix("credits."))
        if held not in {c.value for c in claims}:
            raise CatalogError(entry, where, f"the catalog's own value {held} is no claim's value")
    return Disagreement(field=field, topic=_str(entry, raw, "topic"), claims=claims)


def _claim(entry: str, where: str, raw: Any) -> Claim:
    if not isinstance(raw, dict):
        raise CatalogError(entry, f"{where}.claims", "each claim must be a table")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise CatalogError(entry, f"{where}.claims.value", "must be a count or some words")
    source = _str(entry, raw, "source")
    if source != "seed" and not source.startswith("https://"):
        raise CatalogError(entry, f"{where}.claims.source", "must be 'seed' or an https:// address")
    return Claim(value=value, says=_str(entry, raw, "says"), source=source)


def _paging(entry: str, raw: Any) -> Paging | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"per_page_max", "page_max", "records_max"}:
        raise CatalogError(entry, "paging", "takes only per_page_max, page_max, records_max")
    values = {k: _opt_int(entry, raw, k, minimum=1) for k in raw}
    return Paging(**{k: v for k, v in values.items() if v is not None})


def _guide(raw: Any, actions: Sequence[Action]) -> Guide:
    if not isinstance(raw, dict):
        raise CatalogError("guide", "<entry>", "missing [guide] table")
    sections = tuple(_section(s) for s in _table_list("guide", raw, "sections"))
    codes = tuple(_status(c) for c in _table_list("guide", raw, "status_codes"))
    areas = tuple(_area(a) for a in _table_list("guide", raw, "areas"))
    if len({s.id for s in sections}) != len(sections):
        raise CatalogError("guide", "sections", "duplicate section id")
    if len({c.status for c in codes}) != len(codes):
        raise CatalogError("guide", "status_codes", "duplicate status")
    resources = list(dict.fromkeys(a.resource for a in actions))
    if [a.resource for a in areas] != resources:
        raise CatalogError("guide", "areas", f"need one area per resource, in order: {resources}")
    return Guide(
        title=_str("guide", raw, "title"),
        intro=_str("guide", raw, "intro"),
        sections=sections,
        status_codes=codes,
        areas=areas,
    )


def _section(raw: Any) -> GuideSection:
    if not isinstance(raw, dict):
        raise CatalogError("guide", "sections", "each section must be a table")
    return GuideSection(
        id=_str("guide", raw, "id"),
        title=_str("guide", raw, "title"),
        body=_str("guide", raw, "body"),
    )


def _status(raw: Any) -> StatusCode:
    if not isinstance(raw, dict):
        raise CatalogError("guide", "status_codes", "each status code must be a table")
    status = raw.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise CatalogError("guide", "status_codes.status", f"{status!r} is not an HTTP status")
    return StatusCode(
        status=status,
        name=_str("guide", raw, "name"),
        meaning=_str("guide", raw, "meaning"),
        what_to_do=_str("guide", raw, "what_to_do"),
    )


def _area(raw: Any) -> Area:
    if not isinstance(raw, dict):
        raise CatalogError("guide", "areas", "each area must be a table")
    return Area(
        resource=_str("guide", raw, "resource"),
        title=_str("guide", raw, "title"),
        summary=_str("guide", raw, "summary"),
    )
