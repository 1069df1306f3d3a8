"""An action's arguments: read from Apollo's two encodings, checked against the catalog.

Apollo takes filters as query parameters (`person_titles[]=cto`,
`revenue_range[min]=10`) or as a JSON body with plain names; Bollard accepts
both and checks the merged arguments before any credit is spent. A name the
action does not take is refused with the nearest names it does take: Apollo
would ignore it and answer as if it had not been sent (a search without its
filter). Pure: no I/O.
"""

from __future__ import annotations

import difflib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from bollard.catalog import Action, Param
from bollard.errors import (
    IncompleteRequest,
    InvalidRequest,
    MalformedBody,
    RecordLimitExceeded,
    UnknownParameter,
)

_MAX_DEPTH = 8


def from_query(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Query pairs to arguments: `a[]` collects a list, `a[min]` builds an object."""
    args: dict[str, Any] = {}
    for raw_name, value in pairs:
        name, sep, rest = raw_name.partition("[")
        if not sep:
            args[name] = value
        elif rest == "]":
            existing = args.get(name)
            args[name] = [*existing, value] if isinstance(existing, list) else [value]
        elif rest.endswith("]") and "[" not in rest:
            existing = args.get(name)
            obj = existing if isinstance(existing, dict) else {}
            obj[rest[:-1]] = value
            args[name] = obj
        else:
            args[raw_name] = value
    return args


def from_body(body: bytes) -> dict[str, Any]:
    """A JSON object body to arguments; anything else is a clear 400."""
    if not body.strip():
        return {}
    try:
        value = loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBody(
            f"the request body is not valid JSON ({exc}); send a JSON object "
            "with Content-Type: application/json"
        ) from None
    if not isinstance(value, dict):
        raise MalformedBody(
            f"the request body must be a JSON object, not {type(value).__name__}; "
            'send e.g. {"per_page": 10}'
        )
    if b"\\u" in body:  # only a \u escape can smuggle in a lone surrogate
        require_text(value)
    # Nesting needs an opening bracket per level: most bodies have too few to check.
    opened = body.count(b"{") + body.count(b"[")
    if opened > _MAX_DEPTH and _depth(value) > _MAX_DEPTH:
        raise _too_deep()
    return value


def loads(body: bytes) -> Any:
    """`json.loads`, but JSON nested too deep to parse, or holding an integer too long
    to read, is a clear MalformedBody (not a RecursionError or a bare ValueError).
    Invalid JSON still raises `json.JSONDecodeError` (or `UnicodeDecodeError`)."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # the only other: an integer past Python's digit limit
        raise _too_long() from None


def require_text(value: Any) -> None:
    """MalformedBody unless the value is JSON that Apollo and the audit log can take.

    Refused: any string holding an unpaired UTF-16 surrogate (e.g. "\\ud800"), which
    JSON's escapes allow but no UTF-8 text can hold; nesting deeper than the limit;
    an integer too long to write out (an MCP client's JSON parser may accept one).
    """
    if _depth(value) > _MAX_DEPTH:
        raise _too_deep()
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedBody(
            "the request holds a \\u escape of an unpaired surrogate (\\ud800-\\udfff), "
            "which is not text: send the character itself or a complete surrogate pair"
        ) from None
    except ValueError:  # int → str past Python's digit limit
        raise _too_long() from None


def _too_deep() -> MalformedBody:
    return MalformedBody(
        f"the request nests deeper than {_MAX_DEPTH} levels of objects and lists; "
        "no Apollo parameter needs more: flatten it"
    )


def _too_long() -> MalformedBody:
    return MalformedBody(
        f"the request holds an integer of more than {sys.get_int_max_str_digits():,} digits; "
        "no Apollo parameter takes one: send a shorter number"
    )


def _depth(value: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def merge(query: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """One argument dict; the body wins where both name the same parameter."""
    return {**query, **body}


def check(action: Action, args: Mapping[str, Any], *, allow_unknown: bool = False) -> None:
    """Raise `InvalidRequest` (or a subclass) naming the first bad argument and the fix.

    `allow_unknown` lets names the action does not take through (an agent's switch).
    """
    if "api_key" in args:
        # Apollo's legacy clients put the key there: it would go up to Apollo beside
        # the team's key (the audit record holds only its keyed hash).
        raise InvalidRequest(
            "api_key is not a parameter: Bollard reads the agent's key only from the "
            "X-Api-Key or Authorization: Bearer header; remove it from the query and body"
        )
    if not allow_unknown:
        refuse_unknown(action, args)
    # Paging first: its messages say how Apollo itself treats out-of-range pages.
    _check_paging(action, args)
    for param in _given_or_required(action, args):
        if param.location == "path":
            continue
        value = args.get(param.name)
        if value is None:
            if param.required and param.name == "details":  # Apollo's 400 and text
                raise IncompleteRequest(
                    f"invalid request, missing details: details is required for "
                    f"{action.id}: {param.description}"
                )
            if param.required:
                raise InvalidRequest(
                    f"{param.name} is required for {action.id}: {param.description}"
                )
            continue
        _check_value(action, param, value)
    _check_rules(action, args)


def _given_or_required(action: Action, args: Mapping[str, Any]) -> list[Param]:
    """The action's parameters that `args` names or that are required, in catalog order
    (so the first bad one is the same whatever order the arguments came in)."""
    places = action.places
    found = action.required_places.union(places[n] for n in args if n in places)
    return [action.params[i] for i in sorted(found)]


def typed(action: Action, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as Apollo reads them, for a rule's condition: each value the checks
    accept in another spelling as its declared type ("true" → true, "25" → 25, one item
    → a list of one, an object's properties likewise). Otherwise `args.x == true` would
    not match "true", and the call would pass a deny or approve rule and reach Apollo,
    which reads it as true. A value that spells no value of its type is left as it is
    (the checks refuse it)."""
    out = dict(args)
    for param in action.params:
        if param.location != "path" and param.name in out:
            out[param.name] = _typed(param.type, param.properties, out[param.name], param.items)
    return out


def _typed(kind: str, properties: Sequence[Param], value: Any, items: str | None = None) -> Any:
    if kind == "boolean" and isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if kind in ("integer", "number") and isinstance(value, str):
        return _number_or_text(value, integer=kind == "integer")
    if kind == "array":
        values = value if isinstance(value, list) else [value]
        return [_typed(items or "string", properties, v) for v in values]
    if kind == "object" and isinstance(value, dict) and properties:
        known = {p.name: p for p in properties}
        return {
            k: _typed(known[k].type, known[k].properties, v, known[k].items) if k in known else v
            for k, v in value.items()
        }
    return value


def _number_or_text(value: str, *, integer: bool) -> Any:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def refuse_unknown(action: Action, args: Mapping[str, Any]) -> None:
    """Raise `UnknownParameter` for names in `args` the action does not take."""
    nearest = unknown(action, args)
    if nearest:
        raise _unknown_parameter(action, nearest)


def unknown(action: Action, args: Mapping[str, Any]) -> dict[str, list[str]]:
    """The names in `args` the action does not take, each with the nearest it does; and
    keys the catalog does not document inside an object parameter, or inside the items of
    an array of objects, where it knows their keys (`details[0].emial`)."""
    known = action.known_names
    found = {name: _nearest(action, name) for name in args if name not in known}
    for param in action.params:
        if param.properties and param.name in args:
            found |= _unknown_keys(param.properties, args[param.name], param.name)
    return found


def _unknown_keys(keys: Sequence[Param], value: Any, at: str) -> dict[str, list[str]]:
    """Undocumented keys in an object (or each object of a list) `at` a path."""
    if isinstance(value, list):
        found: dict[str, list[str]] = {}
        for i, item in enumerate(value):
            found |= _unknown_keys(keys, item, f"{at}[{i}]")
        return found
    if not isinstance(value, dict):
        return {}  # not an object: the type check says so
    names = [k.name for k in keys]
    found = {}
    for key, item in value.items():
        known = next((k for k in keys if k.name == key), None)
        if known is None:
            close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.5)
            found[f"{at}.{key}"] = [f"{at}.{c}" for c in close]
        elif known.properties:
            found |= _unknown_keys(known.properties, item, f"{at}.{key}")
    return found


def _keys_at(action: Action, path: str) -> list[str]:
    """The documented keys of the object at `path` (`details[0]`, `a.b`)."""
    names = [part.partition("[")[0] for part in path.split(".")]
    keys: Sequence[Param] = action.params
    for name in names:
        found = next((k for k in keys if k.name == name), None)
        if found is None:
            return []
        keys = found.properties
    return [k.name for k in keys]


def _nearest(action: Action, name: str) -> list[str]:
    offered = [p.name for p in action.params if p.location != "path"]
    base = name.partition("[")[0]  # `person_titles[]` as a JSON key: the query form
    if base != name and base in offered:
        return [base]
    return difflib.get_close_matches(name, offered, n=3, cutoff=0.5)


def _unknown_parameter(action: Action, nearest: Mapping[str, list[str]]) -> UnknownParameter:
    parts = []
    for name, close in nearest.items():
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    offered = [p.name for p in action.params if p.location != "path"]
    takes = f"its parameters are {', '.join(offered)}" if offered else "it takes no parameters"
    parent = next(iter(nearest)).rpartition(".")[0]
    inside = _keys_at(action, parent) if parent else []
    if inside:  # a key inside an object
        takes = f"{parent} takes {', '.join(inside)}"
    one = len(parts) == 1
    message = (
        f"{action.id} has no parameter{'' if one else 's'} {', '.join(parts)}: Apollo would "
        f"ignore {'it' if one else 'them'} and answer as if not sent; {takes}"
    )
    return UnknownParameter(message, {k: list(v) for k, v in nearest.items()})


def _check_value(action: Action, param: Param, value: Any) -> None:
    coerced = _coerce(param, value)
    if param.enum:
        values = coerced if isinstance(coerced, list) else [coerced]
        bad = [v for v in values if v not in param.enum]
        if bad:
            raise InvalidRequest(
                f"{param.name} has {bad[0]!r}, which is not one of: {', '.join(param.enum)}"
            )
    if isinstance(coerced, int | float) and not isinstance(coerced, bool):
        _check_range(param, coerced)
    if isinstance(coerced, list) and param.max_items is not None and len(coerced) > param.max_items:
        if param.name == "details":  # Apollo's own 400 text, then the count
            raise RecordLimitExceeded(
                f"cannot enrich more than {param.max_items} in a single request: details "
                f"has {len(coerced)} items, at most {param.max_items} per call; split the call"
            )
        raise InvalidRequest(
            f"{param.name} has {len(coerced)} items; {action.id} takes at most "
            f"{param.max_items} in a single request: split the call"
        )


def _check_range(param: Param, number: float) -> None:
    if param.minimum is not None and number < param.minimum:
        raise InvalidRequest(f"{param.name} must be at least {_fmt(param.minimum)}, got {number}")
    if param.maximum is not None and number > param.maximum:
        raise InvalidRequest(f"{param.name} must be at most {_fmt(param.maximum)}, got {number}")


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _coerce(param: Param, value: Any) -> Any:
    """The value as its declared type; query strings like '25' count as integers."""
    kind = param.type
    if kind == "integer":
        return _as_number(param, value, integer=True)
    if kind == "number":
        return _as_number(param, value, integer=False)
    if kind == "boolean":
        if isinstance(value, bool) or value in ("true", "false"):
            return value
        raise InvalidRequest(f"{param.name} must be true or false, got {value!r}")
    if kind == "array":
        items = value if isinstance(value, list) else [value]
        return [_coerce_item(param, v) for v in items]
    if kind == "object" and not isinstance(value, dict):
        raise InvalidRequest(f"{param.name} must be an object, got {type(value).__name__}")
    if kind == "string" and not isinstance(value, str | int | float):
        raise InvalidRequest(f"{param.name} must be a string, got {type(value).__name__}")
    return value


def _coerce_item(param: Param, value: Any) -> Any:
    if param.items in ("string", "integer", "number") and isinstance(value, dict | list):
        raise InvalidRequest(f"{param.name} must be a list of {param.items}s")
    if param.items == "object" and not isinstance(value, dict):
        raise InvalidRequest(f"{param.name} must be a list of objects")
    return value


def _as_number(param: Param, value: Any, *, integer: bool) -> float:
    word = "a whole number" if integer else "a number"
    if isinstance(value, bool):
        raise InvalidRequest(f"{param.name} must be {word}, got {value!r}")
    try:
        number = int(value) if integer and not isinstance(value, float) else float(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{param.name} must be {word}, got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidRequest(f"{param.name} must be a finite number, got {value!r}")
    if integer and isinstance(number, float) and not number.is_integer():
        raise InvalidRequest(f"{param.name} must be a whole number, got {value!r}")
    return number


def _present(args: Mapping[str, Any], name: str) -> bool:
    value = args.get(name)
    return value not in (None, "", [], {}, "false", False)


def _check_rules(action: Action, args: Mapping[str, Any]) -> None:
    for rule in action.rules:
        if rule.kind == "one_of" and not any(_present(args, f) for f in rule.fields):
            raise InvalidRequest(rule.message)
        triggered = rule.kind == "requires" and rule.when and _present(args, rule.when)
        if triggered and not all(_present(args, f) for f in rule.fields):
            # Apollo answers a reveal or waterfall without a webhook with 400, not 422.
            error = IncompleteRequest if "webhook_url" in rule.fields else InvalidRequest
            raise error(rule.message)


def _check_paging(action: Action, args: Mapping[str, Any]) -> None:
    paging = action.paging
    if paging is None:
        return
    page = _int_or_none(args.get("page"))
    per_page = _int_or_none(args.get("per_page"))
    # Stricter than Apollo, which cuts per_page to the maximum and answers pages past
    # the cap with no records: an agent would take either for the end of the results.
    if per_page is not None and per_page > paging.per_page_max:
        raise InvalidRequest(
            f"per_page must be at most {paging.per_page_max}, got {per_page} (Bollard "
            f"refuses what Apollo would silently cut to {paging.per_page_max}, so fewer "
            "records than asked are never mistaken for the last page)"
        )
    if page is not None and page > paging.page_max:
        raise InvalidRequest(
            f"page must be at most {paging.page_max}, got {page} (Apollo shows at most "
            f"{paging.records_max:,} records and answers later pages with none, which "
            "Bollard refuses rather than pass off as the end of the results)"
        )
    if per_page is not None and page is not None and page * per_page > paging.records_max:
        raise InvalidRequest(
            f"page {page} × per_page {per_page} goes past Apollo's display cap of "
            f"{paging.records_max:,} records; narrow the search with more filters"
        )


def _int_or_none(value: Any) -> int | None:
    if value is None:  # the usual case, and cheaper to test than to raise
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
