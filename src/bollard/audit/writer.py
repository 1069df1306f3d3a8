"""The audit writer: one thread, group commit, signed checkpoints, fail closed.

Callers hand records to `append` and wait until they are committed. The writer
thread takes everything queued, appends it to the chain in one transaction and
commits once, so the durability cost (one fsync) is shared by every call that
arrived meanwhile. Every `checkpoint_every` records, or `checkpoint_seconds`
after the last checkpoint if records came since, the same thread signs a
checkpoint of the head: into the database in the batch's transaction, then
into the checkpoint file. The first write error is final for this process:
from then on every append fails at once and `/readyz` says why. Nothing is
retried and carried on, because a call whose record may be lost must not be
forwarded.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import PoolProxiedConnection

from bollard.audit import checkpoints
from bollard.audit.chain import GENESIS, Record, canonical
from bollard.audit.chainwalk import fast_hash
from bollard.audit.checkpoint import Checkpoint, sign
from bollard.audit.checkpoints import CheckpointFile
from bollard.audit.keyfile import signing_key
from bollard.audit.recovery import orphans
from bollard.errors import AuditUnavailable
from bollard.settings import Settings
from bollard.store.tables import audit_head

log = logging.getLogger("bollard.audit")

# On PostgreSQL other replicas may have calls in flight when one starts.
POSTGRES_ORPHAN_GRACE_US = 15 * 60 * 1_000_000


@dataclass(slots=True)
class Checkpointer:
    """Signs checkpoints of the head: every `every` records, or `seconds` after the last."""

    key: Ed25519PrivateKey
    file: CheckpointFile
    every: int = 1000
    seconds: float = 10.0
    clock: Callable[[], float] = time.time
    last_at: float = field(default=0.0)

    def due(self, before: int, after: int) -> bool:
        crossed = after // self.every > before // self.every
        return crossed or (after > before and self.clock() - self.last_at >= self.seconds)


@dataclass(slots=True)
class _Pending:
    records: Sequence[Record]
    datas: Sequence[str]  # each record's canonical data, encoded once by the caller
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


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
# Upper bounds (seconds) of the writer's duration histograms in /metrics.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Durations:
    """A histogram the writer thread fills and a scrape reads (Prometheus buckets)."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last: slower than every bound
        self.total = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1  # the first bound >= it
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, how many took at most that), as Prometheus wants them."""
        out, running = [], 0
        for bound, count in zip((*map(str, BUCKETS), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


class AuditWriter:
    """Appends records to the hash chain in batches; `append` returns once committed."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 1024,
        checkpointer: Checkpointer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._checkpointer = checkpointer
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
        self._conn: PoolProxiedConnection | None = None  # SQLite: the thread's own
        self._sqlite = engine.dialect.name == "sqlite"
        self._wal_at = time.monotonic()  # SQLite: when the WAL was last checkpointed
        self._wal_pending = False  # and whether commits came since
        self.failure: str | None = None
        self.batches = 0
        self.records_written = 0
        self.checkpoints_written = 0
        self.recovered = 0
        self.delayed_commits = 0
        # How long commits and WAL checkpoints hold the thread (every call behind waits).
        self.commit_seconds = Durations()
        self.wal_checkpoint_seconds = Durations()

    @property
    def healthy(self) -> bool:
        return self.failure is None

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

    def close(self) -> None:
        """Stop the thread after what is queued, and anchor the tail with a last checkpoint."""
        if self._thread is not None:
            self._queue.put(_STOP)
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
                self._close_connection()
            if self._checkpointer is not None and self.failure is None:
                self._guarded(lambda: self.checkpoint_now())

    async def append(self, *records: Record) -> None:
        """Commit these records (in order, adjacent in the chain) or raise AuditUnavailable."""
        await self.enqueue(*records)

    async def flush(self) -> None:
        """Return once everything queued before this call is committed (or has failed),
        and its callers have been told."""
        if self._thread is None:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        # Through the queue even after a failure: the thread still settles, in order.
        self._queue.put(_Pending((), (), future, loop))
        with contextlib.suppress(AuditUnavailable):
            await future

    def enqueue(self, *records: Record) -> asyncio.Future[None]:
        """Queue these records for the next commit and return at once, without waiting.

        The future settles when they are committed, or fails with AuditUnavailable.
        Raises AuditUnavailable at once if the log has failed or a record cannot be
        encoded. Records queued before `close` are committed before it returns.
        """
        pending = self._pending(records)
        self._queue.put(pending)
        return pending.future

    def defer(self, *records: Record) -> asyncio.Future[None]:
        """Like `enqueue`, but without waking the writer: the records ride with the next
        commit, whatever wakes it, and wait at most DEFER_AT_MOST for one.

        For records nobody waits for (a forwarded call's outcome): under load they
        share the next request records' commit and fsync, instead of costing the
        writer a wake-up and a commit of their own.
        """
        pending = self._pending(records)
        self._deferred.append(pending)
        # No timer to come? (One set on another loop may never fire: it may have closed.)
        # A flag, not a deadline: uvloop keeps timers in whole milliseconds and can
        # fire one a little before a deadline read from the clock, and a record
        # deferred in that moment would then wait for no timer at all.
        if not self._wake_set or pending.loop is not self._wake_loop:
            self._wake_set, self._wake_loop = True, pending.loop
            pending.loop.call_later(DEFER_AT_MOST, self._wake_for_deferred)
        return pending.future

    def _wake_for_deferred(self) -> None:
        self._wake_set = False
        if self._deferred:
            self._queue.put(_WAKE)

    def _pending(self, records: Sequence[Record]) -> _Pending:
        if self.failure is not None:
            raise AuditUnavailable(f"the audit log cannot be written: {self.failure}")
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
        return _Pending(records, datas, loop.create_future(), loop)

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
        in_db = checkpoints.stored(self._engine)
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
            self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"

    def _run(self) -> None:
        busy = False
        while True:
            try:
                item = self._queue.get(timeout=self._idle_timeout())
            except queue.Empty:
                cp = self._checkpointer
                if cp is not None and self._clock() - cp.last_at >= cp.seconds:
                    self._commit(self._take_deferred(), idle=True)
                if self._wal_pending:
                    self._checkpoint_wal()
                continue
            if item is _STOP:
                self._commit(self._take_deferred())
                self._close_connection()
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
        if self.failure is not None:
            return None
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
            _pragma(self._connection(), "wal_checkpoint(PASSIVE)")
            self.wal_checkpoint_seconds.observe(time.monotonic() - started)
        except Exception as exc:
            log.warning("WAL checkpoint failed (%s); will retry", exc)

    def _commit(self, batch: list[_Pending], idle: bool = False) -> None:
        records = [r for p in batch for r in p.records]
        datas = [d for p in batch for d in p.datas]
        if self.failure is None and (records or (idle and self._checkpointer)):
            try:
                started = time.monotonic()
                made = self._append(records, datas, idle)
                self.commit_seconds.observe(time.monotonic() - started)
                self.batches += bool(batch)
                self.records_written += len(records)
                self.checkpoints_written += made is not None
                self._wal_pending = self._sqlite
            except Exception as exc:  # the one place a write error becomes a refusal
                log.exception("audit write failed; refusing all further calls")
                self.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                self._close_connection()
        # One wake-up per event loop for the whole batch, not one per caller.
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for pending in batch:
            by_loop.setdefault(pending.loop, []).append(pending.future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, futures, self.failure)

    def _append(self, records: list[Record], datas: list[str], idle: bool) -> Checkpoint | None:
        if not self._sqlite:
            # PostgreSQL: a pooled connection per batch, pinged on checkout, so a
            # server restarted between batches is reconnected rather than fatal.
            pooled = self._engine.raw_connection()
            try:
                return self._sql.append(
                    pooled, records, self._checkpointer, force_checkpoint=idle, datas=datas
                )
            finally:
                pooled.close()
        # SQLite: the thread's own connection, kept (no checkout per batch).
        return self._sql.append(
            self._connection(), records, self._checkpointer, force_checkpoint=idle, datas=datas
        )

    def _connection(self) -> PoolProxiedConnection:
        """SQLite: the thread's own connection, opened on first use."""
        if self._conn is None:
            conn = self._engine.raw_connection()
            conn.detach()  # this thread's alone, for as long as it runs
            _pragma(conn, "wal_autocheckpoint = 0")  # `_checkpoint_wal` does it
            self._conn = conn
        return self._conn

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _pragma(conn: PoolProxiedConnection, pragma: str) -> None:
    cursor = conn.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
        cursor.fetchall()
    finally:
        cursor.close()


