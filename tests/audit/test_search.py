"""`search`, `follow` and `pair` over the real store, SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from bollard.audit import Record
from bollard.audit.appender import append_records, ensure_head
from bollard.audit.search import AuditFilters, follow, last_seq, pair, search


def _call(request_id: str, agent: str, action: str, ts_us: int, outcome: str) -> list[Record]:
    decision = "deny" if outcome == "denied" else "allow"
    return [
        Record(request_id, "request", ts_us, "rest", agent, action, decision=decision),
        Record(request_id, "outcome", ts_us + 5, "rest", agent, action, outcome=outcome),
    ]


def _fill(engine: Engine) -> None:
    ensure_head(engine)
    records: list[Record] = []
    for i in range(30):
        agent = "research" if i % 3 else "sdr"
        action = "people.search" if i % 2 else "contacts.create"
        outcome = "denied" if i % 5 == 0 else "ok"
        records += _call(f"r{i:02d}", agent, action, 1_000_000 + i * 100, outcome)
    append_records(engine, records)


def test_search_by_agent_and_time_range_returns_newest_first(engine: Engine) -> None:
    _fill(engine)
    filters = AuditFilters(agent="sdr", since_us=1_000_000 + 300, until_us=1_000_000 + 1500)
    rows = search(engine, filters, limit=100)
    assert [r.request_id for r in rows] == [
        rid for i in (12, 9, 6, 3) for rid in (f"r{i:02d}", f"r{i:02d}")
    ]
    assert [r.kind for r in rows[:2]] == ["outcome", "request"]


def test_search_pages_with_the_last_seq_without_gaps_or_repeats(engine: Engine) -> None:
    _fill(engine)
    seen: list[int] = []
    before: int | None = None
    while page := search(engine, AuditFilters(kind="request"), limit=7, before_seq=before):
        seen += [r.seq for r in page]
        before = page[-1].seq
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 30


def test_search_by_decision_outcome_and_request_id(engine: Engine) -> None:
    _fill(engine)
    denied = search(engine, AuditFilters(decision="deny"), limit=100)
    assert {r.request_id for r in denied} == {f"r{i:02d}" for i in range(0, 30, 5)}
    ok = search(engine, AuditFilters(outcome="ok", action="people.search"), limit=100)
    assert all(r.kind == "outcome" and r.action == "people.search" for r in ok)
    assert len(ok) == 12
    one = search(engine, AuditFilters(request_id="r07"), limit=10)
    assert {r.kind for r in one} == {"request", "outcome"}


def test_pair_puts_each_request_with_its_outcome(engine: Engine) -> None:
    _fill(engine)
    calls = pair(engine, search(engine, AuditFilters(outcome="denied"), limit=100))
    assert len(calls) == 6
    for call in calls:
        assert call.request is not None
        assert call.outcome is not None
        assert call.request.decision == "deny"
        assert call.outcome.request_id == call.request_id


def test_follow_reads_everything_after_a_seq_in_chain_order(engine: Engine) -> None:
    _fill(engine)
    rows = list(follow(engine, AuditFilters(), after_seq=10, batch=7))
    assert [r.seq for r in rows] == list(range(11, 61))
    assert last_seq(engine) == 60
