"""`bollard serve`: run the gateway (on the built-in sandbox when no Apollo key is set)."""

from __future__ import annotations

import gc
import os
import secrets
import shlex
import sys

import click
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.applications import Starlette

from bollard.admin.auth import admin_token
from bollard.agents import Agents
from bollard.app import create_app
from bollard.audit.checkpointer import checkpointer_for
from bollard.audit.keyfile import audit_key, signing_key
from bollard.audit.process import shared_writer
from bollard.catalog import load_catalog
from bollard.changes import Actor, AdminChanges
from bollard.cli import options
from bollard.errors import ConfigError
from bollard.loopback import LoopbackServer
from bollard.protocol import SERVER_OPTIONS
from bollard.settings import Settings
from bollard.store import open_store

DEMO_AGENT = "demo"
_WORKER_APP = "bollard.cli.serve:worker_app"  # what each worker process imports


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port to listen on (default 8787)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    help="Processes serving calls on one port (more than 1 needs Redis; on SQLite they "
    "share one audit writer process).",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Run the Bollard gateway."""
    settings = options.settings(create=True)
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    if workers > 1:
        _check_workers(settings, workers)
    engine = open_store(settings.database_url)
    sandbox = settings.uses_sandbox
    if sandbox:
        settings = _start_sandbox(settings)
        _ensure_demo_agent(settings, engine)
    else:
        click.echo(f"Forwarding to Apollo at {settings.apollo_url}")
    if workers == 1:
        app = create_app(settings, engine=engine)
        _tune_runtime()
        _run(app, settings)
        return
    engine.dispose()
    _prepare_workers(settings, sandbox)
    if not settings.database_url.startswith("sqlite"):
        _run(_WORKER_APP, settings, workers)
        return
    # SQLite: one audit writer process for every worker, started (orphan recovery
    # included) before them and stopped after them.
    with shared_writer(engine, checkpointer_for(settings)) as address:
        os.environ["BOLLARD_AUDIT_WRITER_SOCKET"] = address
        _run(_WORKER_APP, settings, workers)
    engine.dispose()


def _run(app: Starlette | str, settings: Settings, workers: int | None = None) -> None:
    # X-Forwarded-* is believed only from BOLLARD_FORWARDED_ALLOW_IPS, inside the app.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        workers=workers,
        factory=workers is not None,
        # uvicorn kills a worker that has not answered its ping within this many seconds
        # (default 5): on a busy host, importing and building the app can take longer.
        timeout_worker_healthcheck=30,
        # A capped request head, trailers never headers: in every worker too (uvicorn
        # hands each worker this configuration).
        **SERVER_OPTIONS,
    )


def _check_workers(settings: Settings, workers: int) -> None:
    """Several processes only where every guarantee holds across processes."""
    if settings.database_url.startswith("sqlite") and settings.audit_writer == "thread":
        raise click.UsageError(
            f"--workers {workers} on SQLite needs the audit writer process: the audit "
            "log has one writer, which at start records any call still without an outcome "
            "as outcome_unknown, so a writer thread in each worker would close the others' "
            "calls in flight; with the writer process, every worker sends to one. Unset "
            "BOLLARD_AUDIT_WRITER=thread, run one worker, or use PostgreSQL."
        )
    if not settings.redis_url:
        raise click.UsageError(
            f"--workers {workers} needs BOLLARD_REDIS_URL: without Redis each process would "
            "count rate limits and failed admin sign-ins on its own, allowing N times each "
            "limit. Set BOLLARD_REDIS_URL=redis://..., or run one worker."
        )


def _prepare_workers(settings: Settings, sandbox: bool) -> None:
    """What the first start makes, made once here rather than raced for by the workers;
    and the built-in sandbox's address and keys (it runs in this process), which the
    workers read from the environment like every other setting."""
    audit_key(settings)
    signing_key(settings.state_dir)
    admin_token(settings)
    if sandbox:
        for name, secret in (
            ("BOLLARD_APOLLO_KEY", settings.apollo_key),
            ("BOLLARD_APOLLO_MASTER_KEY", settings.apollo_master_key),
        ):
            if secret is not None:
                os.environ[name] = secret.get_secret_value()
        os.environ["BOLLARD_APOLLO_URL"] = settings.apollo_url


def worker_app() -> Starlette:
    """One worker's app (`bollard serve --workers N`), from the environment."""
    app = create_app(Settings.from_env())
    _tune_runtime()
    return app


