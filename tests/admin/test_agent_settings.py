"""The unknown-parameters switch on the console's agent page, over real HTTP: a checkbox
form that saves (POST, redirect, GET with a notice), is in force on the agent's next
call, is recorded as an admin change by the console, and refuses a post without the
session's CSRF token."""

from __future__ import annotations

import json
import re

from tests.harness import Console

SEARCH = "/api/v1/mixed_people/api_search"
CHECKBOX = re.compile(r'<input type="checkbox" name="allow_unknown_parameters"[^>]*>')


def _checked(html: str) -> bool:
    found = CHECKBOX.search(html)
    assert found is not None, "no unknown-parameters checkbox on the agent page"
    return "checked" in found[0]


def test_the_agent_page_switches_unknown_parameters_on_and_off_on_the_record(
    console: Console,
) -> None:
    admin, client = console.bollard, console.client
    _, key = admin.agents.create("loose", ["people:read"])
    page = client.get("/admin/agents/loose")
    assert "Allow unknown parameters" in page.text
    assert not _checked(page.text)

    forged = client.post("/admin/agents/loose/settings", data={"allow_unknown_parameters": "on"})
    assert forged.status_code == 403
    assert admin.agents.require("loose").allow_unknown_parameters is False

    on = client.post(
        "/admin/agents/loose/settings",
        data={"csrf": console.csrf, "allow_unknown_parameters": "on"},
    )
    assert [r.status_code for r in on.history] == [303]
    assert str(on.url).endswith("/admin/agents/loose")
    assert "Unknown parameters now go to Apollo, each recorded as a warning." in on.text
    assert _checked(on.text)
    assert "Unknown parameters now go" not in client.get("/admin/agents/loose").text  # once
    with admin.client(key) as agent:
        assert agent.post(SEARCH, json={"titles": ["cto"]}).status_code == 200

    off = client.post("/admin/agents/loose/settings", data={"csrf": console.csrf})
    assert "Unknown parameters are now refused (UNKNOWN_PARAMETER)." in off.text
    assert not _checked(off.text)
    with admin.client(key) as agent:
        refused = agent.post(SEARCH, json={"titles": ["cto"]})
    assert refused.json()["error_code"] == "UNKNOWN_PARAMETER"

    ghost = client.post("/admin/agents/ghost/settings", data={"csrf": console.csrf})
    assert ghost.status_code == 404
    changes = [json.loads(r["data"]) for r in admin.records() if r["action"] == "agents.set"]
    assert [(c["after"]["allow_unknown_parameters"], c["by"], c["via"]) for c in changes] == [
        (True, "admin", "console"),
        (False, "admin", "console"),
    ]
