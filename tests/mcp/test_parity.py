"""One policy, both doors: the same scenarios through REST and MCP give the same decisions.

Each row runs once through the REST pass-through and once through an MCP
session, as the same agent against the same Bollard; the audit records must be
identical apart from the door (and what differs per call anyway: ids, times,
latency, Apollo's window counters). The rate-limited row gives the agent one
call a minute and spends it first, so both doors meet the same full window.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from mcp import MCPError

from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from tests.harness import Bollard, StartBollard, add_rule, clear_of_boundary, mcp_session

pytestmark = pytest.mark.anyio

PER_CALL = ("seq", "request_id", "ts_us", "door", "prev_hash", "hash", "mac")
PER_CALL_DATA = ("latency_ms", "rate", "response_bytes")


@dataclass(frozen=True)
class Scenario:
    name: str
    grants: tuple[str, ...]
    path: str
    tool: str
    arguments: dict[str, Any]
    error_code: str | None  # None: allowed and answered by Apollo
    revoke: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    per_minute: int | None = None
    rule: tuple[str, str] | None = None  # (selector, condition) of a deny rule
    path_args: dict[str, Any] = field(default_factory=dict)  # in the REST path; MCP args


SEARCH = ("/api/v1/mixed_people/api_search", "apollo_mixed_people_api_search")
SEQUENCES = ("/api/v1/emailer_campaigns/search", "apollo_emailer_campaigns_search")
ENRICH = ("/api/v1/people/match", "apollo_people_match")
BULK = ("/api/v1/people/bulk_match", "apollo_people_bulk_match")
ENROL = (
    "/api/v1/emailer_campaigns/seq_abc/add_contact_ids",
    "apollo_emailer_campaigns_add_contact_ids",
)
HOOK = "https://example.com/apollo/phones"
PHONE = ("people.enrich", "has(args.reveal_phone_number) && args.reveal_phone_number == true")
ONE_OF = ("sequences.add_contacts", '!(args.emailer_campaign_id in ["seq_abc", "seq_def"])')
CAP = ("people.search", "has(args.per_page) && args.per_page > 25")
SIZE = ("people.bulk_enrich", "has(args.details) && size(args.details) > 3")
CONTACTS = {"contact_ids": ["c1"], "send_email_from_email_account_id": "6095a710bd01d100a506d4ae"}


def _details(count: int) -> dict[str, Any]:
    return {"details": [{"email": f"p{i}@example.com"} for i in range(count)]}


def _conditions() -> list[Scenario]:
    """Each example condition of issue 18, once allowing and once denying, on both doors."""
    phone = {"reveal_phone_number": True, "webhook_url": HOOK}
    enrol = {**CONTACTS, "emailer_campaign_id": "seq_abc"}
    rows: list[tuple[tuple[str, str], tuple[str, str], dict[str, Any], dict[str, Any]]] = [
        (PHONE, ENRICH, {"email": "x@example.com"}, phone),
        (ONE_OF, ENROL, enrol, {"emailer_campaign_id": "seq_zzz"}),
        (CAP, SEARCH, {"per_page": 25}, {"per_page": 26}),
        (SIZE, BULK, _details(3), _details(4)),
    ]
    out = []
    for rule, (path, tool), passes, denied in rows:
        extra = {"sequence_id": "seq_abc"} if "seq_abc" in path else {}
        outcomes: list[tuple[str, dict[str, Any], str | None]] = [
            ("allowed", passes, None),
            ("denied", denied, "POLICY_DENIED"),
        ]
        for word, args, code in outcomes:
            given = {**passes, **args}
            name = f"{word}: {rule[1]}"
            out.append(
                Scenario(name, ("*:*",), path, tool, given, code, rule=rule, path_args=extra)
            )
    return out


SCENARIOS = [
    Scenario("granted", ("people:read",), *SEARCH, {"per_page": 2}, None),
    Scenario("not granted", ("contacts:write",), *SEARCH, {"per_page": 2}, "NOT_GRANTED"),
    Scenario("invalid arguments", ("people:read",), *SEARCH, {"per_page": 500}, "INVALID_REQUEST"),
    Scenario("revoked key", ("people:read",), *SEARCH, {"per_page": 2}, "INVALID_API_KEY", True),
    Scenario(
        "master-only without a master key",
        ("*:read",),
        *SEQUENCES,
        {},
        "MASTER_KEY_REQUIRED",
        settings={"apollo_master_key": None},
    ),
    Scenario(
        "rate-limited", ("people:read",), *SEARCH, {"per_page": 2}, "RATE_LIMITED", per_minute=1
    ),
    Scenario(
        "unknown parameter", ("people:read",), *SEARCH, {"titles": ["cto"]}, "UNKNOWN_PARAMETER"
    ),
    *_conditions(),
]


def comparable(
    records: list[dict[str, Any]], door: str, skip: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    out = []
    for record in (r for r in records if r["door"] == door and r["request_id"] not in skip):
        data = {k: v for k, v in json.loads(record["data"]).items() if k not in PER_CALL_DATA}
        for text in ("reason", "error"):  # the request record's and the outcome's
            if isinstance(data.get(text), str):
                # "resets in 28 s" and "in 27 s" a moment later: the same window (its
                # end, given as a time right after, must match exactly).
                data[text] = re.sub(r"resets in \d+ s", "resets in N s", data[text])
        out.append({**{k: v for k, v in record.items() if k not in PER_CALL}, "data": data})
    return out


def rest_call(bollard: Bollard, key: str, scenario: Scenario) -> str | None:
    with bollard.client(key) as client:
        reply = client.post(scenario.path, json=scenario.arguments)
    code = reply.json().get("error_code") if reply.status_code >= 400 else None
    return code if isinstance(code, str) else None


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_rest_and_mcp_make_the_same_decision_and_the_same_audit_record(
    start_bollard: StartBollard, scenario: Scenario
) -> None:
    bollard = start_bollard(**scenario.settings)
    _, key = bollard.agents.create("parity", list(scenario.grants))
    if scenario.rule is not None:
        add_rule(bollard, "parity", scenario.rule[0], when=scenario.rule[1], reason="ask RevOps")
    warmup: frozenset[str] = frozenset()
    if scenario.per_minute is not None:
        # Spend the minute's one call, then call through both doors, in ONE minute.
        await anyio.to_thread.run_sync(clear_of_boundary, 60, 10)
        set_rule(bollard.engine, LimitRule("parity", per_minute=scenario.per_minute), time.time())
        with bollard.client(key) as client:
            spent = client.post(scenario.path, json=scenario.arguments)
        assert spent.status_code == 200
        warmup = frozenset({spent.headers["x-request-id"]})
    async with mcp_session(bollard.url, key) as session:
        if scenario.revoke:
            bollard.agents.revoke("parity")
        rest_code = rest_call(bollard, key, scenario)
        try:
            result = await session.call_tool(
                scenario.tool, {**scenario.arguments, **scenario.path_args}
            )
        except MCPError:
            mcp_code: str | None = "INVALID_API_KEY"  # refused at HTTP: 401 + challenge
        else:
            content = result.structured_content or {}
            mcp_code = content.get("error_code") if result.is_error else None

    assert rest_code == mcp_code == scenario.error_code
    records = bollard.records()
    rest, mcp = comparable(records, "rest", warmup), comparable(records, "mcp")
    assert len(rest) == 2
    assert rest == mcp
