"""A console session remembers the newest flash it showed, so a replayed copy shows nothing.

Revision ID: 0015_flash_shown
Revises: 0014_webhook_owners
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_flash_shown"
down_revision: str | None = "0014_webhook_owners"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `admin_sessions.flash_shown_us`."""
    with op.batch_alter_table("admin_sessions") as batch:
        batch.add_column(sa.Column("flash_shown_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop `admin_sessions.flash_shown_us`."""
    with op.batch_alter_table("admin_sessions") as batch:
        batch.drop_column("flash_shown_us")
