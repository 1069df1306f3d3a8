"""Which database the CLI uses: `--db`, else BOLLARD_DATABASE_URL, else the bollard.db here
or above (as git finds its repository); a new one is announced, a missing one refused, and
a mistyped path creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bollard.cli import main

# Without BOLLARD_DATABASE_URL or BOLLARD_STATE_DIR, whatever the test's environment has.
UNSET: dict[str, str | None] = {"BOLLARD_DATABASE_URL": None, "BOLLARD_STATE_DIR": None}


def bollard(*args: str, **env: str | None) -> Result:
    return CliRunner().invoke(main, list(args), env={**UNSET, **env})


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_command_run_below_the_database_finds_it_as_git_finds_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    created = bollard("agents", "create", "research")
    deeper = tmp_path / "src" / "deeper"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)
    listed = bollard("agents", "list")
    verified = bollard("audit", "verify")
    assert created.exit_code == 0, created.output
    assert created.stderr == f"Using a new database at {tmp_path / 'bollard.db'}\n"
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.split()[0] == "research"
    assert listed.stderr == ""
    assert verified.exit_code == 0, verified.output
    assert files(deeper) == []  # nothing new where the command ran
    assert (tmp_path / ".bollard").is_dir()  # the state lives beside the database


@pytest.mark.parametrize(
    "args",
    [("agents", "list"), ("audit", "verify"), ("usage",), ("agents", "show", "research")],
)
def test_with_no_database_here_or_above_a_command_that_reads_refuses_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = bollard(*args)
    assert result.exit_code == 2, result.output
    assert f"Error: no Bollard database (bollard.db) in {tmp_path} or any directory above" in (
        result.stderr
    )
    assert "--db" in result.stderr
    assert files(tmp_path) == []


def test_db_names_the_database_by_path_and_a_new_one_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "team").mkdir()
    created = bollard("--db", "team/bollard.db", "agents", "create", "research")
    listed = bollard("--db", str(tmp_path / "team"), "agents", "list")
    assert created.exit_code == 0, created.output
    assert created.stderr == f"Using a new database at {tmp_path / 'team' / 'bollard.db'}\n"
    assert listed.stdout.split()[0] == "research"
    assert listed.stderr == ""
    assert not (tmp_path / "bollard.db").exists()


@pytest.mark.parametrize("how", ["--db", "env"])
def test_a_mistyped_sqlite_path_is_refused_and_no_directory_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'nonexistent' / 'dir' / 'x.db'}"
    if how == "--db":
        result = bollard("--db", url, "agents", "create", "research")
    else:
        result = bollard("agents", "create", "research", BOLLARD_DATABASE_URL=url)
    assert result.exit_code == 2, result.output
    assert f"the directory {tmp_path / 'nonexistent' / 'dir'} does not exist" in result.stderr
    assert result.stderr.startswith("Error: ")
    assert files(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("serve", "--port", "99999"), {}, "'--port': 99999 is not in the range 1<=x<=65535"),
        (("serve",), {"BOLLARD_PORT": "99999"}, "BOLLARD_PORT: Input should be less than"),
        (("serve",), {"BOLLARD_APOLLO_URL": "not a url"}, "BOLLARD_APOLLO_URL: Value error, must"),
        (("serve",), {"BOLLARD_APOLLO_URL": "http://x:99999"}, "port that is not a number"),
    ],
)
def test_serve_refuses_a_bad_port_or_apollo_url_before_it_creates_anything(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = bollard(*args, **env)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "Error: " in result.stderr
    assert files(tmp_path) == []
