"""An agent's rules, said in its tools' JSON Schemas where a schema can say them. Pure.

Only exact shapes of a deny rule's condition are read, from its source text (the CEL
library keeps no syntax tree to walk); anything else leaves the schema as it is. The
gateway still decides every call: a schema narrowed here only tells the agent sooner.

    args.x == true                         x: const false
    !(args.p in ["a", "b"])                p: enum ["a", "b"]
    args.n > 25                            n: maximum 25

Each may be guarded, `has(args.x) && ...`; unguarded, the parameter is also required,
as a call without it cannot be checked and is denied. A deny rule without a condition
(or one the catalog outgrew) leaves no call that could pass: the tool is not listed.
Hide rules name their fields in the description. Shadow rules change nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types

from bollard.catalog import Action
from bollard.policy import CompiledRule, matches

_GUARD = r"(?:has\(\s*args\.(?P<guard>\w+)\s*\)\s*&&\s*)?"
_TRUE = re.compile(rf"^\s*{_GUARD}args\.(?P<name>\w+)\s*==\s*true\s*$")
_CAP = re.compile(rf"^\s*{_GUARD}args\.(?P<name>\w+)\s*>\s*(?P<value>-?\d+)\s*$")
_ONE_OF = re.compile(
    rf"^\s*{_GUARD}!\(\s*args\.(?P<name>\w+)\s+in\s+\[(?P<value>[^\]]*)\]\s*\)\s*$"
)
_STRING = re.compile(r'^\s*"([^"\\]*)"\s*$')


@dataclass
class _Narrowing:
    """What an agent's rules say of one action's arguments and answer."""

    unlisted: bool = False
    never_true: set[str] = field(default_factory=set)
    allowed: dict[str, list[str]] = field(default_factory=dict)
    maximum: dict[str, int] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    hidden: list[str] = field(default_factory=list)


def narrowed(tool: types.Tool, action: Action, rules: Sequence[CompiledRule]) -> types.Tool | None:
    """The tool as this agent's rules allow it, or None when no call could pass."""
    covering = [r for r in rules if not r.rule.shadow and matches(r.rule.selector, action)]
    if not covering:
        return tool
    said = _Narrowing()
    for compiled in covering:
        _read(compiled, action, said)
    if said.unlisted:
        return None
    schema = _schema(tool.input_schema, said)
    description = tool.description or ""
    if said.hidden:
        description += f"\nWithheld from answers by policy: {', '.join(said.hidden)}."
    return tool.model_copy(update={"input_schema": schema, "description": description})


def _read(compiled: CompiledRule, action: Action, said: _Narrowing) -> None:
    rule = compiled.rule
    if rule.effect == "hide":
        said.hidden += [f for f in rule.fields if f not in said.hidden]
        return
    if rule.effect != "deny":
        return
    if compiled.broken is not None or rule.condition is None:
        said.unlisted = True
        return
    for shape, record in ((_TRUE, _never_true), (_CAP, _cap), (_ONE_OF, _one_of)):
        found = shape.match(rule.condition)
        if found is None or found["guard"] not in (None, found["name"]):
            continue
        param = action.param(found["name"])
        recorded = param is not None and record(param.type, found, said)
        if recorded and found["guard"] is None:  # a call without it is denied
            said.required.add(found["name"])
        return


def _never_true(kind: str, found: re.Match[str], said: _Narrowing) -> bool:
    if kind != "boolean":
        return False
    said.never_true.add(found["name"])
    return True


def _cap(kind: str, found: re.Match[str], said: _Narrowing) -> bool:
    if kind not in ("integer", "number"):
        return False
    name, value = found["name"], int(found["value"])
    said.maximum[name] = min(value, said.maximum.get(name, value))
    return True


def _one_of(kind: str, found: re.Match[str], said: _Narrowing) -> bool:
    items = found["value"].split(",") if found["value"].strip() else []
    values = [_STRING.match(item) for item in items]
    if kind != "string" or not all(values):
        return False
    listed = [m[1] for m in values if m is not None]
    before = said.allowed.get(found["name"])
    said.allowed[found["name"]] = listed if before is None else [v for v in before if v in listed]
    return True


def _schema(original: dict[str, Any], said: _Narrowing) -> dict[str, Any]:
    schema = copy.deepcopy(original)
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    for name in said.never_true:
        properties[name]["const"] = False
    for name, values in said.allowed.items():
        prop = properties[name]
        known = prop.get("enum")
        prop["enum"] = [v for v in values if known is None or v in known]
    for name, cap in said.maximum.items():
        prop = properties[name]
        prop["maximum"] = min(cap, prop.get("maximum", cap))
    if said.required:
        schema["required"] = list(dict.fromkeys([*schema.get("required", []), *said.required]))
    return schema
