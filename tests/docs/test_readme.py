"""The commands the README shows are run here, so the README stays true."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bollard.catalog import load_catalog
from bollard.cli import main
from bollard.policy_file import parse_policy
from tests.harness import Bollard

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def readme_lines() -> list[str]:
    """Every command line of the README's shell blocks, without its comment."""
    lines = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            lines.append(line.split("  #")[0].strip())
    return [line for line in lines if line]


def readme_commands() -> list[list[str]]:
    """The `uv run bollard ...` commands, as arguments after `bollard`."""
    return [
        shlex.split(code)[3:]
        for code in readme_lines()
        if code.startswith("uv run bollard ") and "serve" not in code
    ]


def test_every_bollard_command_in_the_readme_works_as_typed_on_a_fresh_clone() -> None:
    # A fresh clone has no `bollard` on the PATH: only `uv run bollard` works there.
    bare = [code for code in readme_lines() if code.startswith("bollard ")]
    assert bare == []
    assert "`uv tool install .`" in README.read_text()


def test_the_first_readme_command_runs_through_uv_run(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is missing, and CI runs the README's commands with it")
        pytest.skip("uv is not installed")
    first = next(c for c in readme_lines() if c.startswith("uv run bollard agents create"))
    env = {
        **os.environ,
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bollard.db'}",
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
    }
    argv = [uv, *shlex.split(first)[1:]]
    done = subprocess.run(
        argv, cwd=README.parent, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "research" in done.stdout


def test_every_bollard_command_in_the_readme_runs(tmp_path: Path) -> None:
    env = {
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bollard.db'}",
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
    }
    commands = readme_commands()
    assert len(commands) >= 9
    runner = CliRunner()
    with contextlib.chdir(tmp_path):  # the files they write (policy.toml) land there
        for args in commands:
            result = runner.invoke(main, args, env=env)
            # `check` answers "denied" with exit 1 by design; anything else must succeed.
            allowed = (0, 1) if args[0] == "check" else (0,)
            assert result.exit_code in allowed, (args, result.output)


def test_the_readme_curl_call_is_answered_through_bollard(bollard: Bollard) -> None:
    (curl,) = [b for b in blocks("sh") if "curl" in b]
    body = json.loads(re.search(r"-d '(.*?)'", curl, flags=re.S).group(1))  # type: ignore[union-attr]
    path = re.search(r"8787(/api/v1/\S+)", curl).group(1)  # type: ignore[union-attr]
    _, key = bollard.agents.create("readme", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(path, json=body)
    assert reply.status_code == 200
    assert "people" in reply.json()


@pytest.mark.parametrize("snippet", blocks("json"))
def test_the_readme_mcp_configuration_runs_bollard_mcp(snippet: str) -> None:
    server = json.loads(snippet)["mcpServers"]["apollo"]
    assert server["command"] == "bollard"
    result = CliRunner().invoke(main, [*server["args"], "--help"])
    assert result.exit_code == 0


@pytest.mark.parametrize("snippet", blocks("toml"))
def test_the_readme_policy_file_reads_as_policy_apply_reads_it(snippet: str) -> None:
    policy = parse_policy(snippet, load_catalog())
    (sdr,) = policy.agents
    assert "\nallow_unknown_parameters = " in snippet  # the file rejects a key it does not know
    assert sdr.allow_unknown_parameters is False
    assert [r.hold_seconds for r in sdr.rules if r.effect == "approve"] == [8 * 3600]
