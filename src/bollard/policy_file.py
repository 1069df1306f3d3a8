"""The policy file: a team's whole policy (agents, grants, rules, limits and budgets) as
TOML, written by `bollard policy export` and read by `policy apply` and `policy check`.
Pure: text in, values out, and values in, text out. Keys are never in it.

    version = 1

    [[agents]]
    name = "enricher"
    grants = ["people.enrich", "sequences.add_contacts"]
    allow_unknown_parameters = false   # true: names an action does not take go through

    [[agents.rules]]
    selector = "sequences.add_contacts"
    effect = "approve"
    expires_after = "8h"  # how long a held call waits for a person (default 24h)

    [[agents.rules]]
    selector = "people.enrich"
    effect = "deny"
    when = "has(args.reveal_phone_number) && args.reveal_phone_number == true"
    reason = "no phone reveals"

    [[agents.limits]]
    action = "*"
    credits_per_day = 500

    [[rules]]             # team-wide: every agent
    selector = "sequences.add_contacts"
    effect = "deny"

A bad file is a `PolicyFileError` naming the line at fault. tomllib's own errors carry
their line; for the rest (an unknown action, a condition that does not compile) a small
index of where each table and key starts (`LineIndex`) finds it. tomllib over tomlkit:
tomllib is in the standard library and tomlkit keeps no line numbers either, so the index
would be needed with both.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

from bollard.agents import parse_duration
from bollard.catalog import Catalog
from bollard.errors import ConfigError
from bollard.limits.rule_store import check_rule
from bollard.limits.rules import ALL_ACTIONS, LimitRule
from bollard.policy import HOLD_MAX_SECONDS, Rule, compile_rule, duration_text, parse_selector

VERSION = 1
Path = tuple[str | int, ...]
_TOP = ("version", "agents", "rules")
_AGENT = ("name", "note", "expires_at", "allow_unknown_parameters", "grants", "rules", "limits")
_RULE = ("selector", "effect", "when", "fields", "shadow", "expires_after", "reason")
LIMIT_FIELDS = tuple(f.name for f in fields(LimitRule) if f.name not in ("agent", "action"))
_LIMIT = ("action", *LIMIT_FIELDS)
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


class PolicyFileError(ConfigError):
    """A policy file that cannot be applied: what is wrong, at which line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True, slots=True)
class AgentPolicy:
    """One agent as the file says it: never its keys."""

    name: str
    note: str = ""
    expires_at: datetime | None = None
    grants: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    limits: tuple[LimitRule, ...] = ()
    allow_unknown_parameters: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """Every (live) agent's policy, and the team-wide rules."""

    agents: tuple[AgentPolicy, ...] = ()
    rules: tuple[Rule, ...] = ()

    def agent(self, name: str) -> AgentPolicy | None:
        return next((a for a in self.agents if a.name == name), None)


# --- Reading ---------------------------------------------------------------------------


def parse_policy(text: str, catalog: Catalog) -> Policy:
    """The policy a file says, every part of it checked as `rules add` and `grants add`
    would; else `PolicyFileError` with the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"not valid TOML: {exc}") from None
    index = LineIndex(text)
    try:
        policy = _policy(data, catalog)
    except _At as exc:
        raise PolicyFileError(exc.message, index.line(exc.path)) from None
    return _numbered(policy, index)


def _numbered(policy: Policy, index: LineIndex) -> Policy:
    """A rule read from a file has no id yet: it carries its line instead, for messages."""

    def number(rules: tuple[Rule, ...], at: Path) -> tuple[Rule, ...]:
        return tuple(replace(r, id=index.line((*at, j)) or 0) for j, r in enumerate(rules))

    agents = tuple(
        replace(a, rules=number(a.rules, ("agents", i, "rules")))
        for i, a in enumerate(policy.agents)
    )
    return Policy(agents, number(policy.rules, ("rules",)))


class _At(Exception):
    """A problem at a place in the file, before the place is turned into a line."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _policy(data: Mapping[str, Any], catalog: Catalog) -> Policy:
    _keys(data, _TOP, ())
    version = data.get("version", VERSION)
    if version != VERSION:
        raise _At(("version",), f"version {version!r} is not understood: this Bollard reads 1")
    agents = [_agent(a, ("agents", i), catalog) for i, a in enumerate(_tables(data, "agents"))]
    seen: dict[str, int] = {}
    for i, agent in enumerate(agents):
        if agent.name in seen:
            raise _At(("agents", i, "name"), f"agent {agent.name!r} is in the file twice")
        seen[agent.name] = i
    team = [_rule(r, None, ("rules", i), catalog) for i, r in enumerate(_tables(data, "rules"))]
    return Policy(tuple(agents), tuple(team))


