"""Grants → decision, with a reason. Pure: values in, values out.

A grant selector is an action id (`contacts.create`), `<resource>:<access>`
where resource may be `*` and access is `read`, `write` or `*`, or
`tag:<risk tag>` (`tag:sends_email`: every action carrying that tag). Deny by
default: no grant, no call. An empty grant list allows nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bollard.catalog import ACCESSES, TAGS, Action, Catalog
from bollard.errors import ConfigError

TAG_PREFIX = "tag"


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow or deny, always with a reason a person can act on."""

    allowed: bool
    reason: str
    grant: str | None = None
    # For a denial: the narrowest selectors that would allow the call.
    would_allow: tuple[str, ...] = ()


def parse_selector(text: str, catalog: Catalog) -> str:
    """The canonical form of a selector, or `ConfigError` naming the nearest valid ones."""
    selector = text.strip()
    if catalog.get(selector) is not None:
        return selector
    resource, sep, access = selector.partition(":")
    if sep and resource == TAG_PREFIX:
        if access in TAGS:
            return selector
        raise ConfigError(
            f"unknown tag {access!r} in selector {text!r}; tags are {', '.join(TAGS)}"
            f"{_nearest(access, TAGS)}"
        )
    if sep:
        resources = (*catalog.resources, "*")
        if resource in resources and access in (*ACCESSES, "*"):
            return selector
        if resource not in resources:
            hint = _nearest(resource, resources)
            raise ConfigError(
                f"unknown resource {resource!r} in selector {text!r}; "
                f"resources are {', '.join(resources)}{hint}"
            )
        raise ConfigError(f"unknown access {access!r} in selector {text!r}; use read, write or *")
    suggestions = catalog.nearest(selector)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise ConfigError(
        f"unknown selector {text!r}: use an action id (e.g. contacts.create) "
        f"or <resource>:<read|write|*> (e.g. people:read) or tag:<tag> (e.g. "
        f"tag:sends_email){hint}"
    )


def _nearest(word: str, choices: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.5)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def matches(selector: str, action: Action) -> bool:
    """Whether one selector covers one action. Unknown shapes cover nothing."""
    if selector == action.id:
        return True
    resource, sep, access = selector.partition(":")
    if not sep:
        return False
    if resource == TAG_PREFIX:
        return access in action.tags
    return resource in ("*", action.resource) and access in ("*", action.access)


def decide(grants: Iterable[str], action: Action) -> Decision:
    """Allow if and only if some grant covers the action; name it, or what is missing."""
    for grant in grants:
        if matches(grant, action):
            return Decision(True, f"allowed by grant {grant!r}", grant=grant)
    would = (action.id, f"{action.resource}:{action.access}")
    return Decision(
        False,
        f"not granted: {action.id} ({action.resource}, {action.access}) needs a grant "
        f"of {would[0]!r} or {would[1]!r}",
        would_allow=would,
    )


def allowed_actions(grants: Sequence[str], catalog: Catalog) -> tuple[Action, ...]:
    """The actions a grant list allows, in catalog order (for MCP tools/list)."""
    return tuple(a for a in catalog.actions if decide(grants, a).allowed)
