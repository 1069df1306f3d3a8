"""Breadcrumbs: the filters a search applied, echoed back one item per value.

Apollo's documented item is `{label, signal_field_name, value, display_name}`,
e.g. `{"label": "# Employees", "signal_field_name":
"organization_num_employees_ranges", "value": "250,1000", "display_name":
"250-1000"}`. The labels of the other filters are the names Apollo's search
screens give them (its documents show only the employee one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bollard.sandbox.args import as_strs

LABELS: dict[str, str] = {
    "organization_num_employees_ranges": "# Employees",
    "organization_locations": "Company Locations",
    "organization_not_locations": "Exclude Company Locations",
    "q_organization_keyword_tags": "Company Keywords",
    "q_organization_name": "Company Name",
    "q_organization_domains_list": "Company Domains",
    "organization_ids": "Companies",
    "currently_using_any_of_technology_uids": "Uses Any of Technologies",
    "currently_using_all_of_technology_uids": "Uses All of Technologies",
    "currently_not_using_any_of_technology_uids": "Does Not Use Technologies",
    "revenue_range": "Revenue",
    "total_funding_range": "Total Funding",
    "latest_funding_amount_range": "Latest Funding Amount",
    "latest_funding_date_range": "Latest Funding Date",
    "q_keywords": "Keywords",
    "contact_stage_ids": "Stage",
    "contact_label_ids": "Lists",
    "account_stage_ids": "Stage",
    "account_label_ids": "Lists",
    "emailer_campaign_ids": "Sequences",
    "q_name": "Name",
}


def _display(name: str, value: str) -> str:
    if name == "organization_num_employees_ranges":
        low, _, high = value.partition(",")
        return f"{low}-{high}" if high else f"{low}+"
    return value


def _range_items(name: str, arg: Any) -> list[dict[str, Any]]:
    if not isinstance(arg, dict):
        return []
    low, high = arg.get("min"), arg.get("max")
    if low in (None, "") and high in (None, ""):
        return []
    value = f"{low if low not in (None, '') else ''},{high if high not in (None, '') else ''}"
    shown = f"{low or 'any'} - {high or 'any'}"
    return [_item(name, value, shown)]


def _item(name: str, value: str, display: str) -> dict[str, Any]:
    return {
        "label": LABELS[name],
        "signal_field_name": name,
        "value": value,
        "display_name": display,
    }


def of(
    args: dict[str, Any],
    names: tuple[str, ...] | None = None,
    *,
    names_for: Callable[[str, str], str] | None = None,
) -> list[dict[str, Any]]:
    """One breadcrumb per applied value of the known filters in `args`, in LABELS order.

    `names_for(field, value)` may give a display name for an id (a stage's name).
    """
    out: list[dict[str, Any]] = []
    for name in names or tuple(LABELS):
        arg = args.get(name)
        if arg in (None, "", [], {}):
            continue
        if name.endswith("_range"):
            out.extend(_range_items(name, arg))
            continue
        for value in as_strs(arg):
            shown = names_for(name, value) if names_for else _display(name, value)
            out.append(_item(name, value, shown))
    return out
