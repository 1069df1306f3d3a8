"""Policy rules through the admin API: the same checks as the CLI, recorded, in force on
the agent's next call, and in the OpenAPI document."""

from __future__ import annotations

import json

import httpx

from tests.harness import StartBollard

TOKEN = "test-admin-token-policy-5d1e"
SEARCH = "/api/v1/mixed_people/api_search"


def test_rules_added_and_removed_through_the_admin_api(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url, admin_token=TOKEN)
    _, key = bollard.agents.create("bot", ["people:read"])
    admin = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=bollard.url, headers=admin, timeout=10) as api:
        typo = api.post(
            "/admin/api/rules",
            json={
                "agent": "bot",
                "selector": "people.search",
                "effect": "deny",
                "when": "args.per_pag > 25",
            },
        )
        assert typo.status_code == 422
        assert "did you mean per_page" in typo.json()["error"]
        added = api.post(
            "/admin/api/rules",
            json={
                "agent": "bot",
                "selector": "people.search",
                "effect": "deny",
                "when": "args.per_page > 25",
                "reason": "25 a page at most",
            },
        )
        assert added.status_code == 201, added.text
        rule = added.json()
        with bollard.client(key) as agent:
            assert agent.post(SEARCH, json={"per_page": 50}).status_code == 403
        assert [r["id"] for r in api.get("/admin/api/rules").json()["rules"]] == [rule["id"]]
        removed = api.post(f"/admin/api/rules/{rule['id']}/remove", json={"agent": "bot"})
        assert removed.status_code == 200, removed.text
        with bollard.client(key) as agent:
            assert agent.post(SEARCH, json={"per_page": 50}).status_code == 200
        paths = api.get("/admin/api/openapi.json").json()["paths"]
    assert {"/admin/api/rules", "/admin/api/rules/{rule_id}/remove"} <= paths.keys()
    changes = [r for r in bollard.records() if r["kind"] == "admin"]
    assert [r["action"] for r in changes[-2:]] == ["rules.add", "rules.remove"]
    assert json.loads(changes[-1]["data"])["via"] == "api"


def test_a_rule_is_edited_in_place_and_the_policy_exported_and_diffed_through_the_api(
    start_bollard: StartBollard,
) -> None:
    bollard = start_bollard(admin_token=TOKEN)
    _, key = bollard.agents.create("bot", ["people:read"])
    admin = {"Authorization": f"Bearer {TOKEN}"}
    rule = {"agent": "bot", "selector": "people.search", "effect": "deny"}
    with httpx.Client(base_url=bollard.url, headers=admin, timeout=10) as api:
        added = api.post("/admin/api/rules", json={**rule, "when": "args.per_page > 25"}).json()
        edit = f"/admin/api/rules/{added['id']}/edit"
        typo = api.post(edit, json={**rule, "when": "args.per_pag > 50"})
        assert typo.status_code == 422
        assert "did you mean per_page" in typo.json()["error"]
        edited = api.post(edit, json={**rule, "when": "args.per_page > 50", "reason": "50 max"})
        assert edited.status_code == 200, edited.text
        assert edited.json()["id"] == added["id"]
        with bollard.client(key) as agent:
            assert agent.post(SEARCH, json={"per_page": 40}).status_code == 200
            assert agent.post(SEARCH, json={"per_page": 60}).json()["error"] == "50 max"

        exported = api.get("/admin/api/policy").json()
        assert exported["policy"]["agents"][0]["rules"][0]["when"] == "args.per_page > 50"
        same = api.post("/admin/api/policy/apply", json={"toml": exported["toml"]})
        assert same.json() == {"dry_run": True, "changes": [], "keys": {}}
        changed = exported["toml"].replace('["people:read"]', '["people:read", "contacts:*"]')
        diff = api.post("/admin/api/policy/apply", json={"toml": changed})
        assert diff.json()["changes"] == ["+ grant bot contacts:*"]
        bad = api.post("/admin/api/policy/apply", json={"toml": changed.replace("> 50", ">")})
        assert bad.status_code == 422
        assert "line " in bad.json()["error"]
        assert "condition does not compile" in bad.json()["error"]
        assert api.get("/admin/api/agents/bot").json()["agent"]["grants"] == ["people:read"]
        applied = api.post("/admin/api/policy/apply", json={"toml": changed, "dry_run": False})
        assert applied.json()["changes"] == ["+ grant bot contacts:*"]
        assert api.get("/admin/api/agents/bot").json()["agent"]["grants"] == [
            "contacts:*",
            "people:read",
        ]
        paths = api.get("/admin/api/openapi.json").json()["paths"]
    assert {"/admin/api/rules/{rule_id}/edit", "/admin/api/policy/apply"} <= paths.keys()
    kinds = [r["action"] for r in bollard.records() if r["kind"] == "admin"]
    assert kinds[-3:] == ["rules.add", "rules.edit", "grants.change"]


