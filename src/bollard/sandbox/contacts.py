"""Contacts: create (with run_dedupe), update and search, as Apollo documents them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bollard.sandbox import breadcrumbs
from bollard.sandbox.args import as_bool, as_strs, as_text
from bollard.sandbox.exchange import Invocation, Reply, misconfigured, ok, page_of
from bollard.sandbox.team import Row, Team, assign, blank, listing, ordered, sanitize_phone

FIELDS = (
    "first_name",
    "last_name",
    "organization_name",
    "title",
    "account_id",
    "email",
    "website_url",
    "contact_stage_id",
    "present_raw_address",
    "typed_custom_fields",
    "owner_id",
    "linkedin_url",
)
PHONES = (
    ("direct_phone", "work_direct"),
    ("corporate_phone", "work_hq"),
    ("mobile_phone", "mobile"),
    ("home_phone", "home"),
    ("other_phone", "other"),
)
SORTS = (
    "contact_last_activity_date",
    "contact_email_last_opened_at",
    "contact_email_last_clicked_at",
    "contact_created_at",
    "contact_updated_at",
)
# Sort names map onto the row fields they order by.
SORT_FIELDS = {
    "contact_created_at": "created_at",
    "contact_updated_at": "updated_at",
    "contact_last_activity_date": "last_activity_date",
    "contact_email_last_opened_at": "email_last_opened_at",
    "contact_email_last_clicked_at": "email_last_clicked_at",
}

# email -> (person id, email status, employer's organization id)
PersonLookup = Callable[[str], tuple[str, str, str] | None]


def bad_reference(team: Team, args: dict[str, Any]) -> Reply | None:
    """422 for an account, stage or owner id that names nothing."""
    checks = (
        ("account_id", team.accounts),
        ("contact_stage_id", team.contact_stages),
        ("owner_id", team.users),
    )
    for name, table in checks:
        value = args.get(name)
        if not blank(value) and str(value) not in table:
            return misconfigured(value)
    return None


def _duplicate(team: Team, args: dict[str, Any]) -> tuple[Row | None, str | None]:
    """Apollo's dedupe order: id, person_id, email, then name + company; and what matched."""
    contacts = team.contacts
    if (cid := as_text(args.get("id"))) and cid in contacts:
        return contacts[cid], "id"
    if (pid := as_text(args.get("person_id"))) and pid in team.contact_by_person:
        return contacts[team.contact_by_person[pid]], "person_id"
    rows = list(contacts.values())
    email = (as_text(args.get("email")) or "").lower()
    hit = next((r for r in rows if email and (r["email"] or "").lower() == email), None)
    if hit is not None:
        return hit, "email"
    key = _name_key(args)
    if all(key):
        hit = next((r for r in rows if _name_key(r) == key), None)
        return hit, "name_and_organization" if hit else None
    return None, None


def _name_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return tuple(  # type: ignore[return-value]
        (as_text(row.get(f)) or "").lower()
        for f in ("first_name", "last_name", "organization_name")
    )


def _write(team: Team, row: Row, args: dict[str, Any], find_person: PersonLookup) -> list[Row]:
    assign(row, args, FIELDS)
    row["name"] = " ".join(filter(None, (row.get("first_name"), row.get("last_name")))) or None
    if "email" in args:
        _link_person(team, row, find_person)
    _write_phones(row, args)
    if row.get("account_id"):
        row["organization_id"] = team.accounts[row["account_id"]]["organization_id"]
    labels: list[Row] = []
    if "label_names" in args:  # replaces all of the contact's lists
        labels = team.labels_for(as_strs(args["label_names"]), "contacts")
        row["label_ids"] = [lb["id"] for lb in labels]
    row["updated_at"] = team.now()
    team.recount_labels()
    return labels or [team.labels[i] for i in row["label_ids"]]


def _link_person(team: Team, row: Row, find_person: PersonLookup) -> None:
    """A known email links the Apollo person and takes its status; others are unverified."""
    found = find_person(row["email"]) if row["email"] else None
    row["email_status"] = (found[1] if found else "unverified") if row["email"] else None
    if found and not row.get("person_id"):
        row["person_id"] = found[0]  # protected once set, as in Apollo
        team.contact_by_person[found[0]] = row["id"]
    if found and not row.get("organization_id"):
        row["organization_id"] = found[2]  # Apollo links the person's employer


def _write_phones(row: Row, args: dict[str, Any]) -> None:
    numbers = {n["type"]: n for n in row["phone_numbers"]}
    for name, kind in PHONES:
        if name in args:
            raw = as_text(args[name])
            if raw:
                numbers[kind] = {
                    "raw_number": raw,
                    "sanitized_number": sanitize_phone(raw),
                    "type": kind,
                    "position": 0,
                    "status": "no_status",
                }
            else:
                numbers.pop(kind, None)
    row["phone_numbers"] = [{**n, "position": i} for i, n in enumerate(numbers.values())]
    row["sanitized_phone"] = row["phone_numbers"][0]["sanitized_number"] if numbers else None


