"""Personal-data redaction for audit records. Pure: no I/O.

Values of personal parameters (emails, names, phones, ...) are stored as keyed
hashes: the same value always gives the same stand-in, so a search still finds
it, but the log alone does not reveal it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from bollard.audit.chain import canonical

# Parameter names whose values are personal data: stored as keyed hashes only.
PERSONAL_FIELDS = frozenset(
    {
        "email", "emails", "personal_emails", "hashed_email", "first_name", "last_name", "name",
        "linkedin_url", "phone", "direct_phone", "corporate_phone", "mobile_phone",
        "home_phone", "other_phone", "sanitized_phone", "raw_address", "present_raw_address",
        "send_email_from_email_address", "webhook_url", "q_keywords",
        "api_key",  # not personal, a credential: a legacy client's key sent as a parameter
    }
)  # fmt: skip


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
