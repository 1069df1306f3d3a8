"""Limits through the real gateway, in front of the sandbox, with one moved clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bollard.agents import Agents
from bollard.app import create_app
from bollard.catalog import load_catalog
from bollard.limits import Limiter, create_limiter
from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from bollard.loopback import LoopbackServer
from bollard.sandbox import Sandbox, create_sandbox
from bollard.settings import Settings
from bollard.store import open_store
from bollard.store.tables import audit_records
from tests.harness import AUDIT_KEY, MASTER_KEY, SCOPED_KEY, Clock, sandbox_config

SEARCH = "/api/v1/mixed_people/api_search"
ENRICH = "/api/v1/organizations/enrich"


@dataclass
class Stack:
    url: str
    key: str
    sandbox: Sandbox
    clock: Clock
    settings: Settings

    def call(self, path: str, **kwargs: object) -> httpx.Response:
        method = "GET" if path == ENRICH else "POST"
        with httpx.Client(base_url=self.url, headers={"X-Api-Key": self.key}) as client:
            return client.request(method, path, timeout=10, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def stack(tmp_path: Path, clock: Clock) -> Iterator[Stack]:
    box = create_sandbox(sandbox_config(clock=clock, limits={"people.search": (3, 600, 6000)}))
    with LoopbackServer(box.app) as apollo:
        settings = Settings.model_validate(
            {
                "database_url": f"sqlite:///{tmp_path / 'bollard.db'}",
                "apollo_url": apollo.url,
                "apollo_key": SCOPED_KEY,
                "apollo_master_key": MASTER_KEY,
                "audit_key": AUDIT_KEY,
                "state_dir": tmp_path / "state",
            }
        )
        engine = open_store(settings.database_url)
        _, key = Agents(engine, load_catalog()).create("research", ["*:read"])
        limiter: Limiter = create_limiter(settings, engine, load_catalog(), clock=clock)
        app = create_app(settings, engine=engine, limiter=limiter, clock=clock)
        with LoopbackServer(app) as bollard:
            yield Stack(bollard.url, key, box, clock, settings)
        asyncio.run(limiter.aclose())
        engine.dispose()


def test_a_spent_apollo_window_is_refused_without_calling_apollo_until_it_rolls_over(
    stack: Stack,
) -> None:
    stack.clock.advance(20)
    passed = [stack.call(SEARCH, json={"per_page": 1}).status_code for _ in range(3)]
    sent = len(stack.sandbox.calls)
    refused = stack.call(SEARCH, json={"per_page": 1})
    refused_sent = len(stack.sandbox.calls)
    stack.clock.advance(40)
    again = stack.call(SEARCH, json={"per_page": 1})
    assert passed == [200, 200, 200]
    assert refused.status_code == 429
    assert refused_sent == sent
    assert refused.headers["retry-after"] == "40"
    assert "is 3 times per minute" in refused.json()["error"]
    assert again.status_code == 200
    assert len(stack.sandbox.calls) == sent + 1


def test_a_budget_refusal_is_answered_before_apollo_and_audited_with_its_reason(
    stack: Stack, tmp_path: Path
) -> None:
    engine = open_store(stack.settings.database_url)
    set_rule(engine, LimitRule("research", credits_per_day=1), stack.clock())
    stack.clock.advance(1)
    first = stack.call(ENRICH, params={"domain": "apollo.io"})
    sent = len(stack.sandbox.calls)
    second = stack.call(ENRICH, params={"domain": "apollo.io"})
    with engine.connect() as conn:
        reasons = [r.data for r in conn.execute(select(audit_records))]
    engine.dispose()
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["error_code"] == "CREDIT_BUDGET_EXHAUSTED"
    assert len(stack.sandbox.calls) == sent
    assert any("0 of its 1 credits per day left" in str(data) for data in reasons)


def test_a_budget_quotes_the_seeds_higher_cost_for_revealed_personal_emails(
    stack: Stack,
) -> None:
    # Apollo's document: an email costs nothing beyond the 1 credit; the seed: revealed
    # personal emails draw extra. The budget reckons with the higher: 2 per person.
    engine = open_store(stack.settings.database_url)
    set_rule(engine, LimitRule("research", credits_per_day=1), stack.clock())
    engine.dispose()
    stack.clock.advance(1)
    sent = len(stack.sandbox.calls)
    revealing = stack.call(
        "/api/v1/people/match", json={"email": "tim@apollo.io", "reveal_personal_emails": True}
    )
    assert revealing.status_code == 429
    assert revealing.json()["error_code"] == "CREDIT_BUDGET_EXHAUSTED"
    assert "may cost up to 2 (1 × 2 per person)" in revealing.json()["error"]
    assert len(stack.sandbox.calls) == sent
    plain = stack.call("/api/v1/people/match", json={"email": "tim@apollo.io"})
    assert plain.status_code == 200
    assert len(stack.sandbox.calls) == sent + 1
