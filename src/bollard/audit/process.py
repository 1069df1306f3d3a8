"""The audit writer in a process of its own, and the serving process's side of it.

Why. In a thread of the serving process the writer shares the GIL with the event
loop: each SQLite statement and each fsync gives the GIL up and takes it back from
the busy loop (5-6 hand-offs a commit). In a process of its own the writer has a GIL
of its own; the loop only writes records to a socket and reads acknowledgements
from it, like any other socket. Measured on a 2-core host (bench/README.md, "The
audit writer in a process of its own"), the loop's CPU a call came out the same as
with the thread (what the hand-offs cost, the socket's wake-ups now cost), and
req/s 7% higher at a quiet moment, no higher at load 3-4. What it does make possible
is `bollard serve --workers N` on SQLite: every worker sends to one writer
(`shared_writer`). It also costs the process tree more CPU and memory a call (a second
interpreter: 242 against 162 MB), so a single server keeps the thread by default
(`BOLLARD_AUDIT_WRITER=auto`) and runs this one with `process`.

What runs there is `AuditWriter` itself (`audit.child`): the same group commit,
COMMIT_DELAY, signed checkpoints, WAL checkpoints, outage handling and retries,
fatal `Untrusted`, orphan recovery at start. Only whom it tells differs: instead of
futures settled on the loop, one acknowledgement frame a commit goes back over the
socket, naming the tokens committed (or refused), with the writer's state and counters.

`WriterProcess` has `AuditWriter`'s interface, so the gateway, /readyz, /metrics
and the console read it as they read the thread.

The child is started with `subprocess` (`python -m bollard.audit.child FD`) and
one end of a `socket.socketpair()` passed with `pass_fds`, rather than with
`multiprocessing`: it inherits exactly that one descriptor and an environment
chosen here (no `BOLLARD_*` variable, so neither Apollo key nor any other secret
it does not need; the database URL and the signing key come over the socket, never
in its arguments), and a fresh interpreter (forking a process that runs uvloop and
threads is unsafe). Multiprocessing's spawn would add pickling, its own pipes and a
resource tracker process, and nothing this needs.

Frames: a 4-byte length, then `marshal` of plain tuples (str, int, None): the same
interpreter binary on both ends of a private socketpair that nothing else can
write, and the fastest encoding of such tuples the standard library has. Each
record set is encoded in its caller's call (a record that cannot be encoded fails
its own call, never the writer); the frames queued in one turn of the loop go out
in one socket write.

The child ends when its socket reaches EOF (this process closed it, or died):
it commits what it received and exits. It ignores SIGINT and SIGTERM, which a
terminal or a service manager sends the whole group at once: its end is this
process's to decide, after the last outcomes have been sent. (PR_SET_PDEATHSIG is
not used: Linux sends it when the *thread* that started the child exits, and tests
start servers from threads that end; EOF covers a parent that dies.)

If the child dies, this process fails closed at once: every append raises
AuditUnavailable, /readyz says why, the log says so. It is not started again: a
new writer's orphan recovery would record every call still in flight here as
`outcome_unknown`, and the outcomes the dead one held are lost with it; a restart
of Bollard recovers them as it does after any crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import marshal
import os
import secrets
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import bollard
from bollard.audit.appender import append_records
from bollard.audit.chain import Record, canonical
from bollard.audit.checkpoint import Checkpoint
from bollard.audit.checkpointer import Checkpointer
from bollard.audit.outage import COMMIT_TIMEOUT, unavailable
from bollard.audit.writer import DEFER_AT_MOST, WriterStatus
from bollard.errors import AuditUnavailable

log = logging.getLogger("bollard.audit")

HEADER = struct.Struct(">I")
# Starting the child: a fresh interpreter, its imports, the chain's head, the
# reconciliation of checkpoints and the recovery of orphans, on a busy host.
START_TIMEOUT = 60.0
# Stopping it: what is queued committed, and a last checkpoint.
STOP_TIMEOUT = 15.0
_READ_SIZE = 1 << 18


def fields(record: Record) -> tuple[Any, ...]:
    """A record's columns but its data, as sent to the writer process."""
    return (
        record.request_id, record.kind, record.ts_us, record.door, record.agent,
        record.action, record.decision, record.outcome, record.status,
    )  # fmt: skip


def frame(value: Any) -> bytes:
    """`value` (plain tuples) as one frame."""
    body = marshal.dumps(value)
    return HEADER.pack(len(body)) + body


