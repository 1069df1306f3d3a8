"""Phone reveals: the answer comes at once, the phones arrive later by webhook."""

from __future__ import annotations

import anyio
import httpx
import pytest

from bollard.sandbox import Sandbox, create_sandbox
from tests.sandbox.conftest import MASTER, Receiver, small_config

pytestmark = pytest.mark.anyio


def with_phone(box: Sandbox) -> str:
    return next(p.email for p in box.people.people if p.mobile and p.email)


async def test_a_phone_reveal_answers_at_once_then_posts_the_phones_to_the_webhook(
    receiver: Receiver,
) -> None:
    box = create_sandbox(small_config(webhook_delay=0.01))
    email = with_phone(box)
    transport = httpx.ASGITransport(app=box.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": MASTER}
    ) as c:
        answer = await c.post(
            "/api/v1/people/bulk_match",
            params={"reveal_phone_number": "true", "webhook_url": receiver.url},
            json={"details": [{"email": email}]},
        )
        with anyio.fail_after(5):
            await receiver.arrived.wait()
        await box.join_webhooks()
    body = answer.json()
    assert body["phone_enrichment"]["status"] == "pending"
    assert body["credits_consumed"] == 1
    payload = receiver.payloads[0]
    assert payload["request_id"] == body["request_id"]
    assert payload["credits_consumed"] == 8
    person = payload["people"][0]
    assert person["id"] == body["matches"][0]["id"]
    assert person["phone_numbers"][0]["type_cd"] == "mobile"
    assert person["phone_numbers"][0]["sanitized_number"].startswith("+1650555")
    assert box.credits.by_reason() == {"person": 1, "mobile_phone": 8}
    assert box.webhooks.deliveries[0].status == 200


async def test_a_webhook_to_a_host_that_is_not_loopback_or_configured_is_not_called(
    caplog: pytest.LogCaptureFixture,
) -> None:
    box = create_sandbox(small_config())
    transport = httpx.ASGITransport(app=box.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers={"x-api-key": MASTER}
    ) as c:
        answer = await c.post(
            "/api/v1/people/match",
            json={
                "email": with_phone(box),
                "reveal_phone_number": True,
                "webhook_url": "https://hooks.example.com/apollo",
            },
        )
        with anyio.fail_after(5):
            await box.join_webhooks()
    assert answer.status_code == 200
    delivery = box.webhooks.deliveries[0]
    assert delivery.status is None
    assert delivery.note.startswith("not called")
    assert "hooks.example.com" in caplog.text
