"""Every action of the catalog, through both doors, against the sandbox.

For each of the 80 actions: an agent granted it gets the sandbox's answer on the
REST door and on the MCP door; an agent not granted it (granted only the other
access, `*:read` for a write and `*:write` for a read) gets 403 on both, and the
sandbox sees nothing. The arguments come from state made in the sandbox first.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from bollard import resolver
from bollard.catalog import Action, load_catalog
from bollard.sandbox import Sandbox
from tests.harness import MASTER_KEY, Bollard, mcp_session

pytestmark = pytest.mark.anyio
DUE = "2027-01-05T10:00:00Z"
Ids = dict[str, str]


async def _made(sb: httpx.AsyncClient, method: str, path: str, body: Any, key: str) -> str:
    answer = await sb.request(method, f"/api/v1{path}", json=body)
    assert answer.status_code == 200, (path, answer.text)
    found: str = answer.json()[key]["id"] if key else answer.json()["id"]
    return found


async def team_state(box: Sandbox, sb: httpx.AsyncClient) -> Ids:
    """Records every action can name: made through the sandbox's own API, master key."""
    person, org = box.people.people[0], box.organizations.orgs[0]
    ids: Ids = {
        "email": person.email or "",
        "person": person.id,
        "organization": org.id,
        "domain": org.domain,
        "user": box.team.owner_id,
        "contact_stage": next(iter(box.team.contact_stages)),
        "email_account": next(iter(box.workspace.email_accounts)),
        "conversation": next(iter(box.workspace.conversations)),
        "field": next(iter(box.workspace.custom_fields)),
        "sequence": next(iter(box.team.sequences)),
    }
    ids["account"] = await _made(sb, "POST", "/accounts", {"name": "Walk Co"}, "account")
    contact = {"first_name": "Wanda", "last_name": "Walker", "account_id": ids["account"]}
    ids["contact"] = await _made(sb, "POST", "/contacts", contact, "contact")
    deal = {"name": "Walk deal", "account_id": ids["account"]}
    ids["deal"] = await _made(sb, "POST", "/opportunities", deal, "opportunity")
    task = {"user_id": ids["user"], "contact_id": ids["contact"], "type": "call"}
    task |= {"status": "scheduled", "due_at": DUE}
    ids["task"] = await _made(sb, "POST", "/tasks", task, "task")
    ids["label"] = await _made(
        sb, "POST", "/labels", {"name": "Walk", "modality": "contacts"}, "label"
    )
    ids["email_id"] = await _made(
        sb, "POST", "/emailer_messages", {"contact_id": ids["contact"]}, "emailer_message"
    )
    ids["call"] = await _made(
        sb, "POST", "/phone_calls", {"contact_id": ids["contact"]}, "phone_call"
    )
    export = {
        "start_time": "2025-01-01T00:00:00Z",
        "end_time": "2027-01-01T00:00:00Z",
        "email": "o@x.io",
    }
    ids["export"] = await _made(sb, "POST", "/conversations/export", export, "")
    return ids


async def door_state(sb: httpx.AsyncClient, ids: Ids) -> Ids:
    """Fresh records for the actions a door uses up: a draft to send, sequences to switch."""
    step = {"emailer_steps": [{"type": "auto_email", "wait_time": 1}]}
    made = dict(ids)
    for name in ("inactive", "to_stop", "to_archive"):
        made[name] = await _made(
            sb, "POST", "/sequences", {"name": name, **step}, "emailer_campaign"
        )
    answer = await sb.post(f"/api/v1/emailer_campaigns/{made['to_stop']}/approve")
    assert answer.status_code == 200
    draft = {"contact_id": ids["contact"], "subject": "Hello"}
    made["draft"] = await _made(sb, "POST", "/emailer_messages", draft, "emailer_message")
    return made


