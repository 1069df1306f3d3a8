"""The audit log: records, redaction and the hash chain (pure), plus the writer."""

from bollard.audit.chain import GENESIS, Record, canonical, chain_hash, redact
from bollard.audit.writer import AuditWriter

__all__ = ["GENESIS", "AuditWriter", "Record", "canonical", "chain_hash", "redact"]
