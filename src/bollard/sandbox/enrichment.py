"""People Enrichment and Bulk People Enrichment, with credits and phone reveals."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bollard.sandbox import organizations
from bollard.sandbox.args import as_bool, as_text
from bollard.sandbox.clock import iso
from bollard.sandbox.exchange import Invocation, Reply, error, ok
from bollard.sandbox.people import PeopleIndex, Person
from bollard.sandbox.places import GDPR_COUNTRIES
from bollard.sandbox.webhooks import Webhooks

BULK_MAX = 10
PERSON_CREDITS = 1
MOBILE_CREDITS = 8
# Apollo's text for reveal_phone_number; the waterfall flags get the same sentence.
WEBHOOK_MISSING = "Please add a valid 'webhook_url' parameter when using '{flag}'"
WEBHOOK_FLAGS = ("reveal_phone_number", "run_waterfall_email", "run_waterfall_phone")
WATERFALL_FLAGS = ("run_waterfall_email", "run_waterfall_phone")
WATERFALL_ACCEPTED = (
    "Waterfall enrichment has started; results will be sent to the webhook_url when it finishes."
)


@dataclass(slots=True)
class Enricher:
    """Everything enrichment touches: the people, the webhooks, the team's contacts."""

    people: PeopleIndex
    webhooks: Webhooks
    contact_for: Callable[[str], dict[str, Any] | None]
    rng: random.Random

    def request_id(self) -> int:
        # Apollo's request ids are signed 64-bit integers, often negative.
        return self.rng.getrandbits(64) - 2**63

    def find(self, query: dict[str, Any]) -> Person | None:
        """The closest person, by id, email, hashed email, LinkedIn, or name + employer."""
        index = self.people
        if (pid := as_text(query.get("id"))) and (p := index.by_id.get(pid)):
            return p
        if (email := as_text(query.get("email"))) and (p := index.by_email.get(email.lower())):
            return p
        if (digest := as_text(query.get("hashed_email"))) and (p := index.by_hash(digest)):
            return p
        if (url := as_text(query.get("linkedin_url"))) and (p := index.by_linkedin(url)):
            return p
        return self._by_name(query)

    def _by_name(self, query: dict[str, Any]) -> Person | None:
        first, last = as_text(query.get("first_name")), as_text(query.get("last_name"))
        if not (first and last) and (name := as_text(query.get("name"))):
            first, _, last = name.partition(" ")
        domain = as_text(query.get("domain"))
        employer = as_text(query.get("organization_name"))
        if not (first and last and (domain or employer)):
            return None  # too little to go on: Apollo answers with no record
        for p in self.people.by_name.get((first.lower(), last.strip().lower()), []):
            org = self.people.org_of(p)
            if domain and org.domain == organizations.clean_domain(domain):
                return p
            if employer and employer.lower() in org.name_lower:
                return p
        return None

    def record(self, p: Person, personal_emails: bool) -> dict[str, Any]:
        """The full enriched person, with email, history and organization."""
        org = self.people.org_of(p)
        city, state, country = p.location
        personal = personal_emails and p.email and country not in GDPR_COUNTRIES
        return {
            "id": p.id,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "name": p.name,
            "linkedin_url": p.linkedin_url,
            "title": p.title,
            "email_status": p.email_status if p.email else None,
            "photo_url": None,
            "twitter_url": None,
            "github_url": None,
            "facebook_url": None,
            "extrapolated_email_confidence": None,
            "headline": f"{p.title} at {org.name}",
            "email": p.email,
            "personal_emails": [f"{p.first_name}.{p.last_name}@gmail.com".lower()]
            if personal
            else [],
            "organization_id": org.id,
            "employment_history": self._history(p),
            "state": state,
            "city": city,
            "country": country,
            "contact_id": (contact := self.contact_for(p.id)) and contact["id"],
            "contact": contact,
            "revealed_for_current_team": True,
            "organization": organizations.full(org),
            "is_likely_to_engage": p.email_status == "likely to engage",
            "show_intent": False,
            "departments": [f"master_{d}" for d in p.departments],
            "subdepartments": list(p.departments),
            "functions": list(p.departments),
            "seniority": p.seniority,
        }

    def _history(self, p: Person) -> list[dict[str, Any]]:
        jobs = [(self.people.org_of(p), p.title, True)]
        if p.previous_org >= 0:
            jobs.append((self.people.orgs.orgs[p.previous_org], "Previous role", False))
        return [
            {
                "_id": f"{p.id[:16]}{n:08x}",
                "id": f"{p.id[:16]}{n:08x}",
                "key": f"{p.id[:16]}{n:08x}",
                "created_at": None,
                "current": current,
                "degree": None,
                "description": None,
                "emails": None,
                "end_date": None if current else "2021-06-01",
                "grade_level": None,
                "kind": None,
                "major": None,
                "organization_id": org.id,
                "organization_name": org.name,
                "raw_address": None,
                "start_date": "2021-07-01" if current else "2017-03-01",
                "title": title,
                "updated_at": None,
            }
            for n, (org, title, current) in enumerate(jobs)
        ]

    def reveal_phones(self, call: Invocation, found: list[Person], request_id: int) -> str:
        """Start an async phone reveal; 'skipped' when these people are already in flight."""
        fresh = [p for p in found if p.id not in self.webhooks.pending]
        if not fresh:
            return "skipped"
        with_phone = [p for p in fresh if p.mobile]
        # Apollo runs the reveal whether or not the webhook answers, so it charges now.
        call.charge(MOBILE_CREDITS * len(with_phone), "mobile_phone")
        payload = {
            "request_id": request_id,
            "status": "success",
            "total_requested_enrichments": len(fresh),
            "unique_enriched_records": len(with_phone),
            "missing_records": len(fresh) - len(with_phone),
            "credits_consumed": MOBILE_CREDITS * len(with_phone),
            "people": [_phone_result(p, call.now) for p in fresh],
        }
        url = str(call.args["webhook_url"])
        self.webhooks.send_later(url, payload, [p.id for p in fresh])
        return "pending"

    def run_waterfall(self, call: Invocation, found: list[Person], request_id: int) -> None:
        """Send what the waterfall found for `found` to the webhook later."""
        people = [_waterfall_result(p, call.args, call.now) for p in found]
        payload = {
            "request_id": request_id,
            "request_type": "waterfall",
            "status": "success",
            "total_requested_enrichments": len(found),
            "people": people,
        }
        self.webhooks.send_later(str(call.args["webhook_url"]), payload, [])


