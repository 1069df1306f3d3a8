"""The audit log: records and the hash chain (pure), redaction, and the writer."""

from bollard.audit.chain import GENESIS, Record, canonical, chain_hash
from bollard.audit.redaction import redact
from bollard.audit.writer import AuditLog, AuditWriter

__all__ = ["GENESIS", "AuditLog", "AuditWriter", "Record", "canonical", "chain_hash", "redact"]
