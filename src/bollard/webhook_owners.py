"""Which agent's enrichment produced each Apollo `request_id`, for the webhook-result poll.

`GET /webhook_result/{request_id}` returns phone numbers and waterfall results,
which cost the enriching agent credits; an agent granted the poll must not read
another agent's. The gateway tells this ledger about every answer to an action
that takes a `webhook_url` (the answer carries the request id), and asks it
before forwarding a poll: an id this agent's calls did not produce is 404, and
the poll never reaches Apollo.

Held in the database (`webhook_owners`), so that every replica answers a poll
the same way, and after a restart. Kept for Apollo's 30 days; older rows are
deleted as new ones are written. If an id cannot be written, the enrichment's
answer still goes back, and a poll of that id is refused (404): the rule errs
toward refusing. An error reading it denies the poll, as any error while deciding.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from bollard.catalog import Action
from bollard.errors import RequestIdUnknown
from bollard.store.tables import webhook_owners

POLL_PARAM = "request_id"
KEPT = timedelta(days=30)  # as long as Apollo keeps a result

log = logging.getLogger("bollard.webhook_owners")


class WebhookOwners:
    """Request id → the agent whose call produced it, in the store every replica shares."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    async def remember(self, agent: str, action: Action, status: int, body: bytes) -> None:
        """Note the request ids in a successful answer to an action that takes a webhook."""
        ids = _owned_ids(action, status, body)
        if not ids:
            return
        try:
            await asyncio.to_thread(self._store, agent, ids)
        except SQLAlchemyError:
            log.exception("could not record who owns request ids %s; polls will get 404", ids)

    async def check(self, agent: str, action: Action, args: Mapping[str, Any]) -> None:
        """`RequestIdUnknown` unless this agent's call produced the polled request id."""
        if POLL_PARAM not in action.path_params:
            return
        owner = await asyncio.to_thread(self._owner, str(args.get(POLL_PARAM)))
        if owner != agent:
            raise RequestIdUnknown(
                "request_id_unknown: no enrichment call of this agent produced this "
                "request_id (Bollard answers a webhook-result poll only for the agent "
                "whose call started it)"
            )

    def _store(self, agent: str, ids: list[str]) -> None:
        now = datetime.fromtimestamp(self._clock(), UTC)
        table = webhook_owners
        with self._engine.begin() as conn:
            conn.execute(delete(table).where(table.c.created_at < now - KEPT))
            conn.execute(delete(table).where(table.c.request_id.in_(ids)))
            conn.execute(
                insert(table), [{"request_id": i, "agent": agent, "created_at": now} for i in ids]
            )

    def _owner(self, request_id: str) -> str | None:
        table = webhook_owners
        query = select(table.c.agent).where(table.c.request_id == request_id)
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()


def _owned_ids(action: Action, status: int, body: bytes) -> list[str]:
    """The request ids a successful answer to a webhook-taking action carries."""
    if status >= 300 or action.param("webhook_url") is None:
        return []
    try:
        answer = json.loads(body)
    except ValueError:
        return []
    return list(dict.fromkeys(_request_ids(answer)))


def _request_ids(answer: Any) -> Iterator[str]:
    if not isinstance(answer, dict):
        return
    for holder in (answer, answer.get("phone_enrichment"), answer.get("waterfall")):
        if isinstance(holder, dict) and isinstance(holder.get(POLL_PARAM), int | str):
            yield str(holder[POLL_PARAM])
