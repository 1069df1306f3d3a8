"""Agent keys: `bol_` + 43 base62 characters (256 random bits) + a 6-character checksum.

Named admins' tokens (`bollard.admins`) are made the same way with the prefix
`bat_`: every prefix is 4 characters, so every key is KEY_LENGTH long.

The checksum is CRC32 of the body, in base62 (as GitHub's tokens do), so a
typo, a truncated paste or a secret scanner can tell a real key from noise
without a database lookup. CRC32 catches every single-character change.

Keys are stored only as a plain SHA-256. That is enough here, unlike for
passwords: a key is 256 bits from `secrets`, so there is nothing to guess or
to look up in a dictionary, and a slow hash would only slow every request.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib

PREFIX = "bol_"
ADMIN_PREFIX = "bat_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 43  # 62**43 > 2**256: every 32-byte value fits
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: every CRC32 fits
KEY_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = 12
_CHARSET = frozenset(ALPHABET)


def generate_key(prefix: str = PREFIX) -> str:
    """A new random key; shown to the admin once, then only its hash is kept."""
    body = _base62(int.from_bytes(secrets.token_bytes(32), "big"), BODY_LENGTH)
    return prefix + body + _checksum(body)


def is_well_formed(key: str, prefix: str = PREFIX) -> bool:
    """Whether a string has a key's prefix, length, alphabet and a matching checksum."""
    if len(key) != KEY_LENGTH or not key.startswith(prefix):
        return False
    rest = key[len(prefix) :]
    if not _CHARSET.issuperset(rest):
        return False
    body, check = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
    return hmac.compare_digest(_checksum(body), check)


def key_hash(key: str) -> str:
    """Hex SHA-256 of the whole key: what the database stores and looks up."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, safe to show to tell keys apart."""
    return key[:DISPLAY_PREFIX_LENGTH]


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    if number:
        raise ValueError("number does not fit in the requested width")
    return "".join(reversed(digits))
