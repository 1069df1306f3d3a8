"""SQLAlchemy Core tables. Every table hangs off this one `metadata`.

Migrations (`store/migrations/versions/`) create these tables; when a table
changes here, a new migration must change it there too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zones and hands back naive values; this type stores UTC
    and always returns aware UTC datetimes, so comparisons with `now()` never
    mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT on PostgreSQL; INTEGER on SQLite, the only type SQLite will autoincrement.
BigId = BigInteger().with_variant(Integer, "sqlite")

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # Let names an action does not take through to Apollo (recorded as a warning).
    Column("allow_unknown_parameters", Boolean, nullable=False, server_default=false()),
)

agent_keys = Table(
    "agent_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "agent_id",
        Integer,
        ForeignKey("agents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Hex SHA-256 of the whole key; the key itself is never stored.
    Column("key_hash", String(64), nullable=False, unique=True),
    # The first 12 characters, so an admin can tell keys apart.
    Column("prefix", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Set on rotation with a grace period: the old key works until then.
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

grants = Table(
    "grants",
    metadata,
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("selector", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("agent_id", "selector"),
)

# Policy rules inside actions (bollard.policy): an agent's, or every agent's when
# agent_id is null. Changes bump access_version (triggers, migration 0010).
policy_rules = Table(
    "policy_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agent_id", Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=True),
    Column("selector", String(64), nullable=False),
    Column("effect", String(16), nullable=False),
    Column("condition", Text, nullable=True),
    Column("fields", Text, nullable=False, default=""),  # comma-separated
    Column("shadow", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # For an approve rule: how long a held call waits for a person (null: 24 hours).
    Column("hold_seconds", Integer, nullable=True),
    Index(None, "agent_id"),
    sqlite_autoincrement=True,  # a removed rule's id is never reused (records name ids)
)

# Held calls (bollard.approvals, migration 0011): one row per call an approve rule
# stopped, bound to agent, action and the digest of its arguments. Apollo's answer to
# an executed one is kept in `result_*` only until the agent has read it.
approvals = Table(
    "approvals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("agent", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("door", String(16), nullable=False),
    Column("target", Text, nullable=False),  # what the door sent, as JSON
    Column("args", Text, nullable=False),  # canonical JSON, as Apollo receives them
    Column("credits", Integer, nullable=False),  # worst-case quote
    Column("reckoning", Text, nullable=False),
    Column("rule_id", Integer, nullable=True),
    Column("reason", Text, nullable=False),
    Column("request_id", String(40), nullable=False),  # the held call's audit records
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("note", Text, nullable=True),
    Column("executed_at", UTCDateTime, nullable=True),
    Column("execution_request_id", String(40), nullable=True),
    Column("result_status", Integer, nullable=True),
    Column("result_headers", Text, nullable=True),
    Column("result_body", LargeBinary, nullable=True),
    Column("read_at", UTCDateTime, nullable=True),
    Index(None, "agent", "action", "digest"),
    Index(None, "status", "created_at"),
)

# One row (id 1) whose version the database bumps (triggers, migration 0004) on
# any change to agents, agent_keys or grants: the gateway's cache key.
access_version = Table(
    "access_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

audit_records = Table(
    "audit_records",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("request_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # request | outcome | admin
    Column("ts_us", BigInteger, nullable=False),  # epoch microseconds
    Column("agent", String(200), nullable=True),
    Column("door", String(16), nullable=False),
    Column("action", String(64), nullable=True),
    Column("decision", String(8), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("status", Integer, nullable=True),
    Column("data", Text, nullable=False),  # canonical JSON of the rest
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # HMAC of `hash` under a key derived from the signing key (audit/seal.py); null
    # only on records written before MACs (migration 0005_audit_mac).
    Column("mac", String(64), nullable=True),
    Index(None, "agent", "ts_us"),
    Index(None, "action", "ts_us"),
    Index(None, "request_id"),
    Index(None, "ts_us"),
    Index(None, "kind", "request_id"),
)

# The chain's head: one row (id 1), locked by the audit writer so that every
# replica appends to one chain. The writer inserts the row on its first append.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Signed-in console sessions (migration 0006). A session cookie is honoured only
# while its row is here, unexpired and not ended: signing out, rotating the admin
# token or removing an admin ends sessions on every replica at once. The id is
# stored hashed, so a reader of the database cannot present a session it sees.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("admin", String(64), nullable=False),  # "" while the token is the only admin
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    # When the newest console flash this session showed was sealed (epoch µs): a flash
    # sealed no later (a copy replayed, an older one) shows nothing.
    Column("flash_shown_us", BigInteger, nullable=True),
    Index(None, "admin"),
    Index(None, "expires_at"),
)

# Which agent's enrichment produced each Apollo request_id (migration 0014), so that
# a webhook-result poll is answered only for that agent, on whichever replica it lands.
webhook_owners = Table(
    "webhook_owners",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("agent", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "created_at"),
)

# Named admins (migration 0012): a role and a token stored as its SHA-256 only, as
# agents' keys are. The admin token of the settings is the first admin, not a row.
admins = Table(
    "admins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # viewer | approver | admin
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)
