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
from tests.harness import Bollard, StartBollard, clear_of_boundary, mcp_session

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


SEARCH = ("/api/v1/mixed_people/api_search", "apollo_mixed_people_api_search")
SEQUENCES = ("/api/v1/emailer_campaigns/search", "apollo_emailer_campaigns_search")

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
            result = await session.call_tool(scenario.tool, scenario.arguments)
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