def _agent(data: Mapping[str, Any], at: Path, catalog: Catalog) -> AgentPolicy:
    _keys(data, _AGENT, at)
    name = _text(data, "name", at, required=True)
    if not _NAME.fullmatch(name):
        raise _At(
            (*at, "name"),
            f"agent name {name!r} is not allowed: use 1 to 64 lowercase letters, digits, "
            "'_', '.' or '-', starting with a letter or digit",
        )
    expires = data.get("expires_at")
    if expires is not None and (not isinstance(expires, datetime) or expires.tzinfo is None):
        raise _At(
            (*at, "expires_at"),
            "expires_at must be a TOML date-time with a zone, e.g. 2030-01-31T09:00:00Z",
        )
    grants = []
    for j, selector in enumerate(_list(data, "grants", at)):
        try:
            grants.append(parse_selector(selector, catalog))
        except ConfigError as exc:
            raise _At((*at, "grants", j), str(exc)) from None
    rules = [
        _rule(r, name, (*at, "rules", j), catalog) for j, r in enumerate(_tables(data, "rules", at))
    ]
    limits = [
        _limit(r, name, (*at, "limits", j), catalog)
        for j, r in enumerate(_tables(data, "limits", at))
    ]
    actions = [r.action for r in limits]
    for j, action in enumerate(actions):
        if action in actions[:j]:
            raise _At((*at, "limits", j), f"limits for {action!r} are given twice for {name!r}")
    note = _text(data, "note", at)
    unknown = data.get("allow_unknown_parameters", False)
    if not isinstance(unknown, bool):
        raise _At(
            (*at, "allow_unknown_parameters"),
            "allow_unknown_parameters must be true or false (true: names an action does not "
            "take go through, each recorded as a warning)",
        )
    return AgentPolicy(
        name, note, expires, tuple(dict.fromkeys(grants)), tuple(rules), tuple(limits), unknown
    )


def _rule(data: Mapping[str, Any], agent: str | None, at: Path, catalog: Catalog) -> Rule:
    _keys(data, _RULE, at)
    shadow = data.get("shadow", False)
    if not isinstance(shadow, bool):
        raise _At((*at, "shadow"), "shadow must be true or false")
    when = data.get("when")
    if when is not None and not isinstance(when, str):
        raise _At((*at, "when"), "when must be a string holding a CEL condition")
    rule = Rule(
        0,
        agent,
        _text(data, "selector", at, required=True).strip(),
        _text(data, "effect", at, required=True),
        _text(data, "reason", at),
        when,
        tuple(f.strip() for f in _list(data, "fields", at)),
        shadow,
        _hold_seconds(data, at),
    )
    try:
        compile_rule(rule, catalog)
    except ConfigError as exc:
        message = str(exc).replace("--expires-after", "expires_after")
        message = message.replace("--effect approve", 'effect = "approve"')
        raise _At((*at, _rule_key(message)), message) from None
    return rule


_SECONDS = re.compile(r"\s*(\d+)\s*s\s*")


def _hold_seconds(data: Mapping[str, Any], at: Path) -> int | None:
    """An approve rule's `expires_after` ("8h", "2d", ...) in seconds."""
    text = data.get("expires_after")
    if text is None:
        return None
    if not isinstance(text, str):
        raise _At((*at, "expires_after"), f'expires_after must be a string like "8h", not {text!r}')
    seconds = _SECONDS.fullmatch(text)
    if seconds is not None:  # as export writes an expiry of whole seconds; bounds: compile_rule
        return int(seconds[1])
    try:
        return expiry_seconds(text, "expires_after")
    except ConfigError as exc:
        raise _At((*at, "expires_after"), str(exc)) from None


def rule_expiry(text: str | None, effect: str, name: str) -> int | None:
    """The expiry given with a rule of `effect` (None: not given, the default 24h), for
    the admin API and the console: `expiry_seconds`, and only on an approve rule."""
    if text is None:
        return None
    if effect != "approve":
        raise ConfigError(
            f"{name} goes with the effect approve (how long a held call waits for a person); "
            "leave it out for deny and hide"
        )
    return expiry_seconds(text, name)


