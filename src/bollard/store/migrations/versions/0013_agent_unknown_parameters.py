"""A per-agent switch to let parameters an action does not take through (issue 18).

Off by default: a name the catalog does not know for the action is refused
(UNKNOWN_PARAMETER), since Apollo would ignore it. The switch is on `agents`, so
its change bumps `access_version` like any change to an agent.

Revision ID: 0013_agent_unknown_parameters
Revises: 0010_policy_rules
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_agent_unknown_parameters"
down_revision: str | None = "0012_admins"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `agents.allow_unknown_parameters`, false for every agent there is."""
    # A plain ADD COLUMN (SQLite has it): a batch copy of `agents` would drop its
    # access_version triggers.
    column: sa.Column[bool] = sa.Column(
        "allow_unknown_parameters", sa.Boolean(), nullable=False, server_default=sa.false()
    )
    op.add_column("agents", column)


def downgrade() -> None:
    """Drop `agents.allow_unknown_parameters`."""
    op.drop_column("agents", "allow_unknown_parameters")  # SQLite 3.35+ drops in place
