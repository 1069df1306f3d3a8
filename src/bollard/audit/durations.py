"""Duration histograms the audit writer fills and a /metrics scrape reads."""

from __future__ import annotations

import bisect

# Upper bounds (seconds) of the writer's duration histograms in /metrics.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Durations:
    """A histogram the writer thread fills and a scrape reads (Prometheus buckets)."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last: slower than every bound
        self.total = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1  # the first bound >= it
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, how many took at most that), as Prometheus wants them."""
        out, running = [], 0
        for bound, count in zip((*map(str, BUCKETS), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out
