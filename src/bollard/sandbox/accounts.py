"""Accounts: create (no dedupe), update and search, as Apollo documents them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bollard.sandbox import breadcrumbs
from bollard.sandbox.args import as_strs, as_text
from bollard.sandbox.contacts import with_organization
from bollard.sandbox.exchange import Invocation, Reply, error, misconfigured, ok, page_of
from bollard.sandbox.organizations import clean_domain
from bollard.sandbox.team import Row, Team, assign, blank, listing, ordered, sanitize_phone

FIELDS = (
    "name",
    "domain",
    "owner_id",
    "account_stage_id",
    "raw_address",
    "phone",
    "typed_custom_fields",
)
SORT_FIELDS = {
    "account_created_at": "created_at",
    "account_updated_at": "updated_at",
    "account_last_activity_date": "last_activity_date",
}

OrgLookup = Callable[[str], str | None]  # domain -> Apollo organization id


def _bad_reference(team: Team, args: dict[str, Any]) -> Reply | None:
    for name, table in (("account_stage_id", team.account_stages), ("owner_id", team.users)):
        value = args.get(name)
        if not blank(value) and str(value) not in table:
            return misconfigured(value)
    return None


def _write(team: Team, row: Row, args: dict[str, Any], find_org: OrgLookup) -> list[Row]:
    assign(row, args, FIELDS)
    if row.get("domain"):
        row["domain"] = clean_domain(str(row["domain"]))
        row["organization_id"] = find_org(row["domain"])
    if "phone" in args:
        row["sanitized_phone"] = sanitize_phone(row["phone"])
    if not row.get("account_stage_id"):
        row["account_stage_id"] = next(iter(team.account_stages))  # Apollo applies a default
    labels: list[Row] = []
    if "label_names" in args:
        labels = team.labels_for(as_strs(args["label_names"]), "accounts")
        row["label_ids"] = [lb["id"] for lb in labels]
        team.recount_labels()
    row["updated_at"] = team.now()
    return labels or [team.labels[i] for i in row["label_ids"]]


def _new_row(team: Team) -> Row:
    now = team.now()
    return {
        "id": team.new_id(),
        "domain": None,
        "name": None,
        "team_id": team.id,
        "organization_id": None,
        "account_stage_id": None,
        "source": "api",
        "original_source": "api",
        "creator_id": team.owner_id,
        "owner_id": team.owner_id,
        "created_at": now,
        "updated_at": now,
        "phone": None,
        "phone_status": "no_status",
        "sanitized_phone": None,
        "hubspot_id": None,
        "salesforce_id": None,
        "crm_owner_id": None,
        "parent_account_id": None,
        "linkedin_url": None,
        "label_ids": [],
        "typed_custom_fields": {},
        "custom_field_errors": None,
        "modality": "account",
        "existence_level": "full",
        "raw_address": None,
        "source_display_name": "Created from API",
        "crm_record_url": None,
        "show_intent": False,
        "has_intent_signal_account": False,
        "intent_signal_account": None,
        "last_activity_date": None,
    }


def create(team: Team, find_org: OrgLookup, call: Invocation) -> Reply:
    """POST /accounts: needs a name or a domain; the same name twice makes two accounts."""
    if not as_text(call.args.get("name")) and not as_text(call.args.get("domain")):
        return error(422, "Please specify at least a name or domain.")
    if refusal := _bad_reference(team, call.args):
        return refusal
    row = _new_row(team)
    team.accounts[row["id"]] = row
    _write(team, row, call.args, find_org)
    return ok({"account": with_organization(team, row)})


def update(team: Team, find_org: OrgLookup, call: Invocation) -> Reply:
    """PATCH /accounts/{account_id}: unknown ids are a 422."""
    account_id = call.path["account_id"]
    row = team.accounts.get(account_id)
    if row is None:
        return misconfigured(account_id)
    if refusal := _bad_reference(team, call.args):
        return refusal
    labels = _write(team, row, call.args, find_org)
    return ok({"account": with_organization(team, row), "labels": labels})


def render(team: Team, row: Row) -> Row:
    """An account as search shows it, with its contacts' sequence tallies."""
    contacts = [c for c in team.contacts.values() if c["account_id"] == row["id"]]
    campaigns = sorted({s for c in contacts for s in c["emailer_campaign_ids"]})
    tally: dict[str, int] = {}
    for c in contacts:
        for status in c["contact_campaign_statuses"]:
            tally[status["status"]] = tally.get(status["status"], 0) + 1
    return {
        **with_organization(team, row),
        "contact_emailer_campaign_ids": campaigns,
        "contact_campaign_status_tally": tally,
        "num_contacts": len(contacts),
    }


def search(team: Team, call: Invocation) -> Reply:
    """POST /accounts/search: partial name match, stage and list filters, sorting."""
    args = call.args
    sort = as_text(args.get("sort_by_field"))
    if sort and sort not in SORT_FIELDS:
        return error(422, "Invalid sort criteria", skip_alert_dialog=True)
    name = (as_text(args.get("q_organization_name")) or "").lower()
    stages = set(as_strs(args.get("account_stage_ids")))
    labels = set(as_strs(args.get("account_label_ids")))
    rows = [
        r
        for r in team.accounts.values()
        if name in (r["name"] or "").lower()
        and (not stages or r["account_stage_id"] in stages)
        and (not labels or not labels.isdisjoint(r["label_ids"]))
    ]
    rows = ordered(rows, SORT_FIELDS.get(sort or ""), args.get("sort_ascending"))
    crumbs = breadcrumbs.of(args, CRUMBS, names_for=team.crumb_name)
    return listing(
        "accounts", rows, page_of(args), lambda r: render(team, r), {"breadcrumbs": crumbs}
    )


CRUMBS = ("q_organization_name", "account_stage_ids", "account_label_ids")
