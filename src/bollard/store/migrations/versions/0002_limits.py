"""Limits: per-agent limit rules, the credit ledger and balances, Apollo's windows.

Revision ID: 0002_limits
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_limits"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

# Spelled out here rather than imported from bollard.limits.tables: a migration
# must keep creating the schema it was written for. Times are Unix seconds
# (float), as the limiter computes windows and budget periods from them.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the limits tables."""
    op.create_table(
        "limits",
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=True),
        sa.Column("per_hour", sa.Integer(), nullable=True),
        sa.Column("per_day", sa.Integer(), nullable=True),
        sa.Column("credits_per_day", sa.Integer(), nullable=True),
        sa.Column("credits_per_month", sa.Integer(), nullable=True),
        sa.Column("share_of_apollo", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("agent", "action", name=op.f("pk_limits")),
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("spent", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("day_start", sa.BigInteger(), nullable=False),
        sa.Column("month_start", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("settled_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
    )
    op.create_index("ix_credit_ledger_agent_day_start", "credit_ledger", ["agent", "day_start"])
    op.create_table(
        "credit_balances",
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "agent", "scope", "period", "period_start", name=op.f("pk_credit_balances")
        ),
    )
    op.create_table(
        "apollo_windows",
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "window", name=op.f("pk_apollo_windows")),
    )
    op.create_table(
        "limit_events",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_limit_events")),
    )


def downgrade() -> None:
    """Drop the limits tables."""
    for table in ("limit_events", "apollo_windows", "credit_balances"):
        op.drop_table(table)
    op.drop_index("ix_credit_ledger_agent_day_start", table_name="credit_ledger")
    op.drop_table("credit_ledger")
    op.drop_table("limits")
