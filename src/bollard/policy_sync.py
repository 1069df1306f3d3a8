"""Making the store match a policy file: read the store's policy, the steps from it to the
file's (`plan`, pure), and those steps applied in one transaction (`apply_policy`).

Every step is an admin change like the CLI's own (`agents.create`, `grants.change`,
`rules.add`, `limits.set`, ...), recorded with its actor, in the one transaction of
`AdminChanges.batch`: a step that fails, at whatever point, leaves the store and the
audit log exactly as they were. The diff is read inside that transaction, so it is the
diff against the state actually changed. Rules are matched by what they say (selector,
effect, condition, fields, shadow, expiry, reason), not by id: an edited rule is one removed and
one added. Agents not in the file are left alone, or with `prune` revoked (names are
never reused, so an agent is never deleted).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from bollard.agents import Agents, utcnow
from bollard.changes import Actor, AdminChanges, Batch, agent_state
from bollard.errors import ConfigError
from bollard.limits.rule_store import delete_rules, merge_rule, rule_dict
from bollard.limits.rules import LimitRule
from bollard.limits.tables import limits
from bollard.policy import Rule
from bollard.policy_file import LIMIT_FIELDS, AgentPolicy, Policy
from bollard.rule_book import delete_rule, insert_rule, load_rules


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """The store's policy, and the names of revoked agents (which a file cannot revive)."""

    policy: Policy
    revoked: frozenset[str]


def read_policy(conn: Connection, repo: Agents) -> StoredPolicy:
    """Every live agent's grants, rules and limits, and the team-wide rules."""
    listed = repo.list(conn)
    rules = load_rules(conn)
    stored = _limits(conn)
    agents = tuple(
        AgentPolicy(
            a.name,
            a.note,
            _to_the_second(a.expires_at),
            a.grants,
            tuple(r for r in rules if r.agent == a.name),
            tuple(stored.get(a.name, ())),
            a.allow_unknown_parameters,
        )
        for a in listed
        if a.revoked_at is None
    )
    team = tuple(r for r in rules if r.agent is None)
    revoked = frozenset(a.name for a in listed if a.revoked_at is not None)
    return StoredPolicy(Policy(agents, team), revoked)


def _to_the_second(when: datetime | None) -> datetime | None:
    """An expiry as the file writes it: `--expires 90d` stores microseconds, which an
    exported file drops; compared at full precision, export then apply was a change."""
    return when.replace(microsecond=0) if when is not None else None


def _limits(conn: Connection) -> dict[str, list[LimitRule]]:
    rows = conn.execute(select(limits).order_by(limits.c.agent, limits.c.action)).mappings()
    found: dict[str, list[LimitRule]] = {}
    for r in rows:
        rule = LimitRule(r["agent"], r["action"], **{f: r[f] for f in LIMIT_FIELDS})
        if not rule.is_empty:
            found.setdefault(r["agent"], []).append(rule)
    return found


# --- Steps -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One change from the store's policy towards the file's; `lines` is its diff."""

    kind: str
    agent: str | None
    lines: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)


def plan(current: StoredPolicy, wanted: Policy, prune: bool = False) -> list[Step]:
    """The steps that make `current` say what `wanted` says, agent by agent in the
    file's order, then team-wide rules, then (with `prune`) agents the file leaves out."""
    steps: list[Step] = []
    for agent in wanted.agents:
        if agent.name in current.revoked:
            raise ConfigError(
                f"agent {agent.name!r} is revoked and names are never reused: give the "
                "agent in the file another name"
            )
        steps += _agent_steps(current.policy.agent(agent.name), agent)
    steps += _rule_steps(None, current.policy.rules, wanted.rules)
    if prune:
        for agent in current.policy.agents:
            if wanted.agent(agent.name) is None:
                steps.append(Step("revoke", agent.name, (f"- agent {agent.name} (revoked)",)))
    return steps


