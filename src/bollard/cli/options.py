"""What every `bollard` subcommand shares: the --json flag and one way to report errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from bollard.errors import ConfigError

P = ParamSpec("P")
R = TypeVar("R")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a ConfigError into `error: ...` on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(2) from None

    return run
