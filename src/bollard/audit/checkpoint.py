"""Signed checkpoints of the audit chain. Pure: no I/O, no clock.

A checkpoint says "after `count` records the chain's head hash was
`head_hash`", at `ts_us`, numbered `seq` (1, 2, ...). It is signed with an
Ed25519 key that is not in the database, so whoever can write the database
can neither forge one nor rewrite the records one covers without the
mismatch showing. Like CloudTrail's digest files, checkpoints are kept in two
places: a table beside the records and a JSON-lines file outside it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bollard.audit.chain import canonical

_DOMAIN = b"bollard-audit-checkpoint-v1\n"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement of the chain's head after `count` records."""

    seq: int
    count: int
    head_hash: str
    ts_us: int
    key_id: str
    signature: str

    def message(self) -> bytes:
        """The bytes that are signed: everything but the signature."""
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return _DOMAIN + canonical(fields).encode()

    def to_json(self) -> dict[str, Any]:
        """One line of the checkpoint file, one row of `audit_checkpoints`."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> Checkpoint:
        """From a checkpoint file line or table row; ValueError if it is not one."""
        try:
            return cls(
                seq=int(value["seq"]),
                count=int(value["count"]),
                head_hash=str(value["head_hash"]),
                ts_us=int(value["ts_us"]),
                key_id=str(value["key_id"]),
                signature=str(value["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a checkpoint: {exc}") from exc


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, seq: int, count: int, head_hash: str, ts_us: int) -> Checkpoint:
    """A checkpoint of the chain at `count` records, signed with `key`."""
    unsigned = Checkpoint(seq, count, head_hash, ts_us, key_id(key.public_key()), "")
    signature = key.sign(unsigned.message()).hex()
    return Checkpoint(seq, count, head_hash, ts_us, unsigned.key_id, signature)


def is_authentic(checkpoint: Checkpoint, key: Ed25519PublicKey) -> bool:
    """True if `key` signed exactly this checkpoint."""
    if checkpoint.key_id != key_id(key):
        return False
    try:
        key.verify(bytes.fromhex(checkpoint.signature), checkpoint.message())
    except (InvalidSignature, ValueError):
        return False
    return True