def _as_waterfall(body: dict[str, Any], request_id: int, args: dict[str, Any]) -> None:
    """Apollo's bulk answer with a waterfall: the counts give way to the waterfall block."""
    for key in ("unique_enriched_records", "missing_records", "credits_consumed"):
        del body[key]
    body["waterfall"] = _waterfall_block(request_id)
    if as_bool(args.get("run_waterfall_email")):
        for match in body["matches"]:
            if match is not None:
                del match["email"], match["email_status"]


def _phone_result(p: Person, now: float) -> dict[str, Any]:
    if not p.mobile:
        return {"id": p.id, "status": "no_phone_found", "phone_numbers": []}
    digits = "+" + "".join(c for c in p.mobile if c.isdigit())
    number = {
        "_id": f"{p.id[:12]}{'0' * 12}",
        "confidence_cd": "high",
        "direct_dial_source_cd": "apollo",
        "dnc_status_cd": None,
        "raw_number": p.mobile,
        "sanitized_number": digits,
        "status_cd": "valid_number",
        "type_cd": "mobile",
        "position": 0,
        "updated_at": iso(now),
    }
    return {"id": p.id, "status": "success", "phone_numbers": [number]}


def _missing_webhook(args: dict[str, Any]) -> Reply | None:
    """Apollo's 400 for the first async flag set without a webhook_url."""
    if as_text(args.get("webhook_url")):
        return None
    flag = next((f for f in WEBHOOK_FLAGS if as_bool(args.get(f))), None)
    return error(400, WEBHOOK_MISSING.format(flag=flag)) if flag else None


