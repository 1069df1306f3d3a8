"""Every admin change from the CLI is on the record: one audit record per change, in the
change's own transaction, naming who made it, what it was before and after, and why.

Driven through the real `bollard` command; the records are read back from the database.
"""

from __future__ import annotations

import getpass
import json
import socket
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select

from bollard.cli import main
from bollard.limits.tables import limits
from bollard.store.tables import agent_keys, audit_records, grants
from tests.harness import StartBollard, sandbox, start_bollard, wait_until

__all__ = ["sandbox", "start_bollard"]  # fixtures this module uses

SEARCH = "/api/v1/mixed_people/api_search"


class Cli:
    """The real `bollard` command against one database and state directory."""

    def __init__(self, url: str, state: Path) -> None:
        self.url = url
        self.env = {"BOLLARD_DATABASE_URL": url, "BOLLARD_STATE_DIR": str(state)}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def admin_records(self) -> list[dict[str, Any]]:
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(audit_records)
                    .where(audit_records.c.kind == "admin")
                    .order_by(audit_records.c.seq)
                ).all()
        finally:
            engine.dispose()
        return [{**dict(r._mapping), "data": json.loads(r.data)} for r in rows]

    def count(self, table: Any) -> int:
        engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                return len(conn.execute(select(table)).all())
        finally:
            engine.dispose()


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "state")


ALICE = ("--actor", "alice@example.com")


def test_each_cli_change_is_one_admin_record_with_actor_before_after_and_reason(
    cli: Cli,
) -> None:
    cli.ok("agents", "create", "research", "--grant", "people:read", *ALICE, "--reason", "pilot")
    cli.ok("grants", "add", "research", "contacts:write", *ALICE)
    cli.ok("grants", "remove", "research", "people:read", *ALICE, "--reason", "too wide")
    cli.ok("limits", "set", "research", "--per-minute", "30", *ALICE)
    cli.ok("limits", "set", "research", "--credits-per-day", "500", *ALICE)
    cli.ok("limits", "clear", "research", *ALICE)
    cli.ok("agents", "rotate", "research", "--grace", "2h", *ALICE)
    cli.ok("agents", "revoke", "research", *ALICE, "--reason", "done")
    records = cli.admin_records()
    assert [(r["action"], r["agent"], r["door"]) for r in records] == [
        ("agents.create", "research", "cli"),
        ("grants.change", "research", "cli"),
        ("grants.change", "research", "cli"),
        ("limits.set", "research", "cli"),
        ("limits.set", "research", "cli"),
        ("limits.clear", "research", "cli"),
        ("agents.rotate", "research", "cli"),
        ("agents.revoke", "research", "cli"),
    ]
    data = [r["data"] for r in records]
    assert {d["by"] for d in data} == {"alice@example.com"}
    assert [d.get("reason") for d in data] == ["pilot", None, "too wide", *[None] * 4, "done"]
    create, add, remove, per_minute, credits, clear, rotate, revoke = data
    assert create["before"] is None
    assert create["after"]["grants"] == ["people:read"]
    assert (add["before"], add["after"]) == (
        {"grants": ["people:read"]},
        {"grants": ["contacts:write", "people:read"]},
    )
    assert remove["after"] == {"grants": ["contacts:write"]}
    assert per_minute["before"] is None
    assert per_minute["after"] == {"agent": "research", "action": "*", "per_minute": 30}
    assert credits["before"] == per_minute["after"]
    assert credits["after"] == {**per_minute["after"], "credits_per_day": 500}
    assert (clear["before"], clear["after"]) == ([credits["after"]], None)
    (old,) = rotate["before"]["keys"]
    assert old["expires_at"] is None
    assert [k["expires_at"] is not None for k in rotate["after"]["keys"]] == [True, False]
    assert revoke["before"]["revoked_at"] is None
    assert revoke["after"]["revoked_at"] is not None


def test_without_actor_the_record_names_the_operating_system_user_at_this_host(
    cli: Cli,
) -> None:
    cli.ok("agents", "create", "research")
    (record,) = cli.admin_records()
    assert record["data"]["by"] == f"{getpass.getuser()}@{socket.gethostname()}"
    assert record["data"]["via"] == "cli"


