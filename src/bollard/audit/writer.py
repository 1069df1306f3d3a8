"""The audit writer: one thread, group commit, fail closed.

Callers hand records to `append` and wait until they are committed. The writer
thread takes everything queued, appends it to the chain in one transaction and
commits once, so the durability cost (one fsync) is shared by every call that
arrived meanwhile. The first write error is final for this process: from then
on every append fails at once and `/readyz` says why. Nothing is retried and
carried on, because a call whose record may be lost must not be forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bollard.audit.chain import GENESIS, Record
from bollard.errors import AuditUnavailable
from bollard.store.tables import audit_head, audit_records

log = logging.getLogger("bollard.audit")


@dataclass(slots=True)
class _Pending:
    records: Sequence[Record]
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class AuditWriter:
    """Appends records to the hash chain in batches; `append` returns once committed."""

    def __init__(self, engine: Engine, *, max_batch: int = 1024) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.failure: str | None = None
        self.batches = 0
        self.records_written = 0

    @property
    def healthy(self) -> bool:
        return self.failure is None

    def start(self) -> None:
        ensure_head(self._engine)
        self._thread = threading.Thread(target=self._run, name="bollard-audit", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None

    async def append(self, *records: Record) -> None:
        """Commit these records (in order, adjacent in the chain) or raise AuditUnavailable."""
        if self.failure is not None:
            raise AuditUnavailable(f"the audit log cannot be written: {self.failure}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(records, future, loop))
        await future

    def append_now(self, *records: Record) -> None:
        """Commit from synchronous code (the CLI); same chain, same transaction rules."""
        append_records(self._engine, records)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(nxt)
            self._commit([p for p in batch if isinstance(p, _Pending)])

    def _commit(self, batch: list[_Pending]) -> None:
        if self.failure is None:
            try:
                append_records(self._engine, [r for p in batch for r in p.records])
                self.batches += 1
                self.records_written += sum(len(p.records) for p in batch)
            except Exception as exc:  # the one place a write error becomes a refusal
                log.exception("audit write failed; refusing all further calls")
                self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        for pending in batch:
            pending.loop.call_soon_threadsafe(_settle, pending.future, self.failure)


def _settle(future: asyncio.Future[None], failure: str | None) -> None:
    if future.done():
        return
    if failure is None:
        future.set_result(None)
    else:
        future.set_exception(AuditUnavailable(f"the audit log cannot be written: {failure}"))


def ensure_head(engine: Engine) -> None:
    """Create the chain's head row if this is a new database."""
    with contextlib.suppress(IntegrityError), engine.begin() as conn:
        if conn.execute(select(audit_head.c.id)).first() is None:
            conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))


def append_records(engine: Engine, records: Sequence[Record]) -> None:
    """Append records after the current head in one transaction."""
    if not records:
        return
    with engine.begin() as conn:
        # Touch the head first: this takes the write lock (SQLite) or the row lock
        # (PostgreSQL) before we read it, so concurrent writers queue up here.
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq))
        seq, prev = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
        rows = []
        for record in records:
            seq += 1
            row = record.row(seq, prev)
            prev = row["hash"]
            rows.append(row)
        conn.execute(insert(audit_records), rows)
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
