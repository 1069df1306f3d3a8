"""The limiter: admit a call (windows, Apollo's windows, credit budget), then settle or release it.

The I/O shell around the pure parts: it reads the rules from SQL (cached for
`RULES_TTL` seconds, so `bollard limits set` takes effect within a second),
asks a counters backend (in process, or Redis) to decide the windows, and
keeps the credit ledger in SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bollard.catalog import Action, Catalog
from bollard.limits import ledger, rule_store
from bollard.limits.cost import Estimate, actual, estimate
from bollard.limits.counters import MemoryCounters, Token, Verdict
from bollard.limits.redis import RedisCounters
from bollard.limits.refusals import budget_refusal, unavailable, window_refusal
from bollard.limits.rules import (
    ALL_ACTIONS,
    PREFIX,
    Check,
    LimitRule,
    Rules,
    Shortfall,
    apollo_key,
    block_key,
    budgets_of,
    plan,
    rate_checks,
)
from bollard.limits.windows import (
    UsageStat,
    WindowReport,
    apollo_endpoint,
    parse_rate_headers,
    parse_retry_after,
    parse_usage_stats,
)
from bollard.settings import Settings

log = logging.getLogger(__name__)
RULES_TTL = 0.5
FAILED_OPEN = "rate_limits_failed_open"
# What reaches Apollo's usage-stats endpoint: returns (status, body).
Fetch = Callable[[], Awaitable[tuple[int, bytes]]]


class Counters(Protocol):
    async def admit(self, checks: Sequence[Check]) -> Verdict: ...
    async def release(self, tokens: Sequence[Token]) -> None: ...
    async def observe(
        self,
        keys: Sequence[str],
        reports: Sequence[WindowReport],
        admitted_at: float | None,
        block: tuple[str, float] | None = None,
    ) -> None: ...
    async def read(self, checks: Sequence[Check]) -> list[tuple[int, int | None, float]]: ...
    async def warm(self) -> None: ...
    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Admission:
    """What `admit` took (window counters, reserved credits), handed back to `settle`/`release`."""

    agent: str
    action: str
    reserved_credits: int
    key_scope: str
    admitted_at: float
    estimate: Estimate
    ledger_id: int | None = None
    tokens: tuple[Token, ...] = ()


class Limiter:
    """Rate limits and credit budgets, the agent's own and Apollo's team-wide windows."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        counters: Counters,
        *,
        clock: Callable[[], float] = time.time,
        fail_open: bool = False,
        prefix: str = PREFIX,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.counters = counters
        self.clock = clock
        self.fail_open = fail_open
        # Names every counter key, so two deployments (or tests) can share one Redis.
        self.prefix = prefix
        self.failed_open = 0
        self._rules: Rules | None = None
        self._rules_at = float("-inf")
        self._rules_lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None  # a background re-read
        self._reread_after = float("-inf")  # after a failed one, not before this
        self._plans: dict[tuple[str, str], tuple[tuple[LimitRule, ...], tuple[Check, ...]]] = {}
        self._planned_for: Rules | None = None
        self._sync_task: asyncio.Task[None] | None = None

    async def rules(self) -> Rules:
        """The stored rules, never older than `RULES_TTL` seconds.

        Once half that has passed, the next call starts a re-read in the background
        and goes on with the rules it has: under load no call waits for the read (a
        thread hop and a query; measured at 500 calls/s, every call arriving during
        it waited, twice a second). A call waits only if the rules are older than
        RULES_TTL (after an idle stretch, or if the re-read failed).
        """
        now = self.clock()
        age = now - self._rules_at
        if self._rules is not None and age < RULES_TTL:
            if age >= RULES_TTL / 2 and self._refresh is None and now >= self._reread_after:
                self._refresh = asyncio.create_task(self._reread())
            return self._rules
        async with self._rules_lock:
            if self._rules is None or self.clock() - self._rules_at >= RULES_TTL:
                await self._read_rules()
            assert self._rules is not None
            return self._rules

    def forget_rules(self) -> None:
        """Read the rules again on next use: this process just changed them."""
        self._rules_at = float("-inf")

    async def _read_rules(self) -> None:
        read_at = self.clock()  # the rules are as old as the read's start
        self._rules = await asyncio.to_thread(rule_store.load_rules, self.engine)
        self._rules_at = read_at

    async def _reread(self) -> None:
        try:
            async with self._rules_lock:
                if self.clock() - self._rules_at >= RULES_TTL / 2:
                    await self._read_rules()
        except Exception as exc:  # the next call past RULES_TTL reads, or refuses
            log.warning("could not re-read the limit rules (%s)", type(exc).__name__)
            self._reread_after = self.clock() + RULES_TTL / 2  # not again at once
        finally:
            self._refresh = None

    async def admit(self, agent_name: str, action: Action, args: Mapping[str, Any]) -> Admission:
        """Take room in every window and reserve the worst-case credits, or raise why not."""
        try:
            rules = await self.rules()
        except SQLAlchemyError as exc:
            raise unavailable(f"database: {type(exc).__name__}") from exc
        applicable, checks = self._plan(rules, agent_name, action)
        verdict = await self._decide(checks)
        if not verdict.admitted:
            raise window_refusal(agent_name, action, checks[verdict.denied], verdict)
        planned = estimate(action, args)
        ledger_id = None
        if action.credits.spends:
            ledger_id = await self._reserve(agent_name, action, planned, applicable, verdict)
        return Admission(
            agent=agent_name,
            action=action.id,
            reserved_credits=planned.credits if ledger_id is not None else 0,
            key_scope=action.key_scope,
            admitted_at=verdict.now,
            estimate=planned,
            ledger_id=ledger_id,
            tokens=verdict.tokens,
        )

    def _plan(
        self, rules: Rules, agent: str, action: Action
    ) -> tuple[tuple[LimitRule, ...], tuple[Check, ...]]:
        """The rules for this call and their checks, remembered until the rules change."""
        if rules is not self._planned_for:
            self._plans, self._planned_for = {}, rules
        found = self._plans.get((agent, action.id))
        if found is None:
            applicable = rules.for_call(agent, action.id)
            found = (applicable, plan(applicable, action, self.prefix))
            if len(self._plans) >= 10_000:
                self._plans.clear()
            self._plans[agent, action.id] = found
        return found

    async def _decide(self, checks: Sequence[Check]) -> Verdict:
        try:
            return await self.counters.admit(checks)
        except (RedisError, OSError) as exc:
            if not self.fail_open:
                raise unavailable(f"Redis: {type(exc).__name__}") from exc
            await self._count_fail_open(exc)
            return Verdict(True, self.clock())

    async def _count_fail_open(self, exc: BaseException) -> None:
        self.failed_open += 1
        log.warning("rate limits failed open (%s); %d so far", exc, self.failed_open)
        with contextlib.suppress(SQLAlchemyError):
            await asyncio.to_thread(rule_store.count_event, self.engine, FAILED_OPEN, self.clock())

    async def _reserve(
        self,
        agent: str,
        action: Action,
        planned: Estimate,
        rules: Sequence[LimitRule],
        verdict: Verdict,
    ) -> int:
        now = self.clock()
        budgets = budgets_of(rules)
        try:
            result = await asyncio.to_thread(
                ledger.reserve, self.engine, agent, action.id, planned.credits, budgets, now
            )
        except SQLAlchemyError as exc:
            await self._give_back(verdict.tokens)
            raise unavailable(f"credit ledger: {type(exc).__name__}") from exc
        if isinstance(result, Shortfall):
            await self._give_back(verdict.tokens)
            raise budget_refusal(agent, action, planned, result, now)
        return result

    async def _give_back(self, tokens: Sequence[Token]) -> None:
        try:
            await self.counters.release(tokens)
        except (RedisError, OSError) as exc:
            log.warning("could not give back window counters: %s", exc)

    async def settle(
        self, admission: Admission, status: int, headers: Mapping[str, str], body: bytes
    ) -> int:
        """Record Apollo's reported windows and settle the real credits; returns credits spent."""
        await self._observe(admission, status, headers)
        if admission.ledger_id is None:
            return 0
        action = self.catalog.get(admission.action)
        spent = (
            actual(action, admission.estimate, status, body)
            if action is not None
            else admission.reserved_credits
        )
        settle = partial(ledger.settle, self.engine, admission.ledger_id, spent, self.clock())
        await self._write_ledger(admission, "settle", settle, f" instead of the {spent} spent")
        return spent

    async def _observe(self, admission: Admission, status: int, headers: Mapping[str, str]) -> None:
        reports = parse_rate_headers(headers)
        block = None
        if status == 429:
            block = (block_key(admission.key_scope, self.prefix), float(parse_retry_after(headers)))
        if not reports and block is None:
            return
        keys = [apollo_key(admission.key_scope, r.window, self.prefix) for r in reports]
        try:
            await self.counters.observe(keys, reports, admission.admitted_at, block)
        except (RedisError, OSError) as exc:
            log.warning("could not record Apollo's windows for %s: %s", admission.key_scope, exc)

    async def release(self, admission: Admission) -> None:
        """The call never reached Apollo: give back its window counters and reservation."""
        await self._give_back(admission.tokens)
        if admission.ledger_id is not None:
            release = partial(ledger.release, self.engine, admission.ledger_id, self.clock())
            await self._write_ledger(admission, "release", release)

    async def _write_ledger(
        self, admission: Admission, verb: str, write: Callable[[], None], instead: str = ""
    ) -> None:
        """Settle or release a reservation, off the event loop. If the ledger cannot be
        written, the call's own answer still goes back (after Apollo acted, an error would
        invite a repeat): the reservation stays counted, and a warning says so. As the
        estimate is the worst case, that errs toward refusing, unless Apollo reported
        spending more than it (the warning shows both)."""
        try:
            await asyncio.to_thread(write)
        except SQLAlchemyError as exc:
            log.warning(
                "could not %s ledger entry %s (%s): its %d reserved credits stay counted for %s%s",
                verb,
                admission.ledger_id,
                type(exc).__name__,
                admission.reserved_credits,
                admission.agent,
                instead,
            )

    async def sync_usage(self, fetch: Fetch) -> tuple[UsageStat, ...]:
        """Refresh Apollo's windows from its usage-stats endpoint; returns what it reported."""
        status, body = await fetch()
        if not 200 <= status < 300:
            raise RuntimeError(f"Apollo's usage stats answered {status}: {body[:200]!r}")
        stats = parse_usage_stats(body)
        scopes = {apollo_endpoint(a.key_scope): a.key_scope for a in self.catalog.actions}
        for stat in stats:
            scope = scopes.get(stat.endpoint)
            if scope is not None:
                report = WindowReport(stat.window, stat.limit, stat.used)
                key = apollo_key(scope, stat.window, self.prefix)
                await self.counters.observe([key], [report], None)
        await asyncio.to_thread(rule_store.save_windows, self.engine, stats, self.clock())
        return stats

    async def warm(self) -> None:
        """Open the counters' connections now; a failure is logged, and calls fail closed."""
        try:
            await self.counters.warm()
        except (RedisError, OSError) as exc:
            log.warning("could not reach Redis at start (%s); calls will retry it", exc)

    def start_usage_sync(self, fetch: Fetch, every: float) -> None:
        """Sync Apollo's windows now and every `every` seconds until `aclose`."""
        if self._sync_task is None and every > 0:
            self._sync_task = asyncio.create_task(self._sync_loop(fetch, every))

    async def _sync_loop(self, fetch: Fetch, every: float) -> None:
        while True:
            try:
                await self.sync_usage(fetch)
            except Exception:  # a failed sync must not stop the next one
                log.exception("usage sync failed")
            await asyncio.sleep(every)

    async def windows(self, agent: str) -> list[dict[str, Any]]:
        """The agent's own windows now: used, limit, reset, per rule and window."""
        rules = (await self.rules()).for_agent(agent)
        checks = [c for r in rules for c in rate_checks(r, self.prefix)]
        values = await self.counters.read(checks)
        return [
            {
                "action": c.rule_action,
                "window": c.window,
                "used": used,
                "limit": limit,
                "resets_at": reset_at,
            }
            for c, (used, limit, reset_at) in zip(checks, values, strict=True)
        ]

    async def aclose(self) -> None:
        """Stop the usage sync and close the counters backend."""
        self._reread_after = float("inf")  # none started once closing
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        await self.counters.aclose()


def create_limiter(
    settings: Settings, engine: Engine, catalog: Catalog, *, clock: Callable[[], float] = time.time
) -> Limiter:
    """In-process counters, or Redis's when `settings.redis_url` is set.

    With Redis and the default clock, Redis's own TIME picks the windows so
    replicas agree; a clock passed in (tests moving time) is used instead.
    """
    if settings.redis_url:
        redis_clock = None if clock is time.time else clock
        counters: Counters = RedisCounters.from_url(settings.redis_url, redis_clock)
    else:
        counters = MemoryCounters(clock)
    return Limiter(
        engine,
        catalog,
        counters,
        clock=clock,
        fail_open=settings.rate_limit_fail_open,
        prefix=settings.redis_prefix,
    )


__all__ = ["ALL_ACTIONS", "Admission", "Limiter", "create_limiter"]
