"""A version number for who may call what, bumped by the database itself.

Triggers on `agents`, `agent_keys` and `grants` add one to
`access_version.version` in the same transaction as any insert, update or
delete, whichever process or tool made it. A gateway keeps authenticated
agents in memory and re-reads them when this number moves, so a revocation
or a removed grant is in force on the very next call without a join per call.

Revision ID: 0004_access_version
Revises: 0003_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_access_version"
down_revision: str | None = "0003_audit"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("agents", "agent_keys", "grants")
EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE access_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    """Create `access_version` (one row) and the triggers that bump it."""
    op.create_table(
        "access_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_version")),
    )
    op.execute("INSERT INTO access_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bollard_bump_access_version() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_access_version AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bollard_bump_access_version()"
            )
        return
    for table in TABLES:  # SQLite: one event per trigger
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_access_version AFTER {event} "
                f"ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    """Drop the triggers and `access_version`."""
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_access_version ON {table}")
        op.execute("DROP FUNCTION bollard_bump_access_version()")
    else:
        for table in TABLES:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event.lower()}_access_version")
    op.drop_table("access_version")
