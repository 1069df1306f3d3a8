"""The credits ledger: what the sandbox charged, per call, inspectable from Python."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Charge:
    """One line of the ledger."""

    action_id: str
    amount: int
    reason: str  # "person", "mobile_phone", "page", "organization"
    at: float


@dataclass(slots=True)
class CreditLedger:
    """Every credit the sandbox spent, in order, with per-action totals."""

    charges: list[Charge] = field(default_factory=list)
    by_action: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def charge(self, action_id: str, amount: int, reason: str, at: float) -> None:
        """Record `amount` credits spent by `action_id` (zero charges are not recorded)."""
        if amount <= 0:
            return
        self.charges.append(Charge(action_id, amount, reason, at))
        self.by_action[action_id] = self.by_action.get(action_id, 0) + amount
        self.total += amount

    def by_reason(self) -> dict[str, int]:
        """Totals per reason, e.g. {"person": 3, "mobile_phone": 8}."""
        out: dict[str, int] = {}
        for c in self.charges:
            out[c.reason] = out.get(c.reason, 0) + c.amount
        return out
