"""`bollard serve` with parts of the pipeline switched off, for bench/where_time_goes.py.

Measurement only: never a way to run Bollard. BOLLARD_BENCH_WITHOUT names what to
switch off, comma-separated:
  audit     records are neither queued nor written (the writer, thread or process, stays idle)
  limits    no limiter (no windows, no budgets, no rules re-read)
  version   the agents' access_version is not read per call (revocations unseen)
  pipeline  the door forwards straight to the upstream: no authentication, checks,
            limits or records, just Bollard's HTTP plumbing (uvicorn, the REST door,
            the pooled aiohttp client)

    python bench/ablated_serve.py PORT   (with Bollard's usual BOLLARD_* settings)
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from bollard import gateway, resolver
from bollard.audit import process, writer
from bollard.cli import main
from bollard.limits import limiter
from bollard.store import version

OFF = set(filter(None, os.environ.get("BOLLARD_BENCH_WITHOUT", "").split(",")))


def _settled(*_records: Any) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


if "audit" in OFF:

    async def _append(self: writer.AuditWriter, *records: Any) -> None:
        return None

    for kind in (writer.AuditWriter, process.WriterProcess):
        kind.append = _append  # type: ignore[method-assign, assignment]
        kind.defer = lambda self, *records: _settled()  # type: ignore[method-assign]

if "version" in OFF:
    version._VersionReader.read = lambda self: 1  # type: ignore[method-assign]

if "limits" in OFF:

    async def _admit(self: limiter.Limiter, *args: Any) -> Any:
        return None

    async def _settle(self: limiter.Limiter, *args: Any) -> int:
        return 0

    async def _release(self: limiter.Limiter, *args: Any) -> None:
        return None

    limiter.Limiter.admit = _admit  # type: ignore[method-assign]
    limiter.Limiter.settle = _settle  # type: ignore[method-assign]
    limiter.Limiter.release = _release  # type: ignore[method-assign]

if "pipeline" in OFF:

    async def _forward_only(self: gateway.Gateway, call: gateway.Call) -> gateway.Result:
        target = call.target
        assert isinstance(target, gateway.RestTarget)
        action, path_params = resolver.resolve(self.catalog, target.method, target.raw_path)
        _kind, key = self.keys.choose(action)
        reply = await self.upstream.send(
            action, action.render_path(path_params), target.query, target.body, call.headers, key
        )
        return gateway.Answer(reply.status, reply.body, "-", reply.headers)

    gateway.Gateway.handle = _forward_only  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv = ["bollard", "serve", "--port", sys.argv[1]]
    main()
