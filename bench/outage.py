"""Outages end: two replicas on PostgreSQL and Redis under steady load, each taken away.

Two Bollards (one process, two loopback servers) share one PostgreSQL schema and one
Redis prefix, both reached through loopback proxies (tests/blackhole.py) that can
refuse, reset or go silent; the machine's own servers are never touched. A steady load
(WORKERS callers, alternating replicas) runs through these phases:

    steady, PostgreSQL refused, back, PostgreSQL silent, back, Redis refused, back

and the script prints, per second, the answers by status, then for each phase the time
from the service's return to each replica's first 200, the upstream calls against the
request records the log says were forwarded, and a full `audit verify` (MACs included).

    export BOLLARD_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test
    export BOLLARD_TEST_REDIS_URL=redis://127.0.0.1:6379/15
    uv run python bench/outage.py [--phase-seconds 4] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.blackhole

from tests.blackhole import Blackhole

from bollard.agents import Agents
from bollard.app import create_app
from bollard.audit import seal
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.keyfile import signing_key
from bollard.audit.verify import verify
from bollard.catalog import load_catalog
from bollard.limits.rule_store import set_rule
from bollard.limits.rules import LimitRule
from bollard.loopback import LoopbackServer
from bollard.sandbox import SandboxConfig, create_sandbox
from bollard.settings import Settings
from bollard.store import open_store
from bollard.store.tables import audit_records

SEARCH = "/api/v1/mixed_people/api_search"
SCOPED, MASTER = "bench-scoped-key", "bench-master-key"
PHASES = (
    ("steady", None, None),
    ("postgres refused", "pg", "refuse"),
    ("postgres back", "pg", "heal"),
    ("postgres silent", "pg", "partition"),
    ("postgres back", "pg", "heal"),
    ("redis refused", "redis", "refuse"),
    ("redis back", "redis", "heal"),
)


class Load:
    """WORKERS callers on their own event loop, alternating replicas, counting answers."""

    def __init__(self, urls: list[str], key: str, workers: int) -> None:
        self.urls, self.key, self.workers = urls, key, workers
        self.answers: list[tuple[float, int, int]] = []  # (time, replica, status)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(*(self._worker(session, n) for n in range(self.workers)))

    async def _worker(self, session: aiohttp.ClientSession, n: int) -> None:
        calls = 0
        while not self._stop.is_set():
            replica = (n + calls) % len(self.urls)
            calls += 1
            try:
                async with session.post(
                    self.urls[replica] + SEARCH,
                    json={"per_page": 1},
                    headers={"X-Api-Key": self.key},
                ) as reply:
                    await reply.read()
                    status = reply.status
            except aiohttp.ClientError:
                status = 0
            self.answers.append((time.monotonic(), replica, status))
            if status != 200:
                await asyncio.sleep(0.05)  # a refused caller backs off a little


def schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{secrets.token_hex(6)}"
    with create_engine(make_url(base).set(drivername="postgresql+psycopg")).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    pinned = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, pinned.render_as_string(hide_password=False)


def replica(database_url: str, redis_url: str, prefix: str, apollo: str, state: Path) -> Any:
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "apollo_url": apollo,
            "apollo_key": SCOPED,
            "apollo_master_key": MASTER,
            "audit_key": "bench-audit-key",
            "state_dir": state,
            "usage_sync_seconds": 0,
        }
    )
    engine = open_store(settings.database_url)
    return settings, engine, LoopbackServer(create_app(settings, engine=engine)).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase-seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    pg_base = os.environ["BOLLARD_TEST_POSTGRES_URL"]
    redis_base = os.environ["BOLLARD_TEST_REDIS_URL"]
    schema, pg_url = schema_url(pg_base)
    pg, rd = make_url(pg_url), make_url(redis_base)
    covered = tuple(a.id for a in load_catalog().actions if not a.master_key)
    box = create_sandbox(
        SandboxConfig(
            master_keys=(MASTER,), scoped_keys={SCOPED: covered}, people=200, rate_limits=False
        )
    )
    with (
        tempfile.TemporaryDirectory() as state,
        LoopbackServer(box.app) as apollo,
        Blackhole(pg.host or "127.0.0.1", pg.port or 5432) as pg_hole,
        Blackhole(rd.host or "127.0.0.1", rd.port or 6379) as redis_hole,
    ):
        holes = {"pg": pg_hole, "redis": redis_hole}
        proxied_pg = pg.set(port=pg_hole.port).render_as_string(hide_password=False)
        proxied_redis = rd.set(port=redis_hole.port).render_as_string(hide_password=False)
        prefix = f"bench{secrets.token_hex(4)}"
        replicas = [
            replica(proxied_pg, proxied_redis, prefix, apollo.url, Path(state)) for _ in range(2)
        ]
        engine = replicas[0][1]
        _, key = Agents(engine, load_catalog()).create("bench", ["people:read"])
        set_rule(engine, LimitRule("bench", per_day=10**9), time.time())
        load = Load([r[2].url for r in replicas], key, args.workers)
        started = time.monotonic()
        load.start()
        marks: list[tuple[str, float]] = []
        for name, target, action in PHASES:
            if target is not None and action is not None:
                getattr(holes[target], action)()
            marks.append((name, time.monotonic()))
            time.sleep(args.phase_seconds)
        load.stop()
        for _, _, server in replicas:
            server.stop()
        report(load, marks, started, box, engine, Path(state))
        for _, eng, _ in replicas:
            eng.dispose()
    with create_engine(make_url(pg_base).set(drivername="postgresql+psycopg")).begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def report(
    load: Load, marks: list[tuple[str, float]], started: float, box: Any, engine: Any, state: Path
) -> None:
    per_second: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for at, _, status in load.answers:
        per_second[int(at - started)][status] += 1
    phase_at = {int(at - started): name for name, at in marks}
    print("second  answers by status (0 = no answer)")
    for second in sorted(per_second):
        counts = " ".join(f"{s}:{n}" for s, n in sorted(per_second[second].items()))
        print(f"{second:>6}  {counts}  {phase_at.get(second, '')}")
    print("\nrecovery: from the service's return to each replica's first 200")
    for name, at in marks:
        if name.endswith("back"):
            firsts = []
            for index in range(2):
                times = [t for t, r, s in load.answers if r == index and s == 200 and t >= at]
                firsts.append(f"{min(times) - at:.2f} s" if times else "never")
            when = f"t={at - started:.0f} s"
            print(f"  {name} ({when}): replica 1 {firsts[0]}, replica 2 {firsts[1]}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_records.c.request_id, audit_records.c.kind, audit_records.c.outcome)
        ).all()
    requests = {r[0] for r in rows if r[1] == "request"}
    outcomes = collections.Counter(r[2] for r in rows if r[1] == "outcome")
    forwarded = outcomes["ok"] + outcomes["upstream_error"]
    answered = collections.Counter(s for _, _, s in load.answers)
    print(f"\nanswers: {dict(sorted(answered.items()))}")
    print(f"upstream calls {len(box.calls)}, request records forwarded {forwarded}")
    print(f"request records {len(requests)}, outcomes {dict(outcomes)}")
    key = signing_key(state, env={})
    checked = verify(
        engine, key.public_key(), CheckpointFile.in_state_dir(state), mac_key=seal.mac_key(key)
    )
    fatal = [p.message for p in checked.problems if p.fatal]
    print(f"audit verify: {'OK' if checked.ok else 'FAILED'} ({checked.records} records) {fatal}")


if __name__ == "__main__":
    main()
