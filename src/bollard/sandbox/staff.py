"""Who works at a generated company: its leadership by size, then its functions by level.

Every company is led by someone (a chief executive, or at the smallest a founder
or owner); larger ones have a full C-suite and VPs; the rest of a company's
people are drawn function by function and level by level, in the proportions
of a B2B prospect database, with the title variants people really write.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Function:
    """One function of a company and the words its titles are made of."""

    key: str
    weight: int  # share of a company's staff
    names: tuple[str, ...]  # "{F}" in the templates
    roles: tuple[str, ...]  # individual contributors, "{R}"
    managers: tuple[str, ...]
    chiefs: tuple[str, ...]  # c-suite titles, largest companies only
    seniors: tuple[str, ...] = ()  # senior titles that are not "Senior {R}"


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "sales",
        20,
        ("Sales",),
        (
            "Account Executive",
            "Sales Development Representative",
            "Business Development Representative",
            "Account Manager",
            "Sales Engineer",
            "Inside Sales Representative",
            "Enterprise Account Executive",
        ),
        (
            "Sales Manager",
            "Regional Sales Manager",
            "Sales Development Manager",
            "Manager, Sales Operations",
            "Key Account Manager",
        ),
        ("Chief Revenue Officer", "CRO", "Chief Sales Officer"),
    ),
    Function(
        "engineering_technical",
        22,
        ("Engineering",),
        (
            "Software Engineer",
            "Backend Engineer",
            "Frontend Engineer",
            "Full Stack Developer",
            "DevOps Engineer",
            "QA Engineer",
            "Data Engineer",
            "Site Reliability Engineer",
        ),
        (
            "Engineering Manager",
            "Software Engineering Manager",
            "Manager, Engineering",
            "QA Manager",
        ),
        ("Chief Technology Officer", "CTO"),
        (
            "Staff Software Engineer",
            "Principal Engineer",
            "Lead Software Engineer",
            "Software Architect",
        ),
    ),
    Function(
        "marketing",
        10,
        ("Marketing", "Growth", "Demand Generation"),
        (
            "Marketing Specialist",
            "Content Marketing Specialist",
            "Marketing Coordinator",
            "Growth Marketer",
            "SEO Specialist",
        ),
        (
            "Marketing Manager",
            "Product Marketing Manager",
            "Demand Generation Manager",
            "Content Marketing Manager",
            "Brand Manager",
        ),
        ("Chief Marketing Officer", "CMO"),
    ),
    Function(
        "product_management",
        6,
        ("Product", "Product Management"),
        ("Product Manager", "Associate Product Manager", "Product Analyst", "Product Owner"),
        ("Group Product Manager", "Product Operations Manager"),
        ("Chief Product Officer", "CPO"),
        ("Senior Product Manager", "Principal Product Manager", "Lead Product Manager"),
    ),
    Function(
        "finance",
        6,
        ("Finance",),
        ("Financial Analyst", "Accountant", "Staff Accountant", "FP&A Analyst"),
        ("Finance Manager", "Accounting Manager", "Controller", "Manager, FP&A"),
        ("Chief Financial Officer", "CFO"),
    ),
    Function(
        "operations",
        9,
        ("Operations", "Business Operations"),
        (
            "Operations Analyst",
            "Operations Coordinator",
            "Operations Associate",
            "Supply Chain Analyst",
        ),
        ("Operations Manager", "Business Operations Manager", "Logistics Manager"),
        ("Chief Operating Officer", "COO"),
    ),
    Function(
        "human_resources",
        5,
        ("People", "Human Resources", "Talent"),
        (
            "HR Generalist",
            "Recruiter",
            "Technical Recruiter",
            "People Operations Specialist",
            "Talent Acquisition Specialist",
        ),
        (
            "HR Manager",
            "Talent Acquisition Manager",
            "People Operations Manager",
            "Recruiting Manager",
        ),
        ("Chief People Officer", "Chief Human Resources Officer", "CHRO"),
    ),
    Function(
        "information_technology",
        5,
        ("IT", "Information Technology"),
        (
            "Systems Administrator",
            "IT Support Specialist",
            "Network Engineer",
            "Security Analyst",
            "Help Desk Technician",
        ),
        ("IT Manager", "Information Security Manager", "Manager, IT Operations"),
        ("Chief Information Officer", "CIO", "Chief Information Security Officer"),
    ),
    Function(
        "support",
        11,
        ("Customer Success", "Customer Support"),
        (
            "Customer Success Manager",
            "Customer Support Specialist",
            "Support Engineer",
            "Implementation Specialist",
            "Customer Support Representative",
        ),
        ("Customer Support Manager", "Manager, Customer Success", "Support Manager"),
        ("Chief Customer Officer",),
    ),
    Function(
        "legal",
        3,
        ("Legal",),
        ("Corporate Counsel", "Paralegal", "Legal Counsel", "Compliance Analyst"),
        ("Legal Operations Manager", "Compliance Manager"),
        ("General Counsel", "Chief Legal Officer"),
    ),
    Function(
        "design",
        3,
        ("Design",),
        ("Product Designer", "UX Designer", "Graphic Designer", "UX Researcher"),
        ("Design Manager", "UX Manager"),
        ("Chief Design Officer",),
        ("Lead Product Designer", "Principal Designer", "Staff Product Designer"),
    ),
)
BY_KEY = {f.key: f for f in FUNCTIONS}
FUNCTION_WEIGHTS = tuple(f.weight for f in FUNCTIONS)

# Levels of the drawn (non-leadership) staff, with their shares.
LEVELS: tuple[tuple[str, int], ...] = (
    ("entry", 36),
    ("senior", 27),
    ("manager", 17),
    ("director", 8),
    ("head", 3),
    ("vp", 3),
    ("intern", 4),
    ("partner", 2),
)
LEVEL_WEIGHTS = tuple(w for _, w in LEVELS)

VP = (
    "VP of {F}",
    "VP, {F}",
    "VP {F}",
    "Vice President of {F}",
    "Vice President, {F}",
    "SVP, {F}",
    "Senior Vice President of {F}",
    "EVP, {F}",
    "Regional Vice President, {F}",
)
HEAD = ("Head of {F}", "Global Head of {F}", "Head of {F}, EMEA")
DIRECTOR = (
    "Director of {F}",
    "{F} Director",
    "Director, {F}",
    "Senior Director of {F}",
    "Sr. Director, {F}",
    "Associate Director of {F}",
)
MANAGER = ("{F} Manager", "Senior {F} Manager", "Manager, {F}")
SENIOR = ("Senior {R}", "Sr. {R}", "Lead {R}")
ENTRY = ("{R}", "{R}", "Junior {R}", "Associate {R}")
INTERN = ("{F} Intern", "Intern, {F}")
PARTNER = ("Partner", "Managing Partner", "Senior Partner", "{F} Partner")

CEO_TINY = (
    "Owner",
    "Founder & CEO",
    "Founder",
    "Owner & President",
    "Co-Founder & CEO",
    "Founder and Chief Executive Officer",
)
CEO_SMALL = (
    "Founder & CEO",
    "Co-Founder & CEO",
    "CEO",
    "Chief Executive Officer",
    "CEO & Co-Founder",
    "Founder and CEO",
)
CEO_LARGE = (
    "Chief Executive Officer",
    "CEO",
    "President & CEO",
    "CEO & President",
    "Chief Executive Officer & Board Member",
)
COFOUNDERS = (
    "Co-Founder & CTO",
    "Co-Founder",
    "Co-Founder & COO",
    "Co-Founder and CTO",
    "Founding Engineer",
)
# Functions staffed with a leader by size: (minimum employees, functions, level).
LEADERS: tuple[tuple[int, tuple[str, ...], str], ...] = (
    (150, ("finance", "engineering_technical"), "c_suite"),
    (400, ("operations", "marketing", "sales"), "c_suite"),
    (2000, ("information_technology", "product_management", "human_resources", "legal"), "c_suite"),
    (300, ("sales", "marketing", "engineering_technical"), "vp"),
    (1000, ("product_management", "finance", "operations", "support", "human_resources"), "vp"),
    (5000, ("sales", "engineering_technical", "operations"), "vp"),
    (40, ("sales",), "head"),
    (80, ("marketing", "engineering_technical"), "head"),
)
PARTNER_INDUSTRIES = frozenset(
    (
        "financial services",
        "management consulting",
        "legal services",
        "venture capital & private equity",
        "staffing & recruiting",
    )
)


def leadership(rng: random.Random, employees: int, founded: int) -> list[str]:
    """The leadership titles of a company of this size, chief executive first."""
    young = founded >= 2008
    if employees <= 10:
        titles = [rng.choice(CEO_TINY)]
    elif employees <= 200 or (young and employees <= 1000 and rng.random() < 0.5):
        titles = [rng.choice(CEO_SMALL)]
    else:
        titles = [rng.choice(CEO_LARGE)]
    if young and 3 <= employees <= 500 and rng.random() < 0.4:
        titles.append(rng.choice(COFOUNDERS))
    for minimum, keys, level in LEADERS:
        if employees >= minimum:
            titles.extend(_leader(rng, BY_KEY[k], level) for k in keys)
    if employees >= 5000:
        titles.append(rng.choice(("EVP, Global Sales", "SVP, Engineering", "EVP & CFO")))
    return titles


def _leader(rng: random.Random, f: Function, level: str) -> str:
    if level == "c_suite":
        return rng.choice(f.chiefs)
    return fill(rng, rng.choice(VP if level == "vp" else HEAD), f)


def fill(rng: random.Random, template: str, f: Function) -> str:
    """A template with the function's name and one of its roles filled in."""
    return template.replace("{F}", rng.choice(f.names)).replace("{R}", rng.choice(f.roles))


def staff_title(rng: random.Random, f: Function, level: str, industry: str) -> str:
    """A title for someone at `level` in function `f`."""
    if level == "partner" and industry not in PARTNER_INDUSTRIES:
        level = "director"
    if level == "manager" and rng.random() < 0.6:
        return rng.choice(f.managers)
    if level == "senior" and f.seniors and rng.random() < 0.4:
        return rng.choice(f.seniors)
    templates = {
        "vp": VP,
        "head": HEAD,
        "director": DIRECTOR,
        "manager": MANAGER,
        "senior": SENIOR,
        "entry": ENTRY,
        "intern": INTERN,
        "partner": PARTNER,
    }[level]
    return fill(rng, rng.choice(templates), f)
