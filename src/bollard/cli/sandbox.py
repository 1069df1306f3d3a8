"""`bollard sandbox`: run the Apollo simulator on its own, state in memory."""

from __future__ import annotations

import gc
import secrets
from collections.abc import Sequence

import click
import uvicorn

from bollard.catalog import load_catalog
from bollard.sandbox import SandboxConfig, create_sandbox


def parse_scoped(values: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """`KEY=people.search,contacts.create` options → {key: action ids}, checked."""
    catalog = load_catalog()
    out: dict[str, tuple[str, ...]] = {}
    for value in values:
        key, sep, actions = value.partition("=")
        ids = tuple(a.strip() for a in actions.split(",") if a.strip())
        if not sep or not key or not ids:
            raise click.BadParameter(f"{value!r}: expected KEY=ACTION[,ACTION...]")
        for action_id in ids:
            if catalog.get(action_id) is None:
                hint = ", ".join(catalog.nearest(action_id)) or "see `bollard catalog`"
                raise click.BadParameter(f"unknown action {action_id!r} (did you mean: {hint})")
        out[key] = ids
    return out


def generated_keys() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """One master key and one scoped key for every action a scoped key may call."""
    scoped = tuple(a.id for a in load_catalog().actions if not a.master_key)
    master = "sandbox_master_" + secrets.token_urlsafe(12)
    return (master,), {"sandbox_scoped_" + secrets.token_urlsafe(12): scoped}


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8788,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option("--master-key", "master_keys", multiple=True, help="A master key (repeatable).")
@click.option(
    "--scoped-key",
    "scoped",
    multiple=True,
    metavar="KEY=ACTION,ACTION...",
    help="A key scoped to these action ids (repeatable).",
)
@click.option("--no-rate-limits", is_flag=True, help="Lift the windows; send no limit headers.")
@click.option(
    "--scoped-mode",
    is_flag=True,
    help="Scoped keys may reach the seed's master-only actions too (as Apollo's document says); "
    "the document's own four master-only operations still need the master key.",
)
@click.option("--seed", default=7, show_default=True, type=int, help="Seed of the generated data.")
@click.option(
    "--people",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Size of the generated prospect database (1,000,000 takes about a minute).",
)
@click.option("--organizations", default=2_000, show_default=True, type=int)
@click.option("--webhook-delay", default=0.0, show_default=True, type=float, help="Seconds.")
@click.option("--webhook-host", "webhook_hosts", multiple=True, help="Allowed besides loopback.")
@click.option(
    "--daily-header",
    type=click.Choice(["24-hour", "daily"]),
    default="24-hour",
    show_default=True,
    help="Spelling of the day-window rate-limit headers.",
)
def sandbox(
    host: str,
    port: int,
    master_keys: tuple[str, ...],
    scoped: tuple[str, ...],
    no_rate_limits: bool,
    scoped_mode: bool,
    seed: int,
    people: int,
    organizations: int,
    webhook_delay: float,
    webhook_hosts: tuple[str, ...],
    daily_header: str,
) -> None:
    """Run the Apollo API sandbox (every catalog endpoint) with uvicorn."""
    scoped_keys = parse_scoped(scoped)
    if not master_keys and not scoped_keys:
        master_keys, scoped_keys = generated_keys()
    config = SandboxConfig(
        master_keys=master_keys,
        scoped_keys=scoped_keys,
        master_mode="scoped" if scoped_mode else "seed",
        rate_limits=not no_rate_limits,
        daily_header_spelling="daily" if daily_header == "daily" else "24-hour",
        seed=seed,
        people=people,
        organizations=organizations,
        webhook_delay=webhook_delay,
        webhook_hosts=webhook_hosts,
        record_calls=False,
    )
    box = create_sandbox(config)
    # The generated records live as long as the process: keep the cyclic garbage
    # collector from walking millions of them on every full collection.
    gc.collect()
    gc.freeze()
    click.echo(f"Apollo sandbox on http://{host}:{port}/api/v1 (state in memory)")
    for key, reach in box.accepted_keys.items():
        click.echo(f"  X-Api-Key: {key}  ->  {reach}")
    uvicorn.run(box.app, host=host, port=port, log_level="warning")


COMMANDS: list[click.Command] = [sandbox]
