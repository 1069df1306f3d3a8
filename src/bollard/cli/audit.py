"""`bollard audit`: verify, search, tail, export, prune, hash, public-key.

Every command opens the database `--db` names or finds (see `cli.database`) and
finds the keys in the environment or the state directory. `verify` exits 1 when
anything but an unanchored tail is wrong; a bad argument is `Error: ...`, exit 2.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from sqlalchemy import Engine

from bollard.audit import seal
from bollard.audit.appender import ensure_head
from bollard.audit.checkpoint import key_id, public_bytes
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.checkpointer import checkpointer_for
from bollard.audit.export import export as export_records
from bollard.audit.export import verify_export
from bollard.audit.keyfile import audit_key, public_key, signing_key
from bollard.audit.prune import prune as prune_records
from bollard.audit.redaction import keyed_hash
from bollard.audit.search import AuditFilters, AuditRow, follow, last_seq
from bollard.audit.search import search as search_records
from bollard.audit.verify import count
from bollard.audit.verify import verify as verify_log
from bollard.audit.walk import Report
from bollard.cli.options import json_option, reports_errors
from bollard.cli.options import settings as cli_settings
from bollard.errors import ConfigError
from bollard.settings import Settings
from bollard.store import open_store

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def _store(settings: Settings) -> Iterator[Engine]:
    engine = open_store(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _when(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {value!r} is not a date: use ISO 8601, e.g. 2026-01-31 or "
            "2026-01-31T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def _filter_options(command: Callable[P, R]) -> Callable[P, R]:
    for name, help_text in reversed(
        [
            ("agent", "Only this agent's records."),
            ("action", "Only this action (e.g. people.search)."),
            ("decision", "Only requests with this decision (allow, deny)."),
            ("outcome", "Only outcomes of this kind (ok, denied, upstream_error, ...)."),
            ("request-id", "Only this call's records."),
            ("kind", "Only request, outcome or admin records."),
            ("since", "From this time on (ISO 8601, UTC unless it says otherwise)."),
            ("until", "Before this time (ISO 8601)."),
        ]
    ):
        command = click.option(f"--{name}", default=None, help=help_text)(command)
    return command


def _filters(options: dict[str, Any]) -> AuditFilters:
    return AuditFilters(
        agent=options.get("agent"),
        action=options.get("action"),
        decision=options.get("decision"),
        outcome=options.get("outcome"),
        request_id=options.get("request_id"),
        kind=options.get("kind"),
        since_us=_when(options.get("since"), "--since"),
        until_us=_when(options.get("until"), "--until"),
    )


def _line(row: AuditRow) -> str:
    when = datetime.fromtimestamp(row.ts_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    verdict = row.decision or row.outcome or ""
    status = "" if row.status is None else str(row.status)
    extra = row.data.get("reason") or row.data.get("error") or ""
    return (
        f"{row.seq:>8} {when} {row.kind:<7} {row.request_id} {row.agent or '-':<16} "
        f"{row.action or '-':<24} {verdict:<16} {status:>3} {extra}"
    ).rstrip()


def _show(row: AuditRow, as_json: bool) -> None:
    click.echo(json.dumps(row.to_json()) if as_json else _line(row))


@click.group()
def audit() -> None:
    """The tamper-evident audit log: verify, search, tail, export, prune."""


@audit.command()
@click.option("--public-key", "public", default=None, help="Hex public key, or a file of it.")
@click.option("--export", "export_file", type=click.File("r"), help="Verify an export file.")
@json_option
@reports_errors
def verify(public: str | None, export_file: Any, as_json: bool) -> None:
    """Re-walk the chain and every checkpoint; exit 1 if anything but the tail is wrong."""
    settings = cli_settings()
    private = None if public else signing_key(settings.state_dir)
    key = public_key(public) if public else signing_key(settings.state_dir).public_key()
    started = time.perf_counter()
    if export_file is not None:
        report = verify_export(export_file, key)
    else:
        with _store(settings) as engine:
            total = count(engine)
            file = CheckpointFile.in_state_dir(settings.state_dir)
            with click.progressbar(
                length=total, label="verifying", file=sys.stderr, show_pos=True
            ) as bar:
                macs = seal.mac_key(private) if private is not None else None
                report = verify_log(engine, key, file, bar.update, mac_key=macs)
    _report(report, time.perf_counter() - started, as_json)
    if not report.ok:
        raise SystemExit(1)


def _report(report: Report, seconds: float, as_json: bool) -> None:
    if as_json:
        problems = [
            {"kind": p.kind, "seq": p.seq, "fatal": p.fatal, "message": p.message}
            for p in report.problems
        ]
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "records": report.records,
                    "first_seq": report.first_seq,
                    "last_seq": report.last_seq,
                    "checkpoints": report.checkpoints,
                    "anchored_through": report.anchored_through,
                    "macs_checked": report.macs_checked,
                    "macs_valid": report.macs_valid,
                    "coverage": report.coverage(),
                    "seconds": round(seconds, 3),
                    "problems": problems,
                }
            )
        )
        return
    rate = report.records / seconds if seconds > 0 else 0
    click.echo(
        f"{report.records} records ({report.first_seq}..{report.last_seq}), "
        f"{report.checkpoints} checkpoints, anchored through {report.anchored_through}; "
        f"{seconds:.2f}s ({rate:,.0f} records/s)"
    )
    for line in report.coverage():
        click.echo(line)
    for problem in report.problems:
        label = "ERROR" if problem.fatal else "note"
        click.echo(f"{label} [{problem.kind}] {problem.message}")
    click.echo("OK" if report.ok else "TAMPERING OR DAMAGE FOUND")


@audit.command()
@_filter_options
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--before-seq", type=int, default=None, help="Page on: rows before this seq.")
@json_option
@reports_errors
def search(limit: int, before_seq: int | None, as_json: bool, **options: Any) -> None:
    """Find records, newest first (page on with --before-seq)."""
    settings = cli_settings()
    with _store(settings) as engine:
        rows = search_records(engine, _filters(options), limit, before_seq)
    for row in rows:
        _show(row, as_json)


@audit.command()
@_filter_options
@click.option("-n", "--lines", type=click.IntRange(0), default=10, show_default=True)
@click.option("-f", "--follow", "keep", is_flag=True, help="Keep printing new records.")
@click.option("--interval", type=float, default=0.5, show_default=True, help="Poll seconds.")
@click.option("--polls", type=int, default=None, hidden=True)  # bounds -f in tests
@json_option
@reports_errors
def tail(
    lines: int, keep: bool, interval: float, polls: int | None, as_json: bool, **options: Any
) -> None:
    """Print the newest records; with -f, follow new ones as they are written."""
    settings = cli_settings()
    filters = _filters(options)
    with _store(settings) as engine:
        after = last_seq(engine)
        for row in reversed(search_records(engine, filters, lines) if lines else []):
            _show(row, as_json)
        done = 0
        while keep and (polls is None or done < polls):
            for row in follow(engine, filters, after):
                _show(row, as_json)
                after = row.seq
            after = max(after, last_seq(engine))
            done += 1
            if polls is None or done < polls:
                time.sleep(interval)


@audit.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_filter_options
@reports_errors
def export(fmt: str, output: Path | None, **options: Any) -> None:
    """Stream records as JSON lines (verifiable for a time range) or CSV."""
    settings = cli_settings()
    with _store(settings) as engine:
        total = count(engine)
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
                written = export_records(engine, _filters(options), fmt, out, bar.update)
        finally:
            if output:
                out.close()
    click.echo(f"exported {written} records", err=True)


@audit.command()
@click.option("--before", required=True, help="Remove records older than this (ISO 8601).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def prune(before: str, yes: bool) -> None:
    """Remove old records up to a checkpoint; what is kept still verifies from it."""
    settings = cli_settings()
    before_us = _when(before, "--before")
    assert before_us is not None
    if not yes:
        click.confirm(f"Remove audit records older than {before}?", abort=True)
    with _store(settings) as engine:
        ensure_head(engine)
        done = prune_records(
            engine, before_us, int(time.time() * 1_000_000), checkpointer_for(settings)
        )
    click.echo(
        f"removed {done.removed} records; the log now starts after record {done.through_seq}"
    )


@audit.command(name="hash")
@click.argument("value")
def hash_value(value: str) -> None:
    """The keyed hash the log stores for a personal value (search `params` for it)."""
    click.echo(keyed_hash(audit_key(cli_settings()), value))


@audit.command(name="public-key")
def public_key_command() -> None:
    """The public half of the checkpoint signing key (what `verify --public-key` takes)."""
    key = signing_key(cli_settings().state_dir).public_key()
    click.echo(public_bytes(key).hex())
    click.echo(f"key id {key_id(key)}", err=True)


COMMANDS: list[click.Command] = [audit]
