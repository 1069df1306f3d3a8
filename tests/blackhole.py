"""A TCP proxy on loopback that fails the ways a network or a server does.

- silent (`partition`, `cut_open_connections`): bytes stop flowing and nobody is told
  (no FIN, no RST), as a NAT's idle cut or a network partition does;
- `reset`: every connection is reset (RST), and new ones too, as a server that crashed
  with its host still up;
- `refuse`: open connections are reset and nothing listens (connection refused), as a
  server that is stopped;
- `heal`: forwarding again on the same port; connections cut while it was away stay
  cut (their bytes were lost), new ones work.

`connections` counts the connections accepted, so a test can wait on a client coming
back. Nothing here touches the real server: only this proxy's own sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

_T = TypeVar("_T")


class Blackhole:
    """Forwards 127.0.0.1:`port` to the target until told to fail."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._silenced: list[dict[str, bool]] = []  # one flag per connection
        self._writers: list[asyncio.StreamWriter] = []
        self._mode = "forward"  # forward | silent | reset | refuse
        self.connections = 0
        self._thread.start()
        self._server: asyncio.Server | None = None
        self.port = 0
        self._listen()

    def cut_open_connections(self) -> None:
        """The connections open now go silent; new ones still work (an idle cut)."""
        for flag in self._silenced:
            flag["silent"] = True

    def partition(self) -> None:
        """Every connection, open now or made later, goes silent."""
        self._mode = "silent"
        self.cut_open_connections()

    def reset(self) -> None:
        """Every connection, open now or made later, is reset."""
        self._mode = "reset"
        self.cut_open_connections()
        self._run(self._reset_all())

    def refuse(self) -> None:
        """Open connections are reset, and new ones refused: nothing listens."""
        self._mode = "refuse"
        self.cut_open_connections()
        self._run(self._stop_listening())
        self._run(self._reset_all())

    def heal(self) -> None:
        """Forward again (on the same port); connections cut meanwhile stay cut."""
        if self._mode == "refuse":
            self._listen()
        self._run(self._reset_all())  # a cut connection lost bytes: it is of no use
        self._mode = "forward"

    def _listen(self) -> None:
        started = asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self._server = self._run(started)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _run(self, work: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _reset_all(self) -> None:
        writers, self._writers = self._writers, []
        for writer in writers:
            _abort(writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._mode in ("reset", "refuse"):
            _abort(writer)
            return
        flag = {"silent": self._mode == "silent"}
        self._silenced.append(flag)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            _abort(writer)
            return
        self._writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    if not flag["silent"]:
                        sink.write(data)
                        await sink.drain()
            except (ConnectionError, OSError):
                _abort(sink)
                return
            if not flag["silent"]:  # one side closed: so does the other, as TCP would
                sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def close(self) -> None:
        async def shut() -> None:
            await self._stop_listening()
            for writer in self._writers:
                writer.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (RST), not a FIN: linger on, zero seconds."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
