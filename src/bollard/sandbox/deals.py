"""Deals (opportunities): create, update and list."""

from __future__ import annotations

from typing import Any

from bollard.sandbox.args import as_text
from bollard.sandbox.exchange import Invocation, Reply, error, misconfigured, ok, page_of
from bollard.sandbox.team import Row, Team, assign, blank, listing, ordered

FIELDS = (
    "name",
    "owner_id",
    "account_id",
    "opportunity_stage_id",
    "closed_date",
    "typed_custom_fields",
    "description",
)
SORTS = ("amount", "is_closed", "is_won")


def _amount(value: Any) -> float | None:
    """Digits only; Apollo leaves the amount blank when it has commas or symbols."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = as_text(value)
    if text is None or not text.replace(".", "", 1).isdigit():
        return None
    return float(text)


def _bad_reference(team: Team, args: dict[str, Any]) -> Reply | None:
    checks = (
        ("owner_id", team.users),
        ("account_id", team.accounts),
        ("opportunity_stage_id", team.deal_stages),
    )
    for name, table in checks:
        value = args.get(name)
        if not blank(value) and str(value) not in table:
            return misconfigured(value)
    return None


def _write(team: Team, row: Row, args: dict[str, Any]) -> None:
    assign(row, args, FIELDS)
    if "amount" in args:
        row["amount"] = row["amount_in_team_currency"] = _amount(args["amount"])
    stage = team.deal_stages[row["opportunity_stage_id"] or next(iter(team.deal_stages))]
    if stage["id"] != row["opportunity_stage_id"] or "opportunity_stage_id" in args:
        row["stage_updated_at"] = team.now()
    row["opportunity_stage_id"] = stage["id"]
    row["stage_name"] = stage["name"]
    row["is_closed"] = stage["name"].startswith("Closed")
    row["is_won"] = stage["name"] == "Closed Won"


def create(team: Team, call: Invocation) -> Reply:
    """POST /opportunities: `name` is required."""
    if not as_text(call.args.get("name")):
        return error(422, "Name is required")
    if refusal := _bad_reference(team, call.args):
        return refusal
    row: Row = {
        "id": team.new_id(),
        "team_id": team.id,
        "owner_id": team.owner_id,
        "salesforce_owner_id": None,
        "amount": None,
        "closed_date": None,
        "account_id": None,
        "description": None,
        "is_closed": False,
        "is_won": False,
        "name": None,
        "stage_name": None,
        "opportunity_stage_id": None,
        "source": "api",
        "created_at": team.now(),
        "actual_close_date": None,
        "next_step": None,
        "forecast_category": None,
        "deal_probability": None,
        "created_by_id": team.owner_id,
        "opportunity_pipeline_id": None,
        "stage_updated_at": None,
        "exchange_rate_code": "USD",
        "exchange_rate_value": 1,
        "amount_in_team_currency": None,
        "forecasted_revenue": None,
        "last_activity_date": None,
        "existence_level": "full",
        "opportunity_contact_roles": [],
        "currency": {"name": "US Dollar", "iso_code": "USD", "symbol": "$"},
        "typed_custom_fields": {},
    }
    _write(team, row, call.args)
    team.deals[row["id"]] = row
    return ok({"opportunity": row})


def update(team: Team, call: Invocation) -> Reply:
    """PATCH /opportunities/{opportunity_id}: unknown ids are a 422."""
    row = team.deals.get(call.path["opportunity_id"])
    if row is None:
        return error(422, "Opportunity does not exist.")
    if refusal := _bad_reference(team, call.args):
        return refusal
    _write(team, row, call.args)
    return ok({"opportunity": row})


def search(team: Team, call: Invocation) -> Reply:
    """GET /opportunities/search: every deal, sorted by amount, is_closed or is_won."""
    field = as_text(call.args.get("sort_by_field"))
    rows = ordered(
        list(team.deals.values()),
        field if field in SORTS else None,
        call.args.get("sort_ascending"),
    )
    render = lambda r: {**r, "account": team.accounts.get(r["account_id"] or "")}  # noqa: E731
    return listing("opportunities", rows, page_of(call.args), render, {"salesforce_users": []})
