"""Where the event loop's CPU goes in one call, step by step, measured in process.

Builds the real app (`create_app`, SQLite in a fresh directory; the sandbox in a
process of its own, as bench/gateway.py runs it) and runs the people search through
each step of the pipeline on its own, `--calls` times by 16 callers at once, reading
the CPU time of this thread only (`time.thread_time`): the audit writer's thread is
not counted, nor is any other process on the machine, so the figures hold better on
a busy host than a whole server's. Then the whole `Gateway.handle`
and the whole REST door (ASGI, no socket). Step 7, the upstream call, is what a bare
pass-through pays as well.

    uv run python bench/pipeline_steps.py [--calls 3000]

The steps are the ones `Gateway.handle` runs, called the way it calls them; a step
that needs the one before it gets that step's result made once beforehand.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bollard.agents import Agent, Agents
from bollard.app import create_app
from bollard.audit import redact
from bollard.calls import Call, RestTarget
from bollard.gateway import Gateway
from bollard.rest import RestDoor
from bollard.settings import Settings
from bollard.trace import Trace
from gateway import bollard_env, free_port, process, sandbox_command

SEARCH = b"/api/v1/mixed_people/api_search"
BODY = b'{"person_titles": ["vp of sales"], "per_page": 10}'
CONCURRENCY = 16


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3, help="median of this many")
    args = ap.parse_args()
    asyncio.run(run(args.calls, args.rounds))


async def run(calls: int, rounds: int) -> None:
    port = free_port()
    with process(sandbox_command(port), port):
        await _run(f"http://127.0.0.1:{port}", calls, rounds)


async def _run(sandbox_url: str, calls: int, rounds: int) -> None:
    settings = Settings.from_env(bollard_env(sandbox_url, "steps"))
    app = create_app(settings)
    gateway: Gateway = app.state.gateway
    _, key = Agents(app.state.engine, gateway.catalog).create("bench", ["people:read"])
    async with app.router.lifespan_context(app):
        gc.collect()
        gc.freeze()
        rows = await measure(
            gateway, RestDoor(gateway, settings.body_max_bytes), key, calls, rounds
        )
    print(f"loop-thread CPU per call, people search, {calls} calls, median of {rounds} rounds:")
    for name, us in rows:
        print(f"  {us:7.1f} µs  {name}")


async def measure(
    gateway: Gateway, door: RestDoor, key: str, calls: int, rounds: int
) -> list[tuple[str, float]]:
    target = RestTarget("POST", SEARCH, (), BODY)
    call = Call("rest", key, target, {"content-type": "application/json"})
    agent = await gateway.authenticate(key)
    resolved = gateway._resolve(target)
    decision = gateway._decide(agent, resolved.action)
    _, upstream_key = gateway.keys.choose(resolved.action)
    trace = Trace("0" * 24, "rest", 0, agent.name, resolved.action, decision)
    trace.params = redact(gateway._audit_key, resolved.args)
    admission = await gateway.limiter.admit(agent.name, resolved.action, resolved.args)
    reply = await gateway.upstream.send(
        resolved.action, resolved.path, resolved.query, resolved.body, call.headers, upstream_key
    )

    async def admit_release() -> None:
        await gateway.limiter.release(
            await gateway.limiter.admit(agent.name, resolved.action, resolved.args)
        )

    async def settle() -> None:
        await gateway.limiter.settle(admission, reply.status, dict(reply.headers), reply.body)

    async def request_record() -> None:
        await gateway.audit.append(trace.request_record())

    def outcome_record() -> None:
        gateway._answered(trace, reply, time.perf_counter(), 0)

    async def forward() -> None:
        await gateway.upstream.send(
            resolved.action,
            resolved.path,
            resolved.query,
            resolved.body,
            call.headers,
            upstream_key,
        )

    async def whole_door() -> None:
        await door(_scope(key), _receive, _ignore)

    steps: list[tuple[str, Callable[[], Any]]] = [
        (
            "1 authenticate (access_version read, agent in memory)",
            lambda: gateway.authenticate(key),
        ),
        ("2 resolve (route, JSON body, arguments)", lambda: gateway._resolve(target)),
        (
            "2 redact the parameters for the record",
            lambda: redact(gateway._audit_key, resolved.args),
        ),
        (
            "3 authorize (grants, the decision remembered)",
            lambda: gateway._decide(agent, resolved.action),
        ),
        ("3 policy rules", lambda: gateway._apply_rules(agent, resolved)),
        (
            "4 validate (arguments, webhook owners)",
            lambda: _validate(gateway, agent, resolved),
        ),
        ("4 choose the upstream key", lambda: gateway.keys.choose(resolved.action)),
        ("5 admit (limits; here with release)", admit_release),
        ("6 request record (build, encode, queue, await commit)", request_record),
        ("7 forward (aiohttp to the sandbox; a bare pass-through pays it too)", forward),
        ("8 settle (Apollo's windows)", settle),
        ("8 outcome record and answer (build, encode, defer)", outcome_record),
        ("all: Gateway.handle", lambda: gateway.handle(call)),
        ("all: the REST door (ASGI, no socket)", whole_door),
    ]
    rows = [(name, await _median(step, calls, rounds)) for name, step in steps]
    # Measurement only, never a way to run Bollard: the same calls with the records
    # queued and written but not waited for, then with no records at all.
    audit = gateway.audit
    real_append, real_defer = audit.append, audit.defer

    async def queued(*records: Any) -> None:
        audit.enqueue(*records)

    async def dropped(*records: Any) -> None:
        return None

    def settled(*records: Any) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    for name, append, defer in (
        ("records written, not waited for", queued, real_defer),
        ("no audit records", dropped, settled),
    ):
        audit.append, audit.defer = append, defer  # type: ignore[method-assign]
        try:
            row = await _median(lambda: gateway.handle(call), calls, rounds)
        finally:
            audit.append, audit.defer = real_append, real_defer  # type: ignore[method-assign]
        rows.append((f"Gateway.handle, {name} (measurement only)", row))
    return rows


async def _validate(gateway: Gateway, agent: Agent, resolved: Any) -> None:
    gateway._check_arguments(agent, resolved, Trace("0" * 24, "rest", 0))
    await gateway.webhook_owners.check(agent.name, resolved.action, resolved.args)


async def _median(step: Callable[[], Any], calls: int, rounds: int) -> float:
    """CPU per call of `step`, run by CONCURRENCY callers at once (as under load: the
    loop's polling and wake-ups are shared by the calls ready together)."""

    async def caller() -> None:
        for _ in range(calls // CONCURRENCY):
            result = step()
            if isinstance(result, Awaitable):
                await result

    found = []
    for _ in range(rounds):
        started = time.thread_time()
        await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
        done = calls // CONCURRENCY * CONCURRENCY
        found.append((time.thread_time() - started) / done * 1e6)
    return statistics.median(found)


def _scope(key: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": SEARCH.decode(),
        "raw_path": SEARCH,
        "query_string": b"",
        "headers": [
            (b"x-api-key", key.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def _ignore(message: Any) -> None:
    return None


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
