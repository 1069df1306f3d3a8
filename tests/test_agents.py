from __future__ import annotations

import asyncio
import gc
import inspect
import time
import uuid
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, MetaData, delete, insert, make_url, select, text, update

from bollard.agent_keys import generate_key, key_hash
from bollard.agents import Agent, Agents, parse_duration
from bollard.catalog import load_catalog
from bollard.errors import ConfigError
from bollard.store import open_store
from bollard.store.tables import access_version, agent_keys, agents, grants
from bollard.store.version import READ_TIMEOUT, AccessVersion
from tests.blackhole import Blackhole
from tests.harness import wait_until_async

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(engine: Engine, clock: Clock) -> Agents:
    return Agents(engine, load_catalog(), now=clock)


def _authenticated(repo: Agents, key: str) -> Agent:
    agent = repo.authenticate(key)
    assert agent is not None
    return agent


def test_a_new_agent_authenticates_with_its_key_and_carries_its_grants(repo: Agents) -> None:
    created, key = repo.create("research", ["people:read", "contacts.search"], note="hi")
    agent = _authenticated(repo, key)
    assert agent == created
    assert agent.name == "research"
    assert agent.note == "hi"
    assert set(agent.grants) == {"people:read", "contacts.search"}
    assert agent.created_at == START
    assert agent.status(START) == "active"


def test_the_key_is_stored_only_as_its_hash(repo: Agents, engine: Engine) -> None:
    _, key = repo.create("research", ["people:read"])
    everything = MetaData()
    everything.reflect(engine)
    with engine.connect() as conn:
        dump = repr([conn.execute(select(t)).all() for t in everything.sorted_tables])
        stored = conn.execute(select(agent_keys.c.key_hash, agent_keys.c.prefix)).one()
    assert key not in dump
    assert key[12:] not in dump
    assert stored == (key_hash(key), key[:12])


@pytest.mark.parametrize("bad", ["", "bol_", "not a key", "Bearer bol_x", "bol_" + "A" * 49])
def test_malformed_keys_are_refused(repo: Agents, bad: str) -> None:
    repo.create("research", ["people:read"])
    assert repo.authenticate(bad) is None


def test_a_well_formed_key_nobody_was_given_is_refused(repo: Agents) -> None:
    repo.create("research", ["people:read"])
    assert repo.authenticate(generate_key()) is None


def test_a_revoked_agent_is_refused_on_the_next_call(repo: Agents, clock: Clock) -> None:
    _, key = repo.create("research", ["people:read"])
    _authenticated(repo, key)
    revoked = repo.revoke("research")
    assert revoked.revoked_at == START
    assert revoked.status(clock()) == "revoked"
    assert repo.authenticate(key) is None
    with pytest.raises(ConfigError, match="revoked"):
        repo.rotate("research")


def test_an_agent_is_refused_once_it_expires(repo: Agents, clock: Clock) -> None:
    _, key = repo.create("temp", ["people:read"], expires_at=START + timedelta(hours=1))
    clock.advance(timedelta(minutes=59))
    _authenticated(repo, key)
    clock.advance(timedelta(minutes=1))
    assert repo.authenticate(key) is None
    agent = repo.get("temp")
    assert agent is not None
    assert agent.status(clock()) == "expired"


def test_rotating_without_grace_stops_the_old_key_at_once(repo: Agents) -> None:
    _, old = repo.create("sdr", ["contacts:write"])
    new = repo.rotate("sdr")
    assert new != old
    assert repo.authenticate(old) is None
    assert _authenticated(repo, new).name == "sdr"


def test_rotating_with_grace_keeps_the_old_key_until_the_grace_ends(
    repo: Agents, clock: Clock
) -> None:
    _, old = repo.create("sdr", ["contacts:write"])
    new = repo.rotate("sdr", grace=timedelta(days=1))
    clock.advance(timedelta(hours=23))
    assert _authenticated(repo, old).name == "sdr"
    assert _authenticated(repo, new).name == "sdr"
    clock.advance(timedelta(hours=1))
    assert repo.authenticate(old) is None
    assert _authenticated(repo, new).name == "sdr"


