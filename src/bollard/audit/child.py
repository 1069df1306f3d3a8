"""The audit writer process (`python -m bollard.audit.child FD`): see `audit.process`.

It reads, from the socket on descriptor FD, first its configuration (the database
URL, the signing key, where the checkpoint file is), then record frames; it runs
`AuditWriter`, whose thread commits them, and answers each commit with one
acknowledgement frame. At EOF it commits what it received, signs a last
checkpoint, says so and exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from bollard.audit.chain import Record
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.checkpointer import Checkpointer
from bollard.audit.process import frame, read_frame, split_frames
from bollard.audit.writer import _WAKE, AuditWriter, _Pending
from bollard.store import engine_for

log = logging.getLogger("bollard.audit")


class ChildWriter(AuditWriter):
    """The writer, telling the serving processes over their sockets instead of settling
    futures. Peer 0 is the process that started it; with `--workers` on SQLite
    (`listen`), each worker connects as a further peer."""

    def __init__(
        self, engine: Engine, checkpointer: Checkpointer, sock: socket.socket, max_batch: int
    ) -> None:
        super().__init__(engine, max_batch=max_batch, checkpointer=checkpointer)
        self._peers: dict[int, socket.socket] = {0: sock}
        self._next_peer = 0
        self._send_lock = threading.Lock()
        self._told: tuple[Any, ...] | None = None

    def _settle(self, batch: list[_Pending], failure: str | None) -> None:
        # One frame a commit to each peer with tokens in it; to every peer when the
        # failure changed, or when nothing was waited for but the counters changed
        # (an outage over, a checkpoint).
        tokens: dict[int, list[int]] = {}
        waited: dict[int, int] = {}
        leaving = []
        for p in batch:
            peer, token = p.future
            if token is None:  # the peer's EOF: all it sent is settled with this
                leaving.append(peer)
                continue
            tokens.setdefault(peer, []).append(token)
            waited[peer] = waited.get(peer, 0) + (not p.deferred)
        state = self.state()
        if not tokens and self._told == state and not leaving:
            return
        told = self._told
        if not tokens or told is None or told[:2] != state[:2]:
            targets = list(self._peers)
        else:
            targets = list(tokens)
        self._told = state
        for peer in targets:
            self._send(peer, frame((tuple(tokens.get(peer, ())), waited.get(peer, 0), failure,
                                    *state)))  # fmt: skip
        for peer in leaving:
            self._drop(peer)

    def state(self) -> tuple[Any, ...]:
        """What the serving process shows: the failure, whether fatal, the counters."""
        c, w = self.commit_seconds, self.wal_checkpoint_seconds
        return (
            self.failure, self.fatal,
            (self.batches, self.records_written, self.checkpoints_written, self.recovered,
             self.delayed_commits, self.outages, tuple(c.counts), c.total, tuple(w.counts),
             w.total),
        )  # fmt: skip

    def tell_all(self) -> None:
        """The state, to every peer (the last counters, at the end)."""
        data = frame(((), 0, None, *self.state()))
        for peer in list(self._peers):
            self._send(peer, data)

    def _send(self, peer: int, data: bytes) -> None:
        sock = self._peers.get(peer)
        if sock is None:
            return
        try:
            with self._send_lock:
                sock.sendall(data)
        except OSError as exc:  # that process is gone: its EOF ends its reading
            log.warning("cannot acknowledge to serving process %d: %s", peer, exc)

    def _drop(self, peer: int) -> None:
        sock = self._peers.pop(peer, None)
        if sock is not None and peer != 0:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def drop_all(self) -> None:
        for peer in list(self._peers):
            self._drop(peer)

    def receive(self, peer: int, items: list[Any]) -> None:
        """Hand the records of decoded frames to the writer thread."""
        deferred: list[_Pending] = []
        waited: list[_Pending] = []
        for token, is_deferred, rows, datas in items:
            records = [_record(row, data) for row, data in zip(rows, datas, strict=True)]
            (deferred if is_deferred else waited).append(
                _Pending(records, datas, (peer, token), None, is_deferred)
            )
        # The deferred first: the commit that the others wake takes them along.
        self._deferred.extend(deferred)
        for pending in waited:
            self._queue.put(pending)
        if deferred and not waited:
            self._queue.put(_WAKE)

    def read(self, peer: int, sock: socket.socket) -> None:
        """Read a peer's frames until its EOF; then what it sent is committed, it is
        told, and its socket closed."""
        received = bytearray()
        while True:
            try:
                data = sock.recv(1 << 18)
            except OSError as exc:
                log.error("serving process %d: its socket failed: %s", peer, exc)
                break
            if not data:
                break
            received += data
            self.receive(peer, split_frames(received))
        if peer != 0:
            self._queue.put(_Pending((), (), (peer, None), None))

    def accept(self, listener: socket.socket) -> None:
        """Take the workers' connections (same user only), each read by a thread."""
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return  # closed: the writer is stopping
            uid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                log.error("refused a connection from user %d", uid)
                sock.close()
                continue
            self._next_peer += 1
            peer = self._next_peer
            sock.sendall(frame((True, *self.state())))
            self._peers[peer] = sock
            threading.Thread(target=self.read, args=(peer, sock), daemon=True).start()


