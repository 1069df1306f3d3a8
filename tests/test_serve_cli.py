"""`bollard serve`'s first start: the demo agent it makes when no Apollo key is set."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from bollard.agents import Agents
from bollard.catalog import load_catalog
from bollard.cli.serve import DEMO_AGENT, _ensure_demo_agent
from bollard.settings import Settings
from bollard.store import open_store


def test_two_replicas_starting_at_once_on_an_empty_database_make_one_demo_agent(
    database_url: str,
) -> None:
    # Each replica sees no agent yet, then both create the demo agent: one must not fail.
    settings = Settings.model_validate({"database_url": database_url})
    engines = [open_store(database_url) for _ in range(2)]
    barrier = threading.Barrier(len(engines))

    def start(engine: Engine) -> None:
        barrier.wait(timeout=10)
        _ensure_demo_agent(settings, engine)

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(start, engines))
        agents = Agents(engines[0], load_catalog()).list()
    finally:
        for engine in engines:
            engine.dispose()
    assert [(a.name, a.grants) for a in agents] == [(DEMO_AGENT, ("*:read",))]
