"""Over random grants and calls: the sandbox is called if and only if grants allow it."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bollard.catalog import load_catalog
from tests.harness import Bollard

CATALOG = load_catalog()
SELECTORS = [
    *(a.id for a in CATALOG.actions),
    *(f"{r}:{x}" for r in (*CATALOG.resources, "*") for x in ("read", "write", "*")),
]
# One harmless, valid call per action; ids that do not exist give Apollo's 422, fine.
CALLS = {
    "people.search": ("POST", "/api/v1/mixed_people/api_search", {}),
    "organizations.search": ("POST", "/api/v1/mixed_companies/search", {"per_page": 1}),
    "contacts.search": ("POST", "/api/v1/contacts/search", {}),
    "accounts.search": ("POST", "/api/v1/accounts/search", {}),
    "sequences.search": ("POST", "/api/v1/emailer_campaigns/search", {}),
    "tasks.search": ("POST", "/api/v1/tasks/search", {}),
    "deals.list": ("GET", "/api/v1/opportunities/search", None),
    "users.list": ("GET", "/api/v1/users/search", None),
    "usage.stats": ("POST", "/api/v1/usage_stats/api_usage_stats", {}),
    "accounts.create": ("POST", "/api/v1/accounts", {"name": "Acme"}),
    "deals.create": ("POST", "/api/v1/opportunities", {"name": "Big deal"}),
}
_counter = itertools.count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    grants=st.lists(st.sampled_from(SELECTORS), max_size=4, unique=True),
    action_id=st.sampled_from(sorted(CALLS)),
)
def test_sandbox_is_called_if_and_only_if_grants_allow(
    bollard: Bollard, grants: list[str], action_id: str
) -> None:
    action = CATALOG.get(action_id)
    assert action is not None
    expected = any(
        g == action.id
        or (g.split(":")[0] in ("*", action.resource) and g.split(":")[-1] in ("*", action.access)
            and ":" in g)
        for g in grants
    )  # fmt: skip
    _, key = bollard.agents.create(f"p{next(_counter)}", grants)
    before = len(bollard.sandbox.calls)
    method, path, body = CALLS[action_id]
    with bollard.client(key) as client:
        reply = client.request(method, path, json=body)
    reached = len(bollard.sandbox.calls) > before
    assert reached == expected, (grants, action_id, reply.status_code)
    assert (reply.status_code == 403 and reply.json()["error_code"] == "NOT_GRANTED") == (
        not expected
    )
