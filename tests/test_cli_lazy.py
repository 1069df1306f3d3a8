"""The CLI imports a command's module only when that command runs: `bollard --help` and
`bollard agents list` never load the MCP SDK, the web app or the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bollard.cli import COMMANDS, main

# Packages only serving, the sandbox or the MCP bridge need.
HEAVY = ("mcp", "mcp_types", "starlette", "uvicorn", "aiohttp", "bollard.app", "bollard.sandbox")

# Runs the real `bollard` entry point, then names the heavy modules it had imported.
PROBE = """
import json, sys
from bollard.cli import main
try:
    main(sys.argv[1:], prog_name="bollard")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.startswith({heavy!r}))
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def probe(tmp_path: Path, *args: str) -> tuple[str, dict[str, object]]:
    script = PROBE.format(heavy=tuple(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_help_lists_every_command_without_importing_any_of_them(tmp_path: Path) -> None:
    out, seen = probe(tmp_path, "--help")
    assert seen == {"code": 0, "heavy": []}
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)


def test_agents_list_reads_the_store_without_the_app_or_the_mcp_sdk(tmp_path: Path) -> None:
    out, seen = probe(tmp_path, "--db", str(tmp_path / "bollard.db"), "agents", "list")
    assert seen == {"code": 0, "heavy": []}
    assert "no agents yet" in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_command_is_the_one_its_module_defines_with_the_same_help(
    name: str,
) -> None:
    module, short = COMMANDS[name]
    command = main.get_command(click.Context(main), name)
    assert command is not None
    assert command.callback is not None
    assert command.callback.__module__ == module
    assert command.get_short_help_str(limit=1000) == short
