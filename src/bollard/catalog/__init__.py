"""The Apollo catalog: the seed's 20 actions, Apollo's document's other 60, and the guide.

`apollo.toml` beside this module is the single source of truth. It drives
routes, validation, MCP tools, the sandbox, the CLI and the reference page.
The package is pure: `model` holds the frozen values, `parse` checks the file
into them, `rows` turns them into JSON-able rows for the CLI and the web; the
only I/O is reading its own package data, once.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from bollard.catalog.model import (
    PATH_PARAM_VALUE,
    Access,
    Action,
    Area,
    Catalog,
    Claim,
    Credits,
    Disagreement,
    Guide,
    GuideSection,
    Location,
    Origin,
    Paging,
    Param,
    ParamType,
    Rule,
    StatusCode,
)
from bollard.catalog.parse import (
    ACCESSES,
    CREDIT_KINDS,
    EXPECTED_ACTIONS,
    LOCATIONS,
    METHODS,
    ORIGINS,
    PARAM_TYPES,
    RULE_KINDS,
    TAGS,
    parse_catalog,
)

__all__ = [
    "ACCESSES",
    "CREDIT_KINDS",
    "EXPECTED_ACTIONS",
    "LOCATIONS",
    "METHODS",
    "ORIGINS",
    "PARAM_TYPES",
    "PATH_PARAM_VALUE",
    "RULE_KINDS",
    "TAGS",
    "Access",
    "Action",
    "Area",
    "Catalog",
    "Claim",
    "Credits",
    "Disagreement",
    "Guide",
    "GuideSection",
    "Location",
    "Origin",
    "Paging",
    "Param",
    "ParamType",
    "Rule",
    "StatusCode",
    "catalog_text",
    "load_catalog",
    "parse_catalog",
]


def catalog_text() -> str:
    """The raw TOML shipped with Bollard (tests edit copies of it)."""
    return resources.files("bollard.catalog").joinpath("apollo.toml").read_text("utf-8")


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with Bollard, parsed and checked once per process."""
    return parse_catalog(catalog_text())