def _settle(futures: list[asyncio.Future[None]], failure: str | None) -> None:
    for future in futures:
        if future.done():
            continue
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(AuditUnavailable(f"the audit log cannot be written: {failure}"))


def rollback_problem(in_db: Sequence[Checkpoint], in_file: Sequence[Checkpoint]) -> str | None:
    """Why the database looks older than the checkpoint file, or None."""
    by_seq = {c.seq: c for c in in_db}
    for cp in in_file:
        if cp.seq not in by_seq:
            return (
                f"the checkpoint file has checkpoint #{cp.seq} (record {cp.count}) that the "
                "database lacks: the database was rolled back to an older copy or replaced. "
                "Run `bollard audit verify`; if this database is new on purpose, move the "
                "checkpoint file aside"
            )
        if by_seq[cp.seq] != cp:
            return (
                f"checkpoint #{cp.seq} differs between the database and the checkpoint file: "
                "the database was rolled back or replaced; run `bollard audit verify`"
            )
    return None


def writer_for(
    settings: Settings, engine: Engine, *, clock: Callable[[], float] = time.time
) -> AuditWriter:
    """The gateway's writer: checkpoints signed with the key outside the database."""
    return AuditWriter(engine, checkpointer=checkpointer_for(settings, clock=clock), clock=clock)