def _agent_steps(have: AgentPolicy | None, want: AgentPolicy) -> list[Step]:
    name = want.name
    if have is None:
        said = f"+ agent {name}" + (f" grants {', '.join(want.grants)}" if want.grants else "")
        steps = [Step("create", name, (said,), {"agent": want})]
        have = AgentPolicy(name, want.note, want.expires_at, want.grants)
    else:
        steps = []
    if (have.note, have.expires_at) != (want.note, want.expires_at):
        steps.append(_details_step(have, want))
    if have.allow_unknown_parameters != want.allow_unknown_parameters:
        said = f"~ agent {name} allow_unknown_parameters: "
        said += f"{_flag(have.allow_unknown_parameters)} → {_flag(want.allow_unknown_parameters)}"
        steps.append(Step("switch", name, (said,), {"allowed": want.allow_unknown_parameters}))
    add = [g for g in want.grants if g not in have.grants]
    remove = [g for g in have.grants if g not in want.grants]
    if add or remove:
        lines = tuple(
            [f"+ grant {name} {g}" for g in add] + [f"- grant {name} {g}" for g in remove]
        )
        steps.append(Step("grants", name, lines, {"add": add, "remove": remove}))
    steps += _rule_steps(name, have.rules, want.rules)
    steps += _limit_steps(name, have.limits, want.limits)
    return steps


def _details_step(have: AgentPolicy, want: AgentPolicy) -> Step:
    lines = []
    if have.note != want.note:
        lines.append(f"~ agent {want.name} note: {have.note!r} → {want.note!r}")
    if have.expires_at != want.expires_at:
        lines.append(
            f"~ agent {want.name} expires_at: {_when(have.expires_at)} → {_when(want.expires_at)}"
        )
    return Step(
        "details", want.name, tuple(lines), {"note": want.note, "expires_at": want.expires_at}
    )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _rule_key(rule: Rule) -> tuple[Any, ...]:
    return (
        rule.selector,
        rule.effect,
        rule.condition,
        rule.fields,
        rule.shadow,
        rule.hold_seconds,
        rule.reason,
    )


def _rule_steps(agent: str | None, have: Sequence[Rule], want: Sequence[Rule]) -> list[Step]:
    spare = Counter(_rule_key(r) for r in want)
    steps = []
    for rule in have:  # a stored rule the file still says is kept, once per mention
        if spare[_rule_key(rule)] > 0:
            spare[_rule_key(rule)] -= 1
        else:
            steps.append(Step("rule-", agent, (f"- rule {rule.describe()}",), {"rule": rule}))
    kept = Counter(_rule_key(r) for r in have)
    for rule in want:
        if kept[_rule_key(rule)] > 0:
            kept[_rule_key(rule)] -= 1
        else:
            said = rule.describe().split(" ", 1)[1]
            steps.append(Step("rule+", agent, (f"+ rule {said}",), {"rule": rule}))
    return steps


def _limit_steps(agent: str, have: Sequence[LimitRule], want: Sequence[LimitRule]) -> list[Step]:
    before = {r.action: r for r in have}
    after = {r.action: r for r in want}
    steps = []
    for action, rule in after.items():
        old = before.get(action)
        if old == rule:
            continue
        sign = "+" if old is None else "~"
        said = f"{sign} limits {agent} {action}: {_limit_words(old, rule)}"
        steps.append(Step("limits", agent, (said,), {"rule": rule}))
    for action in before.keys() - after.keys():
        steps.append(Step("unlimit", agent, (f"- limits {agent} {action}",), {"action": action}))
    return steps


def _limit_words(old: LimitRule | None, new: LimitRule) -> str:
    parts = []
    for name in LIMIT_FIELDS:
        was = getattr(old, name) if old is not None else None
        now = getattr(new, name)
        if was != now:
            parts.append(
                f"{name} {now}"
                if was is None
                else f"{name} {was} → {'unset' if now is None else now}"
            )
    return ", ".join(parts)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"


# --- Applying --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply_policy` did (or, dry, would do), and new agents' keys (shown once)."""

    steps: tuple[Step, ...]
    keys: dict[str, str]
    dry_run: bool

    def diff(self) -> list[str]:
        return [line for step in self.steps for line in step.lines]


