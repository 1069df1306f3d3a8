"""The generated people: records, lookups and People API Search."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bollard.sandbox import vocabulary as v
from bollard.sandbox.args import as_bool, as_strs, as_text
from bollard.sandbox.clock import iso
from bollard.sandbox.exchange import Invocation, Reply, ok, page_of
from bollard.sandbox.organizations import Organization, OrganizationIndex, domains

CACHE_SIZE = 512
# Generated records were "last refreshed" in the weeks before this moment.
REFRESHED_BEFORE = 1_764_547_200  # 2025-12-01


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    first_name: str
    last_name: str
    title: str
    seniority: str
    department: str
    org: int  # index into the organizations
    previous_org: int  # -1 when none
    location: tuple[str, str, str]
    email: str | None
    email_status: str
    mobile: str | None
    refreshed: int
    # Lowercased copies the filters compare against, computed once.
    title_lower: str
    location_lower: str
    text_lower: str  # name, title and employer, for q_keywords

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def linkedin_url(self) -> str:
        return f"http://www.linkedin.com/in/{self.first_name.lower()}-{self.last_name.lower()}-{self.id[:6]}"


def generate(rng: random.Random, count: int, orgs: list[Organization]) -> list[Person]:
    """`count` people spread over `orgs`, with unique emails."""
    seniorities = [s for s, _ in v.SENIORITIES]
    weights = [w for _, w in v.SENIORITIES]
    statuses = [s for s, _ in v.EMAIL_STATUSES]
    status_weights = [w for _, w in v.EMAIL_STATUSES]
    departments = list(v.DEPARTMENTS)
    taken: set[str] = set()
    people = []
    for _ in range(count):
        seniority = rng.choices(seniorities, weights)[0]
        status = rng.choices(statuses, status_weights)[0]
        people.append(_person(rng, orgs, seniority, rng.choice(departments), status, taken))
    return people


def _person(
    rng: random.Random,
    orgs: list[Organization],
    seniority: str,
    department: str,
    status: str,
    taken: set[str],
) -> Person:
    first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
    org_index = rng.randrange(len(orgs))
    org = orgs[org_index]
    location = org.location if rng.random() < 0.6 else rng.choice(v.LOCATIONS)
    title = v.title_for(seniority, department)
    email = None if status == "unavailable" else _email(first, last, org.domain, taken)
    return Person(
        id=f"{rng.getrandbits(96):024x}",
        first_name=first,
        last_name=last,
        title=title,
        seniority=seniority,
        department=department,
        org=org_index,
        previous_org=rng.randrange(len(orgs)) if rng.random() < 0.5 else -1,
        location=location,
        email=email,
        email_status=status,
        mobile=f"+1 650-555-{rng.randrange(10_000):04d}" if rng.random() < 0.55 else None,
        refreshed=REFRESHED_BEFORE - rng.randrange(60 * 86_400),
        title_lower=title.lower(),
        location_lower=", ".join(location).lower(),
        text_lower=f"{first} {last} {title} {org.name}".lower(),
    )


def _email(first: str, last: str, domain: str, taken: set[str]) -> str:
    local = f"{first}.{last}".lower()
    email, n = f"{local}@{domain}", 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{domain}"
    taken.add(email)
    return email


def obfuscate(last_name: str) -> str:
    """`Huston` → `Hu***n`, as People API Search shows last names."""
    return f"{last_name[:2]}***{last_name[-1]}"


class PeopleIndex:
    """People with the lookups enrichment needs and a cache of search results."""

    def __init__(self, people: list[Person], orgs: OrganizationIndex) -> None:
        self.people = people
        self.orgs = orgs
        self.by_id = {p.id: p for p in people}
        self.by_email = {p.email: p for p in people if p.email}
        self.by_name: dict[tuple[str, str], list[Person]] = {}
        for p in people:
            self.by_name.setdefault((p.first_name.lower(), p.last_name.lower()), []).append(p)
        self._by_hash: dict[str, Person] | None = None
        self._by_linkedin: dict[str, Person] | None = None
        self._cache: dict[str, list[int]] = {}
        # Rendered search stubs, filled on first use: the records never change.
        self._stubs: list[dict[str, Any] | None] = [None] * len(people)

    def stub(self, i: int) -> dict[str, Any]:
        """The search result for person `i`, rendered once."""
        hit = self._stubs[i]
        if hit is None:
            person = self.people[i]
            hit = self._stubs[i] = stub(person, self.orgs.orgs[person.org])
        return hit

    def org_of(self, person: Person) -> Organization:
        return self.orgs.orgs[person.org]

    def by_hash(self, digest: str) -> Person | None:
        if self._by_hash is None:  # built on first use: most runs never hash
            self._by_hash = {}
            for email, p in self.by_email.items():
                self._by_hash[hashlib.md5(email.encode()).hexdigest()] = p  # noqa: S324
                self._by_hash[hashlib.sha256(email.encode()).hexdigest()] = p
        return self._by_hash.get(digest.lower())

    def by_linkedin(self, url: str) -> Person | None:
        if self._by_linkedin is None:
            self._by_linkedin = {p.linkedin_url: p for p in self.people}
        return self._by_linkedin.get(url.rstrip("/").replace("https://", "http://"))

    def search(self, args: dict[str, Any]) -> list[int]:
        """Indexes of the people passing every filter; unknown filters are ignored."""
        filters = {k: a for k, a in args.items() if k not in NOT_FILTERS}
        # repr of the sorted items is a cheap, exact-enough cache key (misses only cost a scan).
        key = repr(sorted(filters.items()))
        hit = self._cache.get(key)
        if hit is None:
            hit = self._scan(filters)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _scan(self, args: dict[str, Any]) -> list[int]:
        tests = _person_tests(args)
        employers, domain_orgs = self._org_sets(args)
        out = []
        for i, p in enumerate(self.people):
            if employers is not None and p.org not in employers:
                continue
            # Domains match the current *or a previous* employer, as Apollo documents.
            if domain_orgs is not None and not (
                p.org in domain_orgs or p.previous_org in domain_orgs
            ):
                continue
            if all(t(p) for t in tests):
                out.append(i)
        return out

    def _org_sets(self, args: dict[str, Any]) -> tuple[set[int] | None, set[int] | None]:
        """Allowed current employers, and organizations named by domain (None: no filter)."""
        org_args = {k: a for k, a in args.items() if k.startswith(ORG_PREFIXES)}
        wanted = domains(org_args)
        for name in ("q_organization_domains_list", *NOT_PEOPLE_FILTERS):
            org_args.pop(name, None)
        employers = set(self.orgs.matching(org_args)) if org_args else None
        if not wanted:
            return employers, None
        return employers, {i for i, o in enumerate(self.orgs.orgs) if o.domain in wanted}


ORG_PREFIXES = ("organization_", "q_organization_", "revenue_range", "currently_")
NOT_FILTERS = frozenset(("page", "per_page"))
# Organization Search filters that People API Search does not document (so ignores).
NOT_PEOPLE_FILTERS = ("q_organization_name", "organization_not_locations")


PersonTest = Callable[[Person], bool]


def _person_tests(args: dict[str, Any]) -> list[PersonTest]:
    tests: list[PersonTest] = []
    titles = [t.lower() for t in as_strs(args.get("person_titles"))]
    if titles and as_bool(args.get("include_similar_titles", True)):
        tests.append(lambda p: any(t in p.title_lower for t in titles))
    elif titles:
        tests.append(lambda p: p.title_lower in titles)
    if seniorities := set(as_strs(args.get("person_seniorities"))):
        tests.append(lambda p: p.seniority in seniorities)
    if departments := set(as_strs(args.get("person_departments"))):
        tests.append(lambda p: p.department in departments)
    if places := [t.lower() for t in as_strs(args.get("person_locations"))]:
        tests.append(lambda p: any(t in p.location_lower for t in places))
    if statuses := set(as_strs(args.get("contact_email_status"))):
        tests.append(lambda p: p.email_status in statuses)
    if words := (as_text(args.get("q_keywords")) or "").lower().split():
        tests.append(lambda p: all(w in p.text_lower for w in words))
    return tests


def stub(person: Person, org: Organization) -> dict[str, Any]:
    """A People API Search result: no email, no phone, last name obfuscated."""
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name_obfuscated": obfuscate(person.last_name),
        "title": person.title,
        "last_refreshed_at": iso(person.refreshed),
        "has_email": person.email is not None,
        "has_city": True,
        "has_state": True,
        "has_country": True,
        "has_direct_phone": "Yes" if person.mobile else "Maybe: please try again later",
        "organization": {
            "name": org.name,
            "has_industry": True,
            "has_phone": True,
            "has_city": True,
            "has_state": True,
            "has_country": True,
            "has_zip_code": False,
            "has_revenue": True,
            "has_employee_count": True,
        },
    }


def search(index: PeopleIndex, call: Invocation) -> Reply:
    """POST /mixed_people/api_search: `{total_entries, people}`, no credits."""
    page = page_of(call.args)
    hits = index.search(call.args)
    rows = [index.stub(i) for i in page.slice(hits)]
    return ok({"total_entries": len(hits), "people": rows})
