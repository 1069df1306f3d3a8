"""Signed checkpoints of the audit chain.

Revision ID: 0003_audit
Revises: 0002_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit"
down_revision: str | None = "0002_limits"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `audit_checkpoints`."""
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    """Drop `audit_checkpoints`."""
    op.drop_table("audit_checkpoints")
