"""Reads by id and reference lists: records, stages, profile, credits, enrichment extras.

Each answers in the shape of Apollo's document, with its documented error for
an id that names nothing; the ones that spend credits charge the ledger.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bollard.sandbox import organizations
from bollard.sandbox.args import as_bool, as_strs
from bollard.sandbox.clock import iso
from bollard.sandbox.credits import CreditLedger
from bollard.sandbox.enrichment import Enricher
from bollard.sandbox.exchange import Invocation, Reply, error, ok, page_of
from bollard.sandbox.organizations import OrganizationIndex
from bollard.sandbox.team import Row, Team
from bollard.sandbox.webhooks import Webhooks

BULK_MAX = 10
NEWS_CATEGORIES = ("hires", "investment", "partnership", "product_launch")
# Credit types of POST /usage_stats/credit_usage_stats, and the ledger reasons in each.
CREDIT_TYPES = {
    "lead_credit": ("person", "organization", "page", "news", "job_postings"),
    "direct_dial_credit": ("mobile_phone",),
    "export_credit": (),
    "conversation_credit": ("conversation",),
    "ai_credit": (),
    "power_up_credit": (),
}
CREDIT_LIMIT = 10_000


def get_contact(team: Team, call: Invocation) -> Reply:
    """GET /contacts/{contact_id}."""
    row = team.contacts.get(call.path["contact_id"])
    if row is None:
        return error(422, "Oops! This contact does not exist in Apollo.")
    return ok({"contact": row, "labels": [team.labels[i] for i in row["label_ids"]]})


def get_account(team: Team, call: Invocation) -> Reply:
    """GET /accounts/{id}."""
    row = team.accounts.get(call.path["id"])
    if row is None:
        return error(422, "Parameters misconfigured. id is not a valid ID")
    return ok({"account": row, "salesforce_users": [], "hubspot_owners": []})


def _deal(team: Team, row: Row) -> Row:
    return {**row, "account": team.accounts.get(row.get("account_id") or "")}


def get_deal(team: Team, call: Invocation) -> Reply:
    """GET /opportunities/{opportunity_id}: a well-formed unknown id is 404, as documented."""
    row = team.deals.get(call.path["opportunity_id"])
    if row is None:
        return Reply(404, {"status": 404, "error": "Not Found"})
    return ok({"opportunity": _deal(team, row)})


def contact_deals(team: Team, call: Invocation) -> Reply:
    """POST /contacts/{contact_id}/opportunities: the deals on the contact's account."""
    contact = team.contacts.get(call.path["contact_id"])
    account = contact["account_id"] if contact else None
    deals = [_deal(team, d) for d in team.deals.values() if account and d["account_id"] == account]
    return ok({"opportunities": deals})


def _stages(team: Team, rows: dict[str, Row], extra: Row) -> list[Row]:
    return [{**r, "team_id": team.id, "display_name": r["name"], **extra} for r in rows.values()]


def list_contact_stages(team: Team, call: Invocation) -> Reply:
    """GET /contact_stages."""
    return ok({"contact_stages": _stages(team, team.contact_stages, {"category": None})})


def list_account_stages(team: Team, call: Invocation) -> Reply:
    """GET /account_stages."""
    extra = {"default_exclude_for_leadgen": False, "category": None, "is_meeting_set": None}
    return ok({"account_stages": _stages(team, team.account_stages, extra)})


def list_deal_stages(team: Team, call: Invocation) -> Reply:
    """GET /opportunity_stages."""
    rows = []
    for r in team.deal_stages.values():
        won, closed = r["name"] == "Closed Won", r["name"].startswith("Closed")
        probability = 100 if won else 0 if closed else 10 * (r["display_order"] + 1)
        rows.append(
            {**r, "team_id": team.id, "is_won": won, "is_closed": closed,
             "probability": probability, "forecast_category_cd": None, "description": None,
             "salesforce_id": None, "is_meeting_set": None, "opportunity_pipeline_id": None}
        )  # fmt: skip
    return ok({"opportunity_stages": rows})


def profile(team: Team, ledger: CreditLedger, call: Invocation) -> Reply:
    """GET /users/api_profile: the key's owner (the first user)."""
    body = dict(team.users[team.owner_id])
    if as_bool(call.args.get("include_credit_usage")):
        body["credit_usage"] = _credit_usage(ledger)
    return ok(body)


def _credit_usage(ledger: CreditLedger) -> Row:
    spent = ledger.by_reason()
    out: Row = {}
    for kind, reasons in CREDIT_TYPES.items():
        consumed = sum(spent.get(r, 0) for r in reasons)
        out[kind] = {
            "limit": CREDIT_LIMIT,
            "consumed": consumed,
            "left_over": CREDIT_LIMIT - consumed,
        }
    return out


def credit_usage(ledger: CreditLedger, call: Invocation) -> Reply:
    """POST /usage_stats/credit_usage_stats: credits spent this cycle, by type."""
    cycle = {
        "start_date": iso(call.now - 86_400 * 15)[:10],
        "end_date": iso(call.now + 86_400 * 15)[:10],
    }
    return ok({"credit_usage_stats": _credit_usage(ledger), "current_credit_cycle": cycle})


