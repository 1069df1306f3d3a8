"""Grants and rules → decision, with a reason. Pure: values in, values out.

A grant selector is an action id (`contacts.create`), `<resource>:<access>`
where resource may be `*` and access is `read`, `write` or `*`, or
`tag:<risk tag>` (`tag:sends_email`: every action carrying that tag). Deny by
default: no grant, no call. An empty grant list allows nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import cel

from bollard import arguments
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
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)
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


# --- Rules inside actions -------------------------------------------------------------
#
# A rule narrows what a grant allows: for the actions its selector covers, when its CEL
# condition holds (or always, without one), it denies the call or hides fields of the
# answer. Rules are checked when written (`compile_rule`) and evaluated per call
# (`evaluate`) against the compiled rules the caller passes in.

Effect = Literal["deny", "hide", "approve"]
EFFECTS: tuple[str, ...] = ("deny", "hide", "approve")
HOLD_MAX_SECONDS = 30 * 86400
VARIABLES = frozenset({"args", "agent", "action", "now"})
# Fields of Apollo's people, contacts and matches a rule may withhold.
HIDEABLE = (
    "email",
    "email_status",
    "personal_emails",
    "phone_numbers",
    "sanitized_phone",
    "mobile_phone",
    "corporate_phone",
    "linkedin_url",
    "twitter_url",
    "facebook_url",
    "github_url",
    "photo_url",
    "headline",
    "city",
    "state",
    "country",
    "street_address",
    "postal_code",
    "employment_history",
)
# A hidden field whose reveal flag would buy it: refused before any credit is spent.
REVEALS = {"personal_emails": "reveal_personal_emails", "phone_numbers": "reveal_phone_number"}
_ARGS_DOT = re.compile(r"\bargs\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_ARGS_INDEX = re.compile(r"\bargs\s*\[\s*(\"[^\"]*\"|'[^']*')\s*\]")
_STRINGS = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as stored: whose (None: every agent), what it covers, when, what it does."""

    id: int
    agent: str | None
    selector: str
    effect: str
    reason: str = ""
    condition: str | None = None
    fields: tuple[str, ...] = ()
    shadow: bool = False
    hold_seconds: int | None = None  # approve: how long a held call waits (None: 24 h)

    def as_dict(self) -> dict[str, Any]:
        """The rule as the CLI's JSON and the admin API show it."""
        return {
            "id": self.id,
            "agent": self.agent,
            "selector": self.selector,
            "effect": self.effect,
            "when": self.condition,
            "fields": list(self.fields),
            "shadow": self.shadow,
            "reason": self.reason,
            "expires_after": self.hold_seconds,
        }

    def describe(self) -> str:
        """One line: `#3 people.enrich deny when ... (shadow): reason`."""
        whose = self.agent or "all agents"
        text = f"#{self.id} [{whose}] {self.selector} {self.effect}"
        if self.fields:
            text += f" {','.join(self.fields)}"
        if self.condition:
            text += f" when {self.condition}"
        if self.hold_seconds is not None:
            text += f" (held {duration_text(self.hold_seconds)})"
        if self.shadow:
            text += " (shadow)"
        return f"{text}: {self.reason}" if self.reason else text


def duration_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class Hold:
    """An enforced approve rule matched: hold the call for a person."""

    rule: int
    reason: str
    seconds: int | None  # None: the default expiry


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its condition compiled, ready for `evaluate`; or a stored rule the
    catalog no longer allows (`broken` says why), which matches every call it covers."""

    rule: Rule
    program: cel.Program | None
    broken: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rules say about one call: denied (by which rule), fields to withhold,
    and what shadow rules would have done. `applied` is for the record and `check`."""

    denied: str | None = None  # the reason, when an enforced rule denies
    rule: int | None = None
    hidden: tuple[str, ...] = ()
    applied: tuple[dict[str, Any], ...] = ()
    hold: Hold | None = None  # the first enforced approve rule that matched

    @property
    def allowed(self) -> bool:
        return self.denied is None


