"""The one place chain rows are built: appending records after the stored head.

Every append (the writer thread's batches, the CLI, admin changes) goes through
`ChainSQL`, so every row is hashed, linked and (if due) checkpointed the same way.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import IntegrityError

from bollard.audit.chain import COLUMNS, GENESIS, Record, canonical, fast_hash
from bollard.audit.checkpoint import Checkpoint, is_authentic, sign
from bollard.audit.checkpointer import Checkpointer
from bollard.audit.seal import Head, Untrusted, mac, vouch
from bollard.store.tables import audit_head


def ensure_head(engine: Engine) -> None:
    """Create the chain's head row if this is a new database."""
    with contextlib.suppress(IntegrityError), engine.begin() as conn:
        if conn.execute(select(audit_head.c.id)).first() is None:
            conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))


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
        return (
            ChainSQL.for_engine(engine)
            .append(conn, records, checkpointer, force_checkpoint=force_checkpoint)
            .checkpoint
        )
    finally:
        conn.close()


def append_within(
    conn: Connection, records: Sequence[Record], checkpointer: Checkpointer | None
) -> int:
    """Chain `records` inside the caller's open transaction; returns the new head's seq.

    For a change and its audit record that must commit (or roll back) together, from
    the CLI or the console, while servers append too. Commit is the caller's. On
    SQLite, call it after the transaction's first write (which takes the write lock),
    so the head it reads cannot move before the commit. No checkpoint is signed here:
    the next checkpoint (a running writer's, or the next CLI append's) covers it.
    `checkpointer` gives the MAC key (None only where no key is used: some tests);
    the records after the newest checkpoint must carry valid MACs (seal.Untrusted).
    """
    if not records:
        return 0
    raw = conn.connection.dbapi_connection
    if raw is None:
        raise RuntimeError("append_within needs a connection with an open transaction")
    cursor = raw.cursor()
    try:
        sql = ChainSQL.for_engine(conn.engine)
        trusted = sql.trusted(cursor, checkpointer)
        return sql.extend(cursor, records, checkpointer, trusted).seq
    finally:
        cursor.close()


_PREV, _HASH = COLUMNS.index("prev_hash"), COLUMNS.index("hash")


class NothingWritten(Exception):
    """An append failed at its first statement (reading the head): nothing was sent
    to be written, so it may be made again on another connection."""


@dataclass(frozen=True, slots=True)
class Appended:
    """What an append left: the new head, and the checkpoint it signed (if any)."""

    head: Head
    checkpoint: Checkpoint | None


