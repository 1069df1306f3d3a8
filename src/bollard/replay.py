"""Replay: a policy file judged against the calls in the audit log, before it is applied.

For each call's request record since a moment, what the policy in force then decided
(the record says: a grant allowed it or not, an enforced rule denied or held it or not,
an unknown parameter was refused or not) is set beside what the file decides for the same
agent, action and recorded arguments (`judge`: its grants, its rules, its
`allow_unknown_parameters`). Calls whose decision would change (allow, deny, held) are
reported, with the rule. A held call counts once: the later sending of it, once
approved, is not a call of its own.

Personal parameters are in the log only as keyed hashes (`audit.redaction`), so a rule
reading one can only compare it for equality: `args.email == "a@b.com"`, `!=`, `in [...]`
and `has(...)` are replayed (the literals hashed with the same key; `args["email"]` too);
any other use of such a parameter on a call that carries one, and any read of a hashed
value inside a list or an object (bulk enrichment's `details`), is counted as not
judged, never guessed. Hashes are made of the value trimmed and in lower case, so a
replayed equality ignores case where the live rule does not.
Agents the file leaves out are not judged either: `apply` leaves them as they are.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from bollard import arguments
from bollard.audit.redaction import PERSONAL_FIELDS, keyed_hash
from bollard.catalog import Action, Catalog
from bollard.errors import UnknownParameter
from bollard.policy import (
    _ARGS_INDEX,
    CompiledRule,
    Decision,
    Rule,
    Verdict,
    compile_rule,
    decide,
    evaluate,
    matches,
    read_args,
)
from bollard.policy_file import AgentPolicy, Policy
from bollard.store.tables import audit_records

_STRING = r"\"(?:\\.|[^\"\\])*\""
# `args` used as a whole (not args.NAME nor args["NAME"]): it may read any parameter
_ARGS_WHOLE = re.compile(r"\bargs\b(?!\s*(?:\.\s*[A-Za-z_]|\[\s*[\"']))")
_HIDDEN_REVEAL = "which policy withholds from this agent"


@dataclass(frozen=True, slots=True)
class Change:
    """One logged call the file would decide differently."""

    request_id: str
    ts_us: int
    agent: str
    action: str
    door: str
    before: str  # allow | deny | held
    after: str
    cause: str  # the rule or grant that makes the difference

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "at": _iso(self.ts_us),
            "agent": self.agent,
            "action": self.action,
            "door": self.door,
            "before": self.before,
            "after": self.after,
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True)
class Judgement:
    """What a policy does with one call, in the pipeline's order: not granted, denied by a
    rule, refused for an unknown parameter, held by an approve rule, or allowed."""

    outcome: str  # allow | deny | held
    reason: str
    decision: Decision
    verdict: Verdict = field(default_factory=Verdict)
    rule: int | None = None  # the rule that denies or holds it
    unknown: tuple[str, ...] = ()  # the names refused as unknown parameters


def judge(
    grants: tuple[str, ...],
    rules: tuple[CompiledRule, ...],
    action: Action,
    args: Mapping[str, Any],
    agent: str,
    now: datetime,
    *,
    allow_unknown: bool,
) -> Judgement:
    """The policy's outcome for one call, as the gateway would reach it (pure)."""
    decision = decide(grants, action)
    if not decision.allowed:
        return Judgement("deny", decision.reason, decision)
    verdict = evaluate(rules, action, args, agent, now)
    if verdict.denied is not None:
        return Judgement("deny", verdict.denied, decision, verdict, verdict.rule)
    if not allow_unknown:
        try:
            arguments.refuse_unknown(action, args)
        except UnknownParameter as exc:
            names = tuple(arguments.unknown(action, args))
            return Judgement("deny", exc.message, decision, verdict, unknown=names)
    if verdict.hold is not None:
        return Judgement("held", verdict.hold.reason, decision, verdict, verdict.hold.rule)
    return Judgement("allow", decision.reason, decision, verdict)


