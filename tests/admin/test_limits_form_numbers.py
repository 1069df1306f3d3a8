"""The console's limits form refuses a number it cannot store, with a clear message."""

from __future__ import annotations

import pytest

from tests.harness import Bollard, Console


@pytest.mark.parametrize("value", ["²", "٣", "9" * 30])
def test_a_limit_that_is_not_a_plain_whole_number_is_a_clear_error_not_a_500(
    console: Console, admin: Bollard, value: str
) -> None:
    admin.agents.create("limited", ["people:read"])
    reply = console.client.post(
        "/admin/agents/limited/limits",
        data={"csrf": console.csrf, "per_minute": value, "action": "*"},
    )
    assert reply.status_code in (400, 422), reply.text[:300]
    assert "Requests per minute" in reply.text