def test_a_second_rotation_never_extends_an_earlier_grace(repo: Agents, clock: Clock) -> None:
    _, first = repo.create("sdr", ["contacts:write"])
    repo.rotate("sdr", grace=timedelta(hours=1))
    repo.rotate("sdr", grace=timedelta(days=7))
    clock.advance(timedelta(hours=1))
    assert repo.authenticate(first) is None


def test_revoking_an_agent_also_stops_keys_still_in_their_grace(repo: Agents) -> None:
    _, old = repo.create("sdr", ["contacts:write"])
    new = repo.rotate("sdr", grace=timedelta(days=1))
    repo.revoke("sdr")
    assert repo.authenticate(old) is None
    assert repo.authenticate(new) is None


def test_grants_added_and_removed_apply_on_the_next_call(repo: Agents) -> None:
    _, key = repo.create("enrich")
    assert _authenticated(repo, key).grants == ()
    repo.add_grants("enrich", ["people.enrich", "organizations:read", "people.enrich"])
    assert _authenticated(repo, key).grants == ("organizations:read", "people.enrich")
    repo.add_grants("enrich", ["people.enrich"])
    removed = repo.remove_grants("enrich", ["organizations:read"])
    assert removed.grants == ("people.enrich",)
    assert _authenticated(repo, key).grants == ("people.enrich",)


def test_removing_a_grant_the_agent_lacks_names_the_ones_it_has(repo: Agents) -> None:
    repo.create("enrich", ["people.enrich"])
    with pytest.raises(ConfigError, match=r"no grant 'people:read'; its grants are: people\.enr"):
        repo.remove_grants("enrich", ["people:read"])


def test_an_unknown_selector_is_refused_with_the_nearest_ones(repo: Agents) -> None:
    with pytest.raises(ConfigError, match=r"did you mean .*contacts\.create"):
        repo.create("sdr", ["contacts.craete"])
    assert repo.get("sdr") is None
    repo.create("sdr")
    with pytest.raises(ConfigError, match=r"did you mean people"):
        repo.add_grants("sdr", ["peple:read"])


def test_a_duplicate_name_is_refused_and_the_first_agent_keeps_its_key(repo: Agents) -> None:
    _, key = repo.create("research", ["people:read"])
    with pytest.raises(ConfigError, match="already exists"):
        repo.create("research", ["contacts:*"])
    assert _authenticated(repo, key).grants == ("people:read",)
    assert [a.name for a in repo.list()] == ["research"]


@pytest.mark.parametrize("name", ["", "Research", "-x", "has space", "a" * 65, "ünï"])
def test_a_bad_agent_name_is_refused_with_the_rule(repo: Agents, name: str) -> None:
    with pytest.raises(ConfigError, match="lowercase letters"):
        repo.create(name)


def test_an_unknown_agent_name_offers_the_nearest_names(repo: Agents) -> None:
    repo.create("research")
    repo.create("enrich")
    with pytest.raises(ConfigError, match="no agent named 'reserch'; did you mean research or"):
        repo.revoke("reserch")
    assert repo.get("reserch") is None
    with pytest.raises(ConfigError, match="no agent named 'zzz'; agents are: enrich, research"):
        repo.revoke("zzz")


def test_list_returns_every_agent_by_name_with_its_grants(repo: Agents) -> None:
    repo.create("sdr", ["contacts:write", "sequences.add_contacts"])
    repo.create("enrich", ["people.enrich"])
    repo.create("idle")
    listed = repo.list()
    assert [(a.name, a.grants) for a in listed] == [
        ("enrich", ("people.enrich",)),
        ("idle", ()),
        ("sdr", ("contacts:write", "sequences.add_contacts")),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_durations_are_read_in_minutes_hours_days_or_weeks(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "1y", "-1d", "0d", "1.5h", "30 days"])
def test_other_durations_are_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match=r"e\.g\. 30d"):
        parse_duration(text)


