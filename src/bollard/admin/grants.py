"""The grants matrix: resources × read/write, each action with its own toggle. Pure.

A matrix cell is a `<resource>:<access>` selector; beneath it sit the actions
of that resource and access, each toggled by its own action id. Any other
selector an agent holds (`*:read`, `contacts:*`) is a wildcard, listed apart.
What the agent may effectively call comes from `policy.decide`, the same
function the gateway uses.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from bollard.catalog import ACCESSES, Action, Catalog
from bollard.catalog.rows import credits_text
from bollard.policy import decide


@dataclass(frozen=True, slots=True)
class ActionToggle:
    action: Action
    granted: bool  # the action id itself is granted
    allowed: bool  # some grant allows it
    via: str | None  # the grant that allows it

    def to_json(self) -> dict[str, Any]:
        a = self.action
        return {
            "action": a.id,
            "selector": a.id,
            "granted": self.granted,
            "allowed": self.allowed,
            "via": self.via,
            "spends_credits": a.credits.spends,
            "credits": credits_text(a.credits),
            "master_key": a.master_key,
        }


@dataclass(frozen=True, slots=True)
class Cell:
    resource: str
    access: str
    granted: bool  # `<resource>:<access>` is granted
    actions: tuple[ActionToggle, ...]

    @property
    def selector(self) -> str:
        return f"{self.resource}:{self.access}"

    def to_json(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "granted": self.granted,
            "actions": [t.to_json() for t in self.actions],
        }


@dataclass(frozen=True, slots=True)
class Row:
    resource: str
    title: str
    cells: tuple[Cell, ...]  # read, then write


@dataclass(frozen=True, slots=True)
class Matrix:
    rows: tuple[Row, ...]
    wildcards: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "resources": [
                {
                    "resource": r.resource,
                    "title": r.title,
                    **{c.access: c.to_json() for c in r.cells},
                }
                for r in self.rows
            ],
            "wildcards": list(self.wildcards),
        }


def matrix(catalog: Catalog, grants: Sequence[str]) -> Matrix:
    """The matrix for an agent holding `grants`."""
    titles = {a.resource: a.title for a in catalog.guide.areas}
    held = set(grants)
    rows = []
    for resource in catalog.resources:
        cells = []
        for access in ACCESSES:
            toggles = tuple(
                _toggle(a, grants, held)
                for a in catalog.actions
                if a.resource == resource and a.access == access
            )
            cells.append(Cell(resource, access, f"{resource}:{access}" in held, toggles))
        rows.append(Row(resource, titles.get(resource, resource.title()), tuple(cells)))
    return Matrix(tuple(rows), wildcards(catalog, grants))


def _toggle(action: Action, grants: Sequence[str], held: Collection[str]) -> ActionToggle:
    decision = decide(grants, action)
    return ActionToggle(action, action.id in held, decision.allowed, decision.grant)


def wildcards(catalog: Catalog, grants: Sequence[str]) -> tuple[str, ...]:
    """Grants that are neither an action id nor a `<resource>:<read|write>` cell."""
    cells = {f"{r}:{a}" for r in catalog.resources for a in ACCESSES}
    return tuple(g for g in grants if g not in cells and catalog.get(g) is None)


def difference(current: Sequence[str], wanted: Collection[str]) -> tuple[list[str], list[str]]:
    """What to add and what to remove to go from `current` to `wanted`."""
    add = [s for s in wanted if s not in current]
    remove = [s for s in current if s not in wanted]
    return sorted(add), remove
