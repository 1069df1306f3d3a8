"""The admin JSON API over real HTTP: who may call it, CSRF, input errors, and effects."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import update

from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from bollard.store.tables import audit_records
from tests.harness import ADMIN_TOKEN, Bollard, Console

SEARCH = "/api/v1/mixed_people/api_search"


def api(bollard: Bollard) -> httpx.Client:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return httpx.Client(base_url=f"{bollard.url}/admin/api", headers=headers, timeout=10)


def test_admin_api_refuses_callers_without_a_session_or_the_admin_token(admin: Bollard) -> None:
    _, agent_key = admin.agents.create("reader", ["*:read"])
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        anonymous = client.get("/admin/api/agents")
        wrong = client.get("/admin/api/agents", headers={"Authorization": "Bearer nope"})
        agent = client.get("/admin/api/agents", headers={"Authorization": f"Bearer {agent_key}"})
        write = client.post("/admin/api/agents", json={"name": "sneaky"})
    for response in (anonymous, wrong, agent, write):
        assert response.status_code == 401
        assert response.json()["error_code"] == "ADMIN_UNAUTHENTICATED"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert admin.agents.get("sneaky") is None


def test_a_body_nested_too_deep_or_with_a_huge_integer_is_a_clear_422(admin: Bollard) -> None:
    deep = b'{"name": "deep", "note": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    long = b'{"name": "long", "note": ' + b"7" * 5_000 + b"}"
    with api(admin) as client:
        replies = [client.post("/agents", content=body) for body in (deep, long)]
    assert [r.status_code for r in replies] == [422, 422]
    assert "recursion" in replies[0].json()["error"]
    assert "4300 digits" in replies[1].json()["error"]
    assert admin.agents.list() == []


def test_console_pages_send_a_visitor_without_a_session_to_sign_in(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        page = client.get("/admin/agents/reader?x=1")
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=/admin/agents/reader%3Fx%3D1"


def test_a_wrong_admin_token_does_not_sign_in(admin: Bollard) -> None:
    from tests.harness import sign_in

    with httpx.Client(base_url=admin.url, timeout=10) as client:
        answer = sign_in(client, "not-the-token")
        assert answer.status_code == 401
        assert "not an admin token" in answer.text
        assert client.get("/admin/api/agents").status_code == 401


def test_session_cookie_is_httponly_and_samesite_strict(admin: Bollard) -> None:
    from tests.harness import sign_in

    with httpx.Client(base_url=admin.url, timeout=10) as client:
        answer = sign_in(client)
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 303
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback; Secure is set behind TLS


def test_a_session_write_without_the_csrf_token_is_refused(console: Console) -> None:
    client = console.client
    missing = client.post("/admin/api/agents", json={"name": "csrf-less"})
    wrong = client.post(
        "/admin/api/agents", json={"name": "csrf-less"}, headers={"X-CSRF-Token": "forged"}
    )
    right = client.post(
        "/admin/api/agents", json={"name": "csrf-ok"}, headers={"X-CSRF-Token": console.csrf}
    )
    assert missing.status_code == 403
    assert missing.json()["error_code"] == "CSRF_REJECTED"
    assert wrong.status_code == 403
    assert right.status_code == 201
    assert console.bollard.agents.get("csrf-less") is None


def test_a_console_form_posted_without_its_csrf_token_changes_nothing(console: Console) -> None:
    posted = console.client.post("/admin/agents", data={"name": "forged"})
    assert posted.status_code == 403
    assert "security token" in posted.text
    assert console.bollard.agents.get("forged") is None


def test_bad_input_is_answered_with_a_clear_error(admin: Bollard) -> None:
    with api(admin) as client:
        client.post("/agents", json={"name": "taken"})
        cases = [
            (client.post("/agents", content=b"{nope"), 422, "not JSON"),
            (client.post("/agents", json={"name": "x", "colour": 1}), 422, "colour"),
            (client.post("/agents", json={"name": "Bad Name"}), 422, "is not allowed"),
            (client.post("/agents", json={"name": "ok", "grants": ["people:reed"]}), 422,
             "use read"),
            (client.post("/agents", json={"name": "ok", "grants": ["contact.create"]}), 422,
             "did you mean"),
            (client.post("/agents", json={"name": "ok", "expires_in": "soon"}), 422, "duration"),
            (client.post("/agents", json={"name": "taken"}), 409, "already exists"),
            (client.get("/agents/ghost"), 404, "no agent named 'ghost'"),
            (client.post("/agents/taken/grants", json={"remove": ["users:read"]}), 422,
             "has no grant"),
            (client.get("/audit", params={"since": "yesterday"}), 422, "ISO 8601"),
            (client.get("/audit", params={"limit": "0"}), 422, "from 1 to 200"),
            (client.get("/audit", params={"decision": "maybe"}), 422, "allow, deny or held"),
            (client.get("/audit/abc"), 422, "whole number"),
            (client.get("/audit/999999"), 404, "no audit record"),
            (client.get("/usage", params={"days": "3"}), 422, "days must be one of"),
        ]  # fmt: skip
    for response, status, words in cases:
        assert response.status_code == status, response.text
        assert words in response.json()["error"], response.json()
    assert admin.agents.get("ok") is None


def test_grant_changes_apply_on_the_next_call_and_are_recorded(admin: Bollard) -> None:
    with api(admin) as client:
        created = client.post("/agents", json={"name": "sdr", "note": "SDR agent"})
        key = created.json()["key"]
        with admin.client(key) as agent:
            before = agent.post(SEARCH, json={"per_page": 1})
            client.post("/agents/sdr/grants", json={"add": ["people.search"]})
            after = agent.post(SEARCH, json={"per_page": 1})
            client.post("/agents/sdr/grants", json={"remove": ["people.search"]})
            again = agent.post(SEARCH, json={"per_page": 1})
        matrix = client.get("/agents/sdr/grants").json()
    assert created.status_code == 201
    assert key.startswith("bol_")
    assert [before.status_code, after.status_code, again.status_code] == [403, 200, 403]
    people = next(r for r in matrix["resources"] if r["resource"] == "people")
    search = next(a for a in people["read"]["actions"] if a["action"] == "people.search")
    assert search == search | {"granted": False, "allowed": False, "spends_credits": False}
    changes = [r for r in admin.records() if r["kind"] == "admin"]
    assert [(r["door"], r["agent"], r["action"]) for r in changes] == [
        ("api", "sdr", "agents.create"),
        ("api", "sdr", "grants.change"),
        ("api", "sdr", "grants.change"),
    ]
    added, removed = (json.loads(r["data"]) for r in changes[1:])
    assert added["by"] == "admin"
    assert (added["before"], added["after"]) == ({"grants": []}, {"grants": ["people.search"]})
    assert (removed["before"], removed["after"]) == ({"grants": ["people.search"]}, {"grants": []})


def test_revoke_and_rotate_stop_the_old_key_at_once(admin: Bollard) -> None:
    with api(admin) as client:
        key = client.post("/agents", json={"name": "job", "grants": ["people:read"]}).json()["key"]
        rotated = client.post("/agents/job/rotate").json()["key"]
        with admin.client(key) as old, admin.client(rotated) as new:
            assert old.post(SEARCH, json={"per_page": 1}).status_code == 401
            assert new.post(SEARCH, json={"per_page": 1}).status_code == 200
            revoked = client.post("/agents/job/revoke")
            assert new.post(SEARCH, json={"per_page": 1}).status_code == 401
        listed = client.get("/agents").json()["agents"]
    assert revoked.json()["agent"]["status"] == "revoked"
    assert listed[0]["name"] == "job"
    assert listed[0]["last_used_at"] is not None
    assert "key" not in listed[0]


def test_audit_api_finds_the_denied_call_and_its_reason(admin: Bollard) -> None:
    _, key = admin.agents.create("research", ["people:read"])
    with admin.client(key) as agent:
        agent.post("/api/v1/contacts", json={"first_name": "Ada"})
        agent.post(SEARCH, json={"per_page": 1})
    with api(admin) as client:
        denied = client.get("/audit", params={"decision": "deny", "agent": "research"}).json()
        everything = client.get("/audit", params={"limit": "1"}).json()
        detail = client.get(f"/audit/{denied['entries'][0]['seq']}").json()
        tail = client.get("/audit", params={"after": "0"}).json()
    [entry] = denied["entries"]
    assert entry["action"] == "contacts.create"
    assert entry["outcome"] == "denied"
    assert "needs a grant of 'contacts.create' or 'contacts:write'" in entry["reason"]
    assert everything["next_before"] is not None
    assert [r["kind"] for r in detail["records"]] == ["request", "outcome"]
    assert len(tail["entries"]) == 2


def test_usage_api_counts_each_agents_calls(admin: Bollard) -> None:
    _, key = admin.agents.create("counter", ["people.search"])
    set_rule(admin.engine, LimitRule("counter", credits_per_day=500), now=0.0)
    with admin.client(key) as agent:
        for _ in range(3):
            agent.post(SEARCH, json={"per_page": 1})
        agent.post("/api/v1/people/match", json={"email": "a@example.com"})
    with api(admin) as client:
        report = client.get("/usage", params={"days": "1"}).json()
        limits = client.get("/limits").json()
    counter = report["agents"]["counter"]
    assert report["bucket_seconds"] == 3600
    assert len(report["buckets"]) == 24
    assert counter["total_calls"] == 4
    assert sum(counter["denied"]) == 1
    assert limits["apollo_windows"]["windows"], limits
    assert limits["agent_limits"] == [{"agent": "counter", "action": "*", "credits_per_day": 500}]


def test_chain_status_shows_a_record_changed_after_it_was_written(admin: Bollard) -> None:
    _, key = admin.agents.create("auditee", ["people:read"])
    with admin.client(key) as agent:
        agent.post(SEARCH, json={"per_page": 1})
    with api(admin) as client:
        good = client.get("/audit/verify").json()
        good_full = client.get("/audit/verify", params={"full": "true"}).json()
        with admin.engine.begin() as conn:
            conn.execute(update(audit_records).where(audit_records.c.seq == 1).values(status=999))
        bad = client.get("/audit/verify").json()
        bad_full = client.get("/audit/verify", params={"full": "true"}).json()
    assert good["ok"] is True
    assert good["checked"] == 2
    assert bad["ok"] is False
    assert "record 1" in bad["problem"]
    assert good_full["ok"] is True
    assert good_full["checked"] == 2
    assert bad_full["ok"] is False
    assert bad_full["problems"]


def test_openapi_document_describes_every_admin_route(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        doc = client.get("/admin/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) >= {
        "/admin/api/agents",
        "/admin/api/agents/{name}/grants",
        "/admin/api/limits",
        "/admin/api/audit",
        "/admin/api/usage",
    }
    assert "NewAgent" in doc["components"]["schemas"]


@pytest.mark.parametrize("name", ["alice\n", "alice\r\n", "\nalice"])
def test_a_name_with_a_newline_is_refused_not_a_second_alice(admin: Bollard, name: str) -> None:
    # `^...$` lets "alice\n" through: `$` also matches before a final newline.
    with api(admin) as client:
        client.post("/agents", json={"name": "alice"})
        refused = client.post("/agents", json={"name": name})
        names = [a["name"] for a in client.get("/agents").json()["agents"]]
    assert refused.status_code == 422, refused.text
    assert "is not allowed" in refused.json()["error"]
    assert names == ["alice"]


def test_a_record_number_in_other_digits_is_refused_cleanly(admin: Bollard) -> None:
    # str.isdigit() is true of '²', which int() cannot read.
    with api(admin) as client:
        record = client.get("/audit/\u00b2")
        limit = client.get("/audit", params={"limit": "\u00b2"})
    assert (record.status_code, limit.status_code) == (422, 422)
    assert "whole number" in record.json()["error"]
    assert "whole number" in limit.json()["error"]


def test_the_unknown_parameters_switch_is_set_through_the_api_and_recorded(
    admin: Bollard,
) -> None:
    unknown = {"titles": ["cto"]}
    with api(admin) as client:
        made = client.post(
            "/agents",
            json={"name": "loose", "grants": ["people:read"], "allow_unknown_parameters": True},
        )
        assert made.json()["agent"]["allow_unknown_parameters"] is True
        with admin.client(made.json()["key"]) as agent:
            assert agent.post(SEARCH, json=unknown).status_code == 200
            off = client.patch(
                "/agents/loose", json={"allow_unknown_parameters": False, "reason": "typos"}
            )
            refused = agent.post(SEARCH, json=unknown)
        bad = client.patch("/agents/loose", json={"allow_unknown_parameters": "maybe"})
        ghost = client.patch("/agents/ghost", json={"allow_unknown_parameters": True})
        doc = client.get("/openapi.json").json()
    assert off.status_code == 200, off.text
    assert off.json()["agent"]["allow_unknown_parameters"] is False
    assert refused.json()["error_code"] == "UNKNOWN_PARAMETER"
    assert bad.status_code == 422
    assert "allow_unknown_parameters" in bad.json()["error"]
    assert ghost.status_code == 404
    patch = doc["paths"]["/admin/api/agents/{name}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AgentSettings"
    )
    assert "allow_unknown_parameters" in doc["components"]["schemas"]["NewAgent"]["properties"]
    changes = [json.loads(r["data"]) for r in admin.records() if r["kind"] == "admin"]
    assert [(c["change"], c["after"]["allow_unknown_parameters"]) for c in changes] == [
        ("agents.create", True),
        ("agents.set", False),
    ]
    assert (changes[1]["by"], changes[1]["reason"]) == ("admin", "typos")