def _new_row(team: Team) -> Row:
    now = team.now()
    return {
        "id": team.new_id(),
        "first_name": None,
        "last_name": None,
        "name": None,
        "linkedin_url": None,
        "title": None,
        "contact_stage_id": next(iter(team.contact_stages)),
        "owner_id": team.owner_id,
        "creator_id": team.owner_id,
        "person_id": None,
        "organization_name": None,
        "organization_id": None,
        "account_id": None,
        "website_url": None,
        "source": "api",
        "original_source": "api",
        "email": None,
        "email_status": None,
        "sanitized_phone": None,
        "phone_numbers": [],
        "label_ids": [],
        "typed_custom_fields": {},
        "custom_field_errors": None,
        "present_raw_address": None,
        "created_at": now,
        "updated_at": now,
        "last_activity_date": None,
        "email_last_opened_at": None,
        "email_last_clicked_at": None,
        "emailer_campaign_ids": [],
        "contact_campaign_statuses": [],
        "city": None,
        "state": None,
        "country": None,
        "time_zone": None,
        "existence_level": "full",
        "source_display_name": "Created from API",
    }


def create(team: Team, find_person: PersonLookup, call: Invocation) -> Reply:
    """POST /contacts: always a new contact unless run_dedupe finds a match."""
    if refusal := bad_reference(team, call.args):
        return refusal
    dedupe = as_bool(call.args.get("run_dedupe"))
    row, matched_by = _duplicate(team, call.args) if dedupe else (None, None)
    if row is None:
        row = _new_row(team)
        team.contacts[row["id"]] = row
    labels = _write(team, row, call.args, find_person)
    body: Row = {"contact": with_organization(team, row), "labels": labels}
    if dedupe:
        body["dedupe_result"] = _dedupe_result(row, matched_by)
    return ok(body)


def _dedupe_result(row: Row, matched_by: str | None) -> Row:
    """What run_dedupe did. No public Apollo example shows this object: its shape is ours."""
    return {
        "duplicate_found": matched_by is not None,
        "action": "updated" if matched_by else "created",
        "matched_by": matched_by,
        "contact_id": row["id"],
    }


def with_organization(team: Team, row: Row) -> Row:
    """The contact with its Apollo organization embedded, as Apollo returns it."""
    org_id = row.get("organization_id")
    return {**row, "organization": team.organization(org_id) if org_id else None}


def update(team: Team, find_person: PersonLookup, call: Invocation) -> Reply:
    """PATCH /contacts/{contact_id}: unknown ids are a 422, as Apollo answers."""
    contact_id = call.path["contact_id"]
    row = team.contacts.get(contact_id)
    if row is None:
        return misconfigured(contact_id)
    if refusal := bad_reference(team, call.args):
        return refusal
    labels = _write(team, row, call.args, find_person)
    return ok({"contact": with_organization(team, row), "labels": labels})


def render(team: Team, row: Row) -> Row:
    """A contact as search shows it, with its account embedded."""
    account = team.accounts.get(row["account_id"] or "")
    return {
        **with_organization(team, row),
        "account": account,
        "contact_job_change_event": None,
    }


def _matches(
    row: Row, words: list[str], stages: set[str], labels: set[str], seqs: set[str]
) -> bool:
    if stages and row["contact_stage_id"] not in stages:
        return False
    if labels and labels.isdisjoint(row["label_ids"]):
        return False
    if seqs and seqs.isdisjoint(row["emailer_campaign_ids"]):
        return False
    fields = ("name", "title", "organization_name", "email")
    text = " ".join(str(row.get(f) or "") for f in fields).lower()
    return all(w in text for w in words)


def search(team: Team, call: Invocation) -> Reply:
    """POST /contacts/search: the team's saved contacts only."""
    args = call.args
    words = (as_text(args.get("q_keywords")) or "").lower().split()
    stages = set(as_strs(args.get("contact_stage_ids")))
    labels = set(as_strs(args.get("contact_label_ids")))
    # Undocumented but observed live: emailer_campaign_ids filters contacts.
    seqs = set(as_strs(args.get("emailer_campaign_ids")))
    rows = [r for r in team.contacts.values() if _matches(r, words, stages, labels, seqs)]
    field = SORT_FIELDS.get(as_text(args.get("sort_by_field")) or "")
    rows = ordered(rows, field, args.get("sort_ascending"))
    crumbs = breadcrumbs.of(args, CRUMBS, names_for=team.crumb_name)
    return listing(
        "contacts", rows, page_of(args), lambda r: render(team, r), {"breadcrumbs": crumbs}
    )


CRUMBS = ("q_keywords", "contact_stage_ids", "contact_label_ids", "emailer_campaign_ids")