@dataclass(slots=True)
class Report:
    """Every call examined, those that would change, and those that could not be judged."""

    examined: int = 0
    changes: list[Change] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)  # request ids
    not_in_file: Counter[str] = field(default_factory=Counter)

    def by_agent(self) -> Counter[str]:
        return Counter(c.agent for c in self.changes)

    def by_cause(self) -> Counter[str]:
        return Counter(c.cause for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "examined": self.examined,
            "changed": [c.to_json() for c in self.changes],
            "by_agent": dict(self.by_agent()),
            "by_rule": dict(self.by_cause()),
            "unjudged": self.unjudged,
            "agents_not_in_file": dict(self.not_in_file),
        }

    def lines(self, since: str) -> Iterator[str]:
        for c in self.changes:
            yield (
                f"{c.before} → {c.after}  {_iso(c.ts_us)}  {c.agent}  {c.action}  "
                f"({c.door}, {c.request_id}): {c.cause}"
            )
        for title, counts in (("by agent", self.by_agent()), ("by rule", self.by_cause())):
            if counts:
                yield f"{title}:"
                yield from (f"  {n:>6}  {what}" for what, n in counts.most_common())
        yield (
            f"{self.examined} call(s) in the last {since} examined; "
            f"{len(self.changes)} would be decided differently"
        )
        if self.unjudged:
            yield (
                f"{len(self.unjudged)} call(s) not judged: a rule reads a personal parameter "
                "(kept only as a keyed hash) other than for equality"
            )
        if self.not_in_file:
            left = ", ".join(f"{a} ({n})" for a, n in sorted(self.not_in_file.items()))
            yield f"calls of agents not in the file, not judged: {left}"


def replay(engine: Engine, catalog: Catalog, policy: Policy, since_us: int, key: bytes) -> Report:
    """Judge `policy` against every call logged since `since_us`."""
    judge = _Judge(catalog, policy, key)
    report = Report()
    t = audit_records.c
    query = (
        select(t.request_id, t.ts_us, t.agent, t.action, t.door, t.decision, t.data)
        .where(t.kind == "request", t.ts_us >= since_us, t.agent.is_not(None))
        .where(t.action.is_not(None))
        .order_by(t.seq)
        .execution_options(yield_per=1000)
    )
    with engine.connect() as conn:
        for row in conn.execute(query):
            judge.one(row, report)
    return report


class _Judge:
    def __init__(self, catalog: Catalog, policy: Policy, key: bytes) -> None:
        self._catalog = catalog
        self._policy = policy
        self._key = key
        self._compiled: dict[str, tuple[tuple[CompiledRule, ...], tuple[tuple[Rule, bool], ...]]]
        self._compiled = {}

    def one(self, row: Any, report: Report) -> None:
        action = self._catalog.get(row.action)
        wanted = self._policy.agent(row.agent)
        if action is None:
            return
        data = json.loads(row.data)
        if "approval" in data and row.decision != "held":
            return  # an approved held call sent: the held call was the call
        report.examined += 1
        if wanted is None:
            report.not_in_file[row.agent] += 1
            return
        params = data.get("params") if isinstance(data.get("params"), dict) else {}
        before, was = _before(data, row.decision, action, params)
        compiled, hashed = self._rules(row.agent, wanted.rules)
        if any(_unjudgeable(r, plain, action, params) for r, plain in hashed):
            report.unjudged.append(row.request_id)
            return
        after, cause = self._after(wanted, compiled, action, params, row)
        if before != after:
            why = cause if after != "allow" else f"{cause} (was: {was})"
            change = Change(row.request_id, row.ts_us, row.agent, action.id, row.door, before,
                            after, why)  # fmt: skip
            report.changes.append(change)

    def _after(
        self,
        wanted: AgentPolicy,
        rules: tuple[CompiledRule, ...],
        action: Action,
        params: Mapping[str, Any],
        row: Any,
    ) -> tuple[str, str]:
        now = datetime.fromtimestamp(row.ts_us / 1e6, UTC)
        allow_unknown = wanted.allow_unknown_parameters
        judged = judge(
            wanted.grants, rules, action, params, row.agent, now, allow_unknown=allow_unknown
        )
        if not judged.decision.allowed:
            return "deny", "no grant in the file covers it"
        if judged.unknown:
            names = ", ".join(judged.unknown)
            return "deny", (
                f"unknown parameter {names} (the file does not set "
                f"allow_unknown_parameters for {row.agent})"
            )
        if judged.outcome == "allow":
            return "allow", f"granted by {judged.decision.grant}"
        if judged.rule is None:
            return judged.outcome, judged.reason
        rule = next(r.rule for r in rules if r.rule.id == judged.rule)
        return judged.outcome, f"rule at line {rule.id}: {_words(rule)}"

    def _rules(
        self, agent: str, own: tuple[Rule, ...]
    ) -> tuple[tuple[CompiledRule, ...], tuple[tuple[Rule, bool], ...]]:
        """The file's rules for `agent`, compiled for replay, each beside whether it reads
        personal parameters only for equality."""
        if agent not in self._compiled:
            rules = [*self._policy.rules, *own]
            hashed = tuple(_hashed(r, self._key) for r in rules)
            compiled = tuple(compile_rule(r, self._catalog) for r, _ in hashed)
            self._compiled[agent] = (compiled, hashed)
        return self._compiled[agent]


