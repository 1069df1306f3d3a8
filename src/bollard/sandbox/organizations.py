"""The generated organizations: records, filters, search and enrichment."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bollard.sandbox import breadcrumbs, places, titles
from bollard.sandbox import vocabulary as v
from bollard.sandbox.args import as_float, as_strs, as_text
from bollard.sandbox.exchange import Invocation, Reply, error, ok, page_of

PAGE_CACHE_SIZE = 512


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    domain: str
    industry: str
    keywords: tuple[str, ...]
    employees: int
    revenue: int
    technologies: tuple[str, ...]  # uids
    place: int  # index into places.PLACES: the headquarters
    founded_year: int
    phone: str
    funding_total: int | None
    funding_latest: int | None
    funding_date: str | None
    funding_stage: str | None
    # Lowercased copies the filters compare against, computed once.
    name_lower: str
    tags_lower: tuple[str, ...]

    @property
    def slug(self) -> str:
        return self.domain.split(".")[0]

    @property
    def location(self) -> tuple[str, str, str]:
        """(city, state or region, country) of the headquarters."""
        return places.PLACES[self.place].parts


def generate(rng: random.Random, count: int) -> list[Organization]:
    """`count` organizations with unique names and domains."""
    combos = len(v.COMPANY_ADJECTIVES) * len(v.COMPANY_NOUNS)
    picks = rng.sample(range(combos), min(count, combos))
    picks += [rng.randrange(combos) for _ in range(count - len(picks))]
    return [_organization(rng, i, pick) for i, pick in enumerate(picks)]


def _headcount(rng: random.Random) -> int:
    # Most companies are small, a long tail is large: the median is about 15
    # people, one in six has over 200, one in thirty over 2,000 (capped at 60,000).
    return int(10 ** min(4.8, 0.3 + rng.expovariate(1 / 0.95)))


def _technologies(rng: random.Random, favoured: tuple[str, ...], employees: int) -> tuple[str, ...]:
    # Larger companies run more tools; each draws from its industry's and the common ones.
    count = min(3 + int(employees**0.25), 14)
    pool = list(dict.fromkeys((*favoured, *v.COMMON_TECHNOLOGIES)))
    chosen = set(favoured[: max(1, len(favoured) // 2)])
    chosen.update(rng.sample(pool, min(count, len(pool))))
    return tuple(t[0] for t in v.TECHNOLOGIES if t[0] in chosen)


def _organization(rng: random.Random, index: int, pick: int) -> Organization:
    adjective, noun = divmod(pick, len(v.COMPANY_NOUNS))
    stem = v.COMPANY_ADJECTIVES[adjective] + v.COMPANY_NOUNS[noun]
    if index >= len(v.COMPANY_ADJECTIVES) * len(v.COMPANY_NOUNS):
        stem += str(index)  # more organizations asked for than names: keep them unique
    name = stem + rng.choice(v.COMPANY_SUFFIXES)
    domain = f"{stem.lower()}.{rng.choice(v.TLDS)}"
    industry, keywords, (low, high), favoured = rng.choice(v.INDUSTRIES)
    employees = _headcount(rng)
    founded = rng.randint(max(1975, 2024 - int(employees**0.5) * 2), 2024)
    funding = _funding(rng, employees, founded)
    return Organization(
        id=f"{rng.getrandbits(96):024x}",
        name=name,
        domain=domain,
        industry=industry,
        keywords=keywords,
        employees=employees,
        revenue=employees * rng.randrange(low, high) * 1000,
        technologies=_technologies(rng, favoured, employees),
        place=rng.choices(range(len(places.PLACES)), places.WEIGHTS)[0],
        founded_year=founded,
        phone=f"+1 415-555-{rng.randrange(10_000):04d}",
        funding_total=funding[0],
        funding_latest=funding[1],
        funding_date=funding[2],
        funding_stage=funding[3],
        name_lower=name.lower(),
        tags_lower=(industry, *keywords),
    )


Funding = tuple[int | None, int | None, str | None, str | None]


def _funding(rng: random.Random, employees: int, founded: int) -> Funding:
    """Venture funding that fits the company: young ones raise, rounds grow with size."""
    if founded < 2000 or rng.random() > 0.6:
        return None, None, None, None
    stage = min(len(v.FUNDING_STAGES) - 2, int(employees**0.5 / 12))
    latest = max(1, int(employees * rng.uniform(0.05, 0.25))) * 1_000_000 // 10
    year = rng.randint(max(founded, 2015), 2025)
    total = latest * rng.randint(1, stage + 2)
    return total, latest, f"{year}-{rng.randint(1, 12):02d}-01", v.FUNDING_STAGES[stage]


def clean_domain(text: str) -> str:
    """`https://www.Acme.com/` → `acme.com`, as Apollo wants domains."""
    text = text.strip().lower()
    for prefix in ("https://", "http://", "www."):
        text = text.removeprefix(prefix)
    return text.split("/")[0]


# Filters. Each builder returns a predicate, or None when the argument is absent.

OrgTest = Callable[[Organization], bool]


def _ranges(values: list[str]) -> OrgTest | None:
    bounds = []
    for value in values:
        low, _, high = value.partition(",")
        bounds.append((as_float(low) or 0.0, as_float(high) or float("inf")))
    if not bounds:
        return None
    return lambda o: any(lo <= o.employees <= hi for lo, hi in bounds)


def _between(arg: Any, field: Callable[[Organization], float | str | None]) -> OrgTest | None:
    if not isinstance(arg, dict):
        return None
    low, high = arg.get("min"), arg.get("max")
    if low in (None, "") and high in (None, ""):
        return None

    def test(o: Organization) -> bool:
        value = field(o)
        if value is None:
            return False
        if isinstance(value, str):  # dates compare as ISO strings
            return (not low or value >= str(low)) and (not high or value <= str(high))
        lo, hi = as_float(low), as_float(high)
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    return test


def _located(values: list[str], negate: bool = False) -> OrgTest | None:
    if not values:
        return None
    named = places.matching(values)
    if negate:
        return lambda o: o.place not in named
    return lambda o: o.place in named


def _technology_tests(args: dict[str, Any]) -> list[OrgTest]:
    tests: list[OrgTest] = []
    if wanted := set(as_strs(args.get("currently_using_all_of_technology_uids"))):
        tests.append(lambda o: wanted.issubset(o.technologies))
    if anyof := set(as_strs(args.get("currently_using_any_of_technology_uids"))):
        tests.append(lambda o: not anyof.isdisjoint(o.technologies))
    if none := set(as_strs(args.get("currently_not_using_any_of_technology_uids"))):
        tests.append(lambda o: none.isdisjoint(o.technologies))
    return tests


def _tags(values: list[str]) -> OrgTest | None:
    # Whole words: "security" finds "security" and "network security", not "cybersecurity".
    wanted = [frozenset(t.lower().split()) for t in values]
    if not wanted:
        return None
    return lambda o: any(w <= frozenset(tag.split()) for w in wanted for tag in o.tags_lower)


def attribute_tests(args: dict[str, Any]) -> list[OrgTest]:
    """Tests on an organization's own attributes (everything but domains)."""
    ids = set(as_strs(args.get("organization_ids")))
    name = (as_text(args.get("q_organization_name")) or "").lower()
    maybe = [
        (lambda o: o.id in ids) if ids else None,
        (lambda o: name in o.name_lower) if name else None,
        _ranges(as_strs(args.get("organization_num_employees_ranges"))),
        _between(args.get("revenue_range"), lambda o: o.revenue),
        _located(as_strs(args.get("organization_locations"))),
        _located(as_strs(args.get("organization_not_locations")), negate=True),
        _tags(as_strs(args.get("q_organization_keyword_tags"))),
        _between(args.get("total_funding_range"), lambda o: o.funding_total),
        _between(args.get("latest_funding_amount_range"), lambda o: o.funding_latest),
        _between(args.get("latest_funding_date_range"), lambda o: o.funding_date),
        *_technology_tests(args),
    ]
    return [t for t in maybe if t is not None]


