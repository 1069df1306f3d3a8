"""Time for the sandbox: an injectable clock and Apollo's timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime

# 2026-01-01T00:00:00Z: a day boundary, so a fresh ManualClock starts every window at 0.
EPOCH_START = 1_767_225_600.0


class ManualClock:
    """A clock tests move by hand; pass it as `SandboxConfig(clock=...)`."""

    __slots__ = ("now",)

    def __init__(self, start: float = EPOCH_START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward (windows roll over, timestamps move)."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self.now += seconds


def iso(epoch: float) -> str:
    """Apollo's timestamp spelling, e.g. `2026-01-01T00:00:00.000+00:00`."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"
