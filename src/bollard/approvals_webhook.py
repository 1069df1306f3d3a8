"""Tell people a call is held: each one POSTed to `BOLLARD_APPROVALS_WEBHOOK_URL`.

The body is JSON that Slack's incoming webhooks accept (`text`, with a link to the
call's approval page) plus the structured fields other receivers want: `approval`
with id, agent, action, arguments, the credit quote, the rule and its reason, and
`expires_at`. It never carries an Apollo key (a held call's arguments are the
agent's, and Bollard's headers go nowhere near it).

Signature, for receivers other than Slack:

    X-Bollard-Timestamp: <unix seconds>
    X-Bollard-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

The secret is `BOLLARD_APPROVALS_WEBHOOK_SECRET`; without it, HMAC-SHA256 of the
audit key (`BOLLARD_AUDIT_KEY` or state_dir/audit.key) over the bytes 0xff then
`bollard approvals webhook v1`, as hex: set the secret when a receiver checks
signatures. A receiver compares in constant time, refuses a timestamp more than a few
minutes from its clock (a captured message cannot be replayed later), and treats
`approval.id` as the message's identity: a retry after a lost answer posts the same
body again (newly stamped and signed), so one held call may arrive more than once.

Delivery never holds up the agent's answer: `notify` only queues (from any thread)
and a background task posts. A failure (no connection, a timeout, 5xx, 429) is
retried with exponential backoff, `attempts` times at most; any other answer, a
redirect included (never followed), ends the delivery: 2xx as delivered, the rest
logged as refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bollard.approvals import HeldCall
from bollard.audit.keyfile import audit_key
from bollard.settings import Settings

log = logging.getLogger("bollard.approvals.webhook")
SIGNATURE_HEADER = "X-Bollard-Signature"
TIMESTAMP_HEADER = "X-Bollard-Timestamp"
# Not UTF-8 (the 0xff), so never the bytes of a value the audit log keeps as a keyed hash
# under the same key (`audit.redaction.keyed_hash`): the log cannot hold part of it.
DERIVATION = b"\xffbollard approvals webhook v1"


def derived_secret(audit_key: bytes) -> bytes:
    """The signing secret when none is set: from the audit key, as hex bytes."""
    return hmac.new(audit_key, DERIVATION, "sha256").hexdigest().encode()


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `X-Bollard-Signature` value for this body sent at `timestamp`."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def approval_url(console_url: str, approval_id: str) -> str:
    """The held call's page in the console."""
    return f"{console_url.rstrip('/')}/admin/approvals/{approval_id}"


def message(held: HeldCall, console_url: str) -> dict[str, Any]:
    """The JSON posted for one held call: Slack's `text` and the structured fields."""
    link = approval_url(console_url, held.id)
    credits = "no credits" if held.credits == 0 else f"up to {held.credits} credits"
    text = (
        f"Bollard is holding a call for approval: *{held.agent}* wants `{held.action}` "
        f"({credits}). Rule: {held.reason or f'#{held.rule}'}. <{link}|Approve or deny> "
        f"before {held.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    return {
        "text": text,
        "approval": {
            "id": held.id,
            "url": link,
            "agent": held.agent,
            "action": held.action,
            "arguments": dict(held.args),
            "credits": {"worst_case": held.credits, "reckoning": held.reckoning},
            "rule": held.rule,
            "reason": held.reason,
            "expires_at": held.expires_at.isoformat(timespec="seconds"),
        },
    }


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often and how patiently a delivery is retried."""

    attempts: int = 6
    first_delay: float = 0.5
    max_delay: float = 30.0

    def delays(self) -> list[float]:
        """The waits between attempts: doubling, capped."""
        return [min(self.first_delay * 2**n, self.max_delay) for n in range(self.attempts - 1)]


def notifier_for(settings: Settings) -> WebhookNotifier | None:
    """The app's notifier, if `BOLLARD_APPROVALS_WEBHOOK_URL` is set."""
    if settings.approvals_webhook_url is None:
        return None
    given = settings.approvals_webhook_secret
    secret = given.get_secret_value().encode() if given else derived_secret(audit_key(settings))
    return WebhookNotifier(settings.approvals_webhook_url, secret, settings.console_url)


class WebhookNotifier:
    """Posts each held call to one URL in the background, signed, with retries."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        console_url: str,
        *,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._console_url = console_url
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[bool]] = set()

    def start(self) -> None:
        """Begin accepting held calls (call from the app's event loop)."""
        self._loop = asyncio.get_running_loop()

    def notify(self, held: HeldCall) -> None:
        """Queue one held call for delivery and return at once (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.error("approval %s not posted: the notifier is not running", held.id)
            return
        loop.call_soon_threadsafe(self._spawn, held)

    def _spawn(self, held: HeldCall) -> None:
        task = asyncio.ensure_future(self.deliver(held))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, held: HeldCall) -> bool:
        """Post one held call until it is accepted or the attempts run out."""
        body = json.dumps(message(held, self._console_url), separators=(",", ":")).encode()
        waits = [*self._backoff.delays(), None]
        for attempt, wait in enumerate(waits, start=1):
            outcome = await self._post(body)
            if outcome == "delivered":
                return True
            if outcome == "refused" or wait is None:
                break
            log.warning("approval %s: webhook attempt %d failed (%s)", held.id, attempt, outcome)
            await asyncio.sleep(wait)
        log.error("approval %s: the webhook did not accept the notification", held.id)
        return False

    async def _post(self, body: bytes) -> str:
        """delivered, refused (do not retry), or what failed (retry)."""
        stamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature(self._secret, stamp, body),
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        if response.is_success:
            return "delivered"
        if response.status_code == 429 or response.status_code >= 500:
            return f"HTTP {response.status_code}"
        log.error("webhook answered %d: not retried", response.status_code)
        return "refused"

    async def aclose(self) -> None:
        """Stop: deliveries still retrying are cancelled; the client is closed."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        self._loop = None
