"""Strict resolution of a REST path (or an MCP tool's arguments) to an action. Pure.

Only the catalog's 20 routes exist. Anything that could make one path mean two
things is refused before matching: percent-encoding, dot segments, empty
segments (double or trailing slashes), backslashes, control or non-ASCII bytes.
Path parameters are single segments of safe characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bollard.catalog import PATH_PARAM_VALUE, Action, Catalog
from bollard.errors import EndpointDeprecated, InvalidRequest, MethodNotAllowed, RouteNotFound

PREFIX = b"/api/v1/"
# Endpoints Apollo retired: (method, path after /api/v1/) -> (Apollo's answer, Bollard's action).
DEPRECATED = {
    ("POST", "mixed_people/search"): (
        "This endpoint is deprecated for API callers. Please use the new mixed_people/api_search "
        "endpoint: https://docs.apollo.io/reference/people-api-search.",
        "people.search",
    ),
}
_SAFE_PATH = re.compile(rb"[A-Za-z0-9_\-/]+")


def split(raw_path: bytes) -> list[str]:
    """The segments after /api/v1/, or RouteNotFound for any path trick."""
    if not raw_path.startswith(PREFIX):
        raise RouteNotFound(_not_found(raw_path))
    rest = raw_path[len(PREFIX) :]
    if not rest or not _SAFE_PATH.fullmatch(rest):
        raise RouteNotFound(_not_found(raw_path))
    segments = rest.decode("ascii").split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise RouteNotFound(_not_found(raw_path))
    return segments


def resolve(catalog: Catalog, method: str, raw_path: bytes) -> tuple[Action, dict[str, str]]:
    """The action and path parameters for a REST call, or 404 / 405."""
    segments = split(raw_path)
    found = catalog.match(method.upper(), segments)
    if found is not None:
        return found
    retired = DEPRECATED.get((method.upper(), "/".join(segments)))
    if retired is not None:
        apollo, replacement = retired
        action = catalog.get(replacement)
        where = f" ({action.method} {action.full_path})" if action else ""
        raise EndpointDeprecated(f"{apollo} Bollard's action for it is {replacement}{where}.")
    allowed = catalog.methods_for(segments)
    if allowed:
        raise MethodNotAllowed(
            f"{method} is not allowed on this path; Apollo takes {', '.join(sorted(allowed))}",
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    raise RouteNotFound(_not_found(raw_path))


def _not_found(raw_path: bytes) -> str:
    shown = raw_path[:120].decode("ascii", "backslashreplace")
    return (
        f"no Apollo action at {shown!r}: Bollard serves only the catalog's routes under "
        "/api/v1/ (see `bollard catalog` or /reference), with plain path segments"
    )


def tool_path_params(action: Action, args: Mapping[str, Any]) -> dict[str, str]:
    """Path parameters taken from an MCP tool's arguments, each one validated."""
    values: dict[str, str] = {}
    for name in action.path_params:
        value = args.get(name)
        if not isinstance(value, str) or not PATH_PARAM_VALUE.fullmatch(value):
            raise InvalidRequest(
                f"{name} is required and must be an Apollo id (letters, digits, '_' or '-'), "
                f"got {value!r}"
            )
        values[name] = value
    return values


def to_query(args: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Arguments as Apollo's query encoding: lists as `name[]`, objects as `name[key]`."""
    pairs: list[tuple[str, str]] = []
    for name, value in args.items():
        if isinstance(value, list):
            pairs.extend((f"{name}[]", _scalar(v)) for v in value)
        elif isinstance(value, dict):
            pairs.extend((f"{name}[{k}]", _scalar(v)) for k, v in value.items())
        elif value is not None:
            pairs.append((name, _scalar(value)))
    return tuple(pairs)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