def expiry_seconds(text: str, name: str = "--expires-after") -> int:
    """An approve rule's expiry as a person writes it ("8h", "2d") in seconds, checked as
    `compile_rule` checks a stored one: the one parser of the CLI, the file, the admin API
    and the console. Else a ConfigError naming `name`, the option or field it came from.
    Whole seconds ("90s") are taken too: export writes, and the console pre-fills, an
    expiry that is not a whole number of minutes that way."""
    whole = _SECONDS.fullmatch(text)
    try:
        seconds = int(whole[1]) if whole else int(parse_duration(text).total_seconds())
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    if not 60 <= seconds <= HOLD_MAX_SECONDS:
        raise ConfigError(f"{name} must be from 1 minute to 30 days, e.g. 24h")
    return seconds


def _rule_key(message: str) -> str:
    """Which key of a rule a compile error is about, for its line."""
    for needle, key in (
        ("expires_after", "expires_after"),
        ("effect", "effect"),
        ("selector", "selector"),
        ("field", "fields"),
        ("condition", "when"),
        ("args.", "when"),
        ("--when", "when"),
    ):
        if needle in message:
            return key
    return "selector"


def _limit(data: Mapping[str, Any], agent: str, at: Path, catalog: Catalog) -> LimitRule:
    _keys(data, _LIMIT, at)
    action = _text(data, "action", at) or ALL_ACTIONS
    if action != ALL_ACTIONS and catalog.get(action) is None:
        hint = ", ".join(catalog.nearest(action))
        raise _At(
            (*at, "action"),
            f"no action {action!r}{f'; did you mean {hint}?' if hint else ''} "
            '(use "*" for every action)',
        )
    values: dict[str, Any] = {}
    for name in LIMIT_FIELDS:
        value = data.get(name)
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not numeric:
            raise _At((*at, name), f"{name} must be a number, not {value!r}")
        if value is not None and name != "share_of_apollo" and not isinstance(value, int):
            raise _At((*at, name), f"{name} must be a whole number, not {value!r}")
        values[name] = value
    rule = LimitRule(agent, action, **values)
    if rule.is_empty:
        raise _At(
            at, f"limits for {action!r} set nothing: give at least one of {', '.join(LIMIT_FIELDS)}"
        )
    try:
        check_rule(rule)
    except ConfigError as exc:
        raise _At(
            (*at, _limit_key(str(exc))), str(exc).replace("--", "").replace("-", "_")
        ) from None
    return rule


def _limit_key(message: str) -> str:
    return next((f for f in LIMIT_FIELDS if f.replace("_", "-") in message), "action")


def _keys(data: Mapping[str, Any], allowed: tuple[str, ...], at: Path) -> None:
    for key in data:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise _At((*at, key), f"unknown key {key!r}: {hint}keys here are {', '.join(allowed)}")


def _tables(data: Mapping[str, Any], key: str, at: Path = ()) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _At((*at, key), f"{key} must be tables written [[{'.'.join(map(str, (*at, key)))}]]")
    return value


def _list(data: Mapping[str, Any], key: str, at: Path) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _At((*at, key), f'{key} must be a list of strings, e.g. ["people:read"]')
    return value


