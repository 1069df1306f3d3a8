"""Wrong admin tokens are counted per address: after ten in a minute, that address waits.

Over real HTTP: the console API, /metrics, /reference and the sign-in form share one
count, and the right token is refused too while an address waits (a guesser learns
nothing). X-Forwarded-For changes nothing unless it comes from a proxy named in
BOLLARD_FORWARDED_ALLOW_IPS; from one, each forwarded address has its own count. The
window's end and the memory bound are checked on the Throttle with a clock the test
moves.

With BOLLARD_REDIS_URL, two Bollards on one Redis and prefix (two replicas) share the
count, even for guesses sent all at once, in a window that its first wrong token fixes.
When Redis fails, each decides by its own count, which already holds the wrong tokens it
saw before the failure, and leaves Redis alone for a few seconds (one warning an outage).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from starlette.requests import Request

from bollard.admin.auth import AdminAuth, admin_token, client_address
from bollard.admin.problems import SignInThrottled
from bollard.admin.throttle import (
    _MAX_TRACKED,
    FAILURE_WINDOW,
    MAX_FAILURES,
    REDIS_PAUSE,
    RedisThrottle,
    Throttle,
)
from bollard.errors import ConfigError
from bollard.settings import Settings
from tests.harness import (
    ADMIN_TOKEN,
    CSRF_INPUT,
    Bollard,
    StartBollard,
    drop_keys,
    keys_without_expiry,
    sign_in,
    wait_ready,
)

WRONG = "not-the-admin-token-at-all"


def bearer(token: str, address: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if address:
        headers["X-Forwarded-For"] = address
    return headers


def test_ten_wrong_tokens_shut_the_address_out_of_api_and_metrics(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        for _ in range(MAX_FAILURES):
            wrong = client.get("/admin/api/agents", headers=bearer(WRONG))
            assert wrong.status_code == 401
        assert client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN)).status_code == 429
        refused = client.get("/metrics", headers=bearer(ADMIN_TOKEN))
        assert refused.status_code == 429
        assert refused.json()["error_code"] == "SIGN_IN_THROTTLED"
        assert 0 < int(refused.headers["retry-after"]) <= FAILURE_WINDOW
        api = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN))
        assert api.json()["error_code"] == "SIGN_IN_THROTTLED"
        assert "try again in" in api.json()["error"]
        assert api.headers["retry-after"].isdigit()
        reference = client.get("/reference/catalog.json", headers=bearer(ADMIN_TOKEN))
        assert reference.status_code == 429
        # Naming another address gets nobody out: no proxy is trusted by default.
        spoofed = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN, "203.0.113.7"))
        assert spoofed.status_code == 429


def test_a_new_forwarded_address_per_guess_buys_no_more_guesses(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:
        for n in range(MAX_FAILURES):
            wrong = client.get("/metrics", headers=bearer(WRONG, f"198.51.100.{n}"))
            assert wrong.status_code == 401
        shut = client.get("/metrics", headers=bearer(WRONG, "198.51.100.99"))
        assert shut.status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_count(
    start_bollard: StartBollard,
) -> None:
    behind = start_bollard(admin_token=ADMIN_TOKEN, forwarded_allow_ips=("127.0.0.1",))
    with httpx.Client(base_url=behind.url, timeout=10) as client:
        for _ in range(MAX_FAILURES):
            wrong = client.get("/admin/api/agents", headers=bearer(WRONG, "203.0.113.5"))
            assert wrong.status_code == 401
        shut = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN, "203.0.113.5"))
        assert shut.status_code == 429
        # Another client of the proxy, and the proxy itself, still get in.
        other = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN, "203.0.113.7"))
        assert other.status_code == 200
        assert client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN)).status_code == 200


def test_the_sign_in_form_counts_too_and_says_how_long_to_wait(admin: Bollard) -> None:
    with httpx.Client(base_url=admin.url, timeout=10) as client:

        def post(token: str) -> httpx.Response:
            found = CSRF_INPUT.search(client.get("/admin/login").text)
            assert found is not None
            return client.post("/admin/login", data={"csrf": found[1], "token": token})

        for _ in range(MAX_FAILURES):
            assert post(WRONG).status_code == 401
        page = post(ADMIN_TOKEN)
        assert page.status_code == 429
        assert "Too many wrong tokens from your address" in page.text
        assert page.headers["retry-after"].isdigit()
        assert "bollard_admin" not in page.cookies  # no session for the right token either


@pytest.mark.anyio
async def test_the_count_ends_with_its_minute_and_a_right_token_does_not_reset_it() -> None:
    now = [1000.0]
    auth = AdminAuth("t" * 32, throttle=Throttle(clock=lambda: now[0]))
    for _ in range(MAX_FAILURES):
        assert not await auth.token_matches(WRONG, "10.0.0.1")
    with pytest.raises(SignInThrottled) as shut_out:
        await auth.token_matches("t" * 32, "10.0.0.1")
    assert shut_out.value.retry_after == FAILURE_WINDOW
    now[0] += FAILURE_WINDOW
    assert await auth.token_matches("t" * 32, "10.0.0.1")
    # Nine wrong, a right one (a scraper sharing the address), then one more wrong:
    # the right one bought the guesser nothing.
    for _ in range(MAX_FAILURES - 1):
        await auth.token_matches(WRONG, "10.0.0.2")
    assert await auth.token_matches("t" * 32, "10.0.0.2")
    assert not await auth.token_matches(WRONG, "10.0.0.2")
    with pytest.raises(SignInThrottled):
        await auth.token_matches("t" * 32, "10.0.0.2")


@pytest.mark.anyio
async def test_the_addresses_remembered_stay_bounded_and_no_flood_frees_a_shut_out_one() -> None:
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    auth = AdminAuth("t" * 32, throttle=throttle)
    for _ in range(MAX_FAILURES):
        await auth.token_matches(WRONG, "192.0.2.1")
    # Many addresses, one wrong token each: old ones make room, the shut-out one stays.
    for n in range(_MAX_TRACKED + 500):
        await auth.token_matches(WRONG, f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}")
        assert len(throttle) <= _MAX_TRACKED
    with pytest.raises(SignInThrottled):
        await auth.token_matches("t" * 32, "192.0.2.1")
    # Full of shut-out addresses: a new one is refused too, until a window ends.
    full = Throttle(clock=lambda: now[0])
    for n in range(_MAX_TRACKED):
        full._failures[f"x{n}"] = (now[0], MAX_FAILURES)
    with pytest.raises(SignInThrottled):
        await AdminAuth("t" * 32, throttle=full).token_matches("t" * 32, "203.0.113.1")
    now[0] += FAILURE_WINDOW
    assert await AdminAuth("t" * 32, throttle=full).token_matches("t" * 32, "203.0.113.1")
    assert len(full) <= _MAX_TRACKED


@pytest.fixture
def replicas(
    start_bollard: StartBollard, redis_url: str, tmp_path: Path
) -> Iterator[tuple[Bollard, Bollard, str]]:
    """Two replicas: Bollards sharing one database (where console sessions live), one
    Redis and key prefix; and the prefix. Afterwards, no key they left may live for
    ever."""
    prefix = f"bt{secrets.token_hex(6)}"
    a, b = (
        start_bollard(
            database_url=f"sqlite:///{tmp_path / 'shared.db'}",
            state_dir=tmp_path / "state",
            admin_token=ADMIN_TOKEN,
            redis_url=redis_url,
            redis_prefix=prefix,
        )
        for _ in ("a", "b")
    )
    yield a, b, prefix
    try:
        assert keys_without_expiry(redis_url, prefix) == []
    finally:
        drop_keys(redis_url, prefix)


@pytest.mark.redis
def test_two_replicas_on_one_redis_share_the_count_of_an_address(
    replicas: tuple[Bollard, Bollard, str], redis_url: str
) -> None:
    a, b, prefix = replicas
    with (
        httpx.Client(base_url=b.url, timeout=10) as browser,
        httpx.Client(base_url=a.url, timeout=10) as on_a,
        httpx.Client(base_url=b.url, timeout=10) as on_b,
    ):
        assert sign_in(browser).status_code == 303  # a session from before the guessing
        for _ in range(6):
            assert on_a.get("/admin/api/agents", headers=bearer(WRONG)).status_code == 401
        for _ in range(MAX_FAILURES - 6):
            assert on_b.get("/metrics", headers=bearer(WRONG)).status_code == 401
        # Each replica saw fewer than ten; together they saw ten, and both refuse.
        for client in (on_a, on_b):
            refused = client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN))
            assert refused.status_code == 429
            assert refused.json()["error_code"] == "SIGN_IN_THROTTLED"
            assert 0 < int(refused.headers["retry-after"]) <= FAILURE_WINDOW
        # The session signed in before carries on, on either replica.
        assert browser.get("/admin/api/agents").status_code == 200
        assert browser.get(f"{a.url}/admin/api/agents").status_code == 200
    with Redis.from_url(redis_url) as redis:
        assert 0 < redis.pttl(f"{prefix}:signin:127.0.0.1") <= FAILURE_WINDOW * 1000


@pytest.mark.redis
@pytest.mark.anyio
async def test_wrong_tokens_sent_at_once_to_two_replicas_get_ten_answers_in_all(
    replicas: tuple[Bollard, Bollard, str],
) -> None:
    a, b, _ = replicas
    async with httpx.AsyncClient(timeout=10) as client:
        answers = await asyncio.gather(
            *(
                client.get(f"{replica.url}/metrics", headers=bearer(WRONG))
                for replica in (a, b)
                for _ in range(MAX_FAILURES)
            )
        )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * MAX_FAILURES + [429] * MAX_FAILURES


@pytest.mark.redis
def test_when_redis_fails_the_replica_goes_on_with_the_wrong_tokens_it_saw(
    replicas: tuple[Bollard, Bollard, str], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bollard.admin.throttle")
    a, _, prefix = replicas
    with httpx.Client(base_url=a.url, timeout=10) as client:
        for _ in range(6):
            assert client.get("/metrics", headers=bearer(WRONG)).status_code == 401
        # The count's key now holds something else: every decision in Redis errors.
        with Redis.from_url(redis_url) as redis:
            key = f"{prefix}:signin:127.0.0.1"
            redis.delete(key)
            redis.hset(key, "not", "a count")
            redis.expire(key, int(FAILURE_WINDOW))
        for _ in range(MAX_FAILURES - 6):
            assert client.get("/metrics", headers=bearer(WRONG)).status_code == 401
        assert client.get("/metrics", headers=bearer(ADMIN_TOKEN)).status_code == 429
    assert "sign-in throttle: Redis failed (WRONGTYPE" in caplog.text
    assert WRONG not in caplog.text
    assert ADMIN_TOKEN not in caplog.text


def test_with_redis_unreachable_the_right_token_signs_in_and_wrong_ones_still_wait(
    start_bollard: StartBollard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bollard.admin.throttle")
    # Nothing listens on port 1: every Redis call fails at once.
    dead = start_bollard(admin_token=ADMIN_TOKEN, redis_url="redis://127.0.0.1:1/0")
    with httpx.Client(base_url=dead.url, timeout=10) as client:
        assert sign_in(client).status_code == 303
        assert "bollard_admin" in client.cookies
        for _ in range(MAX_FAILURES):
            assert client.get("/metrics", headers=bearer(WRONG)).status_code == 401
        refused = client.get("/metrics", headers=bearer(ADMIN_TOKEN))
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= FAILURE_WINDOW
    assert "sign-in throttle: Redis failed" in caplog.text
    assert "127.0.0.1:1" in caplog.text
    assert WRONG not in caplog.text
    assert ADMIN_TOKEN not in caplog.text


@pytest.mark.redis
def test_a_second_wrong_token_does_not_lengthen_the_window_the_first_opened(
    replicas: tuple[Bollard, Bollard, str], redis_url: str
) -> None:
    a, _, prefix = replicas
    key = f"{prefix}:signin:127.0.0.1"
    with httpx.Client(base_url=a.url, timeout=10) as client, Redis.from_url(redis_url) as redis:
        assert client.get("/metrics", headers=bearer(WRONG)).status_code == 401
        # Half the window left: a sliding window would put it back to a full minute.
        assert redis.pexpire(key, int(FAILURE_WINDOW * 500))
        assert client.get("/metrics", headers=bearer(WRONG)).status_code == 401
        assert redis.get(key) == b"2"
        assert 0 < redis.pttl(key) <= FAILURE_WINDOW * 500


@pytest.mark.redis
def test_a_count_at_the_limit_that_lost_its_expiry_gets_one_and_a_full_wait(
    replicas: tuple[Bollard, Bollard, str], redis_url: str
) -> None:
    a, _, prefix = replicas
    key = f"{prefix}:signin:127.0.0.1"
    with Redis.from_url(redis_url) as redis:
        redis.set(key, MAX_FAILURES)  # no expiry: it would shut the address out for ever
        with httpx.Client(base_url=a.url, timeout=10) as client:
            refused = client.get("/metrics", headers=bearer(ADMIN_TOKEN))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) == FAILURE_WINDOW
        assert 0 < redis.pttl(key) <= FAILURE_WINDOW * 1000


def test_with_redis_unreachable_one_warning_covers_the_outage_and_the_right_token_signs_in(
    start_bollard: StartBollard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bollard.admin.throttle")
    dead_url = "redis://:redis-password-8c1f@127.0.0.1:1/0"
    dead = start_bollard(admin_token=ADMIN_TOKEN, redis_url=dead_url)
    with httpx.Client(base_url=dead.url, timeout=10) as client:
        for _ in range(MAX_FAILURES - 1):
            assert client.get("/metrics", headers=bearer(WRONG)).status_code == 401
        assert sign_in(client).status_code == 303
        assert client.get("/admin/api/agents", headers=bearer(ADMIN_TOKEN)).status_code == 200
    warnings = [r for r in caplog.records if r.name == "bollard.admin.throttle"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    for secret in (dead_url, "redis-password-8c1f", WRONG, ADMIN_TOKEN):
        assert secret not in caplog.text


def clocked_auth(redis_url: str) -> tuple[list[float], str, AdminAuth]:
    """Sign-in checks counted in Redis under a prefix of their own, on a clock the test
    moves by hand (`now[0]`)."""
    now = [1000.0]
    prefix = f"bt{secrets.token_hex(6)}"
    throttle = RedisThrottle(AsyncRedis.from_url(redis_url), prefix, clock=lambda: now[0])
    return now, prefix, AdminAuth("t" * 32, throttle=throttle)


@pytest.mark.redis
@pytest.mark.anyio
async def test_after_redis_fails_the_count_stays_local_for_a_pause_then_redis_decides_again(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bollard.admin.throttle")
    now, prefix, auth = clocked_auth(redis_url)
    key = f"{prefix}:signin:10.0.0.1"
    with Redis.from_url(redis_url) as redis:
        try:
            redis.hset(key, "not", "a count")  # every decision on this key errors
            redis.expire(key, int(FAILURE_WINDOW))
            assert not await auth.token_matches(WRONG, "10.0.0.1")
            redis.delete(key)  # Redis would answer now, but is left alone for the pause
            for _ in range(MAX_FAILURES - 1):
                assert not await auth.token_matches(WRONG, "10.0.0.1")
            assert not redis.exists(key)
            with pytest.raises(SignInThrottled):  # the process's own count: ten
                await auth.token_matches("t" * 32, "10.0.0.1")
            assert [r.levelno for r in caplog.records] == [logging.WARNING]
            now[0] += REDIS_PAUSE
            assert not await auth.token_matches(WRONG, "10.0.0.2")
            assert redis.get(f"{prefix}:signin:10.0.0.2") == b"1"
            assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
            assert "answers again" in caplog.records[-1].getMessage()
        finally:
            await auth.aclose()
            drop_keys(redis_url, prefix)


@pytest.mark.redis
@pytest.mark.anyio
async def test_across_an_outage_and_back_one_process_allows_an_address_ten_tries(
    redis_url: str,
) -> None:
    # Five wrong tokens counted in Redis, five more while it is down (Redis never saw
    # them): once it answers again, the process's own ten still shut the address out.
    now, prefix, auth = clocked_auth(redis_url)
    key = f"{prefix}:signin:10.0.0.1"
    with Redis.from_url(redis_url) as redis:
        try:
            for _ in range(5):
                assert not await auth.token_matches(WRONG, "10.0.0.1")
            counted = redis.get(key)
            redis.delete(key)
            redis.hset(key, "not", "a count")  # Redis fails on this key from now on
            for _ in range(5):
                assert not await auth.token_matches(WRONG, "10.0.0.1")
            redis.delete(key)
            redis.set(key, counted or b"0", px=int(FAILURE_WINDOW * 1000))  # back, at 5
            now[0] += REDIS_PAUSE
            with pytest.raises(SignInThrottled):
                await auth.token_matches(WRONG, "10.0.0.1")
        finally:
            await auth.aclose()
            drop_keys(redis_url, prefix)


def test_ipv6_addresses_count_by_their_64_and_junk_by_one_bucket() -> None:
    def address(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1), "headers": []}))

    assert address("2001:db8:1:2::1") == address("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address("2001:db8:1:3::1") != address("2001:db8:1:2::1")
    assert address("192.0.2.7") == "192.0.2.7"
    # A dual-stack proxy's IPv4-mapped addresses count as the IPv4 ones, one each.
    assert address("::ffff:192.0.2.7") == "192.0.2.7"
    assert address("::ffff:192.0.2.8") != address("::ffff:192.0.2.7")
    assert address("x" * 10_000) == address("not an address") == "unknown"


def test_a_short_admin_token_is_refused_at_start_without_showing_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bollard.db'}",
        "BOLLARD_ADMIN_TOKEN": "letmein",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bollard.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "BOLLARD_ADMIN_TOKEN: Value error, must be at least 16 characters" in done.stderr
    assert "letmein" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_short_token_in_the_state_directory_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "admin.token").write_text("short\n")
    settings = Settings.from_env({}, state_dir=tmp_path)
    with pytest.raises(ConfigError, match="shorter than 16 characters"):
        admin_token(settings)
    assert Settings.from_env({}, admin_token="  " + "k" * 16 + " ").admin_token == SecretStr(
        "k" * 16
    )


@pytest.mark.parametrize(("trusted", "eleventh"), [(None, 429), ("127.0.0.1", 401)])
def test_bollard_serve_believes_x_forwarded_for_only_from_a_named_proxy(
    tmp_path: Path, trusted: str | None, eleventh: int
) -> None:
    # The real command: uvicorn's own proxy handling must stay off, and the setting
    # must be read from the environment as people write it (comma-separated).
    port = free_port()
    env = {
        **os.environ,
        "BOLLARD_STATE_DIR": str(tmp_path / "state"),
        "BOLLARD_DATABASE_URL": f"sqlite:///{tmp_path / 'bollard.db'}",
        "BOLLARD_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    if trusted:
        env["BOLLARD_FORWARDED_ALLOW_IPS"] = f"{trusted}, 10.0.0.0/8"
    with subprocess.Popen(
        [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as server:
        try:
            url = wait_ready(f"http://127.0.0.1:{port}", "/healthz", server)
            with httpx.Client(base_url=url, timeout=10) as client:
                for n in range(MAX_FAILURES):
                    wrong = client.get("/metrics", headers=bearer(WRONG, f"198.51.100.{n}"))
                    assert wrong.status_code == 401
                last = client.get("/metrics", headers=bearer(WRONG, "198.51.100.99"))
            assert last.status_code == eleventh
        finally:
            server.terminate()
            server.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