def test_changes_made_behind_the_repositorys_back_count_on_the_next_call(
    engine: Engine, repo: Agents
) -> None:
    """`authenticate` remembers agents; the database's own triggers tell it when to forget.

    Each change below is plain SQL on another connection (as another replica or a
    hand-run fix would make it), never through `repo`, and `repo` has just answered
    from memory before each one.
    """
    _, key = repo.create("writer", ["people:read", "contacts:write"])
    assert _authenticated(repo, key).grants == ("contacts:write", "people:read")
    agent_id = _authenticated(repo, key).id
    with engine.begin() as conn:
        conn.execute(delete(grants).where(grants.c.selector == "contacts:write"))
    assert _authenticated(repo, key).grants == ("people:read",)
    with engine.begin() as conn:
        conn.execute(insert(grants).values(agent_id=agent_id, selector="*:read", created_at=START))
    assert _authenticated(repo, key).grants == ("*:read", "people:read")
    with engine.begin() as conn:
        conn.execute(update(agents).values(note="renamed by hand"))
    assert _authenticated(repo, key).note == "renamed by hand"
    with engine.begin() as conn:
        conn.execute(update(agent_keys).values(revoked_at=START))
    assert repo.authenticate(key) is None
    with engine.begin() as conn:
        conn.execute(update(agent_keys).values(revoked_at=None))
    assert repo.authenticate(key) is not None
    with engine.begin() as conn:
        conn.execute(delete(agents))
    assert repo.authenticate(key) is None


def test_a_lost_version_connection_is_reopened_and_an_unreadable_version_denies(
    engine: Engine, repo: Agents
) -> None:
    _, key = repo.create("steady", ["people:read"])
    assert repo.authenticate(key) is not None
    repo.close()  # as if the connection had dropped: the next call opens another
    assert repo.authenticate(key) is not None
    with engine.begin() as conn:
        conn.execute(delete(access_version))
    with pytest.raises(RuntimeError, match="access_version has no row"):
        repo.authenticate(key)


def test_the_version_a_call_waits_for_is_read_after_it_began(engine: Engine, repo: Agents) -> None:
    # Twenty calls at once (on PostgreSQL they share one read) all see a change
    # committed before they began, and a lost connection is replaced.
    def bump() -> None:
        with engine.begin() as conn:
            conn.execute(update(access_version).values(version=access_version.c.version + 1))

    async def calls() -> tuple[int, list[int], int]:
        first = await repo.version()
        bump()
        together = await asyncio.gather(*(repo.version() for _ in range(20)))
        repo.close()  # as if the connection had dropped
        bump()
        return first, together, await repo.version()

    first, together, last = asyncio.run(calls())
    assert together == [first + 1] * 20
    assert last == first + 2


def test_an_unreadable_version_fails_every_call_waiting_for_it(
    engine: Engine, repo: Agents
) -> None:
    async def calls() -> list[int | BaseException]:
        await repo.version()
        with engine.begin() as conn:
            conn.execute(delete(access_version))
        return await asyncio.gather(*(repo.version() for _ in range(5)), return_exceptions=True)

    failures = asyncio.run(calls())
    assert [type(f) for f in failures] == [RuntimeError] * 5
    assert all("access_version has no row" in str(f) for f in failures)


VERSION_READ = "SELECT version FROM access_version WHERE id = 1"  # as Agents sends it
SLOW_READS = (
    "ALTER TABLE access_version RENAME TO access_version_rows",
    "CREATE VIEW access_version AS SELECT id, version FROM access_version_rows, pg_sleep({})",
)


@pytest.fixture
def read_timeout() -> float:
    """Seconds a read of access_version may take (a test may parametrize it)."""
    return READ_TIMEOUT


@pytest.fixture
def slow_postgres(postgres_url: str, read_timeout: float) -> Iterator[tuple[Engine, Agents]]:
    """PostgreSQL where each read of access_version sleeps 0.3 s inside the database
    (change it with `slow_reads`); the version itself lives in access_version_rows."""
    engine = open_store(postgres_url)
    versions = AccessVersion(engine, read_timeout=read_timeout)
    repo = Agents(engine, load_catalog(), versions=versions)
    with engine.begin() as conn:
        for statement in SLOW_READS:
            conn.execute(text(statement.format(0.3)))
    yield engine, repo
    repo.close()
    engine.dispose()