def checkpointer_for(settings: Settings, *, clock: Callable[[], float] = time.time) -> Checkpointer:
    """Signs with the key from the environment or state directory; files into the state dir."""
    return Checkpointer(
        signing_key(settings.state_dir),
        CheckpointFile.in_state_dir(settings.state_dir),
        clock=clock,
    )


def ensure_head(engine: Engine) -> None:
    """Create the chain's head row if this is a new database."""
    with contextlib.suppress(IntegrityError), engine.begin() as conn:
        if conn.execute(select(audit_head.c.id)).first() is None:
            conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))


def append_within(conn: Connection, records: Sequence[Record]) -> None:
    """Append records inside the caller's open transaction: they commit with it or not at all.

    The head row is locked from here until that transaction ends (SQLite: it began
    IMMEDIATE; PostgreSQL: FOR UPDATE), so a running server's writer waits for it.
    """
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    ChainSQL.for_engine(conn.engine).append(dbapi, records, None, in_transaction=True)


def append_records(
    engine: Engine,
    records: Sequence[Record],
    checkpointer: Checkpointer | None = None,
    *,
    force_checkpoint: bool = False,
) -> Checkpoint | None:
    """Append records after the current head in one transaction; checkpoint if due."""
    if not records and not (force_checkpoint and checkpointer):
        return None
    conn = engine.raw_connection()
    try:
        return ChainSQL.for_engine(engine).append(
            conn, records, checkpointer, force_checkpoint=force_checkpoint
        )
    finally:
        conn.close()


_CHECKPOINT_COLUMNS = ("seq", "count", "head_hash", "ts_us", "key_id", "signature")
# 13 parameters a row, 76 rows: 988, under the 999 that SQLite builds before 3.32 allow.
_ROWS_PER_INSERT = 76


