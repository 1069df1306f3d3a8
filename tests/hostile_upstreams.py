"""Upstreams that misbehave, served on loopback for real: one that redirects every
call elsewhere, one that counts what reaches it, and one that resets the connection
after reading a request."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bollard.loopback import LoopbackServer


@dataclass
class Catcher:
    """A server that answers 200 to anything and keeps every request's headers."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def catcher() -> Iterator[Catcher]:
    caught = Catcher()

    async def catch(request: Request) -> Response:
        await request.body()
        caught.seen.append(dict(request.headers))
        return JSONResponse({"people": [], "users": [], "caught": True})

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    app = Starlette(routes=[Route("/{path:path}", catch, methods=methods)])
    with LoopbackServer(app) as server:
        caught.url = server.url
        yield caught


@contextmanager
def redirector(status: int, target: str) -> Iterator[str]:
    """A server that answers every call with `status` and `Location: <target><path>`."""

    async def redirect(request: Request) -> Response:
        await request.body()
        location = f"{target}{request.url.path}"
        return Response(status_code=status, headers={"location": location})

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    app = Starlette(routes=[Route("/{path:path}", redirect, methods=methods)])
    with LoopbackServer(app) as server:
        yield server.url


class RawUpstream:
    """A raw asyncio server on loopback in a thread of its own; subclasses answer."""

    def __init__(self) -> None:
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        started = asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(started, self._loop).result(10)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.lower().split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    await reader.readexactly(int(line.split(b":")[1]))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.requests += 1
        await self._answer(writer)

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def close(self) -> None:
        async def shut() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class Resetter(RawUpstream):
    """Reads each request whole, counts it, then resets the connection (RST)."""

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        sock: socket.socket = writer.get_extra_info("socket")
        # Linger 0: close() sends RST instead of FIN, as a crashing peer would.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


class Flooder(RawUpstream):
    """Answers with an endless chunked body; counts the bytes the reader accepted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent = 0
        self.ended = threading.Event()
        super().__init__()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        chunk = b"x" * 65536
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        writer.write(head + b"transfer-encoding: chunked\r\n\r\n")
        try:
            while self.sent < self.limit:
                writer.write(framed)
                await writer.drain()  # raises once the reader has gone
                self.sent += len(chunk)
        except ConnectionError:
            pass
        finally:
            writer.close()
            self.ended.set()


@contextmanager
def resetter() -> Iterator[Resetter]:
    server = Resetter()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def flooder(limit: int) -> Iterator[Flooder]:
    server = Flooder(limit)
    try:
        yield server
    finally:
        server.close()