_CHECKPOINT_COLUMNS = ("seq", "count", "head_hash", "ts_us", "key_id", "signature")
# 14 parameters a row, 71 rows: 994, under the 999 that SQLite builds before 3.32 allow.
_ROWS_PER_INSERT = 71
_WIDTH = len(COLUMNS) + 1  # the parameters of a row: its columns and its MAC
_COLUMN_LIST = ", ".join(COLUMNS)


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
    set_head_if: str  # ... only if it is still at a given seq and hash
    latest_checkpoint: str
    insert_checkpoint: str
    since: str  # the records after one seq through another, to vouch for them
    mac_at: str
    kinds: str  # ... IN, followed by a group of placeholders
    placeholder: str

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
            # The columns in chain.COLUMNS order, as the rows below are built.
            insert=driver(
                "INSERT INTO audit_records (seq, request_id, kind, ts_us, agent, door, action,"
                " decision, outcome, status, data, prev_hash, hash, mac) VALUES "
            ),
            values=driver("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            set_head=driver("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"),
            set_head_if=driver(
                "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ?"
            ),
            latest_checkpoint=(
                "SELECT seq, count, head_hash, ts_us, key_id, signature FROM audit_checkpoints"
                " ORDER BY seq DESC LIMIT 1"
            ),
            insert_checkpoint=driver(
                "INSERT INTO audit_checkpoints (seq, count, head_hash, ts_us, key_id, signature)"
                " VALUES (?, ?, ?, ?, ?, ?)"
            ),
            since=driver(
                f"SELECT {_COLUMN_LIST}, mac FROM audit_records"  # noqa: S608 - fixed names
                " WHERE seq > ? AND seq <= ? ORDER BY seq"
            ),
            mac_at=driver("SELECT mac FROM audit_records WHERE seq = ?"),
            kinds="SELECT request_id, kind FROM audit_records WHERE request_id IN ",
            placeholder=driver("?"),
        )

    def append(
        self,
        conn: DBAPIConnection,
        records: Sequence[Record],
        checkpointer: Checkpointer | None,
        *,
        force_checkpoint: bool = False,
        datas: Sequence[str] | None = None,
        trusted: Head | None = None,
        probe: bool = False,
    ) -> Appended:
        """One transaction on a DBAPI connection: the records, then a checkpoint if due.

        `datas`, if given, are the records' canonical data, already encoded by the caller.
        `trusted`: the head this writer last wrote or vouched for; None reads the newest
        signed checkpoint's. Records between it and the stored head must chain on and
        carry valid MACs, or nothing is written (seal.Untrusted). `probe`: write the
        head even if no record is appended (a write that fails on a full disk).

        The checkpoint goes to the file only after the commit, so the file is never
        ahead of the database. On any error the transaction is rolled back and the
        error raised.
        """
        cursor = conn.cursor()
        try:
            if self.begin:
                cursor.execute(self.begin)
            head = None
            if self.sqlite and trusted is not None and records:
                head = self._extend_trusted(cursor, records, checkpointer, trusted, datas)
            if trusted is None:
                trusted = self.trusted(cursor, checkpointer)
            if head is None:
                head = self.extend(cursor, records, checkpointer, trusted, datas, probe=probe)
            start = head.seq - len(records)
            made = None
            if checkpointer is not None and (force_checkpoint or checkpointer.due(start, head.seq)):
                made = self._checkpoint(cursor, checkpointer, head.seq, head.hash)
            if self.sqlite:
                cursor.execute("COMMIT")
            else:
                conn.commit()
        except BaseException:
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
        return Appended(head, made)

    def trusted(self, cursor: DBAPICursor, checkpointer: Checkpointer | None) -> Head | None:
        """The newest signed checkpoint's head (genesis if none); None without a key."""
        if checkpointer is None:
            return None
        cursor.execute(self.latest_checkpoint)
        found = cursor.fetchone()
        if found is None:
            return Head(0, GENESIS)
        last = Checkpoint.from_json(dict(zip(_CHECKPOINT_COLUMNS, found, strict=True)))
        if not is_authentic(last, checkpointer.key.public_key()):
            raise Untrusted(f"checkpoint #{last.seq} in the database is not signed by this key")
        return Head(last.count, last.head_hash)

    def extend(
        self,
        cursor: DBAPICursor,
        records: Sequence[Record],
        checkpointer: Checkpointer | None = None,
        trusted: Head | None = None,
        datas: Sequence[str] | None = None,
        *,
        probe: bool = False,
    ) -> Head:
        """Chain `records` after the stored head, inside the cursor's open transaction.

        Locks the head (PostgreSQL: FOR UPDATE), vouches for the records between
        `trusted` and it (when given, with `checkpointer`'s MAC key), inserts the rows
        with their MACs, moves the head; never begins, commits or rolls back.
        Returns the new head.
        """
        try:
            cursor.execute(self.head)
            found = cursor.fetchone()
        except Exception as exc:  # the transaction's first statement: nothing written
            raise NothingWritten(str(exc)) from exc
        if found is None:
            raise RuntimeError("the audit chain has no head row: run ensure_head first")
        stored = Head(int(found[0]), str(found[1]))
        key = checkpointer.mac_key if checkpointer is not None else None
        if key is not None and trusted is not None and trusted != stored:
            self._vouch(cursor, key, trusted, stored)
        rows, head = self._rows(stored, records, datas, key)
        self._insert(cursor, rows)
        if rows or probe:
            cursor.execute(self.set_head, (head.seq, head.hash))
        return head

    @staticmethod
    def _rows(
        after: Head, records: Sequence[Record], datas: Sequence[str] | None, key: bytes | None
    ) -> tuple[list[Any], Head]:
        """The rows chaining `records` after `after` (hash and MAC each), one after
        another in one flat list of parameters (_WIDTH a row), and the new head."""
        seq, prev = after.seq, after.hash
        flat: list[Any] = []
        add = flat.extend
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
            add(hashed)
            add((prev, digest, mac(key, digest) if key else None))
            prev = digest
        return flat, Head(seq, prev)

    def _insert(self, cursor: DBAPICursor, flat: list[Any]) -> None:
        step = _ROWS_PER_INSERT * _WIDTH
        for at in range(0, len(flat), step):
            chunk = flat[at : at + step]
            # One statement for many rows: one step in SQLite, so the thread gives
            # up and takes back the GIL once, not once per row.
            sql = self.insert + ", ".join([self.values] * (len(chunk) // _WIDTH))
            cursor.execute(sql, chunk)

    def _extend_trusted(
        self,
        cursor: DBAPICursor,
        records: Sequence[Record],
        checkpointer: Checkpointer | None,
        trusted: Head,
        datas: Sequence[str] | None,
    ) -> Head | None:
        """SQLite: chain `records` after `trusted`, the head this writer left, without
        reading the head first; the head moves only if it is still there. None, with
        the transaction begun again and nothing written, if it is not (another process
        appended, or worse): then `extend` reads it and vouches for what came between.

        One statement fewer per batch: each gives up the GIL and takes it back from
        the event loop, which costs the loop more than the statement costs SQLite.
        """
        key = checkpointer.mac_key if checkpointer is not None else None
        rows, head = self._rows(trusted, records, datas, key)
        try:
            self._insert(cursor, rows)
            cursor.execute(self.set_head_if, (head.seq, head.hash, trusted.seq, trusted.hash))
            moved = cursor.rowcount != 1
        except sqlite3.IntegrityError:  # a record already holds one of these seqs
            moved = True
        if not moved:
            return head
        cursor.execute("ROLLBACK")
        if self.begin:
            cursor.execute(self.begin)
        return None

    def kinds_of(self, cursor: DBAPICursor, request_ids: Sequence[str]) -> dict[str, set[str]]:
        """The kinds of record the log holds for each of these request ids."""
        found: dict[str, set[str]] = {}
        for at in range(0, len(request_ids), 500):
            chunk = request_ids[at : at + 500]
            cursor.execute(
                self.kinds + "(" + ", ".join([self.placeholder] * len(chunk)) + ")", chunk
            )
            for rid, kind in cursor.fetchall():
                found.setdefault(str(rid), set()).add(str(kind))
        return found

    def _vouch(self, cursor: DBAPICursor, key: bytes, trusted: Head, stored: Head) -> None:
        # Another replica, the CLI or an attacker moved the head: accept only records
        # that chain on from ours and carry a MAC made with the key.
        begun = False
        if trusted.seq > 0:
            cursor.execute(self.mac_at, (trusted.seq,))
            at = cursor.fetchone()
            begun = at is not None and at[0] is not None
        cursor.execute(self.since, (trusted.seq, max(stored.seq, trusted.seq)))
        rows = [
            (row[0], row[_PREV], row[_HASH], row[-1], fast_hash(row[_PREV], row) == row[_HASH])
            for row in cursor.fetchall()
        ]
        vouch(key, trusted, stored, rows, begun)

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
