"""A live database writer cannot forge records that Bollard then chains on and signs."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from bollard.audit import seal
from bollard.audit.chain import Record
from bollard.audit.checkpoint_store import CheckpointFile, stored
from bollard.audit.keyfile import signing_key
from bollard.audit.verify import verify
from bollard.store.tables import audit_head, audit_records
from tests.harness import Bollard, StartBollard

SEARCH = "/api/v1/mixed_people/api_search"


def forge(bollard: Bollard, mac: str | None = None) -> int:
    """What an attacker with write access does: a row that hashes and links correctly
    after the stored head, and the head moved onto it. Returns its seq."""
    bollard.settle()
    with bollard.engine.begin() as conn:
        seq, prev = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
        forged = Record("f" * 24, "admin", 1, "cli", action="grants.add", data={"grant": "*:*"})
        row = forged.row(seq + 1, prev)
        conn.execute(insert(audit_records).values(**row, mac=mac))
        conn.execute(update(audit_head).values(seq=seq + 1, hash=row["hash"]))
    return int(seq) + 1


def full_verify(bollard: Bollard) -> tuple[bool, set[str], list[str]]:
    state = bollard.settings.state_dir
    key = signing_key(state, env={})
    report = verify(
        bollard.engine,
        key.public_key(),
        CheckpointFile.in_state_dir(state),
        mac_key=seal.mac_key(key),
    )
    return report.ok, report.kinds(), report.coverage()


@pytest.mark.parametrize("mac", [None, "0" * 64])
def test_a_record_forged_into_the_database_while_the_server_runs_is_not_chained_on(
    database_url: str, start_bollard: StartBollard, mac: str | None
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        before = client.post(SEARCH, json={"per_page": 1})
        seq = forge(bollard, mac)
        after = client.post(SEARCH, json={"per_page": 1})
        ready = client.get("/readyz")
    assert before.status_code == 200
    # Fail closed: the call is refused, nothing reaches Apollo, the operator is told why.
    assert after.status_code == 503
    assert after.json()["error_code"] == "AUDIT_UNAVAILABLE"
    assert len(bollard.sandbox.calls) == 1
    assert ready.status_code == 503
    assert f"record {seq}" in ready.json()["checks"]["audit"]
    assert "MAC" in ready.json()["checks"]["audit"]
    # Nothing was chained after it, and no signed checkpoint covers it.
    assert [r["seq"] for r in bollard.records()][-1] == seq
    assert all(c.count < seq for c in stored(bollard.engine))
    ok, kinds, _ = full_verify(bollard)
    assert not ok
    assert "forged" in kinds


@pytest.mark.postgres
def test_two_gateways_on_one_postgresql_schema_both_append_to_one_chain(
    start_bollard: StartBollard, postgres_url: str
) -> None:
    first = start_bollard(postgres_url)
    second = start_bollard(postgres_url)
    _, key = first.agents.create("a", ["people:read"])
    statuses = []
    with first.client(key) as one, second.client(key) as two:
        for _ in range(5):
            statuses += [
                one.post(SEARCH, json={"per_page": 1}).status_code,
                two.post(SEARCH, json={"per_page": 1}).status_code,
            ]
        ready = [one.get("/readyz").status_code, two.get("/readyz").status_code]
    assert statuses == [200] * 10
    assert ready == [200, 200]
    second.settle()
    first.records()
    ok, kinds, coverage = full_verify(first)
    assert ok, kinds
    assert "forged" not in kinds
    assert coverage


def test_verify_says_which_records_a_signature_covers_and_which_only_their_macs(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        client.post(SEARCH, json={"per_page": 1})
    bollard.server.stop()  # a stop signs a checkpoint of the tail
    ok, _, coverage = full_verify(bollard)
    assert ok
    assert coverage[0].startswith("records 1..")
    assert "covered by a signed checkpoint" in coverage[0]
    assert not any("NOT covered" in line for line in coverage)