# What rules that cover nothing say: one shared value, as a Verdict never changes.
NO_RULES = Verdict()


def compile_rule(rule: Rule, catalog: Catalog) -> CompiledRule:
    """Check a rule as it is written, or `ConfigError` saying what to fix."""
    if rule.effect not in EFFECTS:
        raise ConfigError(f"unknown effect {rule.effect!r}: use deny, hide or approve")
    if rule.hold_seconds is not None and rule.effect != "approve":
        raise ConfigError("--expires-after goes with --effect approve: how long a call is held")
    if rule.hold_seconds is not None and not 60 <= rule.hold_seconds <= HOLD_MAX_SECONDS:
        raise ConfigError("--expires-after must be from 1 minute to 30 days, e.g. 24h")
    if parse_selector(rule.selector, catalog) != rule.selector:
        raise ConfigError(f"selector {rule.selector!r} has spaces around it")
    covered = [a for a in catalog.actions if matches(rule.selector, a)]
    if not covered:
        raise ConfigError(f"selector {rule.selector!r} covers no action")
    _check_fields(rule)
    program = _compile(rule.condition, covered) if rule.condition is not None else None
    return CompiledRule(rule, program)


def compile_stored(rule: Rule, catalog: Catalog) -> CompiledRule:
    """A stored rule compiled again (programs do not persist). One the catalog no longer
    allows, as a catalog change can make it (its action or a parameter it reads gone),
    is kept as broken: on the calls its selector still covers it denies (a deny rule:
    fail closed) or hides, and says which rule it is and how to fix it."""
    try:
        return compile_rule(rule, catalog)
    except ConfigError as exc:
        return CompiledRule(rule, None, broken=str(exc))


def fix_hint(rule: Rule) -> str:
    """How an admin mends a broken rule."""
    whose = rule.agent or "--all-agents"
    return (
        f"remove it (bollard rules remove {whose} {rule.id}) and add it again in terms of "
        "the current catalog (bollard catalog show ACTION lists its parameters)"
    )


def _check_fields(rule: Rule) -> None:
    if rule.effect != "hide" and rule.fields:
        raise ConfigError(
            f"--fields goes with --effect hide; a {rule.effect} rule acts on the whole call"
        )
    if rule.effect == "hide" and not rule.fields:
        raise ConfigError(f"a hide rule needs --fields, e.g. --fields {HIDEABLE[2]},{HIDEABLE[3]}")
    for name in rule.fields:
        if name not in HIDEABLE:
            raise ConfigError(
                f"field {name!r} cannot be hidden{_nearest(name, HIDEABLE)} "
                f"(fields: {', '.join(HIDEABLE)})"
            )


def _compile(condition: str, covered: Sequence[Action]) -> cel.Program:
    if not condition.strip():
        raise ConfigError("--when is empty: give a CEL expression, e.g. args.per_page > 25")
    try:
        program = cel.compile(condition)
    except ValueError as exc:
        raise ConfigError(f"condition does not compile: {exc}") from None
    unknown = sorted(set(program.variables()) - VARIABLES)
    if unknown:
        raise ConfigError(
            f"condition reads {', '.join(unknown)}; a condition may read only "
            "args (the call's arguments), agent, action and now"
        )
    for name in read_args(condition):
        lacking = [a for a in covered if a.param(name) is None]
        if lacking:
            known = sorted({p.name for a in lacking for p in a.params})
            raise ConfigError(
                f"args.{name} is not a parameter of {', '.join(a.id for a in lacking[:3])}"
                f"{_nearest(name, known)}"
            )
    return program


def read_args(condition: str) -> tuple[str, ...]:
    """The argument names a condition reads (`args.NAME`, `args["NAME"]`), in order."""
    names = [m[1:-1] for m in _ARGS_INDEX.findall(condition)]
    names += _ARGS_DOT.findall(_STRINGS.sub('""', condition))
    return tuple(dict.fromkeys(names))


