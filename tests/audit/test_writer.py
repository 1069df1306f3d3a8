"""The writer's group commit: concurrent callers share commits; a lone caller never waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from bollard.audit import Record, checkpoints
from bollard.audit.checkpoints import CheckpointFile
from bollard.audit.verify import verify
from bollard.audit.writer import AuditWriter, Checkpointer
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


def test_a_checkpoint_due_in_a_commit_without_fsync_is_made_by_the_next_durable_one(
    tmp_path: Path,
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'bollard.db'}")
    file = CheckpointFile.in_state_dir(tmp_path / "state")
    key = Ed25519PrivateKey.generate()
    writer = AuditWriter(engine, checkpointer=Checkpointer(key, file, every=3, seconds=3600))
    writer.start()

    async def calls() -> tuple[int, int]:
        for n in range(4):  # outcomes, say: committed without an fsync, past record 3
            await writer.enqueue(record(n), durable=False)
        after_lazy = len(checkpoints.stored(engine))
        await writer.append(record(4))
        return after_lazy, len(checkpoints.stored(engine))

    try:
        after_lazy, after_durable = asyncio.run(calls())
        signed, _ = file.read()
    finally:
        writer.close()
        engine.dispose()
    # Nothing signed over records not yet on disk; the next durable commit signs all five.
    assert after_lazy == 0
    assert after_durable == 1
    assert [c.count for c in signed][:1] == [5]
    assert verify(engine, key.public_key(), file).ok
