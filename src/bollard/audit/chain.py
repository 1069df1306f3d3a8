"""Audit records, personal-data redaction and the hash chain. Pure: no I/O.

Each record carries the hash of the one before it: SHA-256 over the previous
hash and the record's canonical JSON encoding (sorted keys, no spaces, UTF-8).
The sequence number is inside the hashed bytes, so a reordering, an insertion
or a deletion breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64

# Parameter names whose values are personal data: stored as keyed hashes only.
PERSONAL_FIELDS = frozenset(
    {
        "email", "emails", "personal_emails", "hashed_email", "first_name", "last_name", "name",
        "linkedin_url", "phone", "direct_phone", "corporate_phone", "mobile_phone",
        "home_phone", "other_phone", "sanitized_phone", "raw_address", "present_raw_address",
        "send_email_from_email_address", "webhook_url", "q_keywords",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Record:
    """One audit record before it is chained: a request, an outcome or an admin change."""

    request_id: str
    kind: str  # request | outcome | admin
    ts_us: int
    door: str
    agent: str | None = None
    action: str | None = None
    decision: str | None = None  # allow | deny
    outcome: str | None = None
    status: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def row(self, seq: int, prev_hash: str) -> dict[str, Any]:
        """The stored row for this record at position `seq` after `prev_hash`."""
        row: dict[str, Any] = {
            "seq": seq,
            "request_id": self.request_id,
            "kind": self.kind,
            "ts_us": self.ts_us,
            "agent": self.agent,
            "door": self.door,
            "action": self.action,
            "decision": self.decision,
            "outcome": self.outcome,
            "status": self.status,
            "data": canonical(self.data),
            "prev_hash": prev_hash,
        }
        row["hash"] = chain_hash(prev_hash, row)
        return row


HASHED_COLUMNS = (
    "seq", "request_id", "kind", "ts_us", "agent", "door", "action", "decision", "outcome",
    "status", "data",
)  # fmt: skip


def canonical(value: Any) -> str:
    """The one JSON encoding used for hashing and storage."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the row's hashed columns."""
    return hashlib.sha256(message(prev_hash, row)).hexdigest()


def message(prev_hash: str, row: Mapping[str, Any]) -> bytes:
    """The bytes `chain_hash` hashes: the previous hash, a newline, the canonical columns."""
    body = canonical({k: row[k] for k in HASHED_COLUMNS})
    return f"{prev_hash}\n{body}".encode()


def keyed_hash(key: bytes, value: Any) -> str:
    """The stored stand-in for a personal value; `bollard audit hash` computes the same."""
    text = value if isinstance(value, str) else canonical(value)
    digest = hmac.new(key, text.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"hmac:{digest[:32]}"


def redact(key: bytes, value: Any, name: str = "") -> Any:
    """A copy of request parameters with personal values replaced by keyed hashes."""
    if isinstance(value, Mapping):
        return {str(k): redact(key, v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(key, v, name) for v in value]
    if name.removesuffix("[]") in PERSONAL_FIELDS and value not in (None, "", [], {}):
        return keyed_hash(key, value)
    return value
