"""Webhook-result ownership in the database, so that every replica knows it.

Revision ID: 0014_webhook_owners
Revises: 0013_agent_unknown_parameters
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_webhook_owners"
down_revision: str | None = "0013_agent_unknown_parameters"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create `webhook_owners`."""
    op.create_table(
        "webhook_owners",
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_webhook_owners")),
    )
    op.create_index(op.f("ix_webhook_owners_created_at"), "webhook_owners", ["created_at"])


def downgrade() -> None:
    """Drop `webhook_owners`."""
    op.drop_table("webhook_owners")
