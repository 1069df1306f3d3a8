"""The admin API's policy endpoints: the rules (list, add, edit, remove) and the
policy file (export, apply). Their routes and roles are in api.py's route table."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bollard.admin.auth import Principal
from bollard.admin.changes import Changes, actor_for
from bollard.admin.problems import InvalidInput
from bollard.admin.requests import BODY_MAX_BYTES, engine_of, read_body
from bollard.errors import ConfigError
from bollard.policy import Rule
from bollard.policy_file import policy_json, rule_expiry
from bollard.rule_book import load_rules


class NewRule(BaseModel):
    """A policy rule to add: for one agent, or every agent when `agent` is null."""

    model_config = ConfigDict(extra="forbid")
    agent: str | None = Field(default=None, max_length=64, description="null: every agent")
    selector: str = Field(min_length=1, max_length=64, description="e.g. people.search")
    effect: Literal["deny", "hide", "approve"]
    when: str | None = Field(default=None, max_length=2000, description="a CEL condition")
    fields: list[str] = Field(default_factory=list, max_length=30)
    shadow: bool = False
    expires_after: str | None = Field(
        default=None,
        max_length=16,
        description="approve rules only: how long a held call waits for a person, e.g. 8h "
        "(a whole number of m, h, d or w; 1 minute to 30 days); null: 24h. "
        "Rules are listed with it in seconds",
    )
    reason: str | None = Field(
        default=None, max_length=500, description="told to the agent; kept in the record"
    )


class PolicyApply(BaseModel):
    """A policy file (as `bollard policy export` writes it) to apply, or to diff."""

    model_config = ConfigDict(extra="forbid")
    toml: str = Field(max_length=BODY_MAX_BYTES, description="the policy file's text")
    dry_run: bool = Field(default=True, description="only say what would change")
    prune: bool = Field(default=False, description="revoke live agents the file leaves out")
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in each change's audit record"
    )


class RuleRemoval(BaseModel):
    """Whose rule is removed (null: a team-wide rule), and why."""

    model_config = ConfigDict(extra="forbid")
    agent: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(
        default=None, max_length=500, description="why, kept in the audit record"
    )


async def list_rules(request: Request, principal: Principal) -> Response:
    def read() -> list[dict[str, Any]]:
        with engine_of(request).connect() as conn:
            return [r.as_dict() for r in load_rules(conn)]

    return JSONResponse({"rules": await run_in_threadpool(read)})


async def add_rule(request: Request, principal: Principal) -> Response:
    body = await read_body(request, NewRule)
    rule = _rule(0, body)
    added = await Changes.of(request).add_rule(rule, actor_for(request, principal.via))
    return JSONResponse(added.as_dict(), status_code=201)


async def edit_rule(request: Request, principal: Principal) -> Response:
    body = await read_body(request, NewRule)
    rule = _rule(request.path_params["rule_id"], body)
    edited = await Changes.of(request).edit_rule(rule, actor_for(request, principal.via))
    return JSONResponse(edited.as_dict())


def _rule(rule_id: int, body: NewRule) -> Rule:
    fields = tuple(f.strip() for f in body.fields)
    return Rule(
        rule_id,
        body.agent,
        body.selector.strip(),
        body.effect,
        body.reason or "",
        body.when,
        fields,
        body.shadow,
        _expiry(body),
    )


def _expiry(body: NewRule) -> int | None:
    try:
        return rule_expiry(body.expires_after, body.effect, "expires_after")
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None


async def export_policy(request: Request, principal: Principal) -> Response:
    policy, text = await Changes.of(request).export_policy()
    return JSONResponse({"toml": text, "policy": policy_json(policy)})


async def apply_policy(request: Request, principal: Principal) -> Response:
    body = await read_body(request, PolicyApply)
    done = await Changes.of(request).apply_policy(
        body.toml,
        actor_for(request, principal.via),
        dry_run=body.dry_run,
        prune=body.prune,
        reason=body.reason,
    )
    return JSONResponse({"dry_run": done.dry_run, "changes": done.diff(), "keys": done.keys})


async def remove_rule(request: Request, principal: Principal) -> Response:
    body = await read_body(request, RuleRemoval, empty_ok=True)
    gone = await Changes.of(request).remove_rule(
        body.agent,
        request.path_params["rule_id"],
        actor_for(request, principal.via),
        reason=body.reason,
    )
    return JSONResponse(gone.as_dict())
