"""Exactly once on SQLite too: status-URL polls and re-sends of the same approved call at
the same moment, on one server; the sandbox counts the sends."""

from __future__ import annotations

import asyncio

import httpx

from tests.approvals.conftest import (
    APPROVER,
    Bollard,
    Enrolment,
    add_rule,
    approvals,
    enrolment,
    enrolments,
)

AT_ONCE = 12


async def _race(bollard: Bollard, key: str, enrol: Enrolment, status_url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=bollard.url, headers={"X-Api-Key": key}) as client:
        calls = [
            client.get(status_url) if i % 2 else client.post(enrol.path, json=enrol.body())
            for i in range(AT_ONCE)
        ]
        return [r.status_code for r in await asyncio.gather(*calls)]


def test_polls_and_resends_of_an_approved_call_at_once_send_it_once(bollard: Bollard) -> None:
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve")
    enrol = enrolment(bollard)
    with bollard.client(key) as client:
        held = client.post(enrol.path, json=enrol.body()).json()["bollard"]
    approvals(bollard).approve(held["approval_id"], APPROVER)

    statuses = asyncio.run(_race(bollard, key, enrol, held["status_url"]))

    assert enrolments(bollard) == 1
    assert set(statuses) <= {200, 202}, statuses
