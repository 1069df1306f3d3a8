"""Agents, their keys and grants; the audit log and its head.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Spelled out here rather than imported from tables.py: a migration must keep
# creating the schema it was written for, whatever tables.py says later.
Stamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every table of the first schema."""
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=True),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
    )
    op.create_table(
        "agent_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=True),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_keys")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_keys_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("key_hash", name=op.f("uq_agent_keys_key_hash")),
    )
    op.create_index(op.f("ix_agent_keys_agent_id"), "agent_keys", ["agent_id"])
    op.create_table(
        "grants",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("selector", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "selector", name=op.f("pk_grants")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_grants_agent_id_agents"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "audit_records",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("door", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("decision", sa.String(8), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_records")),
    )
    for columns in (
        ["agent", "ts_us"],
        ["action", "ts_us"],
        ["request_id"],
        ["ts_us"],
        ["kind", "request_id"],
    ):
        name = op.f("ix_audit_records_" + "_".join(columns))
        op.create_index(name, "audit_records", columns)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )


def downgrade() -> None:
    """Drop every table of the first schema."""
    for table in ("audit_head", "audit_records", "grants", "agent_keys", "agents"):
        op.drop_table(table)