def slow_reads(engine: Engine, seconds: float) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP VIEW access_version"))
        conn.execute(text(SLOW_READS[1].format(seconds)))


async def read_under_way(engine: Engine) -> None:
    """Wait until a read of access_version is running in the database (a fixed sleep
    would guess how long connecting takes, which a slow host can outlast)."""

    def running_now() -> bool:
        with engine.connect() as conn:  # a transaction of its own: fresh statistics
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        "AND datname = current_database() AND query = :read"
                    ),
                    {"read": VERSION_READ},
                ).scalar_one()
            )

    async def running() -> bool:
        return await asyncio.to_thread(running_now)

    await wait_until_async(running, "a read of access_version under way", within_s=5)


def bump_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE access_version_rows SET version = version + 1"))


@pytest.mark.postgres
def test_a_call_never_shares_a_read_that_began_before_it(
    slow_postgres: tuple[Engine, Agents],
) -> None:
    # A change committed while one read is under way is seen by the calls that began
    # after it, which wait for a read of their own.
    engine, repo = slow_postgres

    async def calls() -> tuple[int, int]:
        early = asyncio.ensure_future(repo.version())
        await read_under_way(engine)  # and sleeping in the database
        bump_rows(engine)
        late = await repo.version()
        return await early, late

    early, late = asyncio.run(calls())
    assert late == early + 1


@pytest.mark.postgres
def test_a_caller_that_gives_up_leaves_the_shared_read_to_the_others(
    slow_postgres: tuple[Engine, Agents],
) -> None:
    engine, repo = slow_postgres

    async def calls() -> list[int | BaseException]:
        waiting = [asyncio.ensure_future(repo.version()) for _ in range(3)]
        await read_under_way(engine)
        waiting[0].cancel()  # its client went away
        return await asyncio.gather(*waiting, return_exceptions=True)

    gone, *others = asyncio.run(calls())
    assert isinstance(gone, asyncio.CancelledError)
    assert isinstance(others[0], int)
    assert others == [others[0]] * 2


def suspended_innermost_first(task: asyncio.Task[Any]) -> list[Coroutine[Any, Any, Any]]:
    """A task's coroutine and those it is awaiting that have begun, the innermost first:
    those the garbage collector closes (one never begun, it warns of instead)."""
    chain: list[Coroutine[Any, Any, Any]] = []
    coro: Any = task.get_coro()
    while inspect.iscoroutine(coro):
        if inspect.getcoroutinestate(coro) == inspect.CORO_SUSPENDED:
            chain.append(coro)
        coro = coro.cr_await
    return chain[::-1]


@pytest.mark.postgres
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 0], ids=lambda n: f"{n} steps" if n else "reading")
def test_a_read_left_in_flight_by_a_closed_loop_does_not_hold_up_the_next(
    slow_postgres: tuple[Engine, Agents], steps: int
) -> None:
    # The old loop is closed a few steps into the read (before its connection is asked
    # for, say), or with the read under way in the database.
    engine, repo = slow_postgres
    old = asyncio.new_event_loop()

    async def walk_away() -> asyncio.Future[int]:
        abandoned = asyncio.ensure_future(repo.version())
        for _ in range(steps):
            await asyncio.sleep(0)
        if not steps:
            await read_under_way(engine)  # and sleeping in the database
        return abandoned

    old.run_until_complete(walk_away())
    left = asyncio.all_tasks(old)
    old.close()  # closed with the read still under way: nothing of it will finish
    bump_rows(engine)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT version FROM access_version_rows")).scalar_one()
    assert asyncio.run(asyncio.wait_for(repo.version(), 5)) == stored
    # The garbage collector will close what the old loop left, whenever it runs and in
    # any order (CI once failed on an inner one closed first): that must raise nothing,
    # nor warn (pytest fails the test on either).
    for task in left:
        for coro in suspended_innermost_first(task):
            coro.close()
    del left
    gc.collect()
    assert asyncio.run(asyncio.wait_for(repo.version(), 5)) == stored


