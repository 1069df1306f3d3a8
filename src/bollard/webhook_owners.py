"""Which agent's enrichment produced each Apollo `request_id`, for the webhook-result poll.

`GET /webhook_result/{request_id}` returns phone numbers and waterfall results,
which cost the enriching agent credits; an agent granted the poll must not read
another agent's. The gateway tells this ledger about every answer to an action
that takes a `webhook_url` (the answer carries the request id), and asks it
before forwarding a poll: an id this agent's calls did not produce is 404, and
the poll never reaches Apollo.

Held in memory, per process, for at most `capacity` ids (oldest forgotten
first; Apollo keeps results for 30 days). A replica that did not serve the
enrichment, or a restart, answers 404 for it: the rule errs toward refusing.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from bollard.catalog import Action
from bollard.errors import RequestIdUnknown

POLL_PARAM = "request_id"
CAPACITY = 100_000


class WebhookOwners:
    """Request id → the agent whose call produced it; pure apart from its own memory."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._owners: OrderedDict[str, str] = OrderedDict()

    def remember(self, agent: str, action: Action, status: int, body: bytes) -> None:
        """Note the request ids in a successful answer to an action that takes a webhook."""
        if status >= 300 or action.param("webhook_url") is None:
            return
        try:
            answer = json.loads(body)
        except ValueError:
            return
        for request_id in _request_ids(answer):
            self._owners[request_id] = agent
            self._owners.move_to_end(request_id)
        while len(self._owners) > self._capacity:
            self._owners.popitem(last=False)

    def check(self, agent: str, action: Action, args: Mapping[str, Any]) -> None:
        """`RequestIdUnknown` unless this agent's call produced the polled request id."""
        if POLL_PARAM not in action.path_params:
            return
        if self._owners.get(str(args.get(POLL_PARAM))) != agent:
            raise RequestIdUnknown(
                "request_id_unknown: no enrichment call of this agent produced this "
                "request_id (Bollard answers a webhook-result poll only for the agent "
                "whose call started it)"
            )


def _request_ids(answer: Any) -> Iterator[str]:
    if not isinstance(answer, dict):
        return
    for holder in (answer, answer.get("phone_enrichment"), answer.get("waterfall")):
        if isinstance(holder, dict) and isinstance(holder.get(POLL_PARAM), int | str):
            yield str(holder[POLL_PARAM])
