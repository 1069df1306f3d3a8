"""A bare pass-through: forwards /api/v1/* to the sandbox with aiohttp, no checks.

The yardstick for bench/gateway.py: what forwarding alone costs, so Bollard's
own price (grants, validation, a durable audit record) can be read as a ratio.
Run: python bench/passthrough.py PORT UPSTREAM_URL APOLLO_KEY
"""

from __future__ import annotations

import os
import sys

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(upstream: str, key: str) -> Starlette:
    state: dict[str, aiohttp.ClientSession] = {}

    async def forward(request: Request) -> Response:
        session = state.get("s")
        if session is None:
            session = state["s"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        body = await request.body()
        url = upstream + request.url.path + ("?" + request.url.query if request.url.query else "")
        headers = {"X-Api-Key": key, "Content-Type": "application/json"}
        async with session.request(request.method, url, data=body, headers=headers) as resp:
            payload = await resp.read()
            return Response(payload, status_code=resp.status, media_type="application/json")

    return Starlette(
        routes=[Route("/api/v1/{rest:path}", forward, methods=["GET", "POST", "PATCH"])]
    )


if __name__ == "__main__":
    port, upstream, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    uvicorn.run(
        build(upstream, key), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def from_env() -> Starlette:
    """The same app as an ASGI factory (BENCH_UPSTREAM, BENCH_KEY), for other servers."""
    return build(os.environ["BENCH_UPSTREAM"], os.environ["BENCH_KEY"])
