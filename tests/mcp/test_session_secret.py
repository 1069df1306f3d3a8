"""The MCP session secret is derived from the audit key, which also keys the hashes the
log keeps of personal values: no value an agent can send may hash to part of it."""

from __future__ import annotations

from bollard.audit.redaction import keyed_hash
from bollard.mcp.sessions import session_secret


def test_no_logged_hash_of_any_text_is_part_of_the_session_secret() -> None:
    key = b"k" * 32
    secret = session_secret(key).hex()
    # The derivation's own words are what an agent would send to try it; any prefix
    # the old derivation used is covered by the 0xff byte no UTF-8 text contains.
    for words in ("bollard mcp session v1", "bollard mcp session v2"):
        assert keyed_hash(key, words).removeprefix("hmac:") not in secret
