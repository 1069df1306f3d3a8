"""Policy rules through the admin API: the same checks as the CLI, recorded, in force on
the agent's next call, and in the OpenAPI document."""

from __future__ import annotations

import json

import httpx

from tests.harness import StartBollard

TOKEN = "test-admin-token-policy-5d1e"
SEARCH = "/api/v1/mixed_people/api_search"


def test_rules_added_and_removed_through_the_admin_api(
    start_bollard: StartBollard, database_url: str
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
