"""Neither the upstream keys nor agent keys appear in any response, log or record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from tests.harness import MASTER_KEY, SCOPED_KEY, StartBollard

CALLS = [
    ("POST", "/api/v1/mixed_people/api_search", {"per_page": 2}),
    ("POST", "/api/v1/mixed_people/api_search", {"per_page": 2000}),
    ("GET", "/api/v1/users/search", None),
    ("POST", "/api/v1/contacts", {"first_name": "Ada"}),
    ("PATCH", "/api/v1/opportunities/000000000000000000000000", {"name": "x"}),
    ("POST", "/api/v1/people/match", {"email": "x@y.com", "reveal_phone_number": True}),
    ("POST", "/api/v1/nowhere/../../etc", {}),
    ("DELETE", "/api/v1/contacts/abc", None),
]


def test_keys_never_appear_in_responses_logs_or_records(
    start_bollard: StartBollard, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    bollard = start_bollard()
    down = start_bollard(
        database_url=f"sqlite:///{tmp_path / 'down.db'}", apollo_url="http://127.0.0.1:9"
    )
    _, key = bollard.agents.create("reader", ["*:read"])
    _, other = bollard.agents.create("writer", ["contacts:write"])
    _, down_key = down.agents.create("reader", ["*:read"])
    seen: list[str] = []
    for target, agent_key in ((bollard, key), (bollard, other), (down, down_key)):
        with target.client(agent_key) as client:
            for method, path, body in CALLS:
                reply = client.request(method, path, json=body)
                seen.append(reply.text)
                seen.extend(f"{k}: {v}" for k, v in reply.headers.items())
    for target in (bollard, down):
        meta = MetaData()
        meta.reflect(target.engine)
        with target.engine.connect() as conn:
            for table in meta.sorted_tables:
                seen.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    seen.extend(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and ".db" not in p.name]
    seen.extend(p.read_text(errors="replace") for p in files)
    everything = "\n".join(seen)
    assert len(everything) > 1000  # the calls really produced output to search
    for secret in (SCOPED_KEY, MASTER_KEY, key, other, down_key):
        assert secret not in everything
        assert secret[4:20] not in everything
