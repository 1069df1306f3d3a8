"""`bollard audit ...` through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, update

from bollard.audit.appender import ensure_head
from bollard.audit.checkpointer import checkpointer_for
from bollard.audit.keyfile import signing_key
from bollard.audit.redaction import keyed_hash
from bollard.cli import main
from bollard.settings import Settings
from bollard.store.tables import audit_records
from tests.audit.chainlog import ChainLog

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "BOLLARD_DATABASE_URL": database_url,
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
        "BOLLARD_AUDIT_KEY": "cli-test-audit-key",
    }


@pytest.fixture
def log(engine: Engine, env: dict[str, str]) -> ChainLog:
    settings = Settings.from_env(env)
    ensure_head(engine)
    checkpointer = checkpointer_for(settings)
    checkpointer.every = 100
    made = ChainLog(engine, signing_key(settings.state_dir), checkpointer.file, checkpointer)
    made.add(150, agent="research", ts_us=T0)
    made.add(50, agent="sdr", ts_us=T0 + 1000)
    made.checkpoint()
    return made


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", *args], env=env)
    return result.exit_code, result.stdout


def test_verify_exits_0_on_an_intact_log_and_1_on_an_edited_one(
    log: ChainLog, env: dict[str, str]
) -> None:
    code, out = _run(env, "verify", "--json")
    assert code == 0
    assert json.loads(out)["records"] == 400
    with log.engine.begin() as conn:
        conn.execute(update(audit_records).where(audit_records.c.seq == 7).values(status=500))
    code, out = _run(env, "verify", "--json")
    assert code == 1
    assert [p["kind"] for p in json.loads(out)["problems"]] == ["edited"]


def test_verify_with_someone_elses_public_key_calls_every_checkpoint_forged(
    log: ChainLog, env: dict[str, str]
) -> None:
    code, _ = _run(env, "verify", "--public-key", "11" * 32)
    assert code == 1
    code, printed = _run(env, "public-key")
    code, _ = _run(env, "verify", "--public-key", printed.strip())
    assert code == 0


def test_search_by_agent_and_time_prints_json_newest_first(
    log: ChainLog, env: dict[str, str]
) -> None:
    code, out = _run(
        env, "search", "--agent", "sdr", "--since", "2023-11-14T22:13:20.001010",
        "--limit", "4", "--json",
    )  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["agent"] for r in rows] == ["sdr"] * 4
    assert [r["seq"] for r in rows] == [400, 399, 398, 397]


def test_tail_follow_prints_records_written_after_it_started(
    log: ChainLog, env: dict[str, str]
) -> None:
    code, out = _run(env, "tail", "-n", "2", "-f", "--polls", "1", "--json")
    assert code == 0
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [399, 400]


def test_a_time_range_export_verifies_on_its_own_and_an_edit_to_it_is_caught(
    log: ChainLog, env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "range.jsonl"
    code, _ = _run(
        env, "export", "--since", "2023-11-14T22:13:20.000020Z",
        "--until", "2023-11-14T22:13:20.000040Z", "-o", str(target),
    )  # fmt: skip
    assert code == 0
    assert _run(env, "verify", "--export", str(target))[0] == 0
    lines = target.read_text().splitlines()
    record = json.loads(lines[5])
    record["status"] = 201
    lines[5] = json.dumps(record)
    target.write_text("\n".join(lines) + "\n")
    code, out = _run(env, "verify", "--export", str(target), "--json")
    assert code == 1
    assert "edited" in {p["kind"] for p in json.loads(out)["problems"]}


def test_csv_export_has_a_header_and_one_line_per_record(
    log: ChainLog, env: dict[str, str]
) -> None:
    code, out = _run(env, "export", "--format", "csv", "--agent", "sdr")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("seq,time,request_id,kind")
    assert len(lines) == 101


def test_prune_keeps_the_rest_of_the_log_verifiable_from_a_checkpoint(
    log: ChainLog, env: dict[str, str]
) -> None:
    code, out = _run(env, "prune", "--before", "2023-11-14T22:13:20.000100Z", "--yes")
    assert code == 0
    assert "removed 128 records" in out
    code, out = _run(env, "verify", "--json")
    assert code == 0, out
    assert json.loads(out)["first_seq"] == 129


def test_hash_gives_the_keyed_hash_stored_for_a_personal_value(env: dict[str, str]) -> None:
    code, out = _run(env, "hash", "Jane@Example.com")
    assert code == 0
    assert out.strip() == keyed_hash(b"cli-test-audit-key", "jane@example.com")


def test_a_date_that_is_not_a_date_is_a_clear_error(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["audit", "search", "--since", "yesterday"], env=env)
    assert result.exit_code == 2
    assert "is not a date" in result.stderr
