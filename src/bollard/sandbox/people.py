"""People API Search over the generated people, on inverted indexes.

Each indexed filter (titles, seniorities, departments, locations, employers,
email statuses) names a set of keys with a posting list of people each. The
filter whose postings are fewest gives the candidates, in the order of its
keys; the others are checked per candidate. Title terms go through the
TitleIndex (term -> distinct titles), so a title search at a million people
touches only the titles that match.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

from bollard.sandbox import places, roster, titles
from bollard.sandbox.args import as_bool, as_strs, as_text
from bollard.sandbox.clock import iso
from bollard.sandbox.exchange import Invocation, Reply, ok, page_of
from bollard.sandbox.organizations import Organization, OrganizationIndex, domains

Person = roster.Person
CACHE_SIZE = 512


def generate(
    rng: random.Random, count: int, orgs: list[Organization], index: titles.TitleIndex
) -> list[Person]:
    """`count` people over `orgs` (see roster.py)."""
    return roster.generate(rng, count, orgs, index)


def obfuscate(last_name: str) -> str:
    """`Huston` → `Hu***n`, as People API Search shows last names."""
    return f"{last_name[:2]}***{last_name[-1]}"


def _postings(keys: Iterable[tuple[Any, int]]) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for key, i in keys:
        out.setdefault(key, []).append(i)
    return out


class PeopleIndex:
    """People with the lookups enrichment needs, inverted indexes and a result cache."""

    def __init__(
        self, people: list[Person], orgs: OrganizationIndex, title_index: titles.TitleIndex
    ) -> None:
        self.people = people
        self.orgs = orgs
        self.titles = title_index
        self.by_id = {p.id: p for p in people}
        self.by_email = {p.email: p for p in people if p.email}
        self.by_name: dict[tuple[str, str], list[Person]] = {}
        for p in people:
            self.by_name.setdefault((p.first_name.lower(), p.last_name.lower()), []).append(p)
        numbered = list(enumerate(people))
        self.by_title = _postings((p.title_id, i) for i, p in numbered)
        self.by_seniority = _postings((p.seniority, i) for i, p in numbered)
        self.by_department = _postings((d, i) for i, p in numbered for d in p.departments)
        self.by_place = _postings((p.place, i) for i, p in numbered)
        self.by_org = _postings((p.org, i) for i, p in numbered)
        self.by_status = _postings((p.email_status, i) for i, p in numbered)
        # Each indexed attribute as a column, to narrow candidates without a call per person.
        self.columns: dict[str, list[Any]] = {
            attr: [getattr(p, attr) for p in people]
            for attr in ("title_id", "seniority", "departments", "place", "org", "email_status")
        }
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

    def search(self, args: dict[str, Any]) -> Sequence[int]:
        """Indexes of the people passing every filter; unknown filters are ignored."""
        filters = {k: a for k, a in args.items() if k not in NOT_FILTERS}
        if not any(a not in (None, "", [], {}) for a in filters.values()):
            return range(len(self.people))
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
        indexed = self._indexed(args)
        if any(not keys for _, keys, _ in indexed):
            return []  # a filter no one can pass
        if not indexed:
            hits: list[int] = list(range(len(self.people)))
        else:
            # The filter with the fewest postings gives the candidates, already passing it.
            indexed.sort(key=lambda f: sum(len(f[2][k]) for k in f[1]))
            _, keys, index = indexed[0]
            # Grouped by key in a fixed order, not merged: sorting 100,000 hits
            # costs more than the rest of the search. Apollo promises no order either.
            hits = list(chain.from_iterable(index[k] for k in sorted(keys)))
            for attr, wanted, _ in indexed[1:]:
                hits = self._narrow(hits, attr, wanted)
        tests = self._unindexed(args)
        if not tests:
            return hits
        people = self.people
        return [i for i in hits if all(t(people[i]) for t in tests)]

    def _narrow(self, hits: list[int], attr: str, wanted: set[Any]) -> list[int]:
        """The hits whose `attr` is wanted, read from a column (no call per person)."""
        column = self.columns[attr]
        if attr == "departments":
            return [i for i in hits if not wanted.isdisjoint(column[i])]
        return [i for i in hits if column[i] in wanted]

    def _indexed(self, args: dict[str, Any]) -> list[tuple[str, set[Any], dict[Any, list[int]]]]:
        """(person attribute, wanted keys present in the index, postings) per indexed filter."""
        out: list[tuple[str, set[Any], dict[Any, list[int]]]] = []

        def add(attr: str, keys: set[Any], postings: dict[Any, list[int]]) -> None:
            out.append((attr, {k for k in keys if k in postings}, postings))

        if searched := as_strs(args.get("person_titles")):
            similar = as_bool(args.get("include_similar_titles", True))
            add("title_id", self.titles.matching(searched, similar), self.by_title)
        if seniorities := as_strs(args.get("person_seniorities")):
            add("seniority", set(seniorities), self.by_seniority)
        if departments := as_strs(args.get("person_departments")):
            add("departments", set(departments), self.by_department)
        if located := as_strs(args.get("person_locations")):
            add("place", places.matching(located), self.by_place)
        if statuses := as_strs(args.get("contact_email_status")):
            add("email_status", set(statuses), self.by_status)
        employers = self._employers(args)
        if employers is not None:
            add("org", employers, self.by_org)
        return out

    def _employers(self, args: dict[str, Any]) -> set[int] | None:
        """Allowed current employers from the organization filters (None: no filter)."""
        org_args = {k: a for k, a in args.items() if k.startswith(ORG_PREFIXES)}
        for name in ("q_organization_domains_list", *NOT_PEOPLE_FILTERS):
            org_args.pop(name, None)
        return set(self.orgs.matching(org_args)) if org_args else None

    def _unindexed(self, args: dict[str, Any]) -> list[PersonTest]:
        tests: list[PersonTest] = []
        if wanted := domains(args):
            # Domains match the current *or a previous* employer, as Apollo documents.
            named = {i for i, o in enumerate(self.orgs.orgs) if o.domain in wanted}
            tests.append(lambda p: p.org in named or p.previous_org in named)
        if words := titles.terms(as_text(args.get("q_keywords")) or ""):
            tests.append(self._keywords(set(words)))
        return tests

    def _keywords(self, words: set[str]) -> PersonTest:
        """Every keyword is a whole term of the name, title or employer's name."""
        term_sets, org_terms = self.titles.term_sets, self.orgs.name_terms

        def test(p: Person) -> bool:
            have = term_sets[p.title_id] | org_terms[p.org]
            return words <= (have | {p.first_name.lower(), p.last_name.lower()})

        return test


ORG_PREFIXES = ("organization_", "q_organization_", "revenue_range", "currently_")
NOT_FILTERS = frozenset(("page", "per_page"))
# Organization Search filters that People API Search does not document (so ignores).
NOT_PEOPLE_FILTERS = ("q_organization_name", "organization_not_locations")

PersonTest = Callable[[Person], bool]


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