def _tune_runtime() -> None:
    """Fewer garbage-collector passes, and a shorter wait for the GIL.

    GC (measured: ~8% of a call's CPU): everything built at start (catalog, app,
    SQLAlchemy's tables) moves to the permanent generation, so no collection scans
    it again; and the youngest generation is collected after 20,000 net allocations
    instead of 700. Calls free their objects by reference counting; only cycles
    wait a little longer.

    GIL: the audit writer thread, woken to commit, must take the GIL from the event
    loop, which holds it for a whole pass over its ready callbacks; by default it
    waits up to 5 ms before asking for it. Every call waits on two commits, so that
    wait lands in its latency. Measured in alternating rounds on a slow, busy 2-core
    host, 0.5 ms against the default: p99 added over direct at a fixed rate 29 vs 37 ms
    (200/s), 10.4 vs 14.1 ms and 13.5 vs 12.6 ms (300/s); at concurrency 32 the same
    throughput and CPU per call (1.30 vs 1.32 ms). 0.1 ms was no better than 0.5.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    sys.setswitchinterval(0.0005)


def _start_sandbox(settings: Settings) -> Settings:
    from bollard.sandbox import SandboxConfig, create_sandbox

    catalog = load_catalog()
    master, scoped = f"sbx_master_{secrets.token_hex(12)}", f"sbx_scoped_{secrets.token_hex(12)}"
    covered = tuple(a.id for a in catalog.actions if not a.master_key)
    config = SandboxConfig(
        master_keys=(master,),
        scoped_keys={scoped: covered},
        master_mode=settings.sandbox_master_mode,
        record_calls=False,
    )
    sandbox = create_sandbox(config)
    server = LoopbackServer(sandbox.app).start()
    click.secho(
        "No Apollo key configured (BOLLARD_APOLLO_KEY / BOLLARD_APOLLO_MASTER_KEY): "
        f"running against Bollard's built-in Apollo sandbox at {server.url}.\n"
        "Its data is generated; nothing reaches Apollo and no credits are spent.",
        fg="yellow",
    )
    return settings.model_copy(
        update={
            "apollo_url": server.url,
            "apollo_key": SecretStr(scoped),
            "apollo_master_key": SecretStr(master),
        }
    )


def _ensure_demo_agent(settings: Settings, engine: Engine) -> None:
    agents = Agents(engine, load_catalog())
    if agents.list():
        return
    changes = AdminChanges(engine, agents, checkpointer_for(settings))
    try:
        _, key = changes.create_agent(
            Actor.from_os(),
            DEMO_AGENT,
            ["*:read"],
            note="created at first start (sandbox)",
            reason="bollard serve's first start, on the sandbox",
        )
    except ConfigError:
        if agents.get(DEMO_AGENT) is None:
            raise
        return  # another replica, starting at the same moment, made it
    url = f"http://{settings.host}:{settings.port}/api/v1/mixed_people/api_search"
    body = '{"person_titles": ["vp of sales"], "per_page": 5}'
    click.echo(
        f"\nCreated agent {DEMO_AGENT!r} with grant *:read. Its key (shown only this once):\n"
        f"  {key}\n\nTry it:\n  curl -s {url} -H {shlex.quote('X-Api-Key: ' + key)} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}\n"
    )


COMMANDS: list[click.Command] = [serve]
