"""The audit's keys, kept outside the database.

- The audit key (HMAC) keys personal-data hashes: `BOLLARD_AUDIT_KEY` or
  `state_dir/audit.key`.
- The signing key (Ed25519) signs checkpoints: `BOLLARD_AUDIT_SIGNING_KEY`
  (or `BOLLARD_AUDIT_SIGNING_KEY_FILE`), 64 hex digits of the private key,
  or `state_dir/audit-signing.key`, made on first use (mode 0600). Verifying
  needs only the public key (`bollard audit public-key` prints it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bollard.errors import ConfigError
from bollard.settings import Settings

SIGNING_ENV = "BOLLARD_AUDIT_SIGNING_KEY"


def audit_key(settings: Settings) -> bytes:
    """`BOLLARD_AUDIT_KEY`, or a key file in the state directory made on first use."""
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    return _key_file(settings.state_dir / "audit.key").encode()


def signing_key(state_dir: Path, env: Mapping[str, str] | None = None) -> Ed25519PrivateKey:
    """The checkpoint signing key: from the environment, else the state directory's key file."""
    env = os.environ if env is None else env
    text = env.get(SIGNING_ENV)
    if text is None and env.get(f"{SIGNING_ENV}_FILE"):
        path = env[f"{SIGNING_ENV}_FILE"]
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"{SIGNING_ENV}_FILE: cannot read {path!r}: {exc}") from exc
    if text is None:
        text = _key_file(state_dir / "audit-signing.key")
    return _private_key(text.strip())


def public_key(text: str) -> Ed25519PublicKey:
    """A public key from 64 hex digits, or from a file holding them."""
    value = text.strip()
    if len(value) != 64 and Path(value).is_file():
        value = Path(value).read_text("utf-8").strip()
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))
    except ValueError as exc:
        raise ConfigError(
            "a public key is 64 hex digits (or a file holding them); "
            "`bollard audit public-key` prints the gateway's"
        ) from exc


def _private_key(text: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
    except ValueError as exc:
        raise ConfigError(
            f"{SIGNING_ENV} must be 64 hex digits (an Ed25519 private key); "
            "delete it to let Bollard make one in the state directory"
        ) from exc


def _key_file(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary name, then linked into place: a
        # second process either wins the link or reads a complete key.
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text("utf-8").strip()
