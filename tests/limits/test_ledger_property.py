"""The credit ledger against a simple model: reserve, settle, release, time passing."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
)
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from bollard.limits import ledger
from bollard.limits.rules import Budget, Shortfall
from bollard.limits.tables import TABLES, credit_balances, credit_ledger
from bollard.limits.windows import day_start, month_start
from bollard.store.tables import metadata
from tests.harness import START

AGENT = "enricher"
ACTIONS = ("people.enrich", "organizations.enrich")
BUDGETS = (
    Budget("*", "day", 30),
    Budget("*", "month", 100),
    Budget("people.enrich", "day", 12),
)


@dataclass
class Held:
    """A reservation the model expects to be open."""

    entry: int
    action: str
    amount: int
    starts: dict[str, int]


class LedgerMachine(RuleBasedStateMachine):
    held = Bundle("held")

    def __init__(self) -> None:
        super().__init__()
        self.engine = create_engine("sqlite://", poolclass=StaticPool)
        metadata.create_all(self.engine, tables=list(TABLES))
        self.now = START
        # (scope, period, period_start) -> credits charged, as the model sees it.
        self.used: dict[tuple[str, str, int], int] = {}
        self.overspent = False

    def _keys(self, action: str, starts: dict[str, int]) -> list[tuple[str, str, int]]:
        return [(s, p, starts[p]) for s in ("*", action) for p in ("day", "month")]

    def _fits(self, action: str, amount: int, starts: dict[str, int]) -> bool:
        for budget in BUDGETS:
            if budget.scope in ("*", action):
                key = (budget.scope, budget.period, starts[budget.period])
                if self.used.get(key, 0) + amount > budget.limit:
                    return False
        return True

    @rule(target=held, action=st.sampled_from(ACTIONS), amount=st.integers(0, 15))
    def reserve(self, action: str, amount: int) -> object:
        starts = {"day": day_start(self.now), "month": month_start(self.now)}
        expected = self._fits(action, amount, starts)
        result = ledger.reserve(self.engine, AGENT, action, amount, BUDGETS, self.now)
        assert isinstance(result, int) == expected, (result, self.used)
        if isinstance(result, Shortfall):
            assert result.reset_at > self.now
            return multiple()
        for key in self._keys(action, starts):
            self.used[key] = self.used.get(key, 0) + amount
        return Held(result, action, amount, starts)

    @rule(reservation=consumes(held), data=st.data())
    def settle(self, reservation: Held, data: st.DataObject) -> None:
        spent = data.draw(st.integers(0, reservation.amount + 3))
        self.overspent |= spent > reservation.amount
        ledger.settle(self.engine, reservation.entry, spent, self.now)
        ledger.settle(self.engine, reservation.entry, spent + 1, self.now)  # no effect
        for key in self._keys(reservation.action, reservation.starts):
            self.used[key] += spent - reservation.amount

    @rule(reservation=consumes(held))
    def release(self, reservation: Held) -> None:
        ledger.release(self.engine, reservation.entry, self.now)
        ledger.release(self.engine, reservation.entry, self.now)  # no effect
        for key in self._keys(reservation.action, reservation.starts):
            self.used[key] -= reservation.amount

    @rule(hours=st.sampled_from([1, 7, 24, 24 * 9]))
    def time_passes(self, hours: int) -> None:
        self.now += hours * 3600

    @invariant()
    def balances_match_the_model(self) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(select(credit_balances)).all()
        stored = {(r.scope, r.period, r.period_start): r.used for r in rows}
        assert stored == {k: v for k, v in self.used.items() if k in stored}
        assert all(v == 0 for k, v in self.used.items() if k not in stored)

    @invariant()
    def balances_are_the_sum_of_the_ledger(self) -> None:
        with self.engine.connect() as conn:
            entries = conn.execute(select(credit_ledger)).all()
        sums: dict[tuple[str, str, int], int] = {}
        for e in entries:
            charge = e.reserved if e.state == "reserved" else (e.spent or 0)
            starts = {"day": e.day_start, "month": e.month_start}
            for key in self._keys(e.action, starts):
                sums[key] = sums.get(key, 0) + charge
        assert {k: v for k, v in sums.items() if v} == {k: v for k, v in self.used.items() if v}

    @invariant()
    def no_budget_is_exceeded_unless_a_call_cost_more_than_its_worst_case(self) -> None:
        if self.overspent:
            return
        for budget in BUDGETS:
            for (scope, period, _), value in self.used.items():
                if (scope, period) == (budget.scope, budget.period):
                    assert value <= budget.limit

    def teardown(self) -> None:
        self.engine.dispose()


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_the_ledger_agrees_with_a_simple_model = LedgerMachine.TestCase
