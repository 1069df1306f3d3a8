"""A held call through the REST door: held, approved, read; denied; expired; changed
arguments; replay from the record. SQLite and PostgreSQL; the sandbox counts sends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.approvals.conftest import (
    APPROVER,
    Bollard,
    Clock,
    Enrolment,
    StartBollard,
    add_rule,
    approvals,
    enrolment,
    enrolments,
)


def _held(bollard: Bollard, key: str, enrol: Enrolment, which: int = 0) -> dict[str, Any]:
    with bollard.client(key) as client:
        reply = client.post(enrol.path, json=enrol.body(which))
    assert reply.status_code == 202, reply.text
    info: dict[str, Any] = reply.json()["bollard"]
    assert reply.headers["location"] == info["status_url"]
    return info


def _poll(bollard: Bollard, key: str, info: dict[str, Any]) -> httpx.Response:
    with bollard.client(key) as client:
        return client.get(info["status_url"])


def _setup(
    start_bollard: StartBollard, database_url: str, clock: Clock | None = None
) -> tuple[Bollard, str, Enrolment]:
    bollard = start_bollard(database_url, clock=clock)
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    return bollard, key, enrolment(bollard)


def test_a_held_call_is_sent_once_approved_and_the_agent_reads_apollos_answer(
    start_bollard: StartBollard, database_url: str
) -> None:
    bollard, key, enrol = _setup(start_bollard, database_url)
    info = _held(bollard, key, enrol)
    assert info["status"] == "pending"
    assert info["approval_id"].startswith("apr_")
    assert info["reason"] == "a person checks"
    pending = _poll(bollard, key, info)
    assert pending.status_code == 202
    assert pending.json()["bollard"]["status"] == "pending"
    assert enrolments(bollard) == 0

    approvals(bollard).approve(info["approval_id"], APPROVER, "checked the list")
    answer = _poll(bollard, key, info)
    assert answer.status_code == 200, answer.text
    assert answer.json()["skipped_contact_ids"] == {}
    assert enrolments(bollard) == 1
    again = _poll(bollard, key, info)  # answered from the record: nothing sent again
    assert (again.status_code, again.json()) == (200, answer.json())
    with bollard.client(key) as client:  # the same call sent again: the recorded answer
        replay = client.post(enrol.path, json=enrol.body())
    assert (replay.status_code, replay.json()) == (200, answer.json())
    assert enrolments(bollard) == 1
