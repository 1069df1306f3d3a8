"""Hidden fields: taken out of Apollo's answer before the agent sees it.

A field is withheld from each person, contact and match in the answer, wherever
those occur (`person`, `contact`, `people[]`, `contacts[]`, `matches[]`, at any
depth), and only there: an organization's `linkedin_url` inside a person stays.
An answer that is not JSON cannot be checked, so none of it is passed on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bollard.errors import BollardError

_ONE = frozenset({"person", "contact"})
_MANY = frozenset({"people", "contacts", "matches"})


class AnswerWithheld(BollardError):
    """An answer policy must trim could not be read: nothing of it is passed on."""

    status = 502
    error_code = "ANSWER_WITHHELD"
    outcome = "upstream_error"


def withhold(body: bytes, fields: Iterable[str]) -> tuple[bytes, tuple[str, ...]]:
    """The answer without `fields` in its people, contacts and matches, and which of
    the fields were found (and taken out)."""
    try:
        data = json.loads(body)
    except ValueError:
        raise AnswerWithheld(
            "Apollo's answer is not JSON, so the fields policy hides from this agent "
            "could not be taken out of it: nothing of it is passed on"
        ) from None
    hidden = frozenset(fields)
    found: set[str] = set()
    _walk(data, hidden, found)
    return json.dumps(data, separators=(",", ":")).encode(), tuple(sorted(found))


def _walk(node: Any, hidden: frozenset[str], found: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, hidden, found)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _ONE and isinstance(value, dict):
            _strip(value, hidden, found)
        elif key in _MANY and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _strip(item, hidden, found)
        _walk(value, hidden, found)


def _strip(record: dict[str, Any], hidden: frozenset[str], found: set[str]) -> None:
    for name in hidden & record.keys():
        del record[name]
        found.add(name)