def test_an_approve_rule_takes_expires_after_through_the_api_checked_as_the_cli_checks_it(
    start_bollard: StartBollard,
) -> None:
    bollard = start_bollard(admin_token=TOKEN)
    bollard.agents.create("bot", ["sequences:write"])
    admin = {"Authorization": f"Bearer {TOKEN}"}
    rule = {"agent": "bot", "selector": "sequences.add_contacts", "effect": "approve"}
    refused = {
        "8 hours": "expires_after: duration '8 hours' is not understood: use a positive whole",
        "45d": "expires_after must be from 1 minute to 30 days, e.g. 24h",
        "30s": "expires_after must be from 1 minute to 30 days",
        "": "expires_after: duration '' is not understood",
    }
    with httpx.Client(base_url=bollard.url, headers=admin, timeout=10) as api:
        for text, said in refused.items():
            bad = api.post("/admin/api/rules", json={**rule, "expires_after": text})
            assert bad.status_code == 422, text
            assert said in bad.json()["error"], bad.json()
        deny = api.post("/admin/api/rules", json={**rule, "effect": "deny", "expires_after": "8h"})
        assert deny.status_code == 422
        assert "expires_after goes with the effect approve" in deny.json()["error"]
        typed = api.post("/admin/api/rules", json={**rule, "expires_after": 8})
        assert typed.status_code == 422
        assert "expires_after: Input should be a valid string" in typed.json()["error"]
        assert api.get("/admin/api/rules").json()["rules"] == []

        added = api.post("/admin/api/rules", json={**rule, "expires_after": "8h"})
        assert added.status_code == 201, added.text
        assert added.json()["expires_after"] == 8 * 3600
        edit = f"/admin/api/rules/{added.json()['id']}/edit"
        # Whole seconds, as export writes and the console pre-fills such an expiry.
        seconds = api.post(edit, json={**rule, "expires_after": "90s"})
        assert seconds.json()["expires_after"] == 90, seconds.text
        edited = api.post(edit, json={**rule, "expires_after": "2d"})
        assert edited.json()["expires_after"] == 2 * 86400
        exported = api.get("/admin/api/policy").json()["toml"]
        assert 'expires_after = "2d"' in exported
        cleared = api.post(edit, json=rule)
        assert cleared.json()["expires_after"] is None
        listed = api.get("/admin/api/rules").json()["rules"]
        schema = api.get("/admin/api/openapi.json").json()["components"]["schemas"]["NewRule"]
    assert [r["expires_after"] for r in listed] == [None]
    assert schema["properties"]["expires_after"]["anyOf"][0]["type"] == "string"
    assert "e.g. 8h" in schema["properties"]["expires_after"]["description"]
    kinds = [r["action"] for r in bollard.records() if r["kind"] == "admin"]
    assert kinds[-4:] == ["rules.add", "rules.edit", "rules.edit", "rules.edit"]
