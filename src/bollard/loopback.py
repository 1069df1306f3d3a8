"""Serve an ASGI app on a loopback port from a thread of its own.

Used by `bollard serve` to run the built-in sandbox beside the gateway, and by
tests and benchmarks to put real HTTP between Bollard and its upstream. The
thread has its own event loop; uvicorn installs no signal handlers there.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from bollard.protocol import SERVER_OPTIONS

T = TypeVar("T")


class LoopbackServer:
    """An ASGI app on 127.0.0.1 (port 0 picks a free one); `url` once started."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        options: dict[str, Any] | None = None,
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="auto",
            access_log=False,
            proxy_headers=False,  # as `bollard serve`: the app decides whom to believe
            **(SERVER_OPTIONS if options is None else options),  # the same HTTP protocol
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._server.run, name="loopback", daemon=True)
        self.url = ""

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.005)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the server's own event loop and return its result."""
        loop = self._server.loop
        if loop is None or loop.is_closed():
            coro.close()
            raise RuntimeError("the loopback server is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    @property
    def busy(self) -> bool:
        """Whether a connection is still open or a request still being handled."""
        state = self._server.server_state
        return bool(state.connections or state.tasks)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(uvicorn.Server):
    """uvicorn's server, remembering the event loop it serves on."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)
