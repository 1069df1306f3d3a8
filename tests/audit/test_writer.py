"""The writer's group commit: concurrent callers share commits; a lone caller never waits."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import uvloop
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from bollard.audit import Record
from bollard.audit.appender import append_records
from bollard.audit.verify import verify
from bollard.audit.writer import DEFER_AT_MOST, AuditWriter
from bollard.errors import AuditUnavailable
from bollard.store import open_store
from bollard.store.tables import audit_records


def record(n: int) -> Record:
    return Record(request_id=f"r{n:06d}", kind="request", ts_us=n, door="rest", agent="a")


def test_one_caller_at_a_time_commits_alone_and_is_never_held_back(engine: Engine) -> None:
    writer = AuditWriter(engine)
    writer.start()

    async def one_by_one() -> None:
        for n in range(50):
            await writer.append(record(n))

    try:
        asyncio.run(one_by_one())
    finally:
        writer.close()
    assert writer.records_written == writer.batches == 50
    assert writer.delayed_commits == 0


def test_concurrent_callers_share_commits_and_the_chain_stays_whole(engine: Engine) -> None:
    writer = AuditWriter(engine)
    writer.start()

    async def waves() -> None:
        for wave in range(20):
            await asyncio.gather(*(writer.append(record(wave * 100 + i)) for i in range(50)))

    try:
        asyncio.run(waves())
    finally:
        writer.close()
    assert writer.records_written == 1000
    # 50 callers at once: far fewer commits than records, and the busy writer held
    # some commits back a moment to gather more.
    assert writer.batches <= 500
    assert writer.delayed_commits >= 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_records)).scalar() == 1000
    report = verify(engine, Ed25519PrivateKey.generate().public_key(), None)
    assert report.ok
    assert report.records == 1000


def test_a_batch_after_another_process_appended_chains_after_that_record(
    engine: Engine,
) -> None:
    """The writer chains after the head it left without reading it; when someone else
    moved the head meanwhile (the CLI, another replica), it reads it and chains after."""
    writer = AuditWriter(engine)
    writer.start()

    async def around_an_outside_append() -> None:
        await writer.append(record(0))
        await asyncio.to_thread(append_records, engine, [record(1)])
        await writer.append(record(2), record(3))

    try:
        asyncio.run(around_an_outside_append())
    finally:
        writer.close()
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_records.c.seq, audit_records.c.request_id).order_by(audit_records.c.seq)
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "r000000"),
        (2, "r000001"),
        (3, "r000002"),
        (4, "r000003"),
    ]
    report = verify(engine, Ed25519PrivateKey.generate().public_key(), None)
    assert report.ok
    assert report.records == 4


def test_a_record_that_is_not_text_fails_its_own_call_and_not_the_writer(engine: Engine) -> None:
    writer = AuditWriter(engine)
    writer.start()
    bad = Record(
        request_id="bad", kind="request", ts_us=1, door="mcp", data={"params": {"q": "\ud800"}}
    )

    async def calls() -> None:
        with pytest.raises(AuditUnavailable, match="cannot be encoded"):
            await writer.append(bad)
        await writer.append(record(1))

    try:
        asyncio.run(calls())
    finally:
        writer.close()
    assert writer.healthy
    assert writer.records_written == 1


@pytest.mark.postgres
def test_on_postgresql_a_connection_dropped_between_batches_is_replaced(
    postgres_url: str,
) -> None:
    engine = open_store(postgres_url)
    writer = AuditWriter(engine)
    writer.start()

    async def one(n: int) -> None:
        await writer.append(record(n))

    try:
        asyncio.run(one(1))
        # As a server restart would: every idle connection of this database is cut.
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND state = 'idle'"
            )
        asyncio.run(one(2))
    finally:
        writer.close()
        engine.dispose()
    assert writer.healthy
    assert writer.records_written == 2


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_records.c.request_id).order_by(audit_records.c.seq))
        return [r[0] for r in rows]


def test_deferred_records_ride_with_the_next_commit_without_waking_the_writer(
    engine: Engine,
) -> None:
    writer = AuditWriter(engine)
    writer.start()

    async def calls() -> bool:
        outcomes = [writer.defer(record(n)) for n in range(3)]  # outcomes, say
        await writer.append(record(3))  # the next call's request record
        return all(o.done() for o in outcomes)

    try:
        settled = asyncio.run(calls())
    finally:
        writer.close()
    # One commit (one fsync) for all four; the deferred ones were settled with it.
    assert settled
    assert (writer.batches, writer.records_written) == (1, 4)
    assert stored_ids(engine) == ["r000000", "r000001", "r000002", "r000003"]


def test_a_deferred_record_alone_is_committed_moments_later(engine: Engine) -> None:
    writer = AuditWriter(engine)  # no checkpointer: nothing else would wake the writer
    writer.start()

    async def alone(n: int) -> None:
        await asyncio.wait_for(writer.defer(record(n)), timeout=5)

    async def defer_and_leave() -> None:
        writer.defer(record(2))  # its wake-up timer is on this loop, which closes now

    try:
        asyncio.run(alone(1))
        assert stored_ids(engine) == ["r000001"]
        asyncio.run(defer_and_leave())
        asyncio.run(alone(3))  # at once: the timer that never fired does not strand it
    finally:
        writer.close()
    assert stored_ids(engine) == ["r000001", "r000002", "r000003"]


def test_a_record_deferred_as_the_wake_up_fires_gets_a_wake_up_of_its_own(
    engine: Engine,
) -> None:
    """A record deferred in the very pass that runs the writer's wake-up, just after it,
    is woken for too (on uvloop, what `bollard serve` runs)."""
    writer = AuditWriter(engine)  # no checkpointer: nothing else would wake the writer
    writer.start()

    async def calls() -> None:
        loop = asyncio.get_running_loop()
        for n in range(0, 20, 2):
            first = writer.defer(record(n))
            second: asyncio.Future[asyncio.Future[None]] = loop.create_future()

            def defer_next(n: int, into: asyncio.Future[asyncio.Future[None]]) -> None:
                into.set_result(writer.defer(record(n + 1)))

            # Due with the writer's wake-up, so it runs in the same pass, just after it.
            loop.call_later(DEFER_AT_MOST, defer_next, n, second)
            await asyncio.wait_for(first, timeout=5)
            await asyncio.wait_for(await second, timeout=5)

    try:
        uvloop.run(calls())
    finally:
        writer.close()
    assert len(stored_ids(engine)) == 20


def test_records_deferred_just_before_close_are_committed_by_it(engine: Engine) -> None:
    writer = AuditWriter(engine)
    writer.start()

    async def then_stop() -> None:
        writer.defer(record(1))
        writer.close()

    asyncio.run(then_stop())
    assert stored_ids(engine) == ["r000001"]
