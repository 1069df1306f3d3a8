"""The limits tables, on the store's shared `metadata` (migration 0002_limits).

limits: what `bollard limits set` stores, one row per agent and action (`*`).
credit_ledger: every reservation, and what it settled at; the durable truth.
credit_balances: per agent, scope (`*` or an action) and period, the sum of the
  ledger's charges, kept beside it in the same transaction so that one
  conditional UPDATE decides whether a reservation fits the budget.
apollo_windows: Apollo's windows as last synced, for `bollard usage`.
limit_events: counts of things an operator must see (e.g. rate limits failed open).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
)

from bollard.store.tables import metadata

# SQLite only autoincrements INTEGER primary keys.
_ID = BigInteger().with_variant(Integer, "sqlite")

limits = Table(
    "limits",
    metadata,
    Column("agent", String(200), primary_key=True),
    Column("action", String(100), primary_key=True),
    Column("per_minute", Integer, nullable=True),
    Column("per_hour", Integer, nullable=True),
    Column("per_day", Integer, nullable=True),
    Column("credits_per_day", Integer, nullable=True),
    Column("credits_per_month", Integer, nullable=True),
    Column("share_of_apollo", Float, nullable=True),
    Column("updated_at", Float, nullable=False),
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("agent", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("spent", Integer, nullable=True),
    # reserved -> settled | released
    Column("state", String(16), nullable=False),
    Column("day_start", BigInteger, nullable=False),
    Column("month_start", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("settled_at", Float, nullable=True),
    Index("ix_credit_ledger_agent_day_start", "agent", "day_start"),
)

credit_balances = Table(
    "credit_balances",
    metadata,
    Column("agent", String(200), primary_key=True),
    Column("scope", String(100), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("period_start", BigInteger, primary_key=True),
    Column("used", Integer, nullable=False),
)

apollo_windows = Table(
    "apollo_windows",
    metadata,
    Column("endpoint", String(200), primary_key=True),
    Column("window", String(8), primary_key=True),
    Column("limit", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("reported_at", Float, nullable=False),
)

limit_events = Table(
    "limit_events",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_at", Float, nullable=False),
)

TABLES = (limits, credit_ledger, credit_balances, apollo_windows, limit_events)