def apply_policy(
    changes: AdminChanges,
    actor: Actor,
    wanted: Policy,
    *,
    prune: bool = False,
    dry_run: bool = False,
    reason: str | None = None,
) -> Applied:
    """Make the store say what `wanted` says, in one transaction, or (dry) say how."""
    repo = changes.agents
    if dry_run:
        with changes.engine.connect() as conn:
            steps = plan(read_policy(conn, repo), wanted, prune)
        return Applied(tuple(steps), {}, dry_run=True)
    keys: dict[str, str] = {}
    step: Step | None = None
    try:
        with changes.batch(actor, reason) as batch:
            steps = plan(read_policy(batch.conn, repo), wanted, prune)
            now = utcnow()
            for step in steps:
                key = _run(step, batch, repo, now)
                if key is not None and step.agent is not None:
                    keys[step.agent] = key
            step = None
    except SQLAlchemyError as exc:  # the whole transaction, its records too, rolled back
        what = f"`{step.lines[0]}`" if step is not None else "the changes' audit records"
        raise ConfigError(
            f"the database refused {what} ({type(exc).__name__}: {_first_line(exc)}); "
            "nothing was changed"
        ) from exc
    return Applied(tuple(steps), keys, dry_run=False)


def _first_line(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0][:200]


def _run(step: Step, batch: Batch, repo: Agents, now: datetime) -> str | None:
    conn, name, data = batch.conn, step.agent, step.data
    if step.kind == "create":
        want: AgentPolicy = data["agent"]
        agent, key = repo.create(
            want.name, want.grants, expires_at=want.expires_at, note=want.note, conn=conn
        )
        batch.record("agents.create", None, agent_state(agent), whose=want.name, policy="apply")
        return key
    if step.kind == "rule+":
        rule: Rule = data["rule"]
        agent_id = repo.require(name, conn).id if name is not None else None
        added = insert_rule(conn, rule, agent_id, now)
        batch.record("rules.add", None, added.as_dict(), whose=name, policy="apply")
    elif step.kind == "rule-":
        delete_rule(conn, data["rule"].id)
        batch.record("rules.remove", data["rule"].as_dict(), None, whose=name, policy="apply")
    else:
        assert name is not None
        _run_for_agent(step, batch, repo, name)
    return None


def _run_for_agent(step: Step, batch: Batch, repo: Agents, name: str) -> None:
    _AGENT_STEPS[step.kind](step.data, batch, repo, name)


def _details(data: dict[str, Any], batch: Batch, repo: Agents, name: str) -> None:
    before = agent_state(repo.require(name, batch.conn))
    after = agent_state(repo.set_details(name, data["note"], data["expires_at"], batch.conn))
    batch.record("agents.update", before, after, whose=name, policy="apply")


def _switch(data: dict[str, Any], batch: Batch, repo: Agents, name: str) -> None:
    before = agent_state(repo.require(name, batch.conn))
    agent = repo.set_allow_unknown_parameters(name, data["allowed"], batch.conn)
    batch.record("agents.set", before, agent_state(agent), whose=name, policy="apply")


def _grants(data: dict[str, Any], batch: Batch, repo: Agents, name: str) -> None:
    before = repo.require(name, batch.conn).grants
    if data["remove"]:
        repo.remove_grants(name, data["remove"], batch.conn)
    after = repo.add_grants(name, data["add"], batch.conn).grants
    batch.record(
        "grants.change",
        {"grants": list(before)},
        {"grants": list(after)},
        whose=name,
        added=data["add"],
        removed=data["remove"],
        policy="apply",
    )


def _set_limits(data: dict[str, Any], batch: Batch, repo: Agents, name: str) -> None:
    rule: LimitRule = data["rule"]
    gone = delete_rules(batch.conn, name, rule.action)
    merge_rule(batch.conn, rule, time.time())
    before = rule_dict(gone[0]) if gone else None
    batch.record("limits.set", before, rule_dict(rule), whose=name, policy="apply")


def _clear_limits(data: dict[str, Any], batch: Batch, repo: Agents, name: str) -> None:
    gone = delete_rules(batch.conn, name, data["action"])
    batch.record("limits.clear", [rule_dict(r) for r in gone], None, whose=name, policy="apply")


def _revoke(data: dict[str, Any], batch: Batch, repo: Agents, name: str) -> None:
    before = agent_state(repo.require(name, batch.conn))
    after = agent_state(repo.revoke(name, batch.conn))
    batch.record("agents.revoke", before, after, whose=name, policy="apply")


_AGENT_STEPS: dict[str, Callable[[dict[str, Any], Batch, Agents, str], None]] = {
    "details": _details,
    "switch": _switch,
    "grants": _grants,
    "limits": _set_limits,
    "unlimit": _clear_limits,
    "revoke": _revoke,
}
