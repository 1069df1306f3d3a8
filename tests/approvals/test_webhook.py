"""The approvals webhook: a real HTTP receiver (aiohttp on loopback) gets each held call,
signed, once accepted, even when it first fails; redirects are never followed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from bollard.admins import Role
from bollard.agents import utcnow
from bollard.approvals import Approvals, HeldCall, digest, new_id
from bollard.approvals_webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Backoff,
    WebhookNotifier,
    derived_secret,
    notifier_for,
)
from bollard.audit.keyfile import audit_key
from bollard.changes import Actor, AdminChanges
from bollard.errors import ConfigError
from bollard.settings import Settings
from bollard.store import open_store
from tests.approvals.conftest import StartBollard, add_rule, enrolment, enrolments
from tests.harness import MASTER_KEY, SCOPED_KEY, sandbox, start_bollard

__all__ = ["sandbox", "start_bollard"]

SECRET = b"receiver-shared-secret"
QUICK = Backoff(attempts=5, first_delay=0.01, max_delay=0.05)


@dataclass
class Receiver:
    """Answers 500 to the first post of each approval, then 200; records everything."""

    url: str = ""
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    tried: Counter[str] = field(default_factory=Counter)
    elsewhere: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    expected: int = 0

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.posts.append((dict(request.headers), body))
        approval = json.loads(body)["approval"]["id"]
        self.tried[approval] += 1
        if self.tried[approval] == 1:
            return web.Response(status=500, text="try again")
        self.accepted[approval] += 1
        if sum(self.accepted.values()) >= self.expected:
            self.arrived.set()
        return web.Response(text="ok")

    async def moved(self, request: web.Request) -> web.Response:
        self.tried["moved"] += 1
        raise web.HTTPFound(location="/elsewhere")

    async def other(self, request: web.Request) -> web.Response:
        self.elsewhere += 1
        return web.Response(text="followed")


async def _serve(found: Receiver) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/hook", found.hook)
    app.router.add_post("/moved", found.moved)
    app.router.add_route("*", "/elsewhere", found.other)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return runner


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    runner = await _serve(found)
    yield found
    await runner.cleanup()


@pytest.fixture
def receiver_thread() -> Iterator[Receiver]:
    """The receiver on its own event loop in a thread, for tests that are not async."""
    found = Receiver()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = asyncio.run_coroutine_threadsafe(_serve(found), loop).result(timeout=10)
    yield found
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def held_call(agent: str, contact: str) -> HeldCall:
    args = {"sequence_id": "seq_1", "contact_ids": [contact]}
    now = utcnow()
    return HeldCall(
        id=new_id(),
        agent=agent,
        action="sequences.add_contacts",
        digest=digest(args),
        door="rest",
        target={},
        args=args,
        credits=0,
        reckoning="no credits",
        rule=7,
        reason="a person approves sequence enrolments",
        request_id="r" * 24,
        created_at=now,
        expires_at=now + timedelta(hours=24),
    )


def verifies(headers: dict[str, str], body: bytes, secret: bytes) -> bool:
    stamp = headers[TIMESTAMP_HEADER]
    expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers[SIGNATURE_HEADER], f"sha256={expected}")


@pytest.mark.anyio
async def test_each_held_call_is_accepted_once_signed_even_after_a_500(
    receiver: Receiver, tmp_path: Path
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    notifier = WebhookNotifier(
        f"{receiver.url}/hook", SECRET, "https://bollard.example", backoff=QUICK
    )
    notifier.start()
    approvals = Approvals(engine, on_held=notifier.notify)
    calls = [held_call("sdr", "c1"), held_call("sdr", "c2")]
    receiver.expected = len(calls)
    for call in calls:  # held from worker threads, as the gateway holds them
        await asyncio.to_thread(approvals.hold, call)
    assert await asyncio.to_thread(receiver.arrived.wait, 30)
    await notifier.aclose()  # nothing still retrying can add a post after this

    assert receiver.accepted == Counter({c.id: 1 for c in calls})
    assert receiver.tried == Counter({c.id: 2 for c in calls})  # the 500, then the 200
    assert all(verifies(h, b, SECRET) for h, b in receiver.posts)
    assert not any(verifies(h, b, b"another secret") for h, b in receiver.posts)
    sent = json.loads(receiver.posts[-1][1])
    one = next(c for c in calls if c.id == sent["approval"]["id"])
    assert f"<https://bollard.example/admin/approvals/{one.id}|Approve or deny>" in sent["text"]
    assert "*sdr* wants `sequences.add_contacts`" in sent["text"]
    assert sent["approval"] | {"expires_at": None} == {
        "id": one.id,
        "url": f"https://bollard.example/admin/approvals/{one.id}",
        "agent": "sdr",
        "action": "sequences.add_contacts",
        "arguments": dict(one.args),
        "credits": {"worst_case": 0, "reckoning": "no credits"},
        "rule": 7,
        "reason": "a person approves sequence enrolments",
        "expires_at": None,
    }
    engine.dispose()


@pytest.mark.anyio
async def test_a_redirect_is_not_followed_nor_retried(receiver: Receiver) -> None:
    notifier = WebhookNotifier(f"{receiver.url}/moved", SECRET, "http://x", backoff=QUICK)
    notifier.start()
    delivered = await notifier.deliver(held_call("sdr", "c1"))
    await notifier.aclose()
    assert not delivered
    assert (receiver.tried["moved"], receiver.elsewhere) == (1, 0)


@pytest.mark.anyio
async def test_attempts_are_bounded_when_the_receiver_is_gone(receiver: Receiver) -> None:
    notifier = WebhookNotifier("http://127.0.0.1:9/hook", SECRET, "http://x", backoff=QUICK)
    assert QUICK.delays() == [0.01, 0.02, 0.04, 0.05]
    notifier.start()
    assert not await notifier.deliver(held_call("sdr", "c1"))
    await notifier.aclose()


@pytest.mark.anyio
async def test_without_a_secret_the_key_is_derived_from_the_audit_key(
    receiver: Receiver, tmp_path: Path
) -> None:
    apollo_key = "apollo-upstream-key-7f3a9c"
    settings = Settings(
        state_dir=tmp_path,
        audit_key=SecretStr("k" * 32),
        apollo_key=SecretStr(apollo_key),
        approvals_webhook_url=f"{receiver.url}/hook",
        public_url="https://gw.example",
    )
    notifier = notifier_for(settings)
    assert notifier is not None
    notifier.start()
    delivered = await notifier.deliver(held_call("sdr", "c1"))
    await notifier.aclose()
    assert delivered
    assert all(verifies(h, b, derived_secret(b"k" * 32)) for h, b in receiver.posts)
    assert not any(apollo_key in f"{h}{b!r}" for h, b in receiver.posts)
    assert notifier_for(Settings(state_dir=tmp_path)) is None


def test_a_webhook_url_that_is_not_http_is_refused_with_the_variable_named() -> None:
    with pytest.raises(ConfigError, match=r"BOLLARD_APPROVALS_WEBHOOK_URL: .*http:// or https://"):
        Settings.from_env({"BOLLARD_APPROVALS_WEBHOOK_URL": "ftp://hooks.example"})


def test_an_agents_held_call_reaches_the_webhook_once_signed_without_the_apollo_key(
    start_bollard: StartBollard, receiver_thread: Receiver
) -> None:
    bollard = start_bollard(
        approvals_webhook_url=f"{receiver_thread.url}/hook",
        approvals_webhook_secret=SecretStr(SECRET.decode()),
        public_url="https://bollard.example",
    )
    _, key = bollard.agents.create("sdr", ["sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(bollard)
    receiver_thread.expected = 2
    with bollard.client(key) as agent:
        held = [agent.post(enrol.path, json=enrol.body(n)) for n in (0, 1)]
    assert [h.status_code for h in held] == [202, 202]  # answered before any delivery
    assert receiver_thread.arrived.wait(30)
    bollard.server.stop()  # the app's notifier is closed: no post can follow

    ids = [h.json()["bollard"]["approval_id"] for h in held]
    assert receiver_thread.accepted == Counter(dict.fromkeys(ids, 1))
    assert all(verifies(h, b, SECRET) for h, b in receiver_thread.posts)
    posted = " ".join(f"{h}{b!r}" for h, b in receiver_thread.posts)
    assert SCOPED_KEY not in posted
    assert MASTER_KEY not in posted
    assert key not in posted
    assert enrol.contacts[1] in posted
    assert enrolments(bollard) == 0


def test_what_an_agent_sends_never_puts_part_of_the_derived_secret_in_the_log(
    start_bollard: StartBollard, receiver_thread: Receiver
) -> None:
    """The log keeps personal values as HMACs under the audit key: an agent that sends the
    derivation's own words as one must not leave the derived signing secret's first half
    there, for any viewer to read."""
    bollard = start_bollard(approvals_webhook_url=f"{receiver_thread.url}/hook")
    _, key = bollard.agents.create("sdr", ["people:read", "sequences:*"])
    add_rule(bollard, "sdr", "sequences.add_contacts", "approve", reason="a person checks")
    enrol = enrolment(bollard)
    words = "bollard approvals webhook v1"
    receiver_thread.expected = 1
    with bollard.client(key) as agent:
        searched = agent.post("/api/v1/mixed_people/api_search", json={"q_keywords": words})
        held = agent.post(enrol.path, json=enrol.body(0))
    assert (searched.status_code, held.status_code) == (200, 202)
    assert receiver_thread.arrived.wait(30)
    bollard.settle()

    changes = AdminChanges(bollard.engine, bollard.agents, bollard.gateway.audit.checkpointer)
    viewer = changes.create_admin(Actor("lead", "cli"), "vera", Role.VIEWER)[1]
    with bollard.client(Authorization=f"Bearer {viewer}") as api:
        found = api.get("/admin/api/audit", params={"agent": "sdr", "action": "people.search"})
    assert found.status_code == 200, found.text
    logged = found.text
    hashes = re.findall(r"hmac:([0-9a-f]{32})", logged)
    assert hashes  # the keywords, as the log keeps them
    secret = derived_secret(audit_key(bollard.settings))
    assert all(verifies(h, b, secret) for h, b in receiver_thread.posts)  # the secret in use
    assert not any(h.encode() in secret for h in hashes)
