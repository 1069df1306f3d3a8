"""A held call through the MCP door: the tool result says it is held and what to do;
`bollard_approval_status` is listed only for agents with an approve rule and answers
as the REST status URL does."""

from __future__ import annotations

import pytest

from tests.approvals.conftest import (
    APPROVER,
    Bollard,
    add_rule,
    approvals,
    enrolment,
    enrolments,
)
from tests.harness import mcp_session, text

STATUS = "bollard_approval_status"
TOOL = "apollo_emailer_campaigns_add_contact_ids"


@pytest.mark.anyio
async def test_a_held_tool_call_is_sent_once_approved_through_the_status_tool(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    _, plain = bollard.agents.create("plain", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(bollard)
    args = {"sequence_id": enrol.sequence, **enrol.body()}
    async with mcp_session(bollard.url, plain) as session:
        assert STATUS not in [t.name for t in (await session.list_tools()).tools]
    async with mcp_session(bollard.url, key) as session:
        assert STATUS in [t.name for t in (await session.list_tools()).tools]
        held = await session.call_tool(TOOL, args)
        assert not held.is_error
        assert "held for a person's approval (a person checks)" in text(held)
        assert held.structured_content is not None
        approval_id = held.structured_content["bollard"]["approval_id"]
        assert f"{STATUS} with approval_id {approval_id}" in text(held)
        pending = await session.call_tool(STATUS, {"approval_id": approval_id})
        assert pending.structured_content is not None
        assert pending.structured_content["bollard"]["status"] == "pending"
        assert enrolments(bollard) == 0
        approvals(bollard).approve(approval_id, APPROVER)
        sent = await session.call_tool(STATUS, {"approval_id": approval_id})
        assert not sent.is_error, text(sent)
        assert sent.structured_content is not None
        assert sent.structured_content["skipped_contact_ids"] == {}
    async with mcp_session(bollard.url, plain) as session:
        stranger = await session.call_tool(STATUS, {"approval_id": approval_id})
        assert stranger.is_error
        assert "APPROVAL_NOT_FOUND" in text(stranger)
    assert enrolments(bollard) == 1
