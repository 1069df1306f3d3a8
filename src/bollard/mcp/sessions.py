"""MCP session ids that any replica can check, bound to one agent. Pure.

A session id is 128 random bits and an HMAC tag over them and the agent's id,
keyed by a secret every replica shares. Nothing is stored: a replica that
never saw the session can still tell whether it belongs to the agent whose
key came with it, so no load balancer needs sticky sessions.
"""

from __future__ import annotations

import hashlib
import hmac

NONCE_BYTES = 16  # 128 bits
_TAG_BYTES = 16
# Not UTF-8 (the 0xff), so never the bytes of a value the audit log keeps as a keyed hash
# under the same key (`audit.redaction.keyed_hash`): the log cannot hold part of it.
_CONTEXT = b"\xffbollard mcp session v2"


def session_secret(root_key: bytes) -> bytes:
    """A key for session tags only, derived from a key the replicas already share."""
    return hmac.new(root_key, _CONTEXT, hashlib.sha256).digest()


def mint(secret: bytes, agent_id: int, nonce: bytes) -> str:
    """A session id for this agent; `nonce` must be NONCE_BYTES fresh random bytes."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"a session nonce is {NONCE_BYTES} bytes, got {len(nonce)}")
    return nonce.hex() + _tag(secret, agent_id, nonce).hex()


def belongs_to(secret: bytes, session_id: str, agent_id: int) -> bool:
    """Whether the session id was minted for this agent (with this secret)."""
    if len(session_id) != 2 * (NONCE_BYTES + _TAG_BYTES):
        return False
    try:
        raw = bytes.fromhex(session_id)
    except ValueError:
        return False
    nonce, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    return hmac.compare_digest(tag, _tag(secret, agent_id, nonce))


def _tag(secret: bytes, agent_id: int, nonce: bytes) -> bytes:
    message = nonce + b"|" + str(agent_id).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()[:_TAG_BYTES]
