"""Named admins and their roles, through the real CLI, the admin API and the console.

A viewer reads; an approver reads and decides held calls; an admin does everything.
Every change is on the record with the admin's name; a route without a declared role
needs admin.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bollard.admin.api import _guarded
from bollard.admin.auth import AdminAuth, Principal
from bollard.admin.sessions import Sessions
from bollard.admins import Admins, Role
from bollard.changes import Actor, AdminChanges
from bollard.cli import main
from bollard.store.tables import admins
from tests.approvals.conftest import add_rule, enrolment
from tests.harness import ADMIN_TOKEN, Bollard, StartBollard, sign_in

LEAD = Actor("lead@example.com", "cli")


def make_admin(bollard: Bollard, name: str, role: Role) -> str:
    changes = AdminChanges(bollard.engine, bollard.agents, bollard.gateway.audit.checkpointer)
    return changes.create_admin(LEAD, name, role)[1]


def api(bollard: Bollard, token: str) -> httpx.Client:
    auth = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=f"{bollard.url}/admin/api", headers=auth, timeout=10)


def admin_records(bollard: Bollard) -> list[dict[str, Any]]:
    found = [r for r in bollard.records() if r["kind"] == "admin"]
    return [{**r, "data": json.loads(r["data"])} for r in found]


def test_admins_are_made_listed_and_revoked_by_the_cli_each_on_the_record(
    database_url: str, start_bollard: StartBollard
) -> None:
    admin = start_bollard(database_url, admin_token=ADMIN_TOKEN)
    db = admin.settings.database_url
    env = {"BOLLARD_DATABASE_URL": db, "BOLLARD_STATE_DIR": str(admin.settings.state_dir)}

    def run(_: object, args: list[str]) -> Result:
        return CliRunner().invoke(main, args, env=env)

    made = run(main, ["--db", db, "admins", "create", "alice", "--role", "approver", "--json"])
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)["token"]
    assert token.startswith("bat_")
    with admin.engine.connect() as conn:
        stored = conn.execute(select(admins.c.token_hash, admins.c.prefix)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps([dict(r) for r in admin.records()], default=str)

    listed = run(main, ["--db", db, "admins", "list", "--json"])
    assert [(a["name"], a["role"]) for a in json.loads(listed.output)] == [
        ("admin", "admin"),
        ("alice", "approver"),
    ]
    assert token not in listed.output
    with api(admin, token) as alice:
        assert alice.get("/me").json() == {"name": "alice", "role": "approver", "via": "token"}

    again = run(main, ["--db", db, "admins", "create", "alice", "--role", "viewer"])
    assert again.exit_code == 2
    assert "an admin named 'alice' already exists" in again.output
    gone = run(
        main, ["--db", db, "admins", "revoke", "alice", "--actor", "lead", "--reason", "left"]
    )
    assert gone.exit_code == 0, gone.output
    with api(admin, token) as alice:
        assert alice.get("/me").status_code == 401
    first = run(main, ["--db", db, "admins", "revoke", "admin"])
    assert first.exit_code == 2
    assert "BOLLARD_ADMIN_TOKEN" in first.output

    changes = [(r["action"], r["data"]["by"]) for r in admin_records(admin)]
    assert changes[0][0] == "admins.create"
    assert changes[1:] == [("admins.revoke", "lead")]
    verified = run(main, ["--db", db, "audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_a_viewer_reads_everything_and_changes_nothing(admin: Bollard) -> None:
    admin.agents.create("research", ["people:read"])
    token = make_admin(admin, "vera", Role.VIEWER)
    with api(admin, token) as vera:
        assert vera.get("/me").json() == {"name": "vera", "role": "viewer", "via": "token"}
        for path in ("/agents", "/agents/research", "/rules", "/audit", "/limits"):
            assert vera.get(path).status_code == 200, path
        refused = [
            vera.post("/agents", json={"name": "sneaky"}),
            vera.post("/agents/research/grants", json={"add": ["*:*"]}),
            vera.post("/agents/research/revoke"),
            vera.post("/rules", json={"selector": "people.search", "effect": "deny"}),
        ]
    assert {(r.status_code, r.json()["error_code"]) for r in refused} == {(403, "ROLE_REFUSED")}
    assert "vera signed in as viewer; this needs the admin role" in refused[0].json()["error"]
    assert [a.name for a in admin.agents.list()] == ["research"]
    assert admin.agents.require("research").grants == ("people:read",)


def test_an_approver_cannot_change_grants_in_the_api_or_the_console(admin: Bollard) -> None:
    admin.agents.create("sdr", ["contacts:read"])
    token = make_admin(admin, "abe", Role.APPROVER)
    with api(admin, token) as abe:
        answer = abe.post("/agents/sdr/grants", json={"add": ["contacts:write"]})
    assert (answer.status_code, answer.json()["error_code"]) == (403, "ROLE_REFUSED")
    with httpx.Client(base_url=admin.url, timeout=10, follow_redirects=True) as browser:
        page = sign_in(browser, token)
        assert "Signed in as <strong>abe</strong> (approver)" in page.text
        assert "Create agent" not in page.text  # forms only an admin may send are not shown
        assert "Rotate key" not in browser.get("/admin/agents/sdr").text
        csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
        form = {"csrf": csrf, "grant": ["contacts:read", "contacts:write"]}
        posted = browser.post("/admin/agents/sdr/grants", data=form)
    assert posted.status_code == 403
    assert "abe signed in as approver; this needs the admin role" in posted.text
    assert admin.agents.require("sdr").grants == ("contacts:read",)


def test_a_named_admin_signs_in_and_their_changes_carry_their_name(admin: Bollard) -> None:
    token = make_admin(admin, "carol", Role.ADMIN)
    with httpx.Client(base_url=admin.url, timeout=10, follow_redirects=True) as browser:
        page = sign_in(browser, token)
        assert "Signed in as <strong>carol</strong> (admin)" in page.text
        assert "Create agent" in page.text
        csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
        made = browser.post("/admin/agents", data={"csrf": csrf, "name": "helper"})
        assert made.status_code == 200
        assert "Signed in as <strong>carol</strong>" in made.text
        me = browser.get("/admin/api/me").json()
    assert me == {"name": "carol", "role": "admin", "via": "session"}
    with api(admin, ADMIN_TOKEN) as first:
        assert first.get("/me").json() == {"name": "admin", "role": "admin", "via": "token"}
        first.post("/agents/helper/grants", json={"add": ["people:read"]})
    made_by = {r["action"]: (r["data"]["by"], r["data"]["via"]) for r in admin_records(admin)}
    assert made_by["agents.create"] == ("carol", "console")
    assert made_by["grants.change"] == ("admin", "api")


def test_revoking_an_admin_ends_their_console_session_at_once(admin: Bollard) -> None:
    token = make_admin(admin, "dana", Role.VIEWER)
    with httpx.Client(base_url=admin.url, timeout=10) as browser:
        assert sign_in(browser, token).status_code == 303
        assert browser.get("/admin/agents").status_code == 200
        changes = AdminChanges(admin.engine, admin.agents, admin.gateway.audit.checkpointer)
        changes.revoke_admin(LEAD, "dana")
        after = browser.get("/admin/agents")
    assert (after.status_code, after.headers["location"]) == (
        303,
        "/admin/login?next=/admin/agents",
    )


@pytest.mark.anyio
async def test_a_route_without_a_declared_role_needs_admin(admin: Bollard) -> None:
    async def handler(request: Request, principal: Principal) -> Response:
        return JSONResponse({"ok": True})

    auth = AdminAuth(ADMIN_TOKEN, sessions=Sessions(admin.engine), admins=Admins(admin.engine))
    app = Starlette(routes=[Route("/new", _guarded(auth, handler), methods=["GET"])])
    viewer, approver = (
        make_admin(admin, n, r) for n, r in (("v", Role.VIEWER), ("p", Role.APPROVER))
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = [
            (await client.get("/new", headers={"Authorization": f"Bearer {t}"})).status_code
            for t in (viewer, approver, ADMIN_TOKEN)
        ]
    assert answers == [403, 403, 200]


def test_an_approver_decides_a_held_call_through_the_api_and_a_viewer_cannot(
    admin: Bollard,
) -> None:
    _, key = admin.agents.create("sdr", ["sequences:*"])
    add_rule(admin, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(admin)
    with admin.client(key) as agent:
        held = agent.post(enrol.path, json=enrol.body(0)).json()["bollard"]["approval_id"]
    vera, abe = make_admin(admin, "vera", Role.VIEWER), make_admin(admin, "abe", Role.APPROVER)
    with api(admin, vera) as viewer:
        assert viewer.get("/approvals").status_code == 200
        refused = viewer.post(f"/approvals/{held}/approve", json={"note": "sneaky"})
    assert (refused.status_code, refused.json()["error_code"]) == (403, "ROLE_REFUSED")
    with api(admin, abe) as approver:
        decided = approver.post(f"/approvals/{held}/deny", json={"reason": "wrong sequence"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["approval"]["decided_by"] == "abe"
    denials = [r for r in admin_records(admin) if r["action"] == "approvals.deny"]
    assert [(r["data"]["by"], r["data"]["via"]) for r in denials] == [("abe", "api")]
