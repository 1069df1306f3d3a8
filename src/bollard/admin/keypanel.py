"""The panel that shows a new key once: the key, a curl to try it, an MCP client config.

The curl uses an action the agent may call: a free read that needs no
arguments if it has one, else a read that spends credits (said so), else
none, with the reason, since a write is no thing to paste and try.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from bollard.agents import Agent
from bollard.catalog import Action


def try_action(actions: tuple[Action, ...]) -> Action | None:
    """The granted action a pasted curl should call, or None."""
    reads = [a for a in actions if a.access == "read" and _bare(a)]
    free = [a for a in reads if not a.credits.spends]
    if free or reads:
        return (free or reads)[0]
    return None


def key_panel(base: str, agent: Agent, key: str, granted: tuple[Action, ...]) -> dict[str, Any]:
    """What `_key.html` shows for a key just made."""
    action = try_action(granted)
    mcp = {
        "mcpServers": {
            f"bollard-{agent.name}": {
                "type": "http",
                "url": f"{base}/mcp",
                "headers": {"Authorization": f"Bearer {key}"},
            }
        }
    }
    return {
        "agent": agent.name,
        "key": key,
        "action": action.id if action else "",
        "spends": bool(action and action.credits.spends),
        "curl": curl(base, key, action) if action else "",
        "no_curl": "" if action else _why_none(granted),
        "mcp": json.dumps(mcp, indent=2),
    }


def curl(base: str, key: str, action: Action) -> str:
    """A curl command calling `action` through Bollard with `key`."""
    url = base + action.full_path
    lines = [f"curl -s {url}" + ("?per_page=1" if action.method == "GET" and action.paging else "")]
    if action.method not in ("GET", "POST"):
        lines.append(f"-X {action.method}")
    lines.append(f"-H {shlex.quote('X-Api-Key: ' + key)}")
    if action.method != "GET":
        body = '{"per_page": 1}' if action.paging else "{}"
        lines += ["-H 'Content-Type: application/json'", f"-d {shlex.quote(body)}"]
    return " \\\n  ".join(lines)


def _bare(action: Action) -> bool:
    """True when the action can be called with no arguments at all."""
    needed = any(p.required or p.location == "path" for p in action.params)
    return not needed and not any(r.kind == "one_of" for r in action.rules)


def _why_none(granted: tuple[Action, ...]) -> str:
    if not granted:
        return "This agent has no grants yet, so any call answers 403: grant it an action first."
    names = ", ".join(a.id for a in granted)
    return (
        f"This agent may call only {names}, which need arguments or write to Apollo: "
        "no ready-made call to try."
    )
