"""Asynchronous phone reveals: answer now, POST the phones to `webhook_url` later.

Only loopback hosts and hosts named in the config are ever called: the sandbox
must not become a way to make a server send requests to arbitrary places.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("bollard.sandbox.webhooks")
TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook the sandbox sent, or refused to send (status None)."""

    url: str
    payload: dict[str, Any]
    status: int | None
    note: str


def allowed_host(url: str, extra: tuple[str, ...]) -> bool:
    """Loopback addresses, `localhost`, or a host named in the config."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host in extra:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Webhooks:
    """Schedules webhook POSTs and keeps what happened to each."""

    def __init__(self, delay: float, hosts: tuple[str, ...]) -> None:
        self.delay = delay
        self.hosts = tuple(h.lower() for h in hosts)
        self.deliveries: list[Delivery] = []
        self.pending: set[str] = set()  # person ids with a reveal in flight
        self.scheduled: set[int] = set()  # request ids with a webhook, for the poll
        self._tasks: set[asyncio.Task[None]] = set()

    def send_later(self, url: str, payload: dict[str, Any], person_ids: list[str]) -> None:
        """POST `payload` to `url` after the configured delay (from a running loop)."""
        self.pending.update(person_ids)
        if isinstance(payload.get("request_id"), int):
            self.scheduled.add(payload["request_id"])
        task = asyncio.get_running_loop().create_task(self._deliver(url, payload, person_ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def join(self) -> None:
        """Wait until every scheduled webhook has been sent or refused."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def _deliver(self, url: str, payload: dict[str, Any], person_ids: list[str]) -> None:
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            self.deliveries.append(await self._post(url, payload))
        finally:
            self.pending.difference_update(person_ids)

    async def _post(self, url: str, payload: dict[str, Any]) -> Delivery:
        if not allowed_host(url, self.hosts):
            note = "not called: only loopback and configured webhook hosts are called"
            log.warning("sandbox webhook to %s %s", url, note)
            return Delivery(url, payload, None, note)
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as session,
                session.post(url, json=payload) as response,
            ):
                log.info("sandbox webhook to %s answered %s", url, response.status)
                return Delivery(url, payload, response.status, "sent")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("sandbox webhook to %s failed: %s", url, exc)
            return Delivery(url, payload, None, f"failed: {exc}")