def domains(args: dict[str, Any]) -> set[str]:
    return {clean_domain(d) for d in as_strs(args.get("q_organization_domains_list"))}


class OrganizationIndex:
    """The organizations with their lookups and a cache of filtered results."""

    def __init__(self, orgs: list[Organization]) -> None:
        self.orgs = orgs
        self.by_domain = {o.domain: o for o in orgs}
        self.by_id = {o.id: i for i, o in enumerate(orgs)}
        self.by_name = {o.name_lower: o for o in orgs}
        self.by_linkedin = {linkedin(o): o for o in orgs}
        # Whole words of each name, for People API Search's q_keywords.
        self.name_terms = [frozenset(titles.terms(o.name)) for o in orgs]
        self._cache: dict[str, list[int]] = {}

    def matching(self, args: dict[str, Any]) -> list[int]:
        """Indexes of the organizations passing every organization filter."""
        tests = attribute_tests(args)
        wanted = domains(args)
        if wanted:
            tests.append(lambda o: o.domain in wanted)
        if not tests:
            return list(range(len(self.orgs)))
        key = json.dumps(args, sort_keys=True, default=str)
        hit = self._cache.get(key)
        if hit is None:
            hit = [i for i, o in enumerate(self.orgs) if all(t(o) for t in tests)]
            if len(self._cache) >= PAGE_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def find(self, args: dict[str, Any]) -> Organization | None:
        """The organization named by domain, website, LinkedIn URL or exact name."""
        for key in ("domain", "website"):
            if text := as_text(args.get(key)):
                return self.by_domain.get(clean_domain(text))
        if url := as_text(args.get("linkedin_url")):
            return self.by_linkedin.get(url.rstrip("/").lower())
        if name := as_text(args.get("name")):
            return self.by_name.get(name.lower())
        return None