def _waterfall(args: dict[str, Any]) -> bool:
    return any(as_bool(args.get(f)) for f in WATERFALL_FLAGS)


def _waterfall_block(request_id: int) -> dict[str, Any]:
    return {"request_id": request_id, "status": "accepted", "message": WATERFALL_ACCEPTED}


def _waterfall_result(p: Person, args: dict[str, Any], now: float) -> dict[str, Any]:
    """What the waterfall found for one person, as its webhook delivers it."""
    out: dict[str, Any] = {"id": p.id, "status": "success"}
    if as_bool(args.get("run_waterfall_email")):
        out["emails"] = [{"email": p.email, "email_status": p.email_status}] if p.email else []
    if as_bool(args.get("run_waterfall_phone")):
        out["phone_numbers"] = _phone_result(p, now)["phone_numbers"]
    return out


def match(enricher: Enricher, call: Invocation) -> Reply:
    """POST /people/match: one person, 1 credit when found, phones later by webhook."""
    if refusal := _missing_webhook(call.args):
        return refusal
    request_id = enricher.request_id()
    person = enricher.find(call.args)
    waterfall = _waterfall(call.args)
    # No match: 200 with `person: null` (OAS: "no enriched record"), nothing charged.
    body: dict[str, Any] = {"person": None, "request_id": request_id}
    if waterfall:
        body["waterfall"] = _waterfall_block(request_id)
    if person is None:
        return ok(body)
    call.charge(PERSON_CREDITS, "person")
    if as_bool(call.args.get("reveal_phone_number")):
        enricher.reveal_phones(call, [person], request_id)
    if waterfall:
        enricher.run_waterfall(call, [person], request_id)
    body["person"] = enricher.record(person, as_bool(call.args.get("reveal_personal_emails")))
    if as_bool(call.args.get("run_waterfall_email")):
        del body["person"]["email"], body["person"]["email_status"]  # they come by webhook
    return ok(body)


def _failed(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"status": "failed", "error_code": code, "error_message": message})


def _check_details(details: Any) -> Reply | None:
    if details is None or details == [] or details == "":
        return _failed(400, "INVALID_REQUEST", "invalid request, missing details")
    if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
        return _failed(422, "UNKNOWN_ERROR", "no implicit conversion of Symbol into Integer")
    if len(details) > BULK_MAX:
        return _failed(
            400, "RECORD_LIMIT_EXCEEDED", "cannot enrich more than 10 in a single request"
        )
    return None


def bulk_match(enricher: Enricher, call: Invocation) -> Reply:
    """POST /people/bulk_match: up to 10 people; unmatched inputs come back as null."""
    details = call.args.get("details")
    refusal = _check_details(details) or _missing_webhook(call.args)
    if refusal is not None:
        return refusal
    assert isinstance(details, list)
    found = [enricher.find(d) for d in details]
    unique = list({p.id: p for p in found if p is not None}.values())
    call.charge(PERSON_CREDITS * len(unique), "person")
    personal = as_bool(call.args.get("reveal_personal_emails"))
    request_id = enricher.request_id()
    body: dict[str, Any] = {
        "status": "success",
        "error_code": None,
        "error_message": None,
        "total_requested_enrichments": len(details),
        "unique_enriched_records": len(unique),
        "missing_records": len(details) - sum(p is not None for p in found),
        "credits_consumed": PERSON_CREDITS * len(unique),
        "matches": [enricher.record(p, personal) if p else None for p in found],
        "request_id": request_id,
    }
    if _waterfall(call.args):
        _as_waterfall(body, request_id, call.args)
        if unique:
            enricher.run_waterfall(call, unique, request_id)
    elif as_bool(call.args.get("reveal_phone_number")) and unique:
        status = enricher.reveal_phones(call, unique, request_id)
        body["phone_enrichment"] = {
            "request_id": request_id,
            "status": status,
            "message": "Phone numbers will be sent to the webhook_url"
            if status == "pending"
            else "These people are already being enriched by an earlier request",
        }
    return ok(body)