def test_a_refused_change_leaves_neither_a_change_nor_a_record(cli: Cli) -> None:
    cli.ok("agents", "create", "research", "--grant", "people:read")
    result = cli("grants", "remove", "research", "people:read", "contacts:*")
    assert result.exit_code == 2
    assert "no grant 'contacts:*'" in result.stderr
    assert cli.count(grants) == 1
    assert len(cli.admin_records()) == 1


def test_a_change_that_changes_nothing_is_not_recorded(cli: Cli) -> None:
    cli.ok("agents", "create", "research", "--grant", "people:read")
    cli.ok("grants", "add", "research", "people:read")
    cli.ok("agents", "revoke", "research")
    said = cli.ok("agents", "revoke", "research")
    assert "was already revoked" in said
    assert "nothing changed" in said
    assert [r["action"] for r in cli.admin_records()] == ["agents.create", "agents.revoke"]


UNKNOWN = [
    ("agents", "show", "reserch"),
    ("agents", "revoke", "reserch"),
    ("agents", "rotate", "reserch"),
    ("grants", "add", "reserch", "people:read"),
    ("grants", "remove", "reserch", "people:read"),
    ("grants", "list", "reserch"),
    ("limits", "set", "reserch", "--per-minute", "5"),
    ("limits", "clear", "reserch"),
    ("usage", "reserch"),
    ("check", "reserch", "people.search"),
]


@pytest.mark.parametrize("args", UNKNOWN, ids=lambda a: " ".join(a[:2]))
def test_every_command_that_names_an_agent_refuses_an_unknown_one_with_the_nearest(
    cli: Cli, args: tuple[str, ...]
) -> None:
    cli.ok("agents", "create", "research", "--grant", "people:read")
    cli.ok("agents", "create", "sdr")
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr == "Error: no agent named 'reserch'; did you mean research?\n"
    assert result.stdout == ""
    assert cli.count(limits) == 0
    assert cli.count(agent_keys) == 2
    assert [r["action"] for r in cli.admin_records()] == ["agents.create"] * 2


def test_a_cli_change_while_the_server_runs_is_in_force_and_in_the_one_chain(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    cli = Cli(bollard.settings.database_url, bollard.settings.state_dir)
    _, key = bollard.agents.create("research", ["people:read"])
    with bollard.client(key) as agent:
        before = agent.post(SEARCH, json={"per_page": 1})
        bollard.settle()
        cli.ok("agents", "revoke", "research", *ALICE)
        after = agent.post(SEARCH, json={"per_page": 1})
    assert (before.status_code, after.status_code) == (200, 401)
    kinds = [r["kind"] for r in bollard.records()]
    assert kinds == ["request", "outcome", "admin", "request", "outcome"]
    verified = cli("audit", "verify", "--json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["records"] == 5


def test_cli_changes_and_calls_the_server_records_at_the_same_time_share_one_chain(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    cli = Cli(bollard.settings.database_url, bollard.settings.state_dir)
    _, key = bollard.agents.create("research", ["people:read"])
    cli.ok("agents", "create", "other")
    flowing, stop = threading.Event(), threading.Event()
    statuses: list[int] = []

    def calls() -> None:
        with bollard.client(key) as agent:
            while not stop.is_set():
                statuses.append(agent.post(SEARCH, json={"per_page": 1}).status_code)
                flowing.set()

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        assert flowing.wait(20)
        for turn in range(6):
            cli.ok("grants", "remove" if turn % 2 else "add", "other", "people:read")
            # The server records calls after this change before the next one: each
            # writer then chains after a head the other one moved.
            change = max(r["seq"] for r in bollard.records() if r["action"] == "grants.change")
            wait_until(
                partial(_request_after, bollard, change),
                f"a call recorded after change {turn + 1}",
                timeout=20,
            )
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
    records = bollard.records()
    verified = cli("audit", "verify", "--json")
    assert set(statuses) == {200}
    assert [r["kind"] for r in records].count("admin") == 7
    assert [r["kind"] for r in records].count("request") == len(statuses)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    changed = [r["seq"] for r in records if r["action"] == "grants.change"]
    between = [r for r in records if r["kind"] == "request" and changed[0] < r["seq"] < changed[-1]]
    assert between  # the server recorded calls while the CLI was changing grants
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["records"] == len(records)


def _request_after(bollard: Any, seq: int) -> bool:
    return any(r["kind"] == "request" and r["seq"] > seq for r in bollard.records())
