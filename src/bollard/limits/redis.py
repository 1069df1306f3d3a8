"""Window counters in Redis: the backend for many Bollard replicas.

One Lua script per decision, so a decision is atomic across replicas, and
Redis's own clock (`TIME`) picks the window, so replicas agree on it. Every
key the scripts write gets an expiry in the same call. The rules are those of
`bollard.limits.rules`, decided the same way as `MemoryCounters`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bollard.limits.counters import Token, Verdict
from bollard.limits.rules import Check
from bollard.limits.windows import WINDOW_SECONDS, WindowReport

# Apollo's hashes keep the last reported limit across windows; two days
# outlives the day window, and every write renews it.
APOLLO_TTL = 172_800
# A counter lives for its window plus this margin.
COUNTER_MARGIN = 60
_KIND = {"count": "c", "share": "s", "apollo": "a", "block": "b"}

_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

ADMIT = (
    _NOW
    + """
local n = #KEYS
local starts, used, limits, alimit = {}, {}, {}, {}
for i = 1, n do
  local b = 1 + (i - 1) * 5
  local kind, len = ARGV[b + 1], tonumber(ARGV[b + 2])
  local limit = tonumber(ARGV[b + 3])
  local start = math.floor(now / len) * len
  starts[i] = start
  if kind == 'b' then
    local hold = tonumber(redis.call('GET', KEYS[i]) or '0')
    if hold > now then
      return {0, i, '0', '0', tostring(hold), tostring(now)}
    end
  elseif kind == 'a' then
    local h = redis.call('HMGET', KEYS[i], 'limit', 'start', 'used')
    local lim = tonumber(h[1])
    local u = 0
    if tonumber(h[2]) == start then u = tonumber(h[3]) or 0 end
    alimit[i], used[i] = lim, u
    if lim and u >= lim then
      return {0, i, tostring(u), tostring(lim), tostring(start + len), tostring(now)}
    end
  else
    if kind == 's' then
      local lim = alimit[tonumber(ARGV[b + 5])]
      limit = nil
      if lim then limit = math.floor(lim * tonumber(ARGV[b + 4]) / 100) end
    end
    local u = tonumber(redis.call('GET', KEYS[i] .. ':' .. start) or '0')
    used[i] = u
    if limit and u + 1 > limit then
      return {0, i, tostring(u), tostring(limit), tostring(start + len), tostring(now)}
    end
  end
