"""The audit writer: one thread, group commit, signed checkpoints, fail closed.

Callers hand records to `append` and wait until they are committed. The writer
thread takes everything queued, appends it to the chain in one transaction and
commits once, so the durability cost (one fsync) is shared by every call that
arrived meanwhile. Every `checkpoint_every` records, or `checkpoint_seconds`
after the last checkpoint if records came since, the same thread signs a
checkpoint of the head: into the database in the batch's transaction, then
into the checkpoint file.

A write error starts an outage (`outage.py`): every append fails at once and
`/readyz` says why, while the thread tries the database again every second and
resumes when it takes writes. No record is retried and carried on: a call whose
record may be lost is never forwarded. Records that do not chain on from the head
this writer last wrote, or carry no valid MAC (`seal.py`), end appends for good:
someone wrote the database who does not hold the key.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine

from bollard.audit import checkpoint_store
from bollard.audit.appender import ChainSQL, NothingWritten, append_records, ensure_head
from bollard.audit.chain import Record, canonical
from bollard.audit.checkpoint import Checkpoint
from bollard.audit.checkpoint_store import rollback_problem
from bollard.audit.checkpointer import Checkpointer, checkpointer_for
from bollard.audit.durations import Durations
from bollard.audit.link import Link, pragma
from bollard.audit.outage import (
    COMMIT_TIMEOUT,
    HELD_AT_MOST,
    RETRY_EVERY,
    Outage,
    closing,
    requests_among,
    unavailable,
)
from bollard.audit.recovery import POSTGRES_ORPHAN_GRACE_US, orphans
from bollard.audit.seal import Head, Untrusted
from bollard.errors import AuditUnavailable
from bollard.settings import Settings

log = logging.getLogger("bollard.audit")


@dataclass(slots=True)
class _Pending:
    """Records on their way to a commit, and whom to tell (`AuditWriter._settle`):
    here a future on `loop`; in the writer process (`audit.child`) a token, whose
    acknowledgement goes back over its socket."""

    records: Sequence[Record]
    datas: Sequence[str]  # each record's canonical data, encoded once by the caller
    future: Any  # asyncio.Future[None] here; the token in the writer process
    loop: asyncio.AbstractEventLoop | None
    deferred: bool = False  # nobody waits: held through an outage, not refused


_STOP = object()
_WAKE = object()  # commit what was deferred
# Like PostgreSQL's commit_delay and commit_siblings: when the last commit carried
# several callers (calls are arriving concurrently), wait a moment before the next
# so that it carries more; under light load nobody waits. Measured with
# bench/gateway.py: 3.9 -> 5.1 records per fsync and +15% throughput at
# concurrency 32, while the p99 at a fixed 500 calls/s stayed within 3 ms of direct.
COMMIT_DELAY = 0.001
COMMIT_SIBLINGS = 4
# SQLite's WAL is checkpointed by the writer thread between commits (`_checkpoint_wal`):
# WAL_EVERY seconds after the last, once nothing is queued, and after WAL_AT_MOST
# even while calls keep coming. SQLite's own automatic checkpoint is off: it would
# run inside whichever commit crossed 1,000 pages and hold up every call behind it.
WAL_EVERY = 0.2
WAL_AT_MOST = 1.0
# Records handed to `defer` wait at most this long for a commit to ride with.
DEFER_AT_MOST = 0.05


class AuditLog(Protocol):
    """What the gateway, the console, /readyz and /metrics use of a writer: `AuditWriter`
    (a thread of this process) or `process.WriterProcess` (a process of its own)."""

    failure: str | None
    fatal: bool
    batches: int
    records_written: int
    checkpoints_written: int
    recovered: int
    delayed_commits: int
    outages: int
    commit_seconds: Durations
    wal_checkpoint_seconds: Durations

    @property
    def checkpointer(self) -> Checkpointer | None: ...
    @property
    def healthy(self) -> bool: ...
    @property
    def queued(self) -> int: ...
    def wait_writable(self, timeout: float) -> bool: ...
    def start(self) -> None: ...
    def close(self) -> None: ...
    async def append(self, *records: Record) -> None: ...
    async def flush(self) -> None: ...
    def enqueue(self, *records: Record) -> asyncio.Future[None]: ...
    def defer(self, *records: Record) -> asyncio.Future[None]: ...
    def append_now(self, *records: Record) -> None: ...
    def checkpoint_now(self) -> Checkpoint | None: ...


class WriterStatus:
    """What either writer (this thread, or `audit.process`) shows /readyz, /metrics and
    the console: whether it is well, and its counters; and the `append` every call
    awaits, over the writer's own `enqueue` and `_too_slow`."""

    def __init__(self, checkpointer: Checkpointer | None) -> None:
        self._checkpointer = checkpointer
        self._writable = threading.Event()  # set while no outage (or fatal failure) holds
        self.failure: str | None = None  # what is wrong, for the operator (log, /readyz)
        self.fatal = False  # the failure ends appends for good (tampering, a rollback)
        self.outages = 0
        self.batches = 0
        self.records_written = 0
        self.checkpoints_written = 0
        self.recovered = 0
        self.delayed_commits = 0
        # How long commits and WAL checkpoints hold the writer (every call behind waits).
        self.commit_seconds = Durations()
        self.wal_checkpoint_seconds = Durations()

    @property
    def checkpointer(self) -> Checkpointer | None:
        """Its signer, whose key also seals the admin changes appended beside it."""
        return self._checkpointer

    @property
    def healthy(self) -> bool:
        return self.failure is None

    def wait_writable(self, timeout: float) -> bool:
        """Wait (from a thread, not the event loop) until an outage is over."""
        return self._writable.wait(timeout)

    async def append(self, *records: Record) -> None:
        """Commit these records (in order, adjacent in the chain) or raise AuditUnavailable."""
        committed = self.enqueue(*records)
        # A timer, not wait_for(shield(...)): the future is this caller's alone, and
        # the timer fails it (measured: 3 against 8 µs of the loop's CPU per append).
        timer = committed.get_loop().call_later(COMMIT_TIMEOUT, self._too_slow, committed)
        try:
            await committed
        finally:
            timer.cancel()

    def enqueue(self, *records: Record) -> asyncio.Future[None]:
        raise NotImplementedError

    def _too_slow(self, committed: asyncio.Future[None]) -> None:
        raise NotImplementedError


