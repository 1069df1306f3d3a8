"""A MAC beside each audit record, made with a key that is not in the database.

Revision ID: 0005_audit_mac
Revises: 0004_access_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_audit_mac"
down_revision: str | None = "0004_access_version"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `audit_records.mac` (null on the records written before it)."""
    # A plain ADD COLUMN on both databases: no copy of the table, whatever its size.
    op.add_column("audit_records", sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop `audit_records.mac`."""
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("mac")