def arguments(action_id: str, ids: Ids) -> dict[str, Any]:
    """Arguments that make the action do its job on the state above."""
    contact, user, seq = ids["contact"], ids["user"], ids["sequence"]
    task = {"user_id": user, "type": "call", "status": "scheduled", "due_at": DUE}
    report = {
        "metrics": [
            {
                "value": "unique_delivered",
                "smart_datetime_reference": "created_at",
                "smart_user_id_reference": "user_id",
            }
        ],
        "group_by": [{"name": "emailer_campaign_id"}],
        "sorts": [{"asc": True}],
        "filters": {"smart_user_id": ["current"]},
        "group_by_totals_selected": False,
        "pivot_group_by_totals_selected": False,
        "date_ranges": [{"modality": "last_30_days"}],
    }
    table: dict[str, dict[str, Any]] = {
        "people.search": {"person_titles": ["vp of sales"], "per_page": 2},
        "people.enrich": {"email": ids["email"]},
        "people.bulk_enrich": {"details": [{"email": ids["email"]}]},
        "organizations.search": {"per_page": 2},
        "organizations.enrich": {"domain": ids["domain"]},
        "contacts.create": {"first_name": "Walt", "last_name": "Walk", "title": "CTO"},
        "contacts.update": {"contact_id": contact, "title": "VP Sales"},
        "contacts.search": {"q_keywords": "walker"},
        "accounts.create": {"name": "Another Walk Co"},
        "accounts.update": {"account_id": ids["account"], "phone": "555 0100"},
        "accounts.search": {"q_organization_name": "walk"},
        "sequences.search": {"q_name": "outbound"},
        "sequences.add_contacts": {
            "sequence_id": seq,
            "emailer_campaign_id": seq,
            "contact_ids": [contact],
            "send_email_from_email_account_id": ids["email_account"],
        },
        "tasks.create": {**task, "contact_id": contact},
        "tasks.search": {"per_page": 5},
        "deals.create": {"name": "Another deal"},
        "deals.update": {"opportunity_id": ids["deal"], "amount": "1000"},
        "deals.list": {},
        "users.list": {},
        "usage.stats": {},
        "people.get": {"id": ids["person"]},
        "people.webhook_result": {"request_id": ids["request_id"]},
        "organizations.bulk_enrich": {"domains": [ids["domain"]]},
        "organizations.job_postings": {"organization_id": ids["organization"]},
        "organizations.get": {"id": ids["organization"]},
        "accounts.bulk_create": {"accounts": [{"name": "Bulk Co"}]},
        "accounts.bulk_update": {"account_ids": [ids["account"]], "name": "Walk Co (renamed)"},
        "accounts.update_owners": {"account_ids": [ids["account"]], "owner_id": user},
        "accounts.list_stages": {},
        "accounts.get": {"id": ids["account"]},
        "contacts.get": {"contact_id": contact},
        "contacts.deals": {"contact_id": contact},
        "contacts.update_stages": {
            "contact_ids": [contact],
            "contact_stage_id": ids["contact_stage"],
        },
        "contacts.update_owners": {"contact_ids": [contact], "owner_id": user},
        "contacts.bulk_create": {"contacts": [{"first_name": "Bo", "last_name": "Bulk"}]},
        "contacts.bulk_update": {"contact_ids": [contact], "title": "CRO"},
        "contacts.list_stages": {},
        "deals.get": {"opportunity_id": ids["deal"]},
        "deals.list_stages": {},
        "sequences.list_schedules": {},
        "sequences.remove_contacts": {
            "emailer_campaign_ids": [seq],
            "contact_ids": [contact],
            "mode": "stop",
        },
        "sequences.create": {"name": "Walk sequence"},
        "sequences.update": {"id": ids["inactive"], "max_emails_per_day": 20},
        "sequences.activity": {"contact_id": contact},
        "sequences.activate": {"sequence_id": ids["inactive"]},
        "sequences.deactivate": {"sequence_id": ids["to_stop"]},
        "sequences.archive": {"sequence_id": ids["to_archive"]},
        "tasks.bulk_create": {**task, "contact_ids": [contact]},
        "tasks.get": {"id": ids["task"]},
        "tasks.update": {"id": ids["task"], "note": "moved"},
        "tasks.complete": {"id": ids["task"], "note": "done"},
        "tasks.skip": {"id": ids["task"]},
        "emails.create_draft": {"contact_id": contact, "subject": "Hi", "body_html": "<p>Hi</p>"},
        "emails.send_now": {"id": ids["draft"]},
        "emails.get_content": {"ids": [ids["email_id"]]},
        "emails.send_status": {"id": ids["email_id"]},
        "emails.stats": {"id": ids["email_id"]},
        "emails.search": {"per_page": 5},
        "users.profile": {"include_credit_usage": True},
        "email_accounts.list": {},
        "lists.list": {},
        "lists.create": {"name": f"List {ids['inactive']}", "modality": "contacts"},
        "lists.update": {"id": ids["label"], "name": f"Walk {ids['inactive']}"},
        "lists.add_records": {
            "entity_ids": [contact],
            "label_names": ["Hot"],
            "modality": "contacts",
        },
        "lists.remove_records": {
            "entity_ids": [contact],
            "label_names": ["Hot"],
            "modality": "contacts",
        },
        "fields.list": {"source": "custom"},
        "fields.create": {"label": "Walk field", "modality": "contact", "type": "string"},
        "fields.update": {"fields": [{"id": ids["field"], "label": "Renamed field"}]},
        "fields.list_custom": {},
        "calls.search": {},
        "calls.create": {"contact_id": contact, "duration": 60},
        "calls.update": {"id": ids["call"], "note": "left a voicemail"},
        "usage.credits": {},
        "news.search": {"organization_ids": [ids["organization"]]},
        "notes.list": {"conversation_id": ids["conversation"]},
        "reports.sync": report,
        "conversations.search": {},
        "conversations.get": {"id": ids["conversation"]},
        "conversations.export": {
            "start_time": "2025-01-01T00:00:00Z",
            "end_time": "2027-01-01T00:00:00Z",
            "email": "o@x.io",
        },
        "conversations.get_export": {"id": ids["export"]},
    }
    return table[action_id]