def _record(row: Sequence[Any], data: str) -> Record:
    # The data decoded again: the writer commits the caller's encoding (`datas`),
    # and reads `data` only to write outcomes it held through an outage.
    request_id, kind, ts_us, door, agent, action, decision, outcome, status = row
    return Record(
        request_id, kind, ts_us, door, agent, action, decision, outcome, status, json.loads(data)
    )


@contextlib.contextmanager
def _alone(engine: Engine) -> Iterator[None]:
    """SQLite: work no other writer process is doing on this database file: closing
    orphans at start, committing what was received at the end.

    A server killed and started again leaves its writer committing what it had
    received (it reads EOF within moments of the kill, long before a new server has
    started); the new writer's orphan recovery waits for that, or it would record
    those calls' outcomes as unknown beside the real ones. The lock is on a file
    beside the database, and held only for those two moments: two servers on one
    file (tests do that) still run side by side.
    """
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        yield
        return
    fd = os.open(f"{database}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


def serve(sock: socket.socket) -> int:
    """Run the writer for the serving process at the other end of `sock`."""
    config = read_frame(sock)
    if config is None:
        return 1
    url, key, checkpoint_path, every, seconds, max_batch, level, listen = config
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s bollard audit writer (pid %(process)d): %(message)s",
    )
    checkpointer = Checkpointer(
        Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key)),
        CheckpointFile(Path(checkpoint_path)),
        every=every,
        seconds=seconds,
    )
    engine = engine_for(url)
    writer = ChildWriter(engine, checkpointer, sock, max_batch)
    try:
        with _alone(engine):
            writer.start()
    except Exception as exc:  # cannot even begin: say why, and end
        log.exception("the audit writer cannot start")
        sock.sendall(frame((False, f"{type(exc).__name__}: {exc}"[:300], True, None)))
        return 1
    listener = None
    if listen is not None:  # the workers of `bollard serve --workers N` connect here
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind("\0" + listen)  # Linux's abstract namespace: no file to leave behind
        listener.listen(64)
        threading.Thread(target=writer.accept, args=(listener,), daemon=True).start()
    sock.sendall(frame((True, *writer.state())))
    try:
        writer.read(0, sock)  # until the process that started it closes it
    finally:
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            listener.close()
        with _alone(engine):
            writer.close()  # commits what was received, then a last checkpoint
        writer.tell_all()  # the final counters
        writer.drop_all()
        sock.close()
        engine.dispose()
    return 0


def main() -> None:
    # Its end is the serving process's to decide (EOF), after the last outcomes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=int(sys.argv[1]))
    sock.setblocking(True)
    sys.exit(serve(sock))


if __name__ == "__main__":
    main()
