"""The sequence-loading flow Apollo's own assistant runs, through Bollard's two doors.

Search sequences, list the team's mailboxes (add_contact_ids needs one), create
the contacts, add them to the sequence, then read each contact's status there.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.harness import Bollard, mcp_session

pytestmark = pytest.mark.anyio
GRANTS = [
    "sequences.search",
    "email_accounts.list",
    "contacts.create",
    "sequences.add_contacts",
    "contacts.get",
]


def prospects(bollard: Bollard, skip: int) -> list[dict[str, Any]]:
    verified = [p for p in bollard.sandbox.people.people if p.email_status == "verified"]
    return [
        {"first_name": p.first_name, "last_name": p.last_name, "email": p.email}
        for p in verified[skip : skip + 2]
    ]


def check_loaded(contacts: list[dict[str, Any]], sequence_id: str, mailbox: str) -> None:
    for contact in contacts:
        (status,) = contact["contact_campaign_statuses"]
        assert (status["emailer_campaign_id"], status["status"]) == (sequence_id, "active")
        assert status["send_email_from_email_account_id"] == mailbox


async def test_sequence_loading_works_through_the_rest_door(bollard: Bollard) -> None:
    _, key = bollard.agents.create("sdr", GRANTS)
    headers = {"X-Api-Key": key}
    async with httpx.AsyncClient(base_url=bollard.url, headers=headers, timeout=10) as api:
        found = await api.post("/api/v1/emailer_campaigns/search", params={"q_name": "VP Sales"})
        (sequence,) = found.json()["emailer_campaigns"]
        mailboxes = (await api.get("/api/v1/email_accounts")).json()["email_accounts"]
        mailbox = next(m["id"] for m in mailboxes if m["default"])
        ids = []
        for person in prospects(bollard, 0):
            made = await api.post("/api/v1/contacts", json=person)
            ids.append(made.json()["contact"]["id"])
        added = await api.post(
            f"/api/v1/emailer_campaigns/{sequence['id']}/add_contact_ids",
            params=[("emailer_campaign_id", sequence["id"]),
                    ("send_email_from_email_account_id", mailbox)]
            + [("contact_ids[]", i) for i in ids],
        )  # fmt: skip
        read = [(await api.get(f"/api/v1/contacts/{i}")).json()["contact"] for i in ids]
    assert added.status_code == 200, added.text
    assert added.json()["skipped_contact_ids"] == {}
    check_loaded(read, sequence["id"], mailbox)


async def test_sequence_loading_works_through_the_mcp_door(bollard: Bollard) -> None:
    _, key = bollard.agents.create("sdr", GRANTS)
    async with mcp_session(bollard.url, key) as session:
        found = await session.call_tool("apollo_emailer_campaigns_search", {"q_name": "VP Sales"})
        assert isinstance(found.structured_content, dict)
        (sequence,) = found.structured_content["emailer_campaigns"]
        listed = await session.call_tool("apollo_email_accounts_index", {})
        assert isinstance(listed.structured_content, dict)
        mailbox = next(m["id"] for m in listed.structured_content["email_accounts"] if m["default"])
        ids = []
        for person in prospects(bollard, 2):
            made = await session.call_tool("apollo_contacts_create", person)
            assert isinstance(made.structured_content, dict)
            ids.append(made.structured_content["contact"]["id"])
        added = await session.call_tool(
            "apollo_emailer_campaigns_add_contact_ids",
            {"sequence_id": sequence["id"], "emailer_campaign_id": sequence["id"],
             "contact_ids": ids, "send_email_from_email_account_id": mailbox},
        )  # fmt: skip
        read = []
        for contact_id in ids:
            shown = await session.call_tool("apollo_contacts_show", {"contact_id": contact_id})
            assert isinstance(shown.structured_content, dict)
            read.append(shown.structured_content["contact"])
    assert not added.is_error
    assert isinstance(added.structured_content, dict)
    assert added.structured_content["skipped_contact_ids"] == {}
    check_loaded(read, sequence["id"], mailbox)
