"""The audit key: keys personal-data hashes; kept outside the database."""

from __future__ import annotations

import os
import secrets

from bollard.settings import Settings


def audit_key(settings: Settings) -> bytes:
    """`BOLLARD_AUDIT_KEY`, or a key file in the state directory made on first use."""
    if settings.audit_key is not None:
        return settings.audit_key.get_secret_value().encode()
    path = settings.state_dir / "audit.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text("utf-8").strip().encode()