@pytest.mark.postgres
@pytest.mark.parametrize("read_timeout", [0.1])  # against 0.3 s reads
def test_a_read_slower_than_the_limit_denies_its_calls_and_the_next_read_recovers(
    slow_postgres: tuple[Engine, Agents],
) -> None:
    engine, repo = slow_postgres

    async def calls() -> list[int | BaseException]:
        return await asyncio.gather(*(repo.version() for _ in range(3)), return_exceptions=True)

    assert [type(r) for r in asyncio.run(calls())] == [TimeoutError] * 3
    slow_reads(engine, 0)
    assert all(isinstance(r, int) for r in asyncio.run(calls()))


@pytest.mark.postgres
def test_a_dropped_connection_is_replaced_without_failing_the_calls(
    postgres_url: str,
) -> None:
    # As a server restart or a proxy's idle cut would: the kept connection is gone.
    # Only this test's (its own application_name): other runs may share the database.
    name = f"bollard-test-{uuid.uuid4().hex[:12]}"
    tagged = make_url(postgres_url).update_query_dict({"application_name": name})
    engine = open_store(tagged.render_as_string(hide_password=False))
    repo = Agents(engine, load_catalog())

    async def calls() -> list[int | BaseException]:
        first = await repo.version()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND state = 'idle' AND query = %s AND application_name = %s",
                (VERSION_READ, name),
            ).fetchall()
            assert cut == [(True,)]
        together = await asyncio.gather(
            *(repo.version() for _ in range(20)), return_exceptions=True
        )
        return [first, *together]

    try:
        versions = asyncio.run(calls())
    finally:
        repo.close()
        engine.dispose()
    assert versions == [versions[0]] * 21


@pytest.fixture
def behind_blackhole(postgres_url: str, read_timeout: float) -> Iterator[tuple[Blackhole, Agents]]:
    """Agents on PostgreSQL reached through a proxy that can go silent; the kept
    connection gets 0.3 s to answer."""
    url = make_url(postgres_url)
    with Blackhole(url.host or "127.0.0.1", url.port or 5432) as hole:
        proxied = url.set(host="127.0.0.1", port=hole.port)
        engine = open_store(proxied.render_as_string(hide_password=False))
        versions = AccessVersion(engine, read_timeout=read_timeout, kept_timeout=0.3)
        repo = Agents(engine, load_catalog(), versions=versions)
        yield hole, repo
        repo.close()
        engine.dispose()


@pytest.mark.postgres
def test_a_kept_connection_cut_without_a_word_is_replaced_without_failing_the_calls(
    behind_blackhole: tuple[Blackhole, Agents],
) -> None:
    # A NAT's idle cut: the kept connection goes silent (no reset), the database is fine.
    hole, repo = behind_blackhole

    async def calls() -> list[int | BaseException]:
        first = await repo.version()
        hole.cut_open_connections()
        together = asyncio.gather(*(repo.version() for _ in range(20)), return_exceptions=True)
        return [first, *await together]

    versions = asyncio.run(calls())
    assert versions == [versions[0]] * 21


@pytest.mark.postgres
@pytest.mark.parametrize("read_timeout", [1.0])
def test_a_database_gone_silent_denies_the_calls_at_the_read_limit_not_later(
    behind_blackhole: tuple[Blackhole, Agents],
) -> None:
    # A network partition: nothing answers, nothing resets. psycopg, cancelled mid-read,
    # would spend seconds trying to cancel on the server; the calls must not wait for it.
    hole, repo = behind_blackhole

    async def calls() -> tuple[list[int | BaseException], float]:
        await repo.version()
        hole.partition()
        started = time.monotonic()
        together = asyncio.gather(*(repo.version() for _ in range(5)), return_exceptions=True)
        return await together, time.monotonic() - started

    outcomes, waited = asyncio.run(calls())
    assert [type(o) for o in outcomes] == [TimeoutError] * 5
    assert waited < 3.0  # the limit is 1 s; psycopg's own cancel would take 5 s and more
