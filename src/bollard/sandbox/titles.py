"""Job titles as terms: tokenize, normalise, expand abbreviations, match, classify.

Apollo matches `person_titles` on the terms of a title, not on substrings, and
includes similar titles unless `include_similar_titles` is false. Here a title
becomes a tuple of canonical terms: lowercased, punctuation and "&"/"and"/"of"
dropped, abbreviations written out ("VP" -> "vice president", "Sr." ->
"senior"), so "VP, Sales", "Vice President of Sales" and "vp sales" are the
same three terms. Matching is on whole terms, so "cto" never matches inside
"director".

The choices Apollo's documents leave open, written down:
- similar (the default): every term of the searched title appears in the
  person's title, in any order ("sales director" finds "Director of Sales" and
  "Senior Director of Sales Operations"); a few terms also accept a close
  variant (founder/co-founder, engineer/engineering).
- strict (`include_similar_titles: false`): the same set of terms, still in any
  order ("vp sales" finds "VP, Sales" and "Vice President of Sales", not
  "SVP Sales" or "VP of Sales Operations").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
# Words that carry no meaning in a title: "Director of Sales" = "Sales Director".
STOPWORDS = frozenset(("of", "and", "the", "for", "at", "in", "to", "a", "an"))

# Abbreviation (or spelling) -> its written-out terms. Both sides of a search are
# expanded, so either spelling finds the other.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "ceo": ("chief", "executive", "officer"),
    "cto": ("chief", "technology", "officer"),
    "cfo": ("chief", "financial", "officer"),
    "coo": ("chief", "operating", "officer"),
    "cmo": ("chief", "marketing", "officer"),
    "cro": ("chief", "revenue", "officer"),
    "cio": ("chief", "information", "officer"),
    "cpo": ("chief", "product", "officer"),
    "cso": ("chief", "sales", "officer"),
    "cco": ("chief", "customer", "officer"),
    "chro": ("chief", "human", "resources", "officer"),
    "ciso": ("chief", "information", "security", "officer"),
    "cdo": ("chief", "data", "officer"),
    "vp": ("vice", "president"),
    "svp": ("senior", "vice", "president"),
    "evp": ("executive", "vice", "president"),
    "avp": ("assistant", "vice", "president"),
    "sr": ("senior",),
    "snr": ("senior",),
    "jr": ("junior",),
    "dir": ("director",),
    "mgr": ("manager",),
    "eng": ("engineer",),
    "engr": ("engineer",),
    "mktg": ("marketing",),
    "ops": ("operations",),
    "hr": ("human", "resources"),
    "gm": ("general", "manager"),
    "md": ("managing", "director"),
    "ae": ("account", "executive"),
    "sdr": ("sales", "development", "representative"),
    "bdr": ("business", "development", "representative"),
    "rep": ("representative",),
    "exec": ("executive",),
    "asst": ("assistant",),
    "assoc": ("associate",),
    "admin": ("administrator",),
    "mgmt": ("management",),
    "acct": ("account",),
    "intl": ("international",),
    "cofounder": ("co", "founder"),
}

# In similar mode a searched term also accepts these title terms.
SIMILAR: dict[str, frozenset[str]] = {
    "founder": frozenset(("founder", "cofounder")),
    "engineer": frozenset(("engineer", "engineering")),
    "engineering": frozenset(("engineer", "engineering")),
    "developer": frozenset(("developer", "development")),
    "marketer": frozenset(("marketer", "marketing")),
}


def terms(title: str) -> tuple[str, ...]:
    """The canonical terms of a title, in order, stopwords removed."""
    words = _WORD.findall(title.lower().replace("&", " and "))
    out: list[str] = []
    for word in words:
        out.extend(ABBREVIATIONS.get(word, (word,)))
    # "Co-Founder", "co founder" and "cofounder" are one term.
    joined: list[str] = []
    for word in out:
        if word == "founder" and joined and joined[-1] == "co":
            joined[-1] = "cofounder"
        else:
            joined.append(word)
    return tuple(w for w in joined if w not in STOPWORDS)


@dataclass(frozen=True, slots=True)
class TitleQuery:
    """One searched title, ready to test against a title's term set."""

    required: tuple[frozenset[str], ...]  # each: the title terms that satisfy one term
    exact: frozenset[str]
    strict: bool

    def matches(self, title_terms: frozenset[str]) -> bool:
        if not self.required:
            return False
        if self.strict:
            return title_terms == self.exact
        return all(not alts.isdisjoint(title_terms) for alts in self.required)