class AuditWriter(WriterStatus):
    """Appends records to the hash chain in batches; `append` returns once committed."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 1024,
        checkpointer: Checkpointer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(checkpointer)
        self._engine = engine
        self._max_batch = max_batch
        self._clock = clock
        self._queue: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        # `defer`red records: taken by the thread whenever it commits (deque: thread-safe
        # append and popleft); a timer on `_wake_loop`, set while `_wake_set`, wakes it
        # for them. Both are touched only on event-loop threads.
        self._deferred: collections.deque[_Pending] = collections.deque()
        self._wake_set = False
        self._wake_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sql = ChainSQL.for_engine(engine)
        self._link = Link(engine)  # the thread's own connection
        self._sqlite = engine.dialect.name == "sqlite"
        self._wal_at = time.monotonic()  # SQLite: when the WAL was last checkpointed
        self._wal_pending = False  # and whether commits came since
        self._outage: Outage | None = None
        self._held: list[_Pending] = []  # deferred records held through an outage
        self._trusted: Head | None = None  # the head this writer last wrote or vouched for
        self._busy_since: float | None = None  # when the thread's database work began
        self._watching = threading.Event()  # set: the watch ends
        self._writable.set()

    @property
    def queued(self) -> int:
        """Records waiting for the writer thread (approximate, for metrics)."""
        return self._queue.qsize() + len(self._deferred)

    def start(self) -> None:
        """Prepare the chain, reconcile checkpoints, close orphans, then start the thread."""
        ensure_head(self._engine)
        self._guarded(self._reconcile)
        if self.failure is None:
            self._guarded(self._recover)
        self._thread = threading.Thread(target=self._run, name="bollard-audit", daemon=True)
        self._thread.start()
        self._watching.clear()
        threading.Thread(target=self._watch, name="bollard-audit-watch", daemon=True).start()

    def close(self) -> None:
        """Stop the thread after what is queued, and anchor the tail with a last checkpoint."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._watching.set()
            self._thread.join(timeout=10)
            stuck = self._thread.is_alive()
            self._thread = None
            if stuck:  # its connection may still be in use: write nothing from here
                log.error("the audit writer did not stop within 10 s (a stalled write?)")
                self.failure = self.failure or "the writer thread did not stop in time"
            # Deferred while the thread was stopping: committed here (or, after a
            # failure, their callers told), the thread being gone.
            if self._deferred:
                self._commit(self._take_deferred())
                self._link.close()
            self._drop_held()
            if self._checkpointer is not None and self.failure is None:
                self._guarded(lambda: self.checkpoint_now())

    def _too_slow(self, committed: asyncio.Future[None]) -> None:
        """A commit not made within COMMIT_TIMEOUT: the call is refused. A partition says
        nothing: shut the socket the thread waits on, so the commit fails (and an
        outage begins) instead of holding every call."""
        if committed.done():
            return
        log.error("an audit commit took over %g s; closing its connection", COMMIT_TIMEOUT)
        self._writable.clear()  # until a commit succeeds again
        self._link.cut()
        committed.set_exception(unavailable())

    async def flush(self) -> None:
        """Return once everything queued before this call is committed (or has failed),
        and its callers have been told."""
        if self._thread is None:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        # Through the queue even after a failure: the thread still settles, in order.
        self._queue.put(_Pending((), (), future, loop))
        with contextlib.suppress(AuditUnavailable, TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), COMMIT_TIMEOUT)

    def enqueue(self, *records: Record) -> asyncio.Future[None]:
        """Queue these records for the next commit and return at once, without waiting.

        The future settles when they are committed, or fails with AuditUnavailable.
        Raises AuditUnavailable at once if the log has failed or a record cannot be
        encoded. Records queued before `close` are committed before it returns.
        """
        pending = self._pending(records)
        self._queue.put(pending)
        future: asyncio.Future[None] = pending.future
        return future

    def defer(self, *records: Record) -> asyncio.Future[None]:
        """Like `enqueue`, but without waking the writer: the records ride with the next
        commit, whatever wakes it, and wait at most DEFER_AT_MOST for one.

        For records nobody waits for (a forwarded call's outcome): under load they
        share the next request records' commit and fsync, instead of costing the
        writer a wake-up and a commit of their own.
        """
        pending = self._pending(records, deferred=True)
        self._deferred.append(pending)
        # No timer to come? (One set on another loop may never fire: it may have closed.)
        # A flag, not a deadline: uvloop keeps timers in whole milliseconds and can
        # fire one a little before a deadline read from the clock, and a record
        # deferred in that moment would then wait for no timer at all.
        loop = pending.loop
        assert loop is not None  # the caller's, from _pending
        if not self._wake_set or loop is not self._wake_loop:
            self._wake_set, self._wake_loop = True, loop
            loop.call_later(DEFER_AT_MOST, self._wake_for_deferred)
        future: asyncio.Future[None] = pending.future
        return future

    def _wake_for_deferred(self) -> None:
        self._wake_set = False
        if self._deferred:
            self._queue.put(_WAKE)

    def _pending(self, records: Sequence[Record], deferred: bool = False) -> _Pending:
        # In an outage a deferred record (a forwarded call's outcome) is held, not refused.
        if self.failure is not None and (self.fatal or not deferred):
            raise unavailable()
        if self._thread is None:
            raise AuditUnavailable("the audit log is not open (the writer is stopped)")
        try:
            # Encoded here, in the caller's call: a record that cannot become UTF-8
            # text fails its own call, never the writer (which would refuse all calls).
            datas = [canonical(r.data) for r in records]
            for data in datas:
                data.encode("utf-8")
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise AuditUnavailable(
                f"this call's audit record cannot be encoded ({type(exc).__name__}), "
                "so it was not sent"
            ) from None
        loop = asyncio.get_running_loop()
        return _Pending(records, datas, loop.create_future(), loop, deferred)

    def append_now(self, *records: Record) -> None:
        """Commit from synchronous code (the CLI); same chain, same transaction rules."""
        append_records(self._engine, records, self._checkpointer)

    def checkpoint_now(self) -> Checkpoint | None:
        """Sign a checkpoint of the head now if records came since the last one."""
        if self._checkpointer is None:
            return None
        made = append_records(self._engine, (), self._checkpointer, force_checkpoint=True)
        self.checkpoints_written += made is not None
        return made

    def _reconcile(self) -> None:
        if self._checkpointer is None:
            return
        in_db = checkpoint_store.stored(self._engine)
        in_file, _ = self._checkpointer.file.read()
        problem = rollback_problem(in_db, in_file)
        if problem:
            raise RuntimeError(problem)
        self._checkpointer.file.catch_up(in_db)
        self._checkpointer.last_at = self._clock()

    def _recover(self) -> None:
        grace = POSTGRES_ORPHAN_GRACE_US if self._engine.dialect.name == "postgresql" else 0
        found = orphans(self._engine, int(self._clock() * 1_000_000), grace)
        if found:
            log.warning("%d request(s) had no outcome: recorded as outcome_unknown", len(found))
            append_records(self._engine, found, self._checkpointer)
        self.recovered = len(found)

    def _guarded(self, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # a failure here is a refusal, like a failed write
            log.exception("audit log unusable; refusing all calls")
            self.failure = _describe(exc)
            self.fatal = True
            self._writable.clear()

    def _run(self) -> None:
        busy = False
        while True:
            try:
                item = self._queue.get(timeout=self._idle_timeout())
            except queue.Empty:
                cp = self._checkpointer
                if self._outage is not None:
                    self._commit(self._take_deferred())
                elif cp is not None and self._clock() - cp.last_at >= cp.seconds:
                    self._commit(self._take_deferred(), idle=True)
                if self._wal_pending:
                    self._checkpoint_wal()
                continue
            if item is _STOP:
                self._commit(self._take_deferred())
                self._link.close()
                return
            batch = [item]
            if busy:
                time.sleep(COMMIT_DELAY)
                self.delayed_commits += 1
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(nxt)
            pending = [p for p in batch if isinstance(p, _Pending)]
            busy = len(pending) >= COMMIT_SIBLINGS
            self._commit(self._take_deferred() + pending)
            if self._wal_pending:
                since = time.monotonic() - self._wal_at
                if since >= WAL_EVERY and (self._queue.empty() or since >= WAL_AT_MOST):
                    self._checkpoint_wal()

    def _take_deferred(self) -> list[_Pending]:
        taken: list[_Pending] = []
        with contextlib.suppress(IndexError):
            while True:
                taken.append(self._deferred.popleft())
        return taken

    def _idle_timeout(self) -> float | None:
        if self.fatal:
            return None
        if self._outage is not None:
            return max(0.01, self._outage.next_try - time.monotonic())
        waits = []
        if self._checkpointer is not None:
            cp = self._checkpointer
            waits.append(cp.last_at + cp.seconds - self._clock())
        if self._wal_pending:
            waits.append(self._wal_at + WAL_EVERY - time.monotonic())
        return max(0.01, min(waits)) if waits else None

    def _checkpoint_wal(self) -> None:
        """Copy the WAL's pages into the database file, between this thread's commits.

        Run here, no audit commit lands while it copies (the audit log is nearly all
        of the writes), so it copies every frame and the next commit starts the WAL
        file over from its beginning: the file stays a few megabytes and commits
        overwrite blocks it already has, which syncs faster than growing it
        (measured at 800 commits/s: p50 0.32 vs 0.43-0.47 ms a commit, and a WAL of
        5-7 MB after 10 s against 166-266 MB when another thread checkpointed
        concurrently and never caught up). A failed checkpoint
        loses nothing: the pages wait in the WAL for the next.
        """
        started = self._wal_at = time.monotonic()
        self._wal_pending = False
        try:
            pragma(self._link.get(), "wal_checkpoint(PASSIVE)")
            self.wal_checkpoint_seconds.observe(time.monotonic() - started)
        except Exception as exc:
            log.warning("WAL checkpoint failed (%s); will retry", exc)

    def _commit(self, batch: list[_Pending], idle: bool = False) -> None:
        if self._outage is not None and not self._resume():
            self._refuse(batch)
            return
        records = [r for p in batch for r in p.records]
        datas = [d for p in batch for d in p.datas]
        if self.failure is None and (records or (idle and self._checkpointer)):
            try:
                started = time.monotonic()
                self._busy_since = time.monotonic()
                try:
                    made = self._append(records, datas, idle)
                finally:
                    self._busy_since = None
                self.commit_seconds.observe(time.monotonic() - started)
                self.batches += bool(batch)
                self.records_written += len(records)
                self.checkpoints_written += made is not None
                self._wal_pending = self._sqlite
                if not self._writable.is_set():
                    self._writable.set()
            except Exception as exc:  # the one place a write error becomes a refusal
                self._failed(exc)
                self._refuse(batch)
                return
        self._settle(batch, self.failure)

    def _settle(self, batch: list[_Pending], failure: str | None) -> None:
        # One wake-up per event loop for the whole batch, not one per caller.
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for pending in batch:
            if pending.loop is not None:
                by_loop.setdefault(pending.loop, []).append(pending.future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, futures, failure)

    def _refuse(self, batch: list[_Pending]) -> None:
        """Tell the waiting callers; hold what nobody waits for until the database is back."""
        outage = self._outage
        if outage is None:  # fatal: nothing will be written again
            self._settle(batch, self.failure or "failed")
            return
        waiting = [p for p in batch if not p.deferred]
        for pending in waiting:
            outage.unsure.update(requests_among(pending.records))
        for pending in batch:
            if pending.deferred and len(outage.held) < HELD_AT_MOST:
                outage.held.extend(pending.records)
                self._held.append(pending)
            elif pending.deferred:
                log.error("too many outcomes held in the outage; dropping some")
                waiting.append(pending)
        self._settle(waiting, self.failure or "failed")

    def _failed(self, exc: Exception) -> None:
        self._link.close()
        self._writable.clear()
        self.failure = _describe(exc)
        if isinstance(exc, Untrusted):
            log.error("audit log refused: %s; refusing all calls until restarted", exc)
            self.fatal, self._outage = True, None
            self._drop_held()
        elif self._outage is None:
            log.exception("audit write failed; refusing calls until the database is back")
            now = time.monotonic()
            self._outage = Outage(self.failure, now, now + RETRY_EVERY)
            self.outages += 1
        else:
            self._outage.reason = self.failure
            self._outage.next_try = time.monotonic() + RETRY_EVERY

    def _resume(self) -> bool:
        """Try the database again (at most every RETRY_EVERY): write what the outage
        held, then carry on. False while it is still away."""
        outage = self._outage
        assert outage is not None
        if time.monotonic() < outage.next_try:
            return False
        self._busy_since = time.monotonic()
        try:
            conn = self._link.get()
            cursor = conn.cursor()
            try:
                kinds = self._sql.kinds_of(cursor, outage.request_ids())
            finally:
                cursor.close()
            closing_records = closing(outage, kinds, int(self._clock() * 1_000_000))
            appended = self._sql.append(
                conn, closing_records, self._checkpointer, trusted=self._trusted, probe=True
            )
        except Exception as exc:
            self._failed(exc)
            return False
        finally:
            self._busy_since = None
        self._trusted = appended.head
        took = time.monotonic() - outage.since
        log.warning(
            "audit log writable again after %.1f s; %d held record(s) written",
            took,
            len(closing_records),
        )
        self.failure, self._outage = None, None
        self._writable.set()
        held, self._held = self._held, []
        self._settle(held, None)
        return True

    def _drop_held(self) -> None:
        held, self._held = self._held, []
        self._settle(held, self.failure or "stopped")

    def _append(self, records: list[Record], datas: list[str], idle: bool) -> Checkpoint | None:
        kept = self._link.conn is not None
        conn = self._link.get()
        try:
            appended = self._sql.append(
                conn, records, self._checkpointer, force_checkpoint=idle, datas=datas,
                trusted=self._trusted,
            )  # fmt: skip
        except NothingWritten:
            if self._sqlite or not kept:
                raise
            # PostgreSQL ended the kept connection between batches (a restart,
            # pg_terminate_backend) and said so too late to be seen idle: once more,
            # on a new one. Safe: the failed transaction wrote nothing.
            self._link.close()
            appended = self._sql.append(
                self._link.get(), records, self._checkpointer, force_checkpoint=idle,
                datas=datas, trusted=self._trusted,
            )  # fmt: skip
        self._trusted = appended.head
        return appended.checkpoint

    def _watch(self) -> None:
        """Cut the connection of database work that has not answered in COMMIT_TIMEOUT,
        whoever waits for it (a checkpoint, outcomes nobody waits for, a lock held by a
        replica stuck in a partition)."""
        while not self._watching.wait(1.0):
            since = self._busy_since
            if since is not None and time.monotonic() - since > COMMIT_TIMEOUT:
                log.error("audit database work stuck for over %g s; cutting", COMMIT_TIMEOUT)
                self._writable.clear()
                self._link.cut()


def _settle(futures: list[asyncio.Future[None]], failure: str | None) -> None:
    for future in futures:
        if future.done():
            continue
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(unavailable())


def _describe(exc: Exception) -> str:
    """An error as the operator reads it (the log and /readyz; never an agent)."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def writer_for(
    settings: Settings, engine: Engine, *, clock: Callable[[], float] = time.time
) -> AuditLog:
    """The gateway's writer: checkpoints signed with the key outside the database.

    A thread of this process (`auto`, the default, and `thread`); a process of its own
    (`audit.process`) with `BOLLARD_AUDIT_WRITER=process`, so its database work never
    takes the GIL from the event loop; under `serve --workers N` on SQLite (unless
    `thread`), the one writer process the workers share. A clock other than the wall
    clock (tests move one by hand) cannot cross into another process: such a writer is
    a thread.
    """
    checkpointer = checkpointer_for(settings, clock=clock)
    shared = settings.audit_writer_socket is not None and settings.audit_writer != "thread"
    if (settings.audit_writer == "process" or shared) and clock is time.time:
        from bollard.audit.process import WriterProcess

        return WriterProcess(engine, checkpointer, connect=settings.audit_writer_socket)
    return AuditWriter(engine, checkpointer=checkpointer, clock=clock)
