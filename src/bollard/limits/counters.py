"""Window counters kept in this process: the single-node backend.

Every decision is made without an `await` in between, so on one event loop
it is atomic: all checks pass and every counter moves, or nothing moves.
The Redis backend (`bollard.limits.redis`) makes the same decisions in one
Lua script; both follow the rules spelled out in `bollard.limits.rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bollard.limits.rules import Check, share_cap
from bollard.limits.windows import WINDOW_SECONDS, WindowReport, window_start


@dataclass(frozen=True, slots=True)
class Token:
    """One counter an admission moved, so a release can move it back."""

    kind: str
    key: str
    start: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one decision. On refusal, `denied` indexes the check that had no room."""

    admitted: bool
    now: float
    tokens: tuple[Token, ...] = ()
    denied: int = -1
    used: int = 0
    limit: int = 0
    reset_at: float = 0.0


@dataclass(slots=True)
class ApolloWindow:
    """Apollo's window for one endpoint: the limit it last reported and the use counted."""

    limit: int | None = None
    start: int = 0
    used: int = 0

    def used_at(self, start: int) -> int:
        return self.used if self.start == start else 0


class MemoryCounters:
    """Counters in a dict, for one Bollard process."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}
        self._apollo: dict[str, ApolloWindow] = {}
        self._blocked: dict[str, float] = {}
        self._tokens: dict[str, Token] = {}  # by key, the last one handed out

    async def admit(self, checks: Sequence[Check]) -> Verdict:
        """Admit if every check has room, moving every counter; otherwise move none."""
        now = self._clock()
        starts = [window_start(now, c.seconds) for c in checks]
        for index, check in enumerate(checks):
            refusal = self._refusal(index, check, checks, now, starts[index])
            if refusal is not None:
                return refusal
        return Verdict(True, now, tuple(map(self._take, checks, starts)))

    def _refusal(
        self, index: int, check: Check, checks: Sequence[Check], now: float, start: int
    ) -> Verdict | None:
        if check.kind == "block":
            until = self._blocked.get(check.key, 0.0)
            return Verdict(False, now, denied=index, reset_at=until) if until > now else None
        if check.kind == "apollo":
            state = self._apollo.get(check.key)
            if state is None or state.limit is None or state.used_at(start) < state.limit:
                return None
            used, limit = state.used_at(start), state.limit
        else:
            found = self._limit(check, checks)
            used = self._count(check.key, start)
            if found is None or used + 1 <= found:
                return None
            limit = found
        return Verdict(False, now, (), index, used, limit, float(start + check.seconds))

    def _limit(self, check: Check, checks: Sequence[Check]) -> int | None:
        if check.kind == "count":
            return check.limit
        state = self._apollo.get(checks[check.ref].key)
        if state is None or state.limit is None:
            return None
        return share_cap(state.limit, check.percent)

    def _count(self, key: str, start: int) -> int:
        held = self._counts.get(key)
        return held[1] if held is not None and held[0] == start else 0

    def _take(self, check: Check, start: int) -> Token:
        if check.kind == "apollo":
            state = self._apollo.get(check.key)
            if state is None:
                state = self._apollo[check.key] = ApolloWindow()
            state.used, state.start = state.used_at(start) + 1, start
        elif check.kind != "block":
            self._counts[check.key] = (start, self._count(check.key, start) + 1)
        # A Token is a value, the same for every call in one window: made once per window.
        token = self._tokens.get(check.key)
        if token is None or token.start != start or token.kind != check.kind:
            token = self._tokens[check.key] = Token(check.kind, check.key, start)
        return token

    async def release(self, tokens: Sequence[Token]) -> None:
        """Give back what an admission took, in the windows it was taken in."""
        for token in tokens:
            if token.kind == "apollo":
                state = self._apollo.get(token.key)
                if state is not None and state.start == token.start and state.used > 0:
                    state.used -= 1
            elif token.kind != "block":
                held = self._counts.get(token.key)
                if held is not None and held[0] == token.start and held[1] > 0:
                    self._counts[token.key] = (held[0], held[1] - 1)

    async def observe(
        self,
        keys: Sequence[str],
        reports: Sequence[WindowReport],
        admitted_at: float | None,
        block: tuple[str, float] | None = None,
    ) -> None:
        """Record Apollo's windows (`keys[i]` for `reports[i]`) and any hold after a 429."""
        now = self._clock()
        for key, report in zip(keys, reports, strict=True):
            seconds = WINDOW_SECONDS[report.window]
            state = self._apollo.setdefault(key, ApolloWindow())
            state.limit = report.limit
            start = window_start(now, seconds)
            seen_at = now if admitted_at is None else admitted_at
            # A report that may describe an earlier window teaches the limit, not the use.
            if window_start(seen_at, seconds) == start:
                state.used, state.start = max(state.used_at(start), report.used), start
        if block is not None:
            key, seconds_held = block
            self._blocked[key] = max(self._blocked.get(key, 0.0), now + seconds_held)

    async def read(self, keys: Sequence[Check]) -> list[tuple[int, int | None, float]]:
        """(used, limit, reset_at) of each counter now; for `bollard usage`."""
        now = self._clock()
        out: list[tuple[int, int | None, float]] = []
        for check in keys:
            start = window_start(now, check.seconds)
            reset_at = float(start + check.seconds)
            if check.kind == "apollo":
                state = self._apollo.get(check.key, ApolloWindow())
                out.append((state.used_at(start), state.limit, reset_at))
            else:
                out.append((self._count(check.key, start), check.limit or None, reset_at))
        return out

    async def warm(self) -> None:
        """Nothing to open in process."""

    async def aclose(self) -> None:
        self._counts.clear()
        self._tokens.clear()
