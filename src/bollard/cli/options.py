"""What every `bollard` subcommand shares: --json, --actor and --reason, the settings with
the database `--db` names (or that is found), and one way to report errors.

Errors: `Error: ...` on stderr and a non-zero exit; with `--json`, the same as
`{"error": ..., "error_code": ...}` on stdout, where a script reads the answer.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from bollard.errors import ConfigError

if TYPE_CHECKING:
    from bollard.changes import Actor, AdminChanges
    from bollard.settings import Settings

# `bollard --help` imports this module: what it imports beyond click is imported where
# it is used, so the help does not load the store, the settings or the agents.

P = ParamSpec("P")
R = TypeVar("R")
DB_KEY = "bollard.db"
JSON_KEY = "bollard.json"
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
actor_option = click.option(
    "--actor", help="Who is making this change, for the audit log (default: your user@host)."
)
reason_option = click.option("--reason", help="Why, kept in the audit record of this change.")


class CommandError(click.ClickException):
    """A refused command: `Error: ...` and exit code 2 (like click's own usage errors)."""

    exit_code = 2

    def __init__(self, message: str, error_code: str = "INVALID_INPUT") -> None:
        super().__init__(message)
        self.error_code = error_code


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a ConfigError into a CommandError: one line and exit code 2, never a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            raise CommandError(str(exc), _code(exc)) from None

    return run


def _code(exc: ConfigError) -> str:
    from bollard.admins import AdminNameTaken, UnknownAdminName
    from bollard.agents import AgentNameTaken, UnknownAgentName

    codes: list[tuple[type[ConfigError], str]] = [
        (UnknownAgentName, "AGENT_NOT_FOUND"),
        (AgentNameTaken, "AGENT_EXISTS"),
        (UnknownAdminName, "ADMIN_NOT_FOUND"),
        (AdminNameTaken, "ADMIN_EXISTS"),
    ]
    return next((code for kind, code in codes if isinstance(exc, kind)), "INVALID_INPUT")


def show_error(exc: click.ClickException, as_json: bool, file: IO[Any] | None = None) -> None:
    """The one rendering of a CLI error."""
    if as_json:
        code = getattr(exc, "error_code", "USAGE" if isinstance(exc, click.UsageError) else "ERROR")
        click.echo(json.dumps({"error": exc.format_message(), "error_code": code}))
    else:
        exc.show(file)


def settings(*, create: bool = False) -> Settings:
    """The settings, with the database `--db` names or that is found (see `database`).

    `create`: with no database named or found, make ./bollard.db (and say so).
    """
    from bollard.cli.database import locate
    from bollard.settings import Settings

    ctx = click.get_current_context()
    base = Settings.from_env()
    where = locate(ctx.find_root().meta.get(DB_KEY), os.environ, Path.cwd(), create=create)
    changes: dict[str, object] = {"database_url": where.url}
    if where.state_dir is not None:
        changes["state_dir"] = where.state_dir
    if where.new_file is not None:
        click.echo(f"Using a new database at {where.new_file}", err=True)
    return base.model_copy(update=changes)


@contextmanager
def admin_changes(create: bool = False) -> Iterator[AdminChanges]:
    """The admin changes service on the database `--db` names or that is found
    (`create`: or a new one in the state directory, as `agents create` may)."""
    from bollard.agents import Agents
    from bollard.audit.checkpointer import checkpointer_for
    from bollard.catalog import load_catalog
    from bollard.changes import AdminChanges
    from bollard.store import open_store

    given = settings(create=create)
    engine = open_store(given.database_url)
    try:
        yield AdminChanges(engine, Agents(engine, load_catalog()), checkpointer_for(given))
    finally:
        engine.dispose()


def actor(given: str | None) -> Actor:
    """Who is making a change from this shell."""
    from bollard.changes import Actor

    return Actor.from_os(given)
