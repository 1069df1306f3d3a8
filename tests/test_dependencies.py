"""Every third-party module Bollard imports is a dependency it declares.

A module that arrives only because another package pulls it in breaks the day that
package drops it, and a dev-only one breaks `uv tool install`: `httpx` was imported by
the app but declared for the tests only, so an installed `bollard serve` could not start.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_a_declared_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        _normal(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]) for d in project["dependencies"]
    }
    modules = set().union(*(_imported(p) for p in (ROOT / "src" / "bollard").rglob("*.py")))
    third_party = modules - set(sys.stdlib_module_names) - {"bollard", "__future__"}
    owners = importlib.metadata.packages_distributions()
    undeclared = {
        module: owners.get(module, ["(not installed)"])
        for module in sorted(third_party)
        if not {_normal(d) for d in owners.get(module, [])} & declared
    }
    assert not undeclared, f"imported but not in [project].dependencies: {undeclared}"
