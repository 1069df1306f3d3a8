"""Places: cities with their states or regions and countries, and location queries.

Apollo takes locations as free text in several forms: a city ("chicago"), a
state or region ("california"), a country ("germany"), or a comma-separated
chain of them ("California, US", "london, united kingdom", "Austin, TX").
Each part must name a whole place the person (or headquarters) is in: "york"
does not find "New York". Country codes (US, USA, UK, GB, DE...) and US state
codes (CA, TX...) stand for their places; a two-letter part that is both ("CA":
Canada or California) accepts either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# country -> (ISO code, other spellings)
COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "United States": ("US", ("usa", "united states of america", "america", "u.s.", "u.s.a.")),
    "Canada": ("CA", ()),
    "United Kingdom": ("GB", ("uk", "u.k.", "great britain", "britain")),
    "Ireland": ("IE", ()),
    "Germany": ("DE", ("deutschland",)),
    "France": ("FR", ()),
    "Netherlands": ("NL", ("the netherlands", "holland")),
    "Sweden": ("SE", ()),
    "Spain": ("ES", ()),
    "India": ("IN", ()),
    "Singapore": ("SG", ()),
    "Australia": ("AU", ()),
    "Japan": ("JP", ()),
    "Brazil": ("BR", ()),
    "Israel": ("IL", ()),
}
US_STATE_CODES = {
    "California": "CA",
    "New York": "NY",
    "Massachusetts": "MA",
    "Texas": "TX",
    "Washington": "WA",
    "Illinois": "IL",
    "Colorado": "CO",
    "Georgia": "GA",
    "Florida": "FL",
    "North Carolina": "NC",
    "Utah": "UT",
    "Pennsylvania": "PA",
    "Oregon": "OR",
    "Arizona": "AZ",
    "Minnesota": "MN",
    "Tennessee": "TN",
    "Ohio": "OH",
    "Virginia": "VA",
}
REGION_CODES = {"Ontario": "ON", "British Columbia": "BC", "Quebec": "QC", "Alberta": "AB"}

# (city, state or region, country, weight): weights are rough shares of a B2B database.
CITIES: tuple[tuple[str, str, str, int], ...] = (
    ("San Francisco", "California", "United States", 60),
    ("San Jose", "California", "United States", 18),
    ("Los Angeles", "California", "United States", 25),
    ("San Diego", "California", "United States", 12),
    ("Palo Alto", "California", "United States", 10),
    ("New York", "New York", "United States", 55),
    ("Brooklyn", "New York", "United States", 8),
    ("Boston", "Massachusetts", "United States", 25),
    ("Cambridge", "Massachusetts", "United States", 8),
    ("Austin", "Texas", "United States", 20),
    ("Dallas", "Texas", "United States", 16),
    ("Houston", "Texas", "United States", 14),
    ("Seattle", "Washington", "United States", 20),
    ("Chicago", "Illinois", "United States", 22),
    ("Denver", "Colorado", "United States", 12),
    ("Boulder", "Colorado", "United States", 5),
    ("Atlanta", "Georgia", "United States", 14),
    ("Miami", "Florida", "United States", 10),
    ("Tampa", "Florida", "United States", 6),
    ("Raleigh", "North Carolina", "United States", 7),
    ("Charlotte", "North Carolina", "United States", 7),
    ("Salt Lake City", "Utah", "United States", 7),
    ("Philadelphia", "Pennsylvania", "United States", 9),
    ("Pittsburgh", "Pennsylvania", "United States", 5),
    ("Portland", "Oregon", "United States", 6),
    ("Phoenix", "Arizona", "United States", 7),
    ("Minneapolis", "Minnesota", "United States", 7),
    ("Nashville", "Tennessee", "United States", 6),
    ("Columbus", "Ohio", "United States", 5),
    ("Arlington", "Virginia", "United States", 5),
    ("Toronto", "Ontario", "Canada", 14),
    ("Ottawa", "Ontario", "Canada", 4),
    ("Vancouver", "British Columbia", "Canada", 8),
    ("Montreal", "Quebec", "Canada", 7),
    ("Calgary", "Alberta", "Canada", 4),
    ("London", "England", "United Kingdom", 30),
    ("Manchester", "England", "United Kingdom", 6),
    ("Bristol", "England", "United Kingdom", 4),
    ("Cambridge", "England", "United Kingdom", 3),
    ("Edinburgh", "Scotland", "United Kingdom", 4),
    ("Glasgow", "Scotland", "United Kingdom", 3),
    ("Dublin", "Leinster", "Ireland", 7),
    ("Cork", "Munster", "Ireland", 2),
    ("Berlin", "Berlin", "Germany", 10),
    ("Munich", "Bavaria", "Germany", 7),
    ("Hamburg", "Hamburg", "Germany", 5),
    ("Frankfurt", "Hesse", "Germany", 4),
    ("Paris", "Ile-de-France", "France", 12),
    ("Lyon", "Auvergne-Rhone-Alpes", "France", 3),
    ("Amsterdam", "North Holland", "Netherlands", 8),
    ("Rotterdam", "South Holland", "Netherlands", 2),
    ("Stockholm", "Stockholm County", "Sweden", 5),
    ("Madrid", "Community of Madrid", "Spain", 5),
    ("Barcelona", "Catalonia", "Spain", 5),
    ("Bengaluru", "Karnataka", "India", 12),
    ("Mumbai", "Maharashtra", "India", 8),
    ("Pune", "Maharashtra", "India", 4),
    ("Hyderabad", "Telangana", "India", 5),
    ("Singapore", "Singapore", "Singapore", 6),
    ("Sydney", "New South Wales", "Australia", 7),
    ("Melbourne", "Victoria", "Australia", 6),
    ("Tokyo", "Tokyo", "Japan", 5),
    ("Sao Paulo", "Sao Paulo", "Brazil", 5),
    ("Tel Aviv", "Tel Aviv District", "Israel", 5),
)
# Personal emails are never returned for these (Apollo withholds them in GDPR regions).
GDPR_COUNTRIES = frozenset(
    ("United Kingdom", "Ireland", "Germany", "France", "Netherlands", "Sweden", "Spain")
)

_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower())


@dataclass(frozen=True, slots=True)
class Place:
    """One city, with the lowercase names a location part may use for it."""

    city: str
    state: str
    country: str
    names: frozenset[str]

    @property
    def parts(self) -> tuple[str, str, str]:
        return (self.city, self.state, self.country)


def _names(city: str, state: str, country: str) -> frozenset[str]:
    code, spellings = COUNTRIES[country]
    names = {_norm(city), _norm(state), _norm(country), code.lower(), *spellings}
    if country == "United States" and state in US_STATE_CODES:
        names.add(US_STATE_CODES[state].lower())
    if state in REGION_CODES:
        names.add(REGION_CODES[state].lower())
    if country == "United Kingdom":
        names.add("gb")
    return frozenset(names)


PLACES: tuple[Place, ...] = tuple(
    Place(city, state, country, _names(city, state, country)) for city, state, country, _ in CITIES
)
WEIGHTS: tuple[int, ...] = tuple(w for *_, w in CITIES)


def _part_ok(part: str, place: Place) -> bool:
    return part in place.names or part.replace(".", "") in place.names


def matches(text: str, place: Place) -> bool:
    """Whether the location `text` ("California, US", "london") names `place`."""
    parts = [p for p in (_norm(s) for s in text.split(",")) if p]
    return bool(parts) and all(_part_ok(p, place) for p in parts)


def matching(texts: Iterable[str]) -> set[int]:
    """Indexes into PLACES named by any of the location texts."""
    wanted = [t for t in texts if t.strip()]
    return {i for i, place in enumerate(PLACES) if any(matches(t, place) for t in wanted)}


def same_country(index: int) -> list[int]:
    """Indexes of the places in the same country as place `index`."""
    country = PLACES[index].country
    return [i for i, p in enumerate(PLACES) if p.country == country]
