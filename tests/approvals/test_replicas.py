"""Exactly once: two replicas on one PostgreSQL, each polled at the same moment for the
same approved call, while the sandbox counts what reached it."""

from __future__ import annotations

import asyncio

import httpx

from tests.approvals.conftest import (
    APPROVER,
    StartBollard,
    add_rule,
    approvals,
    enrolment,
    enrolments,
)

POLLS = 12


async def _polls(urls: list[str], key: str, path: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(headers={"X-Api-Key": key}, timeout=10) as client:
        return await asyncio.gather(*(client.get(urls[i % 2] + path) for i in range(POLLS)))


def test_an_approval_polled_at_once_through_two_replicas_is_sent_exactly_once(
    postgres_url: str, start_bollard: StartBollard
) -> None:  # postgres_url first: its schema is dropped after the servers stop
    one = start_bollard(postgres_url)
    two = start_bollard(postgres_url)
    _, key = one.agents.create("sdr", ["sequences:*"])
    add_rule(one, "sdr", "sequences.add_contacts", "approve")
    enrol = enrolment(one)
    with one.client(key) as client:
        held = client.post(enrol.path, json=enrol.body()).json()["bollard"]
    approvals(two).approve(held["approval_id"], APPROVER)

    answers = asyncio.run(_polls([one.url, two.url], key, held["status_url"]))

    assert enrolments(one) == 1
    statuses = sorted({a.status_code for a in answers})
    assert statuses in ([200], [200, 202]), [a.text for a in answers]
    bodies = {a.text for a in answers if a.status_code == 200}
    assert len(bodies) == 1
    waiting = [a.json()["bollard"]["status"] for a in answers if a.status_code == 202]
    assert set(waiting) <= {"executing"}
