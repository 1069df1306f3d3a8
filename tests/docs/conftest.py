"""The gateway fixtures (a real Bollard on loopback), reused for the README checks."""

from tests.harness import bollard, sandbox, start_bollard

__all__ = ["bollard", "sandbox", "start_bollard"]
