"""The audit checkpoints table, on the store's shared `metadata` (migration 0003_audit)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from bollard.store.tables import metadata

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),  # records in the chain, from genesis
    Column("head_hash", String(64), nullable=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(128), nullable=False),
)
