"""The generated people: each company's leadership, then its staff, then shuffled.

Deterministic from the random generator it is given. Leaders come first so
that every company has a chief executive (or founder-owner) whenever there are
at least as many people as companies; the rest are spread over companies in
proportion to their headcount and drawn function by function, level by level.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bollard.sandbox import places, staff, titles
from bollard.sandbox import vocabulary as v
from bollard.sandbox.organizations import Organization

# Generated records were "last refreshed" in the weeks before this moment.
REFRESHED_BEFORE = 1_764_547_200  # 2025-12-01


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    first_name: str
    last_name: str
    title: str
    title_id: int  # into the PeopleIndex's TitleIndex
    seniority: str
    departments: tuple[str, ...]
    org: int  # index into the organizations
    previous_org: int  # -1 when none
    place: int  # index into places.PLACES
    email: str | None
    email_status: str
    mobile: str | None
    refreshed: int

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def location(self) -> tuple[str, str, str]:
        """(city, state or region, country)."""
        return places.PLACES[self.place].parts

    @property
    def department(self) -> str:
        """The first department, or "" for titles that name none ("Partner")."""
        return self.departments[0] if self.departments else ""

    @property
    def linkedin_url(self) -> str:
        return f"http://www.linkedin.com/in/{self.first_name.lower()}-{self.last_name.lower()}-{self.id[:6]}"


@dataclass(frozen=True, slots=True)
class Slot:
    """One person to generate: where they work and their title."""

    org: int
    title: str


# At most this share of the people are leaders beyond the chief executives, so a
# small database is not all executives.
LEADER_SHARE = 0.15


def slots(rng: random.Random, count: int, orgs: list[Organization]) -> list[Slot]:
    """`count` (employer, title) pairs: leaders first, then staff by headcount."""
    out = _leaders(rng, count, orgs)
    remaining = count - len(out)
    if remaining <= 0:
        return out
    weights = [o.employees**0.85 for o in orgs]
    employers = rng.choices(range(len(orgs)), weights, k=remaining)
    functions = rng.choices(staff.FUNCTIONS, staff.FUNCTION_WEIGHTS, k=remaining)
    levels = rng.choices([lv for lv, _ in staff.LEVELS], staff.LEVEL_WEIGHTS, k=remaining)
    for org, function, level in zip(employers, functions, levels, strict=True):
        small = orgs[org].employees < 100 and level in ("vp", "head")
        title = staff.staff_title(rng, function, "director" if small else level, orgs[org].industry)
        out.append(Slot(org, title))
    return out


def _leaders(rng: random.Random, count: int, orgs: list[Organization]) -> list[Slot]:
    """Every company's chief executive, then whole leadership teams, largest company first."""
    teams = [staff.leadership(rng, o.employees, o.founded_year) for o in orgs]
    out = [Slot(org, team[0]) for org, team in enumerate(teams[:count])]
    budget = min(count - len(out), int(count * LEADER_SHARE))
    # A third of the budget goes to small companies' co-founders, the rest to whole
    # teams of the largest companies first.
    small = [i for i, o in enumerate(orgs[:count]) if o.employees <= 500 and len(teams[i]) > 1]
    for org in small[: budget // 3]:
        out.append(Slot(org, teams[org].pop(1)))
    budget -= min(len(small), budget // 3)
    for org in sorted(range(len(orgs)), key=lambda i: -orgs[i].employees):
        if budget <= 0:
            break
        team = teams[org][1 : 1 + budget]
        out.extend(Slot(org, title) for title in team)
        budget -= len(team)
    return out


class TitleBook:
    """Titles seen so far, with their ids, seniority and departments computed once."""

    def __init__(self, index: titles.TitleIndex) -> None:
        self.index = index
        self.facts: dict[str, tuple[int, str, tuple[str, ...]]] = {}

    def facts_of(self, title: str) -> tuple[int, str, tuple[str, ...]]:
        hit = self.facts.get(title)
        if hit is None:
            hit = (self.index.add(title), titles.seniority(title), titles.departments(title))
            self.facts[title] = hit
        return hit


def generate(
    rng: random.Random, count: int, orgs: list[Organization], index: titles.TitleIndex
) -> list[Person]:
    """`count` people over `orgs`, shuffled, with unique emails; titles go into `index`."""
    chosen = slots(rng, count, orgs)
    rng.shuffle(chosen)
    book = TitleBook(index)
    statuses = [s for s, _ in v.EMAIL_STATUSES]
    status_weights = [w for _, w in v.EMAIL_STATUSES]
    drawn = rng.choices(statuses, status_weights, k=len(chosen))
    taken: set[str] = set()
    nearby = [places.same_country(i) for i in range(len(places.PLACES))]
    return [
        _person(rng, orgs, slot, status, book, taken, nearby)
        for slot, status in zip(chosen, drawn, strict=True)
    ]


def _place(rng: random.Random, home: int, nearby: list[list[int]]) -> int:
    # Most people live where their company is based; many elsewhere in its country.
    roll = rng.random()
    if roll < 0.6:
        return home
    if roll < 0.9:
        return rng.choice(nearby[home])
    return rng.choices(range(len(places.PLACES)), places.WEIGHTS)[0]


def _person(
    rng: random.Random,
    orgs: list[Organization],
    slot: Slot,
    status: str,
    book: TitleBook,
    taken: set[str],
    nearby: list[list[int]],
) -> Person:
    first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
    org = orgs[slot.org]
    title_id, seniority, departments = book.facts_of(slot.title)
    email = None if status == "unavailable" else _email(first, last, org.domain, taken)
    return Person(
        id=f"{rng.getrandbits(96):024x}",
        first_name=first,
        last_name=last,
        title=slot.title,
        title_id=title_id,
        seniority=seniority,
        departments=departments,
        org=slot.org,
        previous_org=rng.randrange(len(orgs)) if rng.random() < 0.5 else -1,
        place=_place(rng, org.place, nearby),
        email=email,
        email_status=status,
        mobile=f"+1 650-555-{rng.randrange(10_000):04d}" if rng.random() < 0.55 else None,
        refreshed=REFRESHED_BEFORE - rng.randrange(60 * 86_400),
    )


def _email(first: str, last: str, domain: str, taken: set[str]) -> str:
    local = f"{first}.{last}".lower()
    email, n = f"{local}@{domain}", 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{domain}"
    taken.add(email)
    return email