def evaluate(
    rules: Iterable[CompiledRule],
    action: Action,
    args: Mapping[str, Any],
    agent: str,
    now: datetime,
) -> Verdict:
    """Apply the rules covering `action`; an error in a condition counts as a match
    (fail closed): a deny denies, a hide hides, and the record says why."""
    covering = [r for r in rules if matches(r.rule.selector, action)]
    if not covering:
        return NO_RULES
    args = arguments.typed(action, args)  # "true" is true, "25" is 25: as Apollo reads them
    context = cel.Context({"args": dict(args), "agent": agent, "action": action.id, "now": now})
    denied: tuple[str, int | None] | None = None
    hold: Hold | None = None
    hidden: list[str] = []
    applied: list[dict[str, Any]] = []
    for compiled in covering:
        rule = compiled.rule
        hit, error = _holds(compiled, context)
        if not hit:
            continue
        entry: dict[str, Any] = {"rule": rule.id, "effect": rule.effect}
        if error:
            entry["error"] = error
        if rule.shadow:
            entry["shadow"] = _WOULD[rule.effect]
        elif rule.effect == "deny" and denied is None:
            denied = (_deny_reason(compiled, error), rule.id)
        elif rule.effect == "approve" and hold is None:
            hold = Hold(rule.id, _hold_reason(rule, error), rule.hold_seconds)
        elif rule.effect == "hide":
            hidden += [f for f in rule.fields if f not in hidden]
        applied.append(entry)
    if denied is None:
        denied = _reveal_refused(hidden, args)
    reason, rule_id = denied if denied else (None, None)
    return Verdict(reason, rule_id, tuple(hidden), tuple(applied), hold)


def holds_calls(rules: Sequence[CompiledRule]) -> bool:
    """Whether an enforced approve rule is among these (MCP then lists the approval
    status tool)."""
    return any(r.rule.effect == "approve" and not r.rule.shadow for r in rules)


def _holds(compiled: CompiledRule, context: cel.Context) -> tuple[bool, str | None]:
    if compiled.broken is not None:
        return True, f"the rule no longer fits the catalog ({compiled.broken})"
    if compiled.program is None:
        return True, None
    try:
        value = compiled.program.execute(context)
    except Exception as exc:  # any failure of the condition: fail closed
        return True, f"condition could not be evaluated ({type(exc).__name__}: {exc})"
    if not isinstance(value, bool):
        return True, f"condition gave {type(value).__name__}, not a boolean"
    return value, None


_WOULD = {"deny": "would deny", "hide": "would hide", "approve": "would hold"}


def _hold_reason(rule: Rule, error: str | None) -> str:
    reason = rule.reason or f"held for approval by policy rule #{rule.id} on {rule.selector}"
    return (
        f"{reason} (rule #{rule.id}: {error}; held, as any rule that cannot be checked)"
        if error
        else reason
    )


def _deny_reason(compiled: CompiledRule, error: str | None) -> str:
    rule = compiled.rule
    reason = rule.reason or f"denied by policy rule #{rule.id} on {rule.selector}"
    if compiled.broken is not None:
        return (
            f"{reason} (policy rule #{rule.id} on {rule.selector} no longer fits the "
            f"catalog: {compiled.broken}; every call it covers is denied until an admin "
            f"fixes it: {fix_hint(rule)})"
        )
    if error:
        return f"{reason} (rule #{rule.id}: {error}; denied, as any rule that cannot be checked)"
    return reason


def _reveal_refused(
    hidden: Sequence[str], args: Mapping[str, Any]
) -> tuple[str, int | None] | None:
    for field_name, flag in REVEALS.items():
        if field_name in hidden and args.get(flag) in (True, "true", "True", 1, "1"):
            return (
                f"{flag} would buy {field_name}, which policy withholds from this agent: "
                f"call again without {flag}",
                None,
            )
    return None
