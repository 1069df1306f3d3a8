"""One argument dict from both of Apollo's encodings.

Apollo documents filters as query parameters (`person_titles[]=a&person_titles[]=b`,
`revenue_range[min]=1`) while its own CLI sends JSON bodies with plain names
(`{"person_titles": ["a"], "revenue_range": {"min": 1}}`). Handlers see one dict
with plain names either way; a JSON body wins over the query for the same name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


class BadBody(ValueError):
    """The body is not JSON (Rails answers 400 before any controller runs)."""


def from_query(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`a[]=x&a[]=y&r[min]=1&p=2` → `{"a": ["x", "y"], "r": {"min": "1"}, "p": "2"}`."""
    out: dict[str, Any] = {}
    for key, value in items:
        if key.endswith("[]"):
            name = key[:-2]
            current = out.get(name)
            if isinstance(current, list):
                current.append(value)
            else:
                out[name] = [value]
        elif key.endswith("]") and "[" in key:
            name, _, sub = key[:-1].partition("[")
            nested = out.get(name)
            if not isinstance(nested, dict):
                nested = out[name] = {}
            nested[sub] = value
        else:
            out[key] = value
    return out


def parse_body(raw: bytes) -> Any:
    """The JSON body, or None when there is none."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(str(exc)) from exc


def from_body(data: Any) -> dict[str, Any]:
    """A parsed JSON body as arguments; non-object bodies give {}."""
    if not isinstance(data, dict):
        return {}
    # Some clients keep the query spelling inside JSON ("person_titles[]": [...]).
    return {(k[:-2] if k.endswith("[]") else k): v for k, v in data.items()}


def merge(query: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Query and body as one dict; the body wins on a clash."""
    if not query:
        return body
    if not body:
        return query
    return {**query, **body}


# Readers: query values arrive as strings, JSON values as themselves.


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def as_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_list(value: Any) -> list[Any]:
    """A list from a list, a single value, or nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_strs(value: Any) -> list[str]:
    """Non-empty strings from a list or a single value, stripped."""
    return [s for s in (str(v).strip() for v in as_list(value) if v is not None) if s]


def as_text(value: Any) -> str | None:
    """A non-empty string, or None."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None