def read_frame(sock: socket.socket) -> Any:
    """The next frame from a blocking socket; None at EOF."""
    head = _read_exactly(sock, HEADER.size)
    if head is None:
        return None
    body = _read_exactly(sock, HEADER.unpack(head)[0])
    if body is None:
        return None
    return marshal.loads(body)  # noqa: S302 - our own frames, on a private socketpair


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, _READ_SIZE))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def split_frames(buffer: bytearray) -> list[Any]:
    """The whole frames at the start of `buffer`, decoded; removes them from it."""
    out, at, end = [], 0, len(buffer)
    while end - at >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer, at)
        if end - at - HEADER.size < size:
            break
        at += HEADER.size
        out.append(marshal.loads(buffer[at : at + size]))  # noqa: S302 - as above
        at += size
    del buffer[:at]
    return out


class WriterProcess(WriterStatus):
    """`AuditWriter`'s interface, for a writer running in a child process; its status
    and counters are the writer's, as its last frame said (or its end)."""

    def __init__(
        self,
        engine: Engine,
        checkpointer: Checkpointer,
        *,
        max_batch: int = 1024,
        connect: str | None = None,
    ) -> None:
        super().__init__(checkpointer)
        self._signer = checkpointer  # never None here: the child signs checkpoints
        self._engine = engine
        self._connect = connect  # a shared writer's address (`shared_writer`)
        self._max_batch = max_batch
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._token = 0  # the last one given
        self._waiting: dict[int, asyncio.Future[None]] = {}  # by token, until acknowledged
        self._out: list[bytes] = []  # frames for the next write
        self._later: list[bytes] = []  # deferred: with the next write, or after DEFER_AT_MOST
        self._send_set = False
        self._later_set = False
        # Waited-for frames sent and not yet acknowledged: none, and the writer is idle.
        self._unacked = 0
        self._unsent = bytearray()  # what the socket has not taken yet
        self._received = bytearray()

    @property
    def pid(self) -> int | None:
        """The writer process's id, while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def queued(self) -> int:
        """Records sent to the writer and not yet acknowledged (approximate, for metrics)."""
        return len(self._waiting)

    def start(self) -> None:
        """Start the writer process and wait until it has prepared the chain, reconciled
        checkpoints and closed orphans; from the event loop that will use it. With
        `connect`, join the writer a `bollard serve --workers N` supervisor started."""
        self._loop = asyncio.get_running_loop()
        if self._connect is None:
            self._proc, ours, ready = spawn(self._engine, self._signer, self._max_batch)
        else:
            ours = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ours.settimeout(START_TIMEOUT)
            try:
                ours.connect("\0" + self._connect)
                ready = read_frame(ours)
            except OSError as exc:
                ours.close()
                raise RuntimeError(f"cannot reach the audit writer process: {exc}") from None
            if ready is None:
                ours.close()
                raise RuntimeError("the audit writer process closed the connection")
        self._state(ready[1:])
        ours.setblocking(False)
        self._sock = ours
        self._loop.add_reader(ours.fileno(), self._readable)

    def close(self) -> None:
        """Send what is queued, then end the child: it commits everything it received
        and anchors the tail with a last checkpoint. Called from the event loop's thread."""
        sock, self._sock = self._sock, None
        if sock is not None:
            self._unregister(sock)
            data = bytes(self._unsent) + b"".join(self._later) + b"".join(self._out)
            self._unsent, self._later, self._out = bytearray(), [], []
            try:
                sock.setblocking(True)
                sock.settimeout(STOP_TIMEOUT)
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                while (ack := read_frame(sock)) is not None:
                    self._acked(ack)
            except OSError as exc:
                log.error("the audit writer process did not finish cleanly: %s", exc)
                self.failure = self.failure or f"the writer process did not stop cleanly ({exc})"
            finally:
                sock.close()
        if self._proc is not None:
            code = self._reap(STOP_TIMEOUT)
            if code != 0:
                log.error("the audit writer process ended: %s", _ended(code))
        self._fail_waiting()

    def _too_slow(self, committed: asyncio.Future[None]) -> None:
        """A commit not made within COMMIT_TIMEOUT: the call is refused (the writer's own
        watch cuts database work stuck that long)."""
        if committed.done():
            return
        log.error("an audit commit took over %g s; refusing the call", COMMIT_TIMEOUT)
        self._writable.clear()  # until the writer says it is well again
        committed.set_exception(unavailable())

    async def flush(self) -> None:
        """Return once everything queued before this call is committed (or has failed),
        and its callers have been told."""
        if self._sock is None:
            return
        token, data = self._encode((), deferred=False, checked=False)
        future = self._expect(token)
        self._out.append(data)
        self._send()
        with contextlib.suppress(AuditUnavailable, TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), COMMIT_TIMEOUT)

    def enqueue(self, *records: Record) -> asyncio.Future[None]:
        """Queue these records for the next commit and return at once, without waiting.

        The future settles when they are committed, or fails with AuditUnavailable.
        Raises AuditUnavailable at once if the log has failed or a record cannot be
        encoded. Records queued before `close` are committed before it returns.
        """
        token, data = self._encode(records, deferred=False)
        future = self._expect(token)
        self._out.append(data)
        if not self._unacked:  # the writer is idle: it commits these now
            self._send()
        elif not self._send_set:  # it is committing: these go with the others of this turn
            self._send_set = True
            future.get_loop().call_soon(self._send)
        return future

    def defer(self, *records: Record) -> asyncio.Future[None]:
        """Like `enqueue`, but sent with the next frame, whatever sends it, and after
        DEFER_AT_MOST at the latest; the writer commits them with its next commit."""
        token, data = self._encode(records, deferred=True)
        future = self._expect(token)
        self._later.append(data)
        if not self._later_set:
            self._later_set = True
            future.get_loop().call_later(DEFER_AT_MOST, self._send_later)
        return future

    def append_now(self, *records: Record) -> None:
        """Commit from synchronous code (the CLI); same chain, same transaction rules."""
        append_records(self._engine, records, self._checkpointer)

    def checkpoint_now(self) -> Checkpoint | None:
        """Sign a checkpoint of the head now if records came since the last one."""
        made = append_records(self._engine, (), self._checkpointer, force_checkpoint=True)
        self.checkpoints_written += made is not None
        return made

    def _encode(
        self, records: Sequence[Record], *, deferred: bool, checked: bool = True
    ) -> tuple[int, bytes]:
        # In an outage a deferred record (a forwarded call's outcome) is held, not refused.
        if checked and self.failure is not None and (self.fatal or not deferred):
            raise unavailable()
        if self._sock is None:
            raise AuditUnavailable("the audit log is not open (the writer is stopped)")
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError("the audit writer process is used from the loop that started it")
        self._token = token = self._token + 1
        try:
            # Encoded here, in the caller's call: a record that cannot become UTF-8
            # text, or a frame, fails its own call, never the writer.
            datas = tuple([canonical(r.data) for r in records])
            for data in datas:
                data.encode("utf-8")
            return token, frame((token, deferred, tuple([fields(r) for r in records]), datas))
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise AuditUnavailable(
                f"this call's audit record cannot be encoded ({type(exc).__name__}), "
                "so it was not sent"
            ) from None

    def _expect(self, token: int) -> asyncio.Future[None]:
        assert self._loop is not None
        future = self._waiting[token] = self._loop.create_future()
        return future

    def _send_later(self) -> None:
        self._later_set = False
        self._send()

    def _send(self) -> None:
        """Write the frames queued (deferred first, as the writer commits them) at once."""
        self._send_set = False
        if self._later:
            frames, self._later = self._later, []
            frames += self._out
        else:
            frames = self._out
        self._unacked += len(self._out)
        self._out = []
        sock = self._sock
        if not frames or sock is None:
            return
        data = b"".join(frames)
        if self._unsent:
            self._unsent += data
            return
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as exc:
            self._lost(f"its socket failed: {exc}")
            return
        if sent < len(data):
            self._unsent += data[sent:]
            assert self._loop is not None
            self._loop.add_writer(sock.fileno(), self._drain)

    def _drain(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sent = sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(f"its socket failed: {exc}")
            return
        del self._unsent[:sent]
        if not self._unsent and self._loop is not None:
            self._loop.remove_writer(sock.fileno())

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(f"its socket failed: {exc}")
            return
        if not data:
            self._lost("its socket closed")
            return
        self._received += data
        for ack in split_frames(self._received):
            self._acked(ack)

    def _acked(self, ack: tuple[Any, ...]) -> None:
        tokens, waited, failed = ack[0], ack[1], ack[2]
        self._unacked -= waited
        waiting = self._waiting
        for token in tokens:
            future = waiting.pop(token, None)
            if future is None or future.done():
                continue
            if failed is None:
                future.set_result(None)
            else:
                future.set_exception(unavailable())
        self._state(ack[3:])

    def _state(self, state: tuple[Any, ...]) -> None:
        """The writer's state and counters, from its ready frame or an acknowledgement."""
        failure, self.fatal, counters = state
        if failure is None:
            self._writable.set()
        else:
            self._writable.clear()
        self.failure = failure
        (
            self.batches, self.records_written, self.checkpoints_written, self.recovered,
            self.delayed_commits, self.outages, commits, commit_total, wals, wal_total,
        ) = counters  # fmt: skip
        self.commit_seconds.counts, self.commit_seconds.total = list(commits), commit_total
        self.wal_checkpoint_seconds.counts = list(wals)
        self.wal_checkpoint_seconds.total = wal_total

    def _lost(self, how: str) -> None:
        """The child is gone (or its socket broke): fail closed, for good."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._unregister(sock)
        sock.close()
        ended = "shared by the workers" if self._connect else _ended(self._reap(0.5))
        self.failure = (
            f"the audit writer process stopped ({how}; {ended}); "
            "no call is sent until Bollard is restarted"
        )
        self.fatal = True
        self._writable.clear()
        log.error("audit log unusable: %s", self.failure)
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done() and not future.get_loop().is_closed():
                future.set_exception(unavailable())

    def _unregister(self, sock: socket.socket) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(sock.fileno())
            self._loop.remove_writer(sock.fileno())

    def _reap(self, timeout: float = 0.0) -> int | None:
        """The child's exit code, waiting at most `timeout` for it (None: still running)."""
        proc = self._proc
        if proc is None:
            return None
        try:
            code = proc.wait(timeout) if timeout else proc.poll()
        except subprocess.TimeoutExpired:
            if timeout < STOP_TIMEOUT:
                return None
            log.error("the audit writer process did not stop within %g s; killed", timeout)
            proc.kill()
            code = proc.wait()
        if code is not None:
            self._proc = None
        return code


def spawn(
    engine: Engine, checkpointer: Checkpointer, max_batch: int = 1024, listen: str | None = None
) -> tuple[subprocess.Popen[bytes], socket.socket, tuple[Any, ...]]:
    """Start a writer process for `engine` and wait for its ready frame: the process,
    the socket to it (blocking) and the frame. Raises RuntimeError if it cannot start.
    With `listen`, it also takes connections at that abstract address (`shared_writer`)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our module
            [sys.executable, "-m", "bollard.audit.child", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=_child_env(),
        )
    finally:
        theirs.close()
    ours.settimeout(START_TIMEOUT)
    try:
        ours.sendall(
            frame((
                engine.url.render_as_string(hide_password=False),
                checkpointer.key.private_bytes_raw().hex(),
                str(checkpointer.file.path),
                checkpointer.every,
                checkpointer.seconds,
                max_batch,
                logging.getLogger("bollard").getEffectiveLevel(),
                listen,
            ))
        )  # fmt: skip
        ready = read_frame(ours)
    except OSError as exc:
        ready = None
        log.error("the audit writer process did not start: %s", exc)
    if ready is None or not ready[0]:
        ours.close()  # the child, if still there, reads EOF and ends
        try:
            code: int | None = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        why = ready[1] if ready else f"it ended ({_ended(code)})"
        raise RuntimeError(f"the audit writer process could not start: {why}")
    return proc, ours, ready


@contextlib.contextmanager
def shared_writer(engine: Engine, checkpointer: Checkpointer) -> Iterator[str]:
    """One writer process for all the workers of `bollard serve --workers N` on SQLite:
    started (orphan recovery included) before them, stopped after them. Yields the
    address they connect to (`BOLLARD_AUDIT_WRITER_SOCKET`): a name in Linux's
    abstract namespace, which only this user's processes may use (SO_PEERCRED)."""
    address = f"bollard-audit-{secrets.token_hex(8)}"
    proc, sock, _ = spawn(engine, checkpointer, listen=address)
    try:
        yield address
    finally:
        sock.shutdown(socket.SHUT_WR)  # its EOF: it commits what it has and ends
        with contextlib.suppress(OSError):
            while read_frame(sock) is not None:
                pass
        sock.close()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.error("the audit writer process did not stop within %g s; killed", STOP_TIMEOUT)
            proc.kill()
            proc.wait()


def _ended(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _child_env() -> dict[str, str]:
    """The child's environment: no BOLLARD_* variable (it needs none: what it needs
    comes over its socket), and this process's `bollard` package first on its path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOLLARD_")}
    here = str(Path(bollard.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
    return env
