"""Every validation rule, the sandbox's answer (Apollo's) beside Bollard's.

Where Apollo documents its answer to a bad call, Bollard's own refusal has the
same status and carries Apollo's text; where Bollard is stricter (it refuses
what Apollo would answer), its text says so and why. Each row is sent straight
to the sandbox and then through Bollard by an agent granted everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest

from tests.harness import MASTER_KEY, Bollard

DEPRECATED = (
    "This endpoint is deprecated for API callers. Please use the new mixed_people/api_search "
    "endpoint: https://docs.apollo.io/reference/people-api-search."
)
WEBHOOK = "Please add a valid 'webhook_url' parameter when using '{}'"
SEQUENCE = "{sequence}"  # replaced by a seeded sequence's id


@dataclass(frozen=True, slots=True)
class Row:
    """One rule: the call, Apollo's documented answer, and how Bollard relates to it."""

    rule: str
    method: str
    path: str
    body: dict[str, Any]
    status: int  # Apollo's status (the sandbox's)
    text: str  # Apollo's error text; "" when Apollo answers the call
    bollard: Literal["same", "stricter", "same status"]


EMAIL = "someone@example.com"
TABLE = [
    Row("reveal needs a webhook", "POST", "/api/v1/people/match",
        {"email": EMAIL, "reveal_phone_number": True}, 400,
        WEBHOOK.format("reveal_phone_number"), "same"),
    Row("email waterfall needs a webhook", "POST", "/api/v1/people/match",
        {"email": EMAIL, "run_waterfall_email": True}, 400,
        WEBHOOK.format("run_waterfall_email"), "same"),
    Row("phone waterfall needs a webhook", "POST", "/api/v1/people/match",
        {"email": EMAIL, "run_waterfall_phone": True}, 400,
        WEBHOOK.format("run_waterfall_phone"), "same"),
    Row("bulk reveal needs a webhook", "POST", "/api/v1/people/bulk_match",
        {"details": [{"email": EMAIL}], "reveal_phone_number": True}, 400,
        WEBHOOK.format("reveal_phone_number"), "same"),
    Row("bulk waterfall needs a webhook", "POST", "/api/v1/people/bulk_match",
        {"details": [{"email": EMAIL}], "run_waterfall_phone": True}, 400,
        WEBHOOK.format("run_waterfall_phone"), "same"),
    Row("bulk takes at most 10", "POST", "/api/v1/people/bulk_match",
        {"details": [{"email": f"p{i}@example.com"} for i in range(11)]}, 400,
        "cannot enrich more than 10 in a single request", "same"),
    Row("bulk needs details", "POST", "/api/v1/people/bulk_match", {}, 400,
        "invalid request, missing details", "same"),
    Row("organization enrichment needs an identifier", "GET", "/api/v1/organizations/enrich",
        {}, 422, "Required parameter 'domain' missing", "same"),
    Row("an account needs a name or domain", "POST", "/api/v1/accounts", {"phone": "555"},
        422, "Please specify at least a name or domain.", "same"),
    Row("a deal needs a name", "POST", "/api/v1/opportunities", {"amount": "10"}, 422,
        "Name is required", "same"),
    Row("adding to a sequence needs contacts", "POST",
        f"/api/v1/emailer_campaigns/{SEQUENCE}/add_contact_ids",
        {"emailer_campaign_id": SEQUENCE, "send_email_from_email_account_id": "x"}, 422,
        "Please specify either contact_ids or label_names.", "same"),
    # Bollard names each missing parameter (user_id, type, ...) instead of Apollo's
    # "type and user can not be blank", which names neither parameter as sent.
    Row("a task needs its fields", "POST", "/api/v1/tasks", {"note": "call"}, 422,
        "type and user can not be blank", "same status"),
    Row("the old people search is retired", "POST", "/api/v1/mixed_people/search",
        {"person_titles": ["ceo"]}, 422, DEPRECATED, "same"),
    # Apollo cuts per_page to 100 and answers pages past 500 with nothing.
    Row("per_page at most 100", "POST", "/api/v1/mixed_people/api_search", {"per_page": 101},
        200, "", "stricter"),
    Row("page at most 500", "POST", "/api/v1/mixed_people/api_search", {"page": 501},
        200, "", "stricter"),
]  # fmt: skip


def send(client: httpx.Client, row: Row, sequence: str) -> httpx.Response:
    path = row.path.replace(SEQUENCE, sequence)
    body = {k: (sequence if v == SEQUENCE else v) for k, v in row.body.items()}
    if row.method == "GET":
        return client.get(path, params=body)
    return client.post(path, json=body)


def error_text(reply: httpx.Response) -> str:
    body = reply.json()
    return str(body.get("error") or body.get("error_message") or "")


@pytest.mark.parametrize("row", TABLE, ids=[r.rule for r in TABLE])
def test_bollard_refuses_as_apollo_answers(bollard: Bollard, row: Row) -> None:
    sequence = next(iter(bollard.sandbox.team.sequences))
    _, key = bollard.agents.create("parity", ["*:*"])
    with httpx.Client(
        base_url=bollard.settings.apollo_url, headers={"X-Api-Key": MASTER_KEY}, timeout=10
    ) as apollo:
        sandbox = send(apollo, row, sequence)
    with bollard.client(key) as client:
        ours = send(client, row, sequence)
    assert sandbox.status_code == row.status
    assert error_text(sandbox) == row.text
    if row.bollard == "stricter":
        assert ours.status_code == 422
        assert "Apollo" in error_text(ours)  # says what Apollo would do, and why not
        return
    assert ours.status_code == sandbox.status_code
    if row.bollard == "same":
        assert row.text.lower() in error_text(ours).lower()
    assert bollard.sandbox.credits_spent == 0


def test_the_deprecated_search_through_bollard_names_the_replacement_and_is_recorded(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("old-client", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post("/api/v1/mixed_people/search", json={"per_page": 1})
    assert reply.status_code == 422
    body = reply.json()
    assert body["error"].startswith(DEPRECATED)
    assert "people.search (POST /api/v1/mixed_people/api_search)" in body["error"]
    assert body["error_code"] == "ENDPOINT_DEPRECATED"
    assert bollard.sandbox.calls == []  # Bollard answers it; nothing is forwarded
    outcome = [r for r in bollard.records() if r["kind"] == "outcome"]
    assert [(r["outcome"], r["status"]) for r in outcome] == [("invalid", 422)]
