"""`bollard catalog`: the reference guide to Apollo's API, in the terminal.

    bollard catalog [--method M] [--access read|write] [--master-only|--scoped-ok]
                    [--resource R] [--tag T] [--from seed|openapi] [--search TEXT] [--json]
    bollard catalog show ACTION [--json]
    bollard catalog guide [--json]

Rows and dicts come from `bollard.catalog.rows`, shared with the web page.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import click

from bollard.catalog import ACCESSES, METHODS, ORIGINS, TAGS, Action, Catalog, Param, load_catalog
from bollard.catalog.rows import (
    ORIGIN_LABELS,
    action_detail,
    action_row,
    credits_text,
    disagreement_dict,
    disagreements_list,
    filter_actions,
    guide_dict,
    limits_text,
)

WIDTH = 88
SUMMARY_MIN = 24  # below this the summary is left out rather than cut to nothing
DROPPED_FIRST = ("tags", "from", "credits", "master key", "path", "summary")
TABLE_COLUMNS = (
    "method", "path", "id", "access", "master key", "credits", "from", "tags", "summary"
)  # fmt: skip


class UsageProblem(click.ClickException):
    """A bad name on the command line: exit 2, like click's own usage errors."""

    exit_code = 2


@click.group("catalog", invoke_without_command=True)
@click.option("--method", type=click.Choice(METHODS, case_sensitive=False), help="HTTP method.")
@click.option("--access", type=click.Choice(ACCESSES), help="Only read or only write actions.")
@click.option(
    "--master-only/--scoped-ok",
    "master_key",
    default=None,
    help="Only actions that need a master key / only those a scoped key can call.",
)
@click.option("--resource", help="people, organizations, contacts, accounts, sequences, …")
@click.option("--tag", type=click.Choice(TAGS), help="Only actions with this risk tag.")
@click.option(
    "--from",
    "origin",
    type=click.Choice(ORIGINS),
    help="Only the seed's rows, or only those from Apollo's OpenAPI document.",
)
@click.option(
    "--search",
    metavar="TEXT",
    help="Case-insensitive match on path, id, MCP tool, summary, notes or parameters.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
def catalog(
    ctx: click.Context,
    method: str | None,
    access: str | None,
    master_key: bool | None,
    resource: str | None,
    tag: str | None,
    origin: str | None,
    search: str | None,
    as_json: bool,
) -> None:
    """List Apollo's API methods: path, access, master key, credits."""
    if ctx.invoked_subcommand is not None:
        return
    cat = load_catalog()
    if resource is not None and resource not in cat.resources:
        raise UsageProblem(_unknown("resource", resource, cat.resources))
    actions = filter_actions(
        cat.actions,
        method=method,
        access=access,
        master_key=master_key,
        resource=resource,
        search=search,
        tag=tag,
        origin=origin,
    )
    rows = [action_row(a) for a in actions]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No actions match these filters.")
        return
    click.echo(_table(TABLE_COLUMNS, [_table_cells(r) for r in rows], _columns()))
    click.echo(f"\n{len(rows)} of {len(cat.actions)} actions.  Details: bollard catalog show ID")


@catalog.command("show")
@click.argument("action_id", metavar="ACTION")
@click.option("--json", "as_json", is_flag=True, help="Print the action as JSON.")
def show(action_id: str, as_json: bool) -> None:
    """Show one action in full: parameters, credits, limits, source, notes."""
    cat = load_catalog()
    action = _lookup(cat, action_id)
    if as_json:
        click.echo(json.dumps(action_detail(action), indent=2))
        return
    click.echo("\n".join(_describe(action)))


@catalog.command("guide")
@click.option("--json", "as_json", is_flag=True, help="Print the guide as JSON.")
def guide(as_json: bool) -> None:
    """Show the general guide: connecting, keys, credits, limits, status codes."""
    cat = load_catalog()
    g = cat.guide
    disputes = disagreements_list(cat.actions)
    if as_json:
        click.echo(json.dumps({**guide_dict(g), "disagreements": disputes}, indent=2))
        return
    lines = [g.title, "=" * len(g.title), "", *_wrap(g.intro), ""]
    for section in g.sections:
        lines += [section.title, "-" * len(section.title), *_wrap(section.body), ""]
    lines += ["Areas", "-----"]
    lines += [f"  {a.resource:<14} {a.title}: {a.summary}" for a in g.areas]
    lines += ["", "Status codes", "------------"]
    for code in g.status_codes:
        lines.append(f"{code.status} {code.name}")
        lines += _wrap(code.meaning, indent="    ")
        lines += _wrap("What to do: " + code.what_to_do, indent="    ")
    lines += ["", DISPUTES_TITLE, "-" * len(DISPUTES_TITLE)]
    for action in (a for a in cat.actions if a.disagreements):
        lines.append(f"{action.id}  {action.full_path}")
        lines += [
            line for d in action.disagreements for line in _dispute_lines(disagreement_dict(d))
        ]
    click.echo("\n".join(lines))


DISPUTES_TITLE = "Where the seed and Apollo's documents disagree"


def _action_disputes(action: Action) -> list[str]:
    return [line for d in action.disagreements for line in _dispute_lines(disagreement_dict(d))]


def _dispute_lines(dispute: dict[str, Any]) -> list[str]:
    """One disputed field: its topic, then each claim with its source."""
    higher = dispute["highest"]
    budget = f" (budgets reckon the higher: {higher})" if higher is not None else ""
    lines = _wrap(dispute["topic"] + budget, indent="    ", first="  ")
    for claim in dispute["claims"]:
        said = f"{claim['value']}: {claim['says']} Source: {claim['source']}."
        lines += _wrap(said, indent="      ", first="    - ")
    return lines


def _lookup(cat: Catalog, text: str) -> Action:
    # Agents and people also know actions by their MCP tool name.
    action = cat.get(text) or cat.by_tool(text)
    if action is None:
        raise UsageProblem(_unknown("action", text, [a.id for a in cat.actions], cat.nearest(text)))
    return action


def _unknown(
    kind: str, text: str, known: Sequence[str], nearest: Sequence[str] | None = None
) -> str:
    close = nearest if nearest is not None else difflib.get_close_matches(text, known, n=3)
    if close:
        return f"unknown {kind} {text!r}; did you mean {', '.join(close)}?"
    return f"unknown {kind} {text!r}; run `bollard catalog` to list them"


def _table_cells(row: dict[str, Any]) -> list[str]:
    return [
        row["method"],
        row["path"],
        row["id"],
        row["access"],
        "yes" if row["master_key"] else "no",
        row["credits"],
        row["from"],
        ",".join(row["tags"]) or "-",
        row["summary"],
    ]


def _columns() -> int:
    """The terminal's width (or COLUMNS); piped into another program, no limit."""
    if "COLUMNS" in os.environ or sys.stdout.isatty():
        return shutil.get_terminal_size((WIDTH, 24)).columns
    return 10_000


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], columns: int) -> str:
    """The table in `columns` characters: the summary cut short with `…`, and while even
    that leaves it too little room, the least needed columns left out."""
    keep = list(range(len(headers)))
    for dropped in DROPPED_FIRST:
        if _fixed_width(headers, rows, keep) + SUMMARY_MIN <= columns:
            break
        keep.remove(headers.index(dropped))
    headers = [headers[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    room = max(columns - _fixed_width(headers, rows, range(len(headers))), 1)
    rows = [[*row[:-1], _cut(row[-1], room)] for row in rows]
    return _aligned(headers, rows)


def _fixed_width(headers: Sequence[str], rows: Sequence[Sequence[str]], keep: Any) -> int:
    """The width of every kept column but the last, with the two spaces after each."""
    kept = list(keep)[:-1]
    return sum(max(len(r[i]) for r in [headers, *rows]) + 2 for i in kept)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def _aligned(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    # The last column is left unpadded.
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers) - 1)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    rule = ["-" * w for w in widths] + ["-" * len(headers[-1])]
    return "\n".join([line([h.upper() for h in headers]), line(rule), *map(line, rows)])


def _describe(action: Action) -> list[str]:
    head = f"{action.id}  {action.method} {action.full_path}"
    master = "yes: a scoped key gets 403" if action.master_key else "no: a scoped key works"
    facts = [
        (
            "access",
            action.access + (" (changes data: confirm first)" if action.destructive else ""),
        ),
        ("resource", f"{action.resource} (acts on {action.acts_on})"),
        ("master key", master),
        ("key scope", action.key_scope),
        ("oauth scope", action.oauth_scope),
        ("mcp tool", action.mcp_tool),
        ("from", ORIGIN_LABELS[action.origin]),
        ("tags", ", ".join(action.tags) or "none"),
        ("credits", credits_text(action.credits)),
        ("budgets", credits_text(action.budget_credits)),
        ("limits", limits_text(action)),
        ("version", action.version),
        ("rate limit", action.rate_limit),
        ("webhook", action.webhook),
        ("source", action.source),
    ]
    if action.credits.note:
        facts.insert(9, ("credit note", action.credits.note))
    lines = [head, "=" * len(head), *_wrap(action.summary), ""]
    for label, value in facts:
        lines += _wrap(value, indent=" " * 15, first=f"  {label:<12} ")
    lines += ["", "Notes", *_wrap(action.notes, indent="  "), "", "Parameters"]
    lines += [line for p in action.params for line in _describe_param(p, "  ")] or ["  none"]
    if action.disagreements:
        lines += ["", "Sources disagree"]
        lines += [
            line for d in action.disagreements for line in _dispute_lines(disagreement_dict(d))
        ]
    if action.rules:
        lines += ["", "Rules"]
        for rule in action.rules:
            cond = f"when {rule.when} is set, requires" if rule.when else "at least one of"
            lines += _wrap(
                f"{cond} {', '.join(rule.fields)}: {rule.message}", indent="    ", first="  - "
            )
    return lines


def _describe_param(param: Param, indent: str) -> list[str]:
    kind = f"array of {param.items}" if param.type == "array" else param.type
    flags = [kind, f"in {param.location}", "required" if param.required else "optional"]
    head = f"{indent}{param.name}  ({', '.join(flags)})"
    extra = []
    if param.enum:
        extra.append("one of: " + ", ".join(param.enum))
    if param.minimum is not None or param.maximum is not None:
        extra.append(f"range: {_num(param.minimum)}..{_num(param.maximum)}")
    if param.max_items is not None:
        extra.append(f"at most {param.max_items} items")
    if param.default is not None:
        extra.append(f"default: {json.dumps(param.default)}")
    body = [*_wrap(param.description, indent=indent + "    ")]
    body += [line for e in extra for line in _wrap(e, indent=indent + "    ")]
    nested = [line for p in param.properties for line in _describe_param(p, indent + "    ")]
    return [head, *body, *nested]


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
    ) or [(first or indent).rstrip()]


COMMANDS: list[click.Command] = [catalog]
