"""The sign-in throttle: wrong admin tokens counted per client address.

After `MAX_FAILURES` wrong tokens from one address within `FAILURE_WINDOW` seconds of
the first, that address is refused (`SignInThrottled`, with the seconds to wait) until
the window ends, right token or not. Each attempt is one decision, `attempt(client,
matched)`: refuse a shut-out address, else count a wrong token, with nothing in
between, so concurrent guesses cannot all slip past one check.

    Throttle       the count in this process (the default, and the fallback)
    RedisThrottle  the count in Redis, shared by every replica (BOLLARD_REDIS_URL)

`RedisThrottle` makes each decision in one Lua script, keyed
`<redis_prefix>:signin:<address>`; a key lives for the window that its first wrong token
opened, so Redis holds only the addresses that failed in the last minute. If Redis
fails while deciding, that attempt and every one in the next `REDIS_PAUSE` seconds are
decided by the process's own count instead (kept in step with every wrong token this
process saw): admins are not locked out by a Redis outage, guessers get no more than
the old per-process allowance on each replica while it lasts, and an absent Redis
costs one timeout per pause, not one per attempt. One warning marks an outage's start
and one info line its end (the first attempt Redis decides again).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bollard.admin.problems import SignInThrottled
from bollard.settings import Settings

log = logging.getLogger(__name__)
MAX_FAILURES = 10
FAILURE_WINDOW = 60.0
REDIS_PAUSE = 5.0  # seconds the count stays local after Redis fails
_MAX_TRACKED = 10_000  # addresses remembered at once (memory stays bounded)

# KEYS[1] the address's key; ARGV: the limit, 1 for a wrong token, the window in ms.
# Returns 0 to go ahead, or the milliseconds the address still waits. A count at the
# limit with no expiry (never set by this script) gets the window, not a life sentence.
ATTEMPT = """
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures >= tonumber(ARGV[1]) then
  local wait = redis.call('PTTL', KEYS[1])
  if wait < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    wait = tonumber(ARGV[3])
  end
  return math.max(wait, 1)
end
if ARGV[2] == '1' then
  redis.call('INCR', KEYS[1])
  if redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
end
return 0
"""


def throttle_for(settings: Settings) -> Throttle | RedisThrottle:
    """The count in Redis when `BOLLARD_REDIS_URL` is set, else in this process."""
    if settings.redis_url:
        return RedisThrottle.from_url(settings.redis_url, settings.redis_prefix)
    return Throttle()


class Throttle:
    """Wrong admin tokens per address, in this process: `MAX_FAILURES` in a window shut
    it out until the window ends. A right token does not reset the count (it would buy a
    guesser who shares the address, say behind one proxy, more tries).

    Memory is bounded: with `_MAX_TRACKED` addresses remembered, expired windows go
    first, then addresses not shut out; if every one is shut out, an address not yet
    remembered is refused too (fail closed) until the oldest window ends.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[float, int]] = {}  # address -> (window start, count)

    def __len__(self) -> int:
        return len(self._failures)

    async def attempt(self, client: str, matched: bool) -> None:
        """Raise SignInThrottled if `client` is shut out; else count a wrong token."""
        self.check(client)
        if not matched:
            self.failed(client)

    async def aclose(self) -> None:
        """Nothing to release."""

    def check(self, client: str) -> None:
        """Raise SignInThrottled if `client` may not try a token now."""
        now = self._clock()
        if not self._room_for(client, now):
            oldest = min(start for start, _ in self._failures.values())
            raise SignInThrottled(max(1, math.ceil(oldest + FAILURE_WINDOW - now)))
        start, count = self._failures.get(client, (now, 0))
        wait = start + FAILURE_WINDOW - now
        if count >= MAX_FAILURES and wait > 0:
            raise SignInThrottled(math.ceil(wait))

    def failed(self, client: str) -> None:
        """Count a wrong token from `client`."""
        now = self._clock()
        start, count = self._failures.get(client, (now, 0))
        if now - start >= FAILURE_WINDOW:
            start, count = now, 0
        if self._room_for(client, now):  # never grow past the bound
            self._failures[client] = (start, count + 1)

    def _room_for(self, client: str, now: float) -> bool:
        """Whether `client` is, or can be, remembered: makes room if the table is full."""
        if client in self._failures or len(self._failures) < _MAX_TRACKED:
            return True
        live = {c: v for c, v in self._failures.items() if now - v[0] < FAILURE_WINDOW}
        if len(live) >= _MAX_TRACKED:
            live = {c: v for c, v in live.items() if v[1] >= MAX_FAILURES}
        self._failures = live
        return len(live) < _MAX_TRACKED


class RedisThrottle:
    """Wrong admin tokens per address, in Redis: one count for every replica that shares
    the server and prefix. Redis's clock times the window, so replicas agree on it;
    `clock` (this process's) times only the pause after a Redis failure."""

    def __init__(
        self,
        client: Redis,
        prefix: str,
        local: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._attempt = client.register_script(ATTEMPT)
        self._clock = clock
        self.local = local if local is not None else Throttle(clock)
        self._down = False  # an outage is under way: warned of, not yet over
        self._local_until = 0.0  # Redis is not asked before this time

    @classmethod
    def from_url(
        cls, url: str, prefix: str, clock: Callable[[], float] = time.monotonic
    ) -> RedisThrottle:
        # Built like the limits' counters: a bounded pool and short timeouts, so a
        # slow or absent Redis turns into a local decision within seconds.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=16, timeout=2.0, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        return cls(Redis(connection_pool=pool), prefix, clock=clock)

    async def attempt(self, client: str, matched: bool) -> None:
        """Raise SignInThrottled if `client` is shut out; else count a wrong token."""
        now = self._clock()
        if now < self._local_until:
            await self.local.attempt(client, matched)
            return
        # This process's own count first: whatever Redis saw or missed (an outage),
        # no process lets one address try more than its allowance.
        self.local.check(client)
        probe = self._down
        if probe:  # one attempt asks whether Redis is back; the others stay local meanwhile
            self._local_until = now + REDIS_PAUSE
        key = f"{self._prefix}:signin:{client}"  # `client_address` bounds its length
        window_ms = int(FAILURE_WINDOW * 1000)
        try:
            wait_ms = int(
                await self._attempt(keys=[key], args=[MAX_FAILURES, int(not matched), window_ms])
            )
        except (RedisError, OSError) as exc:
            self._failed(exc)
            await self.local.attempt(client, matched)
            return
        if probe:
            self._answered()
        if wait_ms > 0:
            raise SignInThrottled(math.ceil(wait_ms / 1000))
        if not matched:
            self.local.failed(client)

    def _failed(self, exc: BaseException) -> None:
        """Leave Redis alone for a pause; warn if this starts an outage."""
        self._local_until = self._clock() + REDIS_PAUSE
        if not self._down:
            self._down = True
            # redis-py's connection errors name host:port, not the URL (or its password).
            log.warning(
                "sign-in throttle: Redis failed (%s); sign-in attempts are decided by this "
                "process's own count until it answers again (asked every %g s)",
                exc,
                REDIS_PAUSE,
            )

    def _answered(self) -> None:
        """Redis decided again after an outage: ask it every time from now on."""
        if self._down:
            self._down = False
            self._local_until = 0.0
            log.info("sign-in throttle: Redis answers again; the count is shared once more")

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()