end
local out = {1, tostring(now)}
for i = 1, n do
  local b = 1 + (i - 1) * 5
  local kind, len = ARGV[b + 1], tonumber(ARGV[b + 2])
  local start = starts[i]
  if kind == 'a' then
    redis.call('HSET', KEYS[i], 'start', start, 'used', used[i] + 1)
    redis.call('EXPIRE', KEYS[i], %(apollo_ttl)d)
  elseif kind ~= 'b' then
    local key = KEYS[i] .. ':' .. start
    redis.call('INCR', key)
    redis.call('EXPIRE', key, len + %(margin)d)
  end
  out[#out + 1] = tostring(start)
end
return out
"""
) % {"apollo_ttl": APOLLO_TTL, "margin": COUNTER_MARGIN}

RELEASE = """
for i = 1, #KEYS do
  local kind, start = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  if kind == 'a' then
    local h = redis.call('HMGET', KEYS[i], 'start', 'used')
    if tonumber(h[1]) == start and (tonumber(h[2]) or 0) > 0 then
      redis.call('HINCRBY', KEYS[i], 'used', -1)
    end
  elseif kind ~= 'b' then
    local key = KEYS[i] .. ':' .. ARGV[2 * i]
    if (tonumber(redis.call('GET', key) or '0')) > 0 then
      redis.call('DECR', key)
    end
  end
end
return 1
"""

OBSERVE = (
    _NOW
    + """
local seen = tonumber(ARGV[2]) or now
local n = tonumber(ARGV[3])
for i = 1, n do
  local b = 3 + (i - 1) * 3
  local len, limit, u = tonumber(ARGV[b + 1]), ARGV[b + 2], tonumber(ARGV[b + 3])
  local start = math.floor(now / len) * len
  redis.call('HSET', KEYS[i], 'limit', limit)
  if math.floor(seen / len) * len == start then
    local h = redis.call('HMGET', KEYS[i], 'start', 'used')
    local cur = 0
    if tonumber(h[1]) == start then cur = tonumber(h[2]) or 0 end
    if u > cur then cur = u end
    redis.call('HSET', KEYS[i], 'start', start, 'used', cur)
  end
  redis.call('EXPIRE', KEYS[i], %(apollo_ttl)d)
end
local hold = tonumber(ARGV[4 + n * 3])
if hold and hold > 0 then
  local hold_until = now + hold
  if hold_until > tonumber(redis.call('GET', KEYS[n + 1]) or '0') then
    redis.call('SET', KEYS[n + 1], tostring(hold_until), 'EX', math.ceil(hold) + %(margin)d)
  end
end
return 1
"""
) % {"apollo_ttl": APOLLO_TTL, "margin": COUNTER_MARGIN}

READ = (
    _NOW
    + """
local out = {tostring(now)}
for i = 1, #KEYS do
  local kind, len = ARGV[2 * i], tonumber(ARGV[2 * i + 1])
  local start = math.floor(now / len) * len
  if kind == 'a' then
    local h = redis.call('HMGET', KEYS[i], 'limit', 'start', 'used')
    local u = 0
    if tonumber(h[2]) == start then u = tonumber(h[3]) or 0 end
    out[#out + 1] = tostring(u)
    out[#out + 1] = h[1] or ''
  else
    out[#out + 1] = redis.call('GET', KEYS[i] .. ':' .. start) or '0'
    out[#out + 1] = ''
  end
end
return out
"""
)


class RedisCounters:
    """Counters in Redis, shared by every replica pointed at the same server."""

    def __init__(self, client: Redis, clock: Callable[[], float] | None = None) -> None:
        # With no clock Redis's TIME decides; a clock is for tests that move time.
        self._redis = client
        self._clock = clock
        self._admit = client.register_script(ADMIT)
        self._release = client.register_script(RELEASE)
        self._observe = client.register_script(OBSERVE)
        self._read = client.register_script(READ)

    @classmethod
    def from_url(cls, url: str, clock: Callable[[], float] | None = None) -> RedisCounters:
        # A bounded pool: a burst of calls queues for a connection instead of opening
        # hundreds of sockets at once (and failing closed on connect timeouts).
        pool = BlockingConnectionPool.from_url(
            url, max_connections=64, timeout=5, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        return cls(Redis(connection_pool=pool), clock)

    def _now(self) -> str:
        return "" if self._clock is None else repr(self._clock())

    async def admit(self, checks: Sequence[Check]) -> Verdict:
        """Admit if every check has room, moving every counter; otherwise move none."""
        args: list[Any] = [self._now()]
        for c in checks:
            args += [_KIND[c.kind], c.seconds, c.limit, c.percent, c.ref + 1]
        raw = await _run(self._admit, keys=[c.key for c in checks], args=args)
        if int(raw[0]) == 1:
            starts = [int(float(s)) for s in raw[2:]]
            tokens = tuple(Token(c.kind, c.key, s) for c, s in zip(checks, starts, strict=True))
            return Verdict(True, float(raw[1]), tokens)
        _, index, used, limit, reset_at, now = raw
        return Verdict(
            False,
            float(now),
            (),
            int(index) - 1,
            int(float(used)),
            int(float(limit)),
            float(reset_at),
        )

    async def release(self, tokens: Sequence[Token]) -> None:
        """Give back what an admission took, in the windows it was taken in."""
        moved = [t for t in tokens if t.kind != "block"]
        if not moved:
            return
        args: list[Any] = []
        for t in moved:
            args += [_KIND[t.kind], t.start]
        await _run(self._release, keys=[t.key for t in moved], args=args)

    async def observe(
        self,
        keys: Sequence[str],
        reports: Sequence[WindowReport],
        admitted_at: float | None,
        block: tuple[str, float] | None = None,
    ) -> None:
        """Record Apollo's windows (`keys[i]` for `reports[i]`) and any hold after a 429."""
        args: list[Any] = [self._now(), "" if admitted_at is None else repr(admitted_at)]
        args.append(len(reports))
        for r in reports:
            args += [WINDOW_SECONDS[r.window], r.limit, r.used]
        args.append("" if block is None else repr(block[1]))
        all_keys = [*keys, block[0] if block is not None else "bollard:none"]
        await _run(self._observe, keys=all_keys, args=args)

    async def read(self, checks: Sequence[Check]) -> list[tuple[int, int | None, float]]:
        """(used, limit, reset_at) of each counter now; for `bollard usage`."""
        if not checks:
            return []
        args: list[Any] = [self._now()]
        for c in checks:
            args += [_KIND[c.kind], c.seconds]
        raw = await _run(self._read, keys=[c.key for c in checks], args=args)
        now = float(raw[0])
        out: list[tuple[int, int | None, float]] = []
        for i, c in enumerate(checks):
            used, limit = raw[1 + 2 * i], raw[2 + 2 * i]
            text = limit.decode() if isinstance(limit, bytes) else str(limit)
            known = int(float(text)) if text else (c.limit or None)
            start = int(now // c.seconds) * c.seconds
            out.append((int(float(used)), known, float(start + c.seconds)))
        return out

    async def warm(self) -> None:
        """Open the pool's connections (and load a script) before the first burst needs them.

        A cold pool met by hundreds of calls at once opens its connections under
        load, and a connect slower than the timeout fails those calls closed.
        """
        size = getattr(self._redis.connection_pool, "max_connections", 1)
        await asyncio.gather(*(self._redis.ping() for _ in range(min(size, 64))))
        await self._redis.script_load(ADMIT)

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()


async def _run(script: Any, **kwargs: Any) -> Any:
    """Run a script; a transport uvloop already closed (the peer reset it) is a lost
    connection like any other, so limits fail the way they do when Redis is away."""
    try:
        return await script(**kwargs)
    except RuntimeError as exc:  # "unable to perform operation ... the handler is closed"
        raise RedisConnectionError(f"the connection to Redis was reset ({exc})") from exc
