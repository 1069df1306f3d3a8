"""The credit ledger in SQL: reserve the worst case, settle the real cost, or release.

Each reservation is a ledger row and, in the same transaction, a conditional
UPDATE of the agent's balances (`used + amount <= budget`) for the day and
the month, agent-wide and for the action. The database serialises those
updates per row, so two replicas can never both fit into the last credits.
These functions block; the limiter runs them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bollard.limits.rules import PERIODS, Budget, Period, Shortfall
from bollard.limits.tables import credit_balances, credit_ledger
from bollard.limits.windows import day_start, month_start, next_month_start


@dataclass(frozen=True, slots=True)
class Balance:
    scope: str
    period: Period
    period_start: int
    used: int


class _Refused(Exception):
    """Raised inside the transaction to roll it back."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget


def period_start(period: Period, now: float) -> int:
    return day_start(now) if period == "day" else month_start(now)


def period_end(period: Period, now: float) -> int:
    return day_start(now) + 86400 if period == "day" else next_month_start(now)


def reserve(
    engine: Engine, agent: str, action: str, amount: int, budgets: Sequence[Budget], now: float
) -> int | Shortfall:
    """Reserve `amount` credits if it fits every budget: the ledger id, or what fell short."""
    limits = {(b.scope, b.period): b for b in budgets}
    try:
        with engine.begin() as conn:
            for scope in ("*", action):
                for period in PERIODS:
                    budget = limits.get((scope, period))
                    _charge(conn, agent, scope, period, period_start(period, now), amount, budget)
            row = conn.execute(
                credit_ledger.insert().values(
                    agent=agent,
                    action=action,
                    reserved=amount,
                    state="reserved",
                    day_start=day_start(now),
                    month_start=month_start(now),
                    created_at=now,
                )
            )
            key = row.inserted_primary_key
            assert key is not None
            return int(key[0])
    except _Refused as refused:
        budget = refused.budget
        used = _used(engine, agent, budget.scope, budget.period, now)
        return Shortfall(budget, used, float(period_end(budget.period, now)))


def _charge(
    conn: Connection,
    agent: str,
    scope: str,
    period: Period,
    start: int,
    amount: int,
    budget: Budget | None,
) -> None:
    _ensure_row(conn, agent, scope, period, start)
    where = _balance_key(agent, scope, period, start)
    if budget is not None:
        where = and_(where, credit_balances.c.used + amount <= budget.limit)
    result = conn.execute(
        update(credit_balances).where(where).values(used=credit_balances.c.used + amount)
    )
    if result.rowcount != 1:
        raise _Refused(budget or Budget(scope, period, 0))


def _balance_key(agent: str, scope: str, period: str, start: int) -> ColumnElement[bool]:
    c = credit_balances.c
    return and_(c.agent == agent, c.scope == scope, c.period == period, c.period_start == start)


def _ensure_row(conn: Connection, agent: str, scope: str, period: str, start: int) -> None:
    values = {"agent": agent, "scope": scope, "period": period, "period_start": start, "used": 0}
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(credit_balances).values(**values).on_conflict_do_nothing())


def _used(engine: Engine, agent: str, scope: str, period: Period, now: float) -> int:
    with engine.connect() as conn:
        value = conn.execute(
            select(credit_balances.c.used).where(
                _balance_key(agent, scope, period, period_start(period, now))
            )
        ).scalar()
    return int(value or 0)


def settle(engine: Engine, entry: int, spent: int, now: float) -> None:
    """Replace a reservation by what the call really cost; a second settle changes nothing."""
    _close(engine, entry, "settled", max(0, spent), now)


def release(engine: Engine, entry: int, now: float) -> None:
    """Give a reservation back in full (the call never reached Apollo)."""
    _close(engine, entry, "released", 0, now)


def _close(engine: Engine, entry: int, state: str, spent: int, now: float) -> None:
    c = credit_ledger.c
    with engine.begin() as conn:
        moved = conn.execute(
            update(credit_ledger)
            .where(and_(c.id == entry, c.state == "reserved"))
            .values(state=state, spent=spent, settled_at=now)
        )
        if moved.rowcount != 1:
            return
        row = conn.execute(
            select(c.agent, c.action, c.reserved, c.day_start, c.month_start).where(c.id == entry)
        ).one()
        delta = spent - row.reserved
        if delta == 0:
            return
        starts = {"day": row.day_start, "month": row.month_start}
        for scope in ("*", row.action):
            for period in PERIODS:
                key = _balance_key(row.agent, scope, period, starts[period])
                conn.execute(
                    update(credit_balances).where(key).values(used=credit_balances.c.used + delta)
                )


def balances(engine: Engine, agent: str, now: float) -> list[Balance]:
    """The agent's credits used this UTC day and month, agent-wide and per action."""
    c = credit_balances.c
    starts = {"day": day_start(now), "month": month_start(now)}
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.scope, c.period, c.period_start, c.used).where(c.agent == agent)
        )
        return [
            Balance(r.scope, r.period, r.period_start, r.used)
            for r in rows
            if starts.get(r.period) == r.period_start
        ]
