"""The console's limits form, read into a `LimitRule` with the CLI's own checks. Pure.

`bollard limits set` takes whole numbers of 0 or more for the counts and
budgets, a percent in (0, 100] for the share of Apollo's windows, an action
id from the catalog (or every action), and at least one value; so does the
form, with the same messages where the CLI names an option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bollard.admin.problems import InvalidInput
from bollard.catalog import Catalog
from bollard.errors import ConfigError
from bollard.limits.rule_store import check_rule
from bollard.limits.rules import ALL_ACTIONS, LimitRule


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # LimitRule's field, and the form's input
    label: str
    unit: str


COUNTS = (
    Field("per_minute", "Requests per minute", "requests"),
    Field("per_hour", "Requests per hour", "requests"),
    Field("per_day", "Requests per day", "requests"),
    Field("credits_per_day", "Credits per UTC day", "credits"),
    Field("credits_per_month", "Credits per UTC month", "credits"),
)
SHARE = Field("share_of_apollo", "Share of Apollo's windows", "%")
FIELDS = (*COUNTS, SHARE)


def action_of(text: str, catalog: Catalog) -> str:
    """The rule's action: blank or '*' is every action; else a catalog action id."""
    text = text.strip()
    if text in ("", ALL_ACTIONS):
        return ALL_ACTIONS
    if catalog.get(text) is None:
        hint = ", ".join(catalog.nearest(text))
        raise InvalidInput(f"no action {text!r}" + (f"; did you mean {hint}?" if hint else ""))
    return text


def rule_from_form(agent: str, form: Mapping[str, str], catalog: Catalog) -> LimitRule:
    """The limits the form gives (blank fields keep their stored value), or InvalidInput."""
    given: dict[str, Any] = {}
    for f in COUNTS:
        text = form.get(f.name, "").strip()
        if text:
            if not (text.isascii() and text.isdigit()):  # int() refuses '²', reads '٣' as 3
                raise InvalidInput(f"{f.label} must be a whole number, 0 or more, not {text!r}")
            given[f.name] = int(text)
    share = form.get(SHARE.name, "").strip().rstrip("%").strip()
    if share:
        try:
            given[SHARE.name] = float(share)
        except ValueError:
            raise InvalidInput(f"{SHARE.label} must be a percent, e.g. 50, not {share!r}") from None
    if not given:
        raise InvalidInput(
            "give at least one limit, e.g. 60 requests per minute or 500 credits per day"
        )
    rule = LimitRule(agent, action_of(form.get("action", ""), catalog), **given)
    try:
        check_rule(rule)
    except ConfigError as exc:
        raise InvalidInput(_form_words(str(exc))) from exc
    return rule


def describe(rule: Mapping[str, Any]) -> str:
    """A rule as words: '60 requests per minute, 500 credits per UTC day'."""
    parts = [
        f"{rule[f.name]} {f.unit} {f.label.split(' ', 1)[1]}"
        for f in COUNTS
        if rule.get(f.name) is not None
    ]
    if rule.get(SHARE.name) is not None:
        parts.append(f"at most {rule[SHARE.name]:g}% of Apollo's windows")
    return ", ".join(parts) or "none"


def _form_words(message: str) -> str:
    """check_rule names CLI options (--per-minute); the form says its labels."""
    for f in FIELDS:
        message = message.replace(f"--{f.name.replace('_', '-')}", f.label)
    return message
