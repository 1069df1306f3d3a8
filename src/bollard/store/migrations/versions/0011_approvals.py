"""Held calls waiting for a person (issue 19), and an approve rule's expiry.

Revision ID: 0011_approvals
Revises: 0010_policy_rules
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_approvals"
down_revision: str | None = "0010_policy_rules"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `approvals`; add `policy_rules.hold_seconds`."""
    op.add_column("policy_rules", sa.Column("hold_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("door", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("reckoning", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("execution_request_id", sa.String(length=40), nullable=True),
        sa.Column("result_status", sa.Integer(), nullable=True),
        sa.Column("result_headers", sa.Text(), nullable=True),
        sa.Column("result_body", sa.LargeBinary(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index(
        op.f("ix_approvals_agent_action_digest"), "approvals", ["agent", "action", "digest"]
    )
    op.create_index(op.f("ix_approvals_status_created_at"), "approvals", ["status", "created_at"])


def downgrade() -> None:
    """Drop `approvals` and `policy_rules.hold_seconds`."""
    op.drop_index(op.f("ix_approvals_status_created_at"), table_name="approvals")
    op.drop_index(op.f("ix_approvals_agent_action_digest"), table_name="approvals")
    op.drop_table("approvals")
    with op.batch_alter_table("policy_rules") as batch:
        batch.drop_column("hold_seconds")
