"""Schemathesis against the admin API's own OpenAPI document, over loopback.

Every operation gets a bounded number of generated requests, valid and
invalid, sent with the admin token; none may be answered with a 5xx.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok

from tests.harness import ADMIN_TOKEN, Bollard

EXAMPLES = 15


@pytest.mark.slow
def test_generated_requests_never_meet_a_server_error(admin: Bollard) -> None:
    schema = schemathesis.openapi.from_url(f"{admin.url}/admin/api/openapi.json")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    admin.agents.create("known", ["people:read"])
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert operations, [r.err() for r in results if isinstance(r, Err)]
    assert len(operations) == 24  # 22, GET /admin/api/me and PATCH /admin/api/agents/{name}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation.as_strategy(mode), admin.url, headers)


def _exercise(strategy: Any, base_url: str, headers: dict[str, str]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])

    run()