def _before(
    data: Mapping[str, Any], decision: str, action: Action, params: Mapping[str, Any]
) -> tuple[str, str]:
    """What the policy in force decided, as the request record says, and why."""
    if "grant" not in data:
        return "deny", "not granted"
    enforced = [e for e in data.get("rules") or () if "shadow" not in e]
    for entry in enforced:
        if entry.get("effect") == "deny":
            return "deny", f"denied by rule #{entry.get('rule')}"
    if _HIDDEN_REVEAL in str(data.get("reason") or ""):
        return "deny", "a reveal of a hidden field"
    if decision == "held":
        held_by = next((e.get("rule") for e in enforced if e.get("effect") == "approve"), None)
        return "held", f"held by rule #{held_by}"
    if decision == "deny" and arguments.unknown(action, params):
        return "deny", f"unknown parameter {', '.join(arguments.unknown(action, params))}"
    return "allow", f"granted by {data['grant']}"


def _hashed(rule: Rule, key: bytes) -> tuple[Rule, bool]:
    """The rule with the literals its personal parameters are compared to hashed as the
    log hashes them, and whether that is all it does with them."""
    if rule.condition is None:
        return rule, True
    personal = [n for n in read_args(rule.condition) if n in PERSONAL_FIELDS]
    if not personal:
        return rule, True
    text = _dotted(rule.condition)  # args["email"] is args.email
    rest = text
    for name in personal:
        arg = rf"args\s*\.\s*{name}\b"
        text = re.sub(rf"({arg}\s*(?:==|!=)\s*)({_STRING})", lambda m: m[1] + _lit(m[2], key), text)
        text = re.sub(rf"({_STRING})(\s*(?:==|!=)\s*{arg})", lambda m: _lit(m[1], key) + m[2], text)
        text = re.sub(
            rf"({arg}\s+in\s*)\[([^\]]*)\]",
            lambda m: f"{m[1]}[{re.sub(_STRING, lambda s: _lit(s[0], key), m[2])}]",
            text,
        )
        rest = re.sub(rf"has\(\s*{arg}\s*\)", "", text)
        rest = re.sub(rf"{arg}\s*(?:==|!=)\s*{_STRING}|{_STRING}\s*(?:==|!=)\s*{arg}", "", rest)
        rest = re.sub(rf"{arg}\s+in\s*\[[^\]]*\]", "", rest)
        if re.search(arg, rest):
            return replace(rule, condition=text), False
    return replace(rule, condition=text), True


def _lit(literal: str, key: bytes) -> str:
    return json.dumps(keyed_hash(key, json.loads(literal)))


def _dotted(condition: str) -> str:
    """`args["NAME"]` and `args['NAME']` written as `args.NAME`, where NAME may be."""

    def dot(m: re.Match[str]) -> str:
        name = m[1][1:-1]
        return f"args.{name}" if name.isidentifier() else m[0]

    return _ARGS_INDEX.sub(dot, condition)


def _unjudgeable(rule: Rule, plain: bool, action: Action, params: Mapping[str, Any]) -> bool:
    """Whether `rule` would read a hashed value on this call other than as a string it
    compares for equality (hashed in `_hashed`): one inside a list or an object (bulk
    enrichment's details), or a personal parameter read beyond equality (`plain` false)."""
    if not matches(rule.selector, action) or rule.condition is None:
        return False
    names = read_args(rule.condition) if _ARGS_WHOLE.search(rule.condition) is None else params
    for name in names:
        value = params.get(name)
        if not _carries_hash(value):
            continue
        if not (plain and isinstance(value, str) and name in PERSONAL_FIELDS):
            return True
    return False


def _carries_hash(value: Any) -> bool:
    """Whether a recorded value is, or holds, a keyed hash (`audit.redaction`)."""
    if isinstance(value, str):
        return value.startswith("hmac:")
    if isinstance(value, Mapping):
        return any(_carries_hash(v) for v in value.values())
    if isinstance(value, list):
        return any(_carries_hash(v) for v in value)
    return False


def _words(rule: Rule) -> str:
    return rule.describe().split(" ", 1)[1]


def _iso(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, UTC).isoformat(timespec="seconds")
