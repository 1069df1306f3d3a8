"""Two limiter processes sharing PostgreSQL and Redis: exact windows, budgets never exceeded."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bollard.limits.checks import LimitRule
from bollard.limits.config import set_rule
from bollard.limits.tables import credit_ledger
from bollard.store import open_store
from tests.limits.conftest import drop_keys, keys_without_expiry

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

WINDOW_LIMIT = 100  # people.search calls per minute
BUDGET = 150  # credits per day; organizations.enrich costs 1
CALLS_PER_PROCESS = 600  # 400 searches and 200 enrichments each: 1,200 in all
ROOT = Path(__file__).resolve().parents[2]


def start(orders: dict[str, Any]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.limits.hammer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps(orders) + "\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "ready"
    return process


def finish(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = process.communicate("go\n", timeout=120)
    assert process.returncode == 0
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_two_processes_admit_exactly_the_window_and_never_exceed_the_budget(
    database_url: str, redis_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the shared-database case is PostgreSQL's")
    engine = open_store(database_url)
    agent, prefix = f"hammer-{secrets.token_hex(3)}", f"ct{secrets.token_hex(6)}"
    set_rule(engine, LimitRule(agent, "people.search", per_minute=WINDOW_LIMIT), 0.0)
    set_rule(engine, LimitRule(agent, credits_per_day=BUDGET), 0.0)
    actions = ["people.search", "people.search", "organizations.enrich"] * 200
    orders = {
        "database_url": database_url,
        "redis_url": redis_url,
        "prefix": prefix,
        "agent": agent,
        "actions": actions,
    }
    try:
        processes = [start(orders), start(orders)]
        results = [r for p in processes for r in finish(p)]
        assert keys_without_expiry(redis_url, prefix) == []
    finally:
        drop_keys(redis_url, prefix)
    with engine.connect() as conn:
        spent = conn.execute(select(func.sum(credit_ledger.c.spent))).scalar_one()
    engine.dispose()
    searches = [r for r in results if r["action"] == "people.search"]
    enrichments = [r for r in results if r["action"] == "organizations.enrich"]
    per_window = Counter(r["window"] for r in searches if r["admitted"])
    refused_in = Counter(r.get("code") for r in searches if not r["admitted"])
    assert len(results) == 2 * CALLS_PER_PROCESS
    # 800 searches against 100 a minute: each window they fell in is filled exactly
    # (a window the run merely touched at its end may hold fewer, never more).
    assert max(per_window.values()) == WINDOW_LIMIT
    assert all(n <= WINDOW_LIMIT for n in per_window.values())
    assert refused_in == {"RATE_LIMITED": len(searches) - sum(per_window.values())}
    # 400 enrichments at a worst case of 1 credit against 150: exactly 150 pass.
    assert sum(r["admitted"] for r in enrichments) == BUDGET
    why = {r.get("why") for r in enrichments if r.get("code") != "CREDIT_BUDGET_EXHAUSTED"}
    assert {r.get("code") for r in enrichments if not r["admitted"]} == {
        "CREDIT_BUDGET_EXHAUSTED"
    }, why
    assert spent == BUDGET
