"""When to sign a checkpoint of the chain's head, and with which key and file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bollard.audit import seal
from bollard.audit.checkpoint_store import CheckpointFile
from bollard.audit.keyfile import signing_key
from bollard.settings import Settings


@dataclass(slots=True)
class Checkpointer:
    """Signs checkpoints of the head (every `every` records, or `seconds` after the last)
    and holds the key that MACs each record."""

    key: Ed25519PrivateKey
    file: CheckpointFile
    every: int = 1000
    # About a second: records after the newest checkpoint are vouched for only by their
    # MACs, and tail truncation goes unseen offline until the next checkpoint.
    seconds: float = 1.0
    clock: Callable[[], float] = time.time
    last_at: float = field(default=0.0)
    mac_key: bytes = field(init=False)  # the records' MAC key, derived from `key`

    def __post_init__(self) -> None:
        self.mac_key = seal.mac_key(self.key)

    def due(self, before: int, after: int) -> bool:
        crossed = after // self.every > before // self.every
        return crossed or (after > before and self.clock() - self.last_at >= self.seconds)


def checkpointer_for(settings: Settings, *, clock: Callable[[], float] = time.time) -> Checkpointer:
    """Signs with the key from the environment or state directory; files into the state dir."""
    return Checkpointer(
        signing_key(settings.state_dir),
        CheckpointFile.in_state_dir(settings.state_dir),
        clock=clock,
    )
