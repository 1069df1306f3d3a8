"""Policy rules inside actions: conditions on arguments and hidden fields (issue 18).

A change to `policy_rules` bumps `access_version` like a change to grants, so a
running gateway applies a new rule on the agent's next call.

Revision ID: 0010_policy_rules
Revises: 0006_admin_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_policy_rules"
down_revision: str | None = "0006_admin_sessions"
branch_labels: str | None = None
depends_on: str | None = None

EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE access_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    """Create `policy_rules` and the triggers that bump `access_version` on its changes."""
    op.create_table(
        "policy_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("selector", sa.String(length=64), nullable=False),
        sa.Column("effect", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_policy_rules_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rules")),
        sqlite_autoincrement=True,  # a removed rule's id is never reused (records name ids)
    )
    op.create_index(op.f("ix_policy_rules_agent_id"), "policy_rules", ["agent_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER policy_rules_access_version AFTER INSERT OR UPDATE OR DELETE "
            "ON policy_rules FOR EACH STATEMENT EXECUTE FUNCTION bollard_bump_access_version()"
        )
        return
    for event in EVENTS:
        op.execute(
            f"CREATE TRIGGER policy_rules_{event.lower()}_access_version AFTER {event} "
            f"ON policy_rules BEGIN {BUMP}; END"
        )


def downgrade() -> None:
    """Drop the triggers and `policy_rules`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER policy_rules_access_version ON policy_rules")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER policy_rules_{event.lower()}_access_version")
    op.drop_index(op.f("ix_policy_rules_agent_id"), table_name="policy_rules")
    op.drop_table("policy_rules")