def as_rest(action: Action, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Apollo's own encoding: the document's query parameters as `name[]` in the query
    string, its body parameters as JSON; path parameters in the path."""
    path = action.render_path({k: str(args[k]) for k in action.path_params})
    rest = {k: v for k, v in args.items() if k not in action.path_params}
    query = {k: v for k, v in rest.items() if (p := action.param(k)) and p.location == "query"}
    body = {k: v for k, v in rest.items() if k not in query}
    sent: dict[str, Any] = {"params": list(resolver.to_query(query))}
    if body or action.method != "GET":
        sent["content"] = json.dumps(body)
        sent["headers"] = {"content-type": "application/json"}
    return "/api/v1" + path, sent


def answered_by_the_sandbox(action: Action, status: int, body: Any) -> bool:
    """200, or (for the poll, whose webhook may still be on its way) Apollo's 'pending'."""
    if action.id == "people.webhook_result" and status == 404:
        return isinstance(body, dict) and body.get("error_code") == "result_pending"
    return status == 200


Call = Callable[[Action, dict[str, Any]], Awaitable[tuple[int, Any]]]


async def walk(box: Sandbox, ids: Ids, granted: Call, other: Call) -> list[str]:
    """Each action by its granted agent, then by the other one; what went wrong."""
    wrong: list[str] = []
    for action in load_catalog().actions:
        args = arguments(action.id, ids)
        before = len(box.calls)
        status, body = await granted(action, args)
        reached = [c.action_id for c in box.calls[before:]]
        if not answered_by_the_sandbox(action, status, body) or reached != [action.id]:
            wrong.append(
                f"{action.id}: granted got {status} {str(body)[:160]}, sandbox saw {reached}"
            )
        before = len(box.calls)
        status, body = await other(action, args)
        code = body.get("error_code") if isinstance(body, dict) else None
        if (status, code) != (403, "NOT_GRANTED") or len(box.calls) != before:
            wrong.append(f"{action.id}: not granted got {status} {code}")
    return wrong


async def test_every_action_answers_the_agent_granted_it_and_refuses_another_on_both_doors(
    bollard: Bollard, sandbox: tuple[Sandbox, str]
) -> None:
    box, sandbox_url = sandbox
    everything = [a.id for a in load_catalog().actions]
    _, key = bollard.agents.create("walker", everything)
    _, reader = bollard.agents.create("reader", ["*:read"])
    _, writer = bollard.agents.create("writer", ["*:write"])
    headers = {"X-Api-Key": MASTER_KEY}
    async with (
        httpx.AsyncClient(base_url=sandbox_url, headers=headers, timeout=10) as sb,
        httpx.AsyncClient(base_url=bollard.url, timeout=10) as client,
    ):
        ids = await team_state(box, sb)
        reveal = {
            "email": ids["email"],
            "reveal_phone_number": True,
            "webhook_url": "http://127.0.0.1:9/phones",
        }
        enriched = await client.post(
            "/api/v1/people/match", json=reveal, headers={"X-Api-Key": key}
        )
        ids["request_id"] = str(enriched.json()["request_id"])

        def rest(agent_key: str) -> Call:
            async def call(action: Action, args: dict[str, Any]) -> tuple[int, Any]:
                path, sent = as_rest(action, args)
                sent.setdefault("headers", {})["X-Api-Key"] = agent_key
                answer = await client.request(action.method, path, **sent)
                return answer.status_code, answer.json()

            return call

        def other_rest() -> Call:
            async def call(action: Action, args: dict[str, Any]) -> tuple[int, Any]:
                return await rest(writer if action.access == "read" else reader)(action, args)

            return call

        wrong = await walk(box, await door_state(sb, ids), rest(key), other_rest())
        assert wrong == [], "REST door:\n" + "\n".join(wrong)

        door_ids = await door_state(sb, ids)
        async with (
            mcp_session(bollard.url, key) as granted,
            mcp_session(bollard.url, reader) as reads,
            mcp_session(bollard.url, writer) as writes,
        ):

            async def tool(action: Action, args: dict[str, Any]) -> tuple[int, Any]:
                result = await granted.call_tool(action.mcp_tool, args)
                body = result.structured_content
                if result.is_error and isinstance(body, dict) and "error_code" in body:
                    status = 404 if body.get("error_code") == "result_pending" else 403
                    return (403 if body.get("error_code") == "NOT_GRANTED" else status), body
                return (500 if result.is_error else 200), body

            async def other_tool(action: Action, args: dict[str, Any]) -> tuple[int, Any]:
                session = writes if action.access == "read" else reads
                result = await session.call_tool(action.mcp_tool, args)
                body = result.structured_content
                denied = result.is_error and isinstance(body, dict)
                return (403 if denied else 200), body

            wrong = await walk(box, door_ids, tool, other_tool)
        assert wrong == [], "MCP door:\n" + "\n".join(wrong)