def _text(data: Mapping[str, Any], key: str, at: Path, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be a string, not {value!r}"
        raise _At((*at, key) if value is not None else at, f"{key} {what}")
    return value


class LineIndex:
    """Where each table (`[[agents]]`, `[[agents.rules]]`, ...) and each key starts, by
    its path in the parsed data, e.g. ("agents", 1, "rules", 0, "when")."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=(.*)$")

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        counts: dict[Path, int] = {}
        current: Path = ()
        open_quote: str | None = None
        for number, line in enumerate(text.splitlines(), 1):
            if open_quote is not None:  # inside a multi-line string
                if line.count(open_quote) % 2:
                    open_quote = None
                continue
            header = self._HEADER.match(line)
            if header:
                current = self._table(header[2], header[1] == "[[", counts)
                self._lines.setdefault(current, number)
                continue
            key = self._KEY.match(line)
            if key:
                path = (*current, key[1].strip('"'))
                self._lines.setdefault(path, number)
                for quote in ('"""', "'''"):
                    if key[2].count(quote) % 2:
                        open_quote = quote
                self._array_items(path, key[2], number)

    def _table(self, name: str, array: bool, counts: dict[Path, int]) -> Path:
        path: Path = ()
        parts = [p.strip().strip('"') for p in name.split(".")]
        for part in parts[:-1]:
            path = (*path, part)
            if path in counts:
                path = (*path, counts[path] - 1)
        path = (*path, parts[-1])
        if array:
            counts[path] = counts.get(path, 0) + 1
            path = (*path, counts[path] - 1)
        return path

    def _array_items(self, path: Path, value: str, number: int) -> None:
        """One-line arrays of strings: each item is on the key's line."""
        for i, _ in enumerate(re.findall(r"\"(?:\\.|[^\"\\])*\"", value)):
            self._lines.setdefault((*path, i), number)

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of the nearest table or key that holds it."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return None


# --- Writing ---------------------------------------------------------------------------


def render_policy(policy: Policy, exported_at: datetime) -> str:
    """The policy as a TOML file that `parse_policy` reads back to the same policy."""
    out = [
        "# Bollard policy: agents, grants, rules, limits and budgets. Agents' keys are never",
        "# in this file; revoked agents are not either. Apply with `bollard policy apply FILE`.",
        f"# Exported {exported_at.isoformat(timespec='seconds')}.",
        f"version = {VERSION}",
    ]
    for agent in policy.agents:
        out += ["", "[[agents]]", f"name = {_toml(agent.name)}"]
        if agent.note:
            out.append(f"note = {_toml(agent.note)}")
        if agent.expires_at is not None:
            out.append(f"expires_at = {agent.expires_at.isoformat(timespec='seconds')}")
        if agent.allow_unknown_parameters:
            out.append("allow_unknown_parameters = true")
        out.append(f"grants = [{', '.join(_toml(g) for g in agent.grants)}]")
        for rule in agent.rules:
            out += ["", "[[agents.rules]]", *_rule_lines(rule)]
        for limit in agent.limits:
            out += ["", "[[agents.limits]]", *_limit_lines(limit)]
    for rule in policy.rules:
        out += ["", "[[rules]]  # every agent", *_rule_lines(rule)]
    return "\n".join(out) + "\n"


def policy_json(policy: Policy) -> dict[str, Any]:
    """The policy as JSON-ready data: the TOML file's shape, for scripts."""

    def rule(r: Rule) -> dict[str, Any]:
        said = {k: v for k, v in r.as_dict().items() if k not in ("id", "agent")}
        if r.hold_seconds is not None:
            said["expires_after"] = duration_text(r.hold_seconds)
        return said

    def limit(r: LimitRule) -> dict[str, Any]:
        return {k: v for k, v in asdict(r).items() if k != "agent" and v is not None}

    return {
        "version": VERSION,
        "agents": [
            {
                "name": a.name,
                "note": a.note,
                "expires_at": a.expires_at.isoformat(timespec="seconds") if a.expires_at else None,
                "allow_unknown_parameters": a.allow_unknown_parameters,
                "grants": list(a.grants),
                "rules": [rule(r) for r in a.rules],
                "limits": [limit(r) for r in a.limits],
            }
            for a in policy.agents
        ],
        "rules": [rule(r) for r in policy.rules],
    }


def _rule_lines(rule: Rule) -> list[str]:
    lines = [f"selector = {_toml(rule.selector)}", f"effect = {_toml(rule.effect)}"]
    if rule.condition is not None:
        lines.append(f"when = {_toml(rule.condition)}")
    if rule.fields:
        lines.append(f"fields = [{', '.join(_toml(f) for f in rule.fields)}]")
    if rule.shadow:
        lines.append("shadow = true")
    if rule.hold_seconds is not None:
        lines.append(f"expires_after = {_toml(duration_text(rule.hold_seconds))}")
    if rule.reason:
        lines.append(f"reason = {_toml(rule.reason)}")
    return lines


def _limit_lines(limit: LimitRule) -> list[str]:
    lines = [f"action = {_toml(limit.action)}"]
    for name in LIMIT_FIELDS:
        value = getattr(limit, name)
        if value is not None:
            lines.append(f"{name} = {value!r}")
    return lines


def _toml(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL, which TOML forbids raw."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
