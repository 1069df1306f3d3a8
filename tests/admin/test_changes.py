"""Each console form and each admin API change writes one admin record naming who made it
(the signed-in admin, or the admin token), from which door, and the state before and after."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.harness import ADMIN_TOKEN, Bollard, Console


def admin_records(bollard: Bollard) -> list[dict[str, Any]]:
    rows = [r for r in bollard.records() if r["kind"] == "admin"]
    return [{**r, "data": json.loads(r["data"])} for r in rows]


def test_each_console_form_is_recorded_with_the_signed_in_admin_and_before_after(
    console: Console,
) -> None:
    client, csrf = console.client, console.csrf
    pages = [
        client.post(
            "/admin/agents",
            data={"csrf": csrf, "name": "sdr", "grants": "people:read", "expires_in": "30d"},
        ),
        client.post(
            "/admin/agents/sdr/grants",
            data={"csrf": csrf, "grant": ["people.search", "contacts.create"]},
        ),
        client.post("/admin/agents/sdr/rotate", data={"csrf": csrf, "grace": "1h"}),
        client.post("/admin/agents/sdr/revoke", data={"csrf": csrf}),
    ]
    assert [p.status_code for p in pages] == [200, 200, 200, 200]  # each after its redirect
    assert "Revoked" in pages[-1].text
    records = admin_records(console.bollard)
    assert [(r["action"], r["door"], r["agent"]) for r in records] == [
        ("agents.create", "console", "sdr"),
        ("grants.change", "console", "sdr"),
        ("agents.rotate", "console", "sdr"),
        ("agents.revoke", "console", "sdr"),
    ]
    assert {(r["data"]["by"], r["data"]["address"]) for r in records} == {("admin", "127.0.0.1")}
    create, regrant, rotate, revoke = (r["data"] for r in records)
    assert create["before"] is None
    assert create["after"]["grants"] == ["people:read"]
    assert create["after"]["expires_at"] is not None
    assert regrant["before"] == {"grants": ["people:read"]}
    assert regrant["after"] == {"grants": ["contacts.create", "people.search"]}
    assert len(rotate["before"]["keys"]) == 1
    assert len(rotate["after"]["keys"]) == 2
    assert (revoke["before"]["revoked_at"], revoke["after"]["revoked_at"] is not None) == (
        None,
        True,
    )


def test_revoking_twice_in_the_console_says_so_and_records_one_change(
    console: Console,
) -> None:
    console.bollard.agents.create("sdr", ["people:read"])
    first = console.client.post("/admin/agents/sdr/revoke", data={"csrf": console.csrf})
    second = console.client.post("/admin/agents/sdr/revoke", data={"csrf": console.csrf})
    assert "Revoked: its keys stop working now." in first.text
    assert "It was already revoked: no change." in second.text
    assert [r["action"] for r in admin_records(console.bollard)] == ["agents.revoke"]


def test_each_admin_api_change_is_recorded_with_the_token_and_before_after(
    admin: Bollard,
) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{admin.url}/admin/api", headers=headers, timeout=10) as api:
        answers = [
            api.post("/agents", json={"name": "sdr", "grants": ["people:read"]}),
            api.post("/agents/sdr/grants", json={"add": ["contacts:write"]}),
            api.post("/agents/sdr/rotate", json={"grace": "2h"}),
            api.post("/agents/sdr/revoke", json={"reason": "left the team"}),
            api.post("/agents/sdr/revoke"),
        ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 200]
    assert answers[2].json()["old_keys_until"] is not None
    assert [a.json()["already_revoked"] for a in answers[3:]] == [False, True]
    records = admin_records(admin)
    assert [(r["action"], r["door"]) for r in records] == [
        ("agents.create", "api"),
        ("grants.change", "api"),
        ("agents.rotate", "api"),
        ("agents.revoke", "api"),
    ]
    assert {r["data"]["by"] for r in records} == {"admin"}
    regrant = records[1]["data"]
    assert (regrant["before"], regrant["after"]) == (
        {"grants": ["people:read"]},
        {"grants": ["contacts:write", "people:read"]},
    )
    assert regrant["added"] == ["contacts:write"]
    assert [r["data"].get("reason") for r in records] == [None, None, None, "left the team"]


def test_the_api_refuses_an_unknown_agent_with_the_nearest_names(admin: Bollard) -> None:
    admin.agents.create("research", [])
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"{admin.url}/admin/api", headers=headers, timeout=10) as api:
        answers = [
            api.post("/agents/reserch/revoke"),
            api.post("/agents/reserch/rotate"),
            api.post("/agents/reserch/grants", json={"add": ["people:read"]}),
            api.get("/agents/reserch"),
        ]
    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == "no agent named 'reserch'; did you mean research?"
    assert admin_records(admin) == []
