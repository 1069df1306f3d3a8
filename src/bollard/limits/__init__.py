"""Rate limits and credit budgets: the agent's own, and Apollo's team-wide windows.

windows     fixed-window arithmetic, Apollo's headers and usage stats (pure)
cost        worst-case and real credit cost of a call (pure)
rules       limit rules and budgets → the checks one call must pass (pure)
refusals    the errors raised, saying which limit and when it resets (pure)
counters    window counters in this process (single node)
redis       window counters in Redis, one Lua script per decision (replicas)
ledger      the credit ledger in SQL: reserve, settle, release
rule_store  rules, Apollo window snapshots and events in SQL
limiter     `Limiter`: admit → settle | release, and `create_limiter`
"""

from __future__ import annotations

from bollard.limits.limiter import Admission, Limiter, create_limiter

__all__ = ["Admission", "Limiter", "create_limiter"]