@dataclass(frozen=True, slots=True)
class ChainSQL:
    """The appends' statements, as plain SQL for the driver: the hot path skips
    SQLAlchemy's statement building and execution layers (measured: most of the
    writer thread's time went there), and runs five statements per batch.
    """

    sqlite: bool
    begin: str | None
    head: str
    insert: str  # ... VALUES, followed by one `values` group per row
    values: str
    set_head: str
    latest_checkpoint: str
    insert_checkpoint: str

    @classmethod
    def for_engine(cls, engine: Engine) -> ChainSQL:
        sqlite = engine.dialect.name == "sqlite"

        def driver(sql: str) -> str:  # pysqlite's placeholder is ?, psycopg's %s
            return sql if sqlite else sql.replace("?", "%s")

        return cls(
            sqlite=sqlite,
            # SQLite: take the write lock up front. PostgreSQL: lock the head row, so
            # replicas append one batch at a time to the one chain.
            begin="BEGIN IMMEDIATE" if sqlite else None,
            head=(
                "SELECT seq, hash FROM audit_head WHERE id = 1"
                if sqlite
                else "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
            ),
            # The columns in chainwalk.COLUMNS order, as the rows below are built.
            insert=driver(
                "INSERT INTO audit_records (seq, request_id, kind, ts_us, agent, door, action,"
                " decision, outcome, status, data, prev_hash, hash) VALUES "
            ),
            values=driver("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            set_head=driver("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"),
            latest_checkpoint=(
                "SELECT seq, count, head_hash, ts_us, key_id, signature FROM audit_checkpoints"
                " ORDER BY seq DESC LIMIT 1"
            ),
            insert_checkpoint=driver(
                "INSERT INTO audit_checkpoints (seq, count, head_hash, ts_us, key_id, signature)"
                " VALUES (?, ?, ?, ?, ?, ?)"
            ),
        )

    def append(
        self,
        conn: DBAPIConnection,
        records: Sequence[Record],
        checkpointer: Checkpointer | None,
        *,
        force_checkpoint: bool = False,
        datas: Sequence[str] | None = None,
        in_transaction: bool = False,
    ) -> Checkpoint | None:
        """One transaction on a DBAPI connection: the records, then a checkpoint if due.

        `datas`, if given, are the records' canonical data, already encoded by the caller.
        `in_transaction`: the caller has begun the transaction (an admin change) and
        commits or rolls it back; no checkpoint then, its file write must follow a commit.

        The checkpoint goes to the file only after the commit, so the file is never
        ahead of the database. On any error the transaction is rolled back and the
        error raised.
        """
        if in_transaction and checkpointer is not None:
            raise ValueError("no checkpoint inside the caller's transaction")
        cursor = conn.cursor()
        try:
            if self.begin and not in_transaction:
                cursor.execute(self.begin)
            cursor.execute(self.head)
            head = cursor.fetchone()
            if head is None:
                raise RuntimeError("the audit chain has no head row: run ensure_head first")
            start, prev = int(head[0]), str(head[1])
            seq, rows = start, []
            if datas is None:
                datas = [canonical(r.data) for r in records]
            for r, data in zip(records, datas, strict=True):
                seq += 1
                # COLUMNS order; fast_hash gives chain_hash's bytes without a dict.
                hashed = (
                    seq, r.request_id, r.kind, r.ts_us, r.agent, r.door, r.action,
                    r.decision, r.outcome, r.status, data,
                )  # fmt: skip
                digest = fast_hash(prev, hashed)
                rows.append((*hashed, prev, digest))
                prev = digest
            for at in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[at : at + _ROWS_PER_INSERT]
                # One statement for many rows: one step in SQLite, so the thread gives
                # up and takes back the GIL once, not once per row.
                sql = self.insert + ", ".join([self.values] * len(chunk))
                cursor.execute(sql, tuple(v for row in chunk for v in row))
            if rows:
                cursor.execute(self.set_head, (seq, prev))
            made = None
            if checkpointer is not None and (force_checkpoint or checkpointer.due(start, seq)):
                made = self._checkpoint(cursor, checkpointer, seq, prev)
            if in_transaction:
                pass  # the caller commits: the change and its records together
            elif self.sqlite:
                cursor.execute("COMMIT")
            else:
                conn.commit()
        except BaseException:
            if not in_transaction:  # else the caller rolls back its own transaction
                with contextlib.suppress(Exception):
                    if self.sqlite:
                        cursor.execute("ROLLBACK")
                    else:
                        conn.rollback()
            raise
        finally:
            cursor.close()
        if made is not None and checkpointer is not None:
            checkpointer.file.append([made])
        return made

    def _checkpoint(
        self, cursor: DBAPICursor, checkpointer: Checkpointer, count: int, head: str
    ) -> Checkpoint | None:
        cursor.execute(self.latest_checkpoint)
        found = cursor.fetchone()
        last = None
        if found is not None:
            last = Checkpoint.from_json(dict(zip(_CHECKPOINT_COLUMNS, found, strict=True)))
        checkpointer.last_at = checkpointer.clock()
        if count == 0 or (last is not None and last.count >= count):
            return None
        ts_us = int(checkpointer.last_at * 1_000_000)
        made = sign(checkpointer.key, (last.seq if last else 0) + 1, count, head, ts_us)
        row = made.to_json()
        cursor.execute(self.insert_checkpoint, tuple(row[c] for c in _CHECKPOINT_COLUMNS))
        return made
