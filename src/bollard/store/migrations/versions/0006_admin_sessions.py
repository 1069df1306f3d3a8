"""Console sessions held server-side, so that signing out ends them.

Revision ID: 0006_admin_sessions
Revises: 0005_audit_mac
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_admin_sessions"
down_revision: str | None = "0005_audit_mac"
branch_labels: str | None = None
depends_on: str | None = None

# Spelled out, not imported from tables.py (see 0001).
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create `admin_sessions`."""
    op.create_table(
        "admin_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("admin", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("ended_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_admin_sessions")),
    )
    op.create_index(op.f("ix_admin_sessions_admin"), "admin_sessions", ["admin"])
    op.create_index(op.f("ix_admin_sessions_expires_at"), "admin_sessions", ["expires_at"])


def downgrade() -> None:
    """Drop `admin_sessions`."""
    op.drop_table("admin_sessions")
