"""Named admins with roles: viewer, approver, admin (issue 19).

Revision ID: 0012_admins
Revises: 0011_approvals (re-chained at merge: written against 0010_policy_rules)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_admins"
down_revision: str | None = "0011_approvals"
branch_labels: str | None = None
depends_on: str | None = None

# Spelled out, not imported from tables.py (see 0001).
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create `admins`."""
    op.create_table(
        "admins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admins")),
        sa.UniqueConstraint("name", name=op.f("uq_admins_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admins_token_hash")),
    )


def downgrade() -> None:
    """Drop `admins`."""
    op.drop_table("admins")