def query(title: str, similar: bool) -> TitleQuery:
    """A searched title as a query; `similar` widens it as Apollo does by default."""
    found = terms(title)
    required = tuple(SIMILAR.get(t, frozenset((t,))) if similar else frozenset((t,)) for t in found)
    return TitleQuery(required, frozenset(found), strict=not similar)


class TitleIndex:
    """Distinct titles with an inverted index from term to title ids."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.term_sets: list[frozenset[str]] = []
        self.ids: dict[str, int] = {}
        self.postings: dict[str, set[int]] = {}

    def add(self, title: str) -> int:
        """The id of `title`, adding it on first sight."""
        tid = self.ids.get(title)
        if tid is None:
            tid = self.ids[title] = len(self.titles)
            self.titles.append(title)
            found = frozenset(terms(title))
            self.term_sets.append(found)
            for term in found:
                self.postings.setdefault(term, set()).add(tid)
        return tid

    def matching(self, searched: Iterable[str], similar: bool) -> set[int]:
        """Ids of the titles matching any of the searched titles."""
        out: set[int] = set()
        for text in searched:
            q = query(text, similar)
            if not q.required:
                continue
            # The rarest term narrows the candidates; the rest are checked per title.
            pools = [set().union(*(self.postings.get(a, ()) for a in alts)) for alts in q.required]
            candidates = min(pools, key=len)
            out.update(t for t in candidates if q.matches(self.term_sets[t]))
        return out


# Seniority and department follow the title: the first rule whose terms all
# appear decides, so "Founder & CEO" is a founder and "Senior Director" a director.
SENIORITY_RULES: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = (
    ("owner", (frozenset(("owner",)),)),
    ("founder", (frozenset(("founder",)), frozenset(("cofounder",)))),
    ("c_suite", (frozenset(("chief",)), frozenset(("president",)), frozenset(("counsel",)))),
    ("partner", (frozenset(("partner",)),)),
    ("vp", (frozenset(("vice", "president")),)),
    ("head", (frozenset(("head",)),)),
    ("director", (frozenset(("director",)),)),
    ("manager", (frozenset(("manager",)),)),
    ("intern", (frozenset(("intern",)),)),
    (
        "senior",
        (
            frozenset(("senior",)),
            frozenset(("lead",)),
            frozenset(("principal",)),
            frozenset(("staff",)),
        ),
    ),
)


def _ranked_terms(title: str) -> set[str]:
    found = set(terms(title))
    if "product" in found:
        found.discard("owner")  # a Product Owner owns a backlog, not the company
    return found


def seniority(title: str) -> str:
    """Apollo's seniority value for a title ("entry" when nothing ranks it)."""
    found = _ranked_terms(title)
    for value, alternatives in SENIORITY_RULES:
        if any(need <= found for need in alternatives):
            # "Vice President" is vp even though "president" alone is c_suite.
            if value == "c_suite" and {"vice", "president"} <= found and "chief" not in found:
                continue
            return value
    return "entry"


# A title's departments: every department one of whose term sets it contains.
DEPARTMENT_RULES: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = tuple(
    (dept, tuple(frozenset(t.split()) for t in needs))
    for dept, needs in (
        ("c_suite", ("chief", "founder", "cofounder", "owner", "president")),
        (
            "engineering_technical",
            (
                "engineer",
                "engineering",
                "developer",
                "technology",
                "devops",
                "architect",
                "software",
                "technical",
                "qa",
            ),
        ),
        ("product_management", ("product",)),
        (
            "sales",
            (
                "sales",
                "account executive",
                "account manager",
                "revenue",
                "business development",
                "partnerships",
            ),
        ),
        (
            "marketing",
            (
                "marketing",
                "brand",
                "growth",
                "content",
                "demand generation",
                "communications",
                "seo",
            ),
        ),
        (
            "finance",
            ("finance", "financial", "accounting", "accountant", "controller", "treasury", "fp"),
        ),
        ("human_resources", ("human resources", "people", "talent", "recruiter", "recruiting")),
        ("operations", ("operations", "operating", "logistics", "supply")),
        (
            "information_technology",
            ("information", "it", "systems administrator", "security", "network", "helpdesk"),
        ),
        ("support", ("customer", "support", "implementation")),
        ("legal", ("legal", "counsel", "compliance", "paralegal")),
        ("design", ("design", "designer", "ux")),
        ("data_science", ("data",)),
    )
)


def departments(title: str) -> tuple[str, ...]:
    """Apollo's department values for a title, most senior first."""
    found = _ranked_terms(title)
    out = [d for d, alts in DEPARTMENT_RULES if any(need <= found for need in alts)]
    # "Vice President" names a rank, not the executive office.
    if out and out[0] == "c_suite" and seniority(title) not in ("owner", "founder", "c_suite"):
        out.pop(0)
    return tuple(out)
