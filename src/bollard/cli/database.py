"""Which database a `bollard` command uses, found the way git finds its repository.

In order: `--db` (a path or a URL), then `BOLLARD_DATABASE_URL`, then a `bollard.db`
in the current directory or the nearest directory above it. With none of these, a
command that only reads refuses; `serve` and `agents create` make ./bollard.db and
say so. A SQLite file that does not exist yet is always announced, and its directory
must exist: a mistyped path is an error, never new directories and an empty log.
Where the database was found or named by path, the state directory (signing key,
checkpoints) is the `.bollard` beside it unless `BOLLARD_STATE_DIR` says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bollard.errors import ConfigError

FILE_NAME = "bollard.db"
STATE_DIR = ".bollard"


@dataclass(frozen=True, slots=True)
class Location:
    """The database a command uses, where its state lives, and whether it is new."""

    url: str
    state_dir: Path | None  # None: as the settings say
    new_file: Path | None  # a SQLite file that does not exist yet


def locate(option: str | None, environ: Mapping[str, str], cwd: Path, *, create: bool) -> Location:
    """The database for this command, or a ConfigError saying how to name one."""
    if option is not None:
        return _named(option, explicit_state=environ.get("BOLLARD_STATE_DIR") is not None)
    if environ.get("BOLLARD_DATABASE_URL"):
        return _from_url(environ["BOLLARD_DATABASE_URL"], None)
    found = _walk_up(cwd)
    state = None if environ.get("BOLLARD_STATE_DIR") else "beside"
    if found is not None:
        return Location(_sqlite_url(found), _beside(found, state), None)
    if not create:
        raise ConfigError(
            f"no Bollard database ({FILE_NAME}) in {cwd} or any directory above it: run the "
            "command where `bollard serve` keeps it, pass --db PATH (or a database URL), "
            "or set BOLLARD_DATABASE_URL"
        )
    path = cwd / FILE_NAME
    return Location(_sqlite_url(path), _beside(path, state), path)


def _named(text: str, explicit_state: bool) -> Location:
    if "://" in text:
        return _from_url(text, None)
    path = Path(text).expanduser().absolute()
    if path.is_dir():
        path = path / FILE_NAME
    url = _sqlite_url(path)
    return _from_url(url, None if explicit_state else path.parent / STATE_DIR)


def _from_url(url: str, state_dir: Path | None) -> Location:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Location(url, state_dir, None)  # open_store says what is wrong with it
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return Location(url, state_dir, None)
    if database.startswith("file:"):
        return Location(url, state_dir, None)
    path = Path(database).expanduser().absolute()
    if not path.parent.is_dir():
        raise ConfigError(
            f"cannot use the database {url}: the directory {path.parent} does not exist. "
            "Correct the path, or create the directory first"
        )
    return Location(url, state_dir, None if path.exists() else path)


def _walk_up(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def _beside(path: Path, state: str | None) -> Path | None:
    return path.parent / STATE_DIR if state else None


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
