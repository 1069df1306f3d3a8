"""The gateway's loopback fixtures, for tests of the log the gateway writes."""

from tests.harness import bollard, sandbox, start_bollard

__all__ = ["bollard", "sandbox", "start_bollard"]