def get_person(enricher: Enricher, call: Invocation) -> Reply:
    """GET /people/{id}: 1 credit per person found."""
    person = enricher.people.by_id.get(call.path["id"])
    if person is None:
        return error(422, "Person does not exist.")
    call.charge(1, "person")
    return ok({"person": enricher.record(person, False)})


def get_organization(index: OrganizationIndex, call: Invocation) -> Reply:
    """GET /organizations/{id}: 1 credit per company found."""
    at = index.by_id.get(call.path["id"])
    if at is None:
        return error(422, "Parameters misconfigured. id is not a valid ID")
    call.charge(1, "organization")
    return ok({"organization": organizations.full(index.orgs[at])})


def bulk_enrich_organizations(index: OrganizationIndex, call: Invocation) -> Reply:
    """POST /organizations/bulk_enrich: up to 10 by domains[] or details; 1 credit each found."""
    details = call.args.get("details")
    wanted: list[dict[str, Any]] = [{"domain": d} for d in as_strs(call.args.get("domains"))]
    if isinstance(details, list):
        wanted += [d for d in details if isinstance(d, dict)]
    if not wanted:
        return _failed(400, "INVALID_REQUEST", "invalid request, missing domains or details")
    if len(wanted) > BULK_MAX:
        return _failed(400, "RECORD_LIMIT_EXCEEDED", "domain count cannot be more than 10")
    found = [index.find(w) for w in wanted]
    unique = list({o.id: o for o in found if o is not None}.values())
    call.charge(len(unique), "organization")
    return ok(
        {
            "status": "success",
            "error_code": None,
            "error_message": None,
            "total_requested_records": len(wanted),
            "total_requested_domains": sum("domain" in w for w in wanted),
            "unique_domains": len({w.get("domain") for w in wanted if w.get("domain")}),
            "unique_records": len(unique),
            "unique_enriched_records": len(unique),
            "missing_records": sum(o is None for o in found),
            "organizations": [organizations.full(o) for o in unique],
        }
    )


def _failed(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"status": "failed", "error_code": code, "error_message": message})


def _seeded(*parts: str) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16)


def job_postings(index: OrganizationIndex, call: Invocation) -> Reply:
    """GET /organizations/{organization_id}/job_postings: 1 credit per page."""
    at = index.by_id.get(call.path["organization_id"])
    if at is None:
        return error(422, "Parameters misconfigured. organization_id is not a valid ID")
    org = index.orgs[at]
    titles = ("Account Executive", "Sales Development Representative", "Solutions Engineer")
    postings = [
        {
            "id": f"{org.id[:16]}{n:08x}",
            "title": titles[(_seeded(org.id) + n) % len(titles)],
            "url": f"https://jobs.example.invalid/{org.domain}/{n}",
            "city": None,
            "state": None,
            "country": None,
            "last_seen_at": iso(call.now),
            "posted_at": iso(call.now - 86_400 * (n + 3)),
        }
        for n in range(_seeded(org.id, "jobs") % 5)
    ]
    call.charge(1, "job_postings")
    return ok({"organization_job_postings": list(page_of(call.args).slice(postings))})


def news(index: OrganizationIndex, call: Invocation) -> Reply:
    """POST /news_articles/search: generated articles per company; 1 credit per page."""
    ids = [i for i in as_strs(call.args.get("organization_ids")) if i in index.by_id]
    if not as_strs(call.args.get("organization_ids")):
        return error(422, "organization_ids is required")
    wanted = set(as_strs(call.args.get("categories")))
    articles = []
    for oid in ids:
        org = index.orgs[index.by_id[oid]]
        for n in range(3):
            category = NEWS_CATEGORIES[(_seeded(oid) + n) % len(NEWS_CATEGORIES)]
            if wanted and category not in wanted:
                continue
            topic = category.replace("_", " ")
            articles.append(
                {"id": f"{oid[:16]}{n:08x}", "url": f"https://news.example.invalid/{org.domain}/{n}",
                 "domain": "news.example.invalid", "title": f"{org.name}: {topic}",
                 "snippet": f"{org.name} announced news in {topic}.",
                 "organization_ids": [oid], "published_at": iso(call.now - 86_400 * (n + 1)),
                 "event_categories": [category]}
            )  # fmt: skip
    page = page_of(call.args)
    call.charge(1, "news")
    return ok(
        {"pagination": page.pagination(len(articles)), "news_articles": list(page.slice(articles))}
    )


def webhook_result(webhooks: Webhooks, call: Invocation) -> Reply:
    """GET /webhook_result/{request_id}: the payload a reveal sent, or why there is none."""
    raw = call.path["request_id"]
    try:
        request_id = int(raw)
    except ValueError:
        return Reply(400, {"error_code": "invalid_request_id"})
    sent = [d for d in webhooks.deliveries if d.payload.get("request_id") == request_id]
    if not sent:
        pending = request_id in webhooks.scheduled
        body = (
            {"error_code": "result_pending", "retry_after_seconds": 10}
            if pending
            else {"error_code": "request_id_unknown"}
        )
        return Reply(404, body)
    last = sent[-1]
    return ok(
        {
            "request_id": request_id,
            "webhook_status": "delivered" if last.status and last.status < 300 else "failed",
            "request_type": "phone",
            "last_dispatched_at": iso(call.now),
            "failure_reason": None if last.status and last.status < 300 else last.note,
            "webhook_result": last.payload,
        }
    )
