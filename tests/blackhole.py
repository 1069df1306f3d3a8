"""A TCP proxy on loopback that can go silent, as a NAT's idle cut or a network
partition does: bytes stop flowing, and nobody is told (no FIN, no RST)."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType


class Blackhole:
    """Forwards 127.0.0.1:`port` to the target until told to swallow everything."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._silenced: list[dict[str, bool]] = []  # one flag per connection
        self._writers: list[asyncio.StreamWriter] = []
        self._partitioned = False
        self._thread.start()
        started = asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(started, self._loop).result()
        self.port = int(self._server.sockets[0].getsockname()[1])

    def cut_open_connections(self) -> None:
        """The connections open now go silent; new ones still work (an idle cut)."""
        for flag in self._silenced:
            flag["silent"] = True

    def partition(self) -> None:
        """Every connection, open now or made later, goes silent."""
        self._partitioned = True
        self.cut_open_connections()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        flag = {"silent": self._partitioned}
        self._silenced.append(flag)
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers += [writer, up_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                if not flag["silent"]:
                    sink.write(data)
                    await sink.drain()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def close(self) -> None:
        async def shut() -> None:
            self._server.close()
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