def linkedin(o: Organization) -> str:
    return f"http://www.linkedin.com/company/{o.slug}"


def summary(o: Organization) -> dict[str, Any]:
    """The organization item of a search result."""
    return {
        "id": o.id,
        "name": o.name,
        "website_url": f"http://www.{o.domain}",
        "blog_url": None,
        "angellist_url": None,
        "linkedin_url": linkedin(o),
        "twitter_url": f"https://twitter.com/{o.slug}",
        "facebook_url": None,
        "primary_phone": {"number": o.phone, "source": "Owler", "sanitized_number": _digits(o)},
        "languages": ["English"],
        "alexa_ranking": None,
        "phone": o.phone,
        "linkedin_uid": str(int(o.id[:8], 16) % 10_000_000),
        "founded_year": o.founded_year,
        "publicly_traded_symbol": None,
        "publicly_traded_exchange": None,
        "logo_url": f"https://logo.example.invalid/{o.domain}.png",
        "crunchbase_url": None,
        "primary_domain": o.domain,
        "sanitized_phone": _digits(o),
        "owned_by_organization_id": None,
        "show_intent": False,
        "has_intent_signal_account": False,
        "intent_signal_account": None,
    }


def _digits(o: Organization) -> str:
    return "+" + "".join(c for c in o.phone if c.isdigit())


def full(o: Organization) -> dict[str, Any]:
    """The organization object of enrichment (search fields plus firmographics)."""
    city, state, country = o.location
    techs = [t for t in v.TECHNOLOGIES if t[0] in o.technologies]
    return {
        **summary(o),
        "industry": o.industry,
        "keywords": list(o.keywords),
        "estimated_num_employees": o.employees,
        "industries": [o.industry],
        "secondary_industries": [],
        "raw_address": f"{city}, {state}, {country}",
        "street_address": "",
        "city": city,
        "state": state,
        "postal_code": None,
        "country": country,
        "seo_description": f"{o.name} builds {o.keywords[0]} products.",
        "short_description": f"{o.name} is a {o.industry} company based in {city}.",
        "annual_revenue": o.revenue,
        "annual_revenue_printed": _printed(o.revenue),
        "total_funding": o.funding_total,
        "total_funding_printed": _printed(o.funding_total) if o.funding_total else None,
        "latest_funding_round_date": o.funding_date,
        "latest_funding_stage": o.funding_stage,
        "funding_events": [],
        "technology_names": [t[1] for t in techs],
        "current_technologies": [{"uid": u, "name": n, "category": c} for u, n, c in techs],
        "org_chart_root_people_ids": [],
        "account_id": None,
        "departmental_head_count": {},
    }


def _printed(amount: int) -> str:
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if amount >= size:
            return f"{amount / size:.1f}".rstrip("0").rstrip(".") + unit
    return str(amount)


# Handlers.

ORG_CRUMBS = (
    "q_organization_name",
    "organization_ids",
    "q_organization_domains_list",
    "organization_num_employees_ranges",
    "organization_locations",
    "organization_not_locations",
    "q_organization_keyword_tags",
    "revenue_range",
    "currently_using_any_of_technology_uids",
    "currently_using_all_of_technology_uids",
    "currently_not_using_any_of_technology_uids",
    "total_funding_range",
    "latest_funding_amount_range",
    "latest_funding_date_range",
)


def search(index: OrganizationIndex, call: Invocation) -> Reply:
    """POST /mixed_companies/search: 1 credit for each page that returns results."""
    page = page_of(call.args)
    hits = index.matching(call.args)
    rows = [summary(index.orgs[i]) for i in page.slice(hits)]
    if rows:
        call.charge(1, "page")
    return ok(
        {
            "breadcrumbs": breadcrumbs.of(call.args, ORG_CRUMBS),
            "partial_results_only": False,
            "has_join": False,
            "disable_eu_prospecting": False,
            "partial_results_limit": 10_000,
            "pagination": page.pagination(len(hits)),
            "accounts": [],
            "organizations": rows,
            "model_ids": [r["id"] for r in rows],
            "num_fetch_result": None,
            "derived_params": None,
        }
    )


IDENTIFIERS = ("domain", "website", "linkedin_url", "name")


def enrich(index: OrganizationIndex, call: Invocation) -> Reply:
    """GET /organizations/enrich: 1 credit per organization found; `{}` when none is."""
    if not any(as_text(call.args.get(k)) for k in IDENTIFIERS):
        return error(422, "Required parameter 'domain' missing")
    org = index.find(call.args)
    if org is None:
        return ok({})
    call.charge(1, "organization")
    return ok({"organization": full(org)})
