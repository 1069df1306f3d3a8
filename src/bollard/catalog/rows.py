"""The catalog as rows and JSON-able dicts, for the CLI, /reference and its JSON.

Pure: values in, plain dicts, lists, strings and numbers out, so every door
that shows the reference guide shows the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bollard.catalog.model import Action, Claim, Credits, Disagreement, Guide, Paging, Param, Rule

# How the reference guide marks where a row comes from.
ORIGIN_LABELS = {"seed": "seed", "openapi": "Apollo's document"}
# How it names the source of a claim: the seed by name, Apollo's pages by address.
SEED_SOURCE = "the seed (the user's reference guide)"


def credits_text(credits: Credits) -> str:
    """A short human cost line, e.g. '1 per record, +8 phone reveal, + waterfall'."""
    if credits.kind == "none":
        return "free"
    if credits.kind == "plan":
        return "per plan"
    unit = "page" if credits.kind == "per_page" else "record"
    parts = [f"{credits.base} per {unit}"]
    if credits.email_reveal:
        parts.append(f"+{credits.email_reveal} email reveal")
    if credits.phone_reveal:
        parts.append(f"+{credits.phone_reveal} phone reveal")
    if credits.waterfall:
        parts.append("+ waterfall")
    return ", ".join(parts)


def limits_text(action: Action) -> str:
    """Paging and bulk limits in one line, or 'none'."""
    parts = []
    if action.paging is not None:
        p = action.paging
        parts.append(
            f"per_page ≤ {p.per_page_max}, page ≤ {p.page_max}, ≤ {p.records_max:,} records"
        )
    if action.bulk_max is not None:
        parts.append(f"≤ {action.bulk_max} records per call")
    return "; ".join(parts) or "none"


def action_row(action: Action) -> dict[str, Any]:
    """One line of the reference table."""
    return {
        "method": action.method,
        "path": action.full_path,
        "id": action.id,
        "resource": action.resource,
        "access": action.access,
        "master_key": action.master_key,
        "credits": credits_text(action.credits),
        "destructive": action.destructive,
        "mcp_tool": action.mcp_tool,
        "summary": action.summary,
        "origin": action.origin,
        "from": ORIGIN_LABELS[action.origin],
        "tags": list(action.tags),
    }


def action_detail(action: Action) -> dict[str, Any]:
    """Everything the guide says about one action."""
    return {
        **action_row(action),
        "path_params": list(action.path_params),
        "key_scope": action.key_scope,
        "oauth_scope": action.oauth_scope,
        "acts_on": action.acts_on,
        "notes": action.notes,
        "credit_cost": credits_dict(action.credits),
        "paging": paging_dict(action.paging),
        "bulk_max": action.bulk_max,
        "limits": limits_text(action),
        "version": action.version,
        "rate_limit": action.rate_limit,
        "webhook": action.webhook,
        "source": action.source,
        "budget_credits": credits_text(action.budget_credits),
        "disagreements": [disagreement_dict(d) for d in action.disagreements],
        "params": [param_dict(p) for p in action.params],
        "rules": [rule_dict(r) for r in action.rules],
    }


def credits_dict(credits: Credits) -> dict[str, Any]:
    """The credit cost, field by field, with its short text."""
    return {
        "kind": credits.kind,
        "base": credits.base,
        "email_reveal": credits.email_reveal,
        "phone_reveal": credits.phone_reveal,
        "waterfall": credits.waterfall,
        "note": credits.note,
        "text": credits_text(credits),
    }


def claim_source(claim: Claim) -> str:
    """Where a claim comes from, as the guide names it."""
    return SEED_SOURCE if claim.source == "seed" else claim.source


def disagreement_dict(d: Disagreement) -> dict[str, Any]:
    """One disputed field with every claim and its source; `highest` for a count."""
    return {
        "field": d.field,
        "topic": d.topic,
        "highest": d.highest,
        "claims": [{"value": c.value, "says": c.says, "source": claim_source(c)} for c in d.claims],
    }


def disagreements_list(actions: Iterable[Action]) -> list[dict[str, Any]]:
    """Every disputed field of every action, each naming its action."""
    return [
        {"action": a.id, "path": a.full_path, **disagreement_dict(d)}
        for a in actions
        for d in a.disagreements
    ]


def paging_dict(paging: Paging | None) -> dict[str, int] | None:
    """Paging limits, or None for an action that does not page."""
    if paging is None:
        return None
    return {
        "per_page_max": paging.per_page_max,
        "page_max": paging.page_max,
        "records_max": paging.records_max,
    }


def param_dict(param: Param) -> dict[str, Any]:
    """One parameter, with its nested properties."""
    return {
        "name": param.name,
        "type": param.type,
        "in": param.location,
        "required": param.required,
        "items": param.items,
        "enum": list(param.enum),
        "minimum": param.minimum,
        "maximum": param.maximum,
        "max_items": param.max_items,
        "default": param.default,
        "description": param.description,
        "properties": [param_dict(p) for p in param.properties],
    }


def rule_dict(rule: Rule) -> dict[str, Any]:
    """One cross-parameter rule."""
    return {
        "kind": rule.kind,
        "when": rule.when,
        "fields": list(rule.fields),
        "message": rule.message,
    }


def guide_dict(guide: Guide) -> dict[str, Any]:
    """The general part of the guide: sections, areas and status codes."""
    return {
        "title": guide.title,
        "intro": guide.intro,
        "sections": [{"id": s.id, "title": s.title, "body": s.body} for s in guide.sections],
        "areas": [
            {"resource": a.resource, "title": a.title, "summary": a.summary} for a in guide.areas
        ],
        "status_codes": [
            {"status": c.status, "name": c.name, "meaning": c.meaning, "what_to_do": c.what_to_do}
            for c in guide.status_codes
        ],
    }


def filter_actions(
    actions: Iterable[Action],
    *,
    method: str | None = None,
    access: str | None = None,
    master_key: bool | None = None,
    resource: str | None = None,
    search: str | None = None,
    tag: str | None = None,
    origin: str | None = None,
) -> list[Action]:
    """The actions passing every filter given; `search` matches any text the guide shows
    for an action: path, id, MCP tool name, summary, notes, parameter names and descriptions."""
    needle = search.casefold() if search else None
    return [
        a
        for a in actions
        if (method is None or a.method == method.upper())
        and (access is None or a.access == access)
        and (master_key is None or a.master_key == master_key)
        and (resource is None or a.resource == resource)
        and (tag is None or tag in a.tags)
        and (origin is None or a.origin == origin)
        and (needle is None or needle in searchable_text(a))
    ]


def searchable_text(action: Action) -> str:
    """Everything a search looks in, folded for a case-blind match."""
    params = [f"{p.name}\n{p.description}" for p in _all_params(action.params)]
    words = [action.full_path, action.id, action.mcp_tool, action.summary, action.notes, *params]
    return "\n".join(words).casefold()


def _all_params(params: Iterable[Param]) -> Iterable[Param]:
    for param in params:
        yield param
        yield from _all_params(param.properties)
