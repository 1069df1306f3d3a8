"""Apollo's OpenAPI document, walked operation by operation, against the catalog.

The document is the vendored copy in data/ (see data/SOURCE.md). This walk reads
it directly, not through regenerate.py, so a drift between the document and
apollo.toml fails here whichever of the two moved.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from bollard.catalog import Action, load_catalog

DOCUMENT = Path(__file__).parent / "data" / "apollo-rest-api-openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
# JSON Schema types the catalog keeps as they are; path segments are always strings.
SCALARS = ("string", "integer", "number", "boolean", "array", "object")
# Where the seed's hand-written entries deliberately differ from the document, and why.
SEED_DEVIATIONS = {
    # The document types these as strings on this one search; they are page numbers,
    # and Bollard checks them as the integers every other search takes.
    ("sequences.search", "page"): "integer",
    ("sequences.search", "per_page"): "integer",
}


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text("utf-8"))
    return loaded


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in document()["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    ]


def documented_params(op: dict[str, Any]) -> dict[str, tuple[str, bool, str | None]]:
    """name → (where, required, type), with `name[]` and `name[key]` folded to `name`.

    Deprecated body fields are left out: the catalog does not offer them to agents.
    """
    out: dict[str, tuple[str, bool, str | None]] = {}
    for raw in op.get("parameters", []):
        name, sep, rest = raw["name"].partition("[")
        schema = raw.get("schema", {})
        kind = schema.get("type")
        if sep and rest != "]":
            kind = "object"
        elif raw["in"] == "path":
            kind = "string"
        elif kind is None and "oneOf" in schema:
            kind = "array"
        out[name] = (raw["in"], bool(raw.get("required")) and not (sep and rest != "]"), kind)
    for content in op.get("requestBody", {}).get("content", {}).values():
        schema = content.get("schema", {})
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            if not prop.get("deprecated"):
                out[name] = ("body", name in required, prop.get("type"))
        break
    return out


def catalog_action(method: str, path: str) -> Action:
    found = [a for a in load_catalog().actions if (a.method, a.path) == (method, path)]
    assert len(found) == 1, f"{method} {path}: {len(found)} catalog actions"
    return found[0]


def test_the_document_has_80_operations_and_the_catalog_one_action_for_each() -> None:
    ops = operations()
    assert len(ops) == 80
    routes = {(a.method, a.path) for a in load_catalog().actions}
    assert routes == {(m, p) for m, p, _ in ops}


def test_every_operation_has_its_parameters_in_the_catalog_by_name_place_need_and_type() -> None:
    for method, path, op in operations():
        action = catalog_action(method, path)
        want = documented_params(op)
        have = {p.name: p for p in action.params}
        assert set(have) == set(want), f"{action.id}: {set(have) ^ set(want)}"
        for name, (where, required, kind) in want.items():
            param = have[name]
            assert (param.location == "path") == (where == "path"), f"{action.id}.{name}"
            if where != "path":
                assert param.location == ("body" if where == "body" else "query"), action.id
            assert param.required == required, f"{action.id}.{name} required"
            kind = SEED_DEVIATIONS.get((action.id, name), kind)
            if kind in SCALARS:
                assert param.type == kind, f"{action.id}.{name}: {param.type} != {kind}"
            assert len(param.description) >= 10, f"{action.id}.{name}"


def test_the_documents_enums_are_the_catalogs() -> None:
    for method, path, op in operations():
        action = catalog_action(method, path)
        for raw in op.get("parameters", []):
            enum = raw.get("schema", {}).get("enum")
            param = action.param(raw["name"].split("[")[0])
            if enum and param is not None:
                assert list(param.enum) == enum, f"{action.id}.{param.name}"


def test_the_documents_sixty_are_marked_as_such_and_cite_their_own_page() -> None:
    for method, path, op in operations():
        action = catalog_action(method, path)
        if action.origin == "openapi":
            assert action.source == f"https://docs.apollo.io/reference/{op['operationId']}"


def test_master_keys_of_the_documents_sixty_follow_the_document() -> None:
    for method, path, op in operations():
        action = catalog_action(method, path)
        if action.origin != "openapi":
            continue
        scoped_ok = "or `Master API key`" in op["description"]
        assert action.master_key is not scoped_ok, action.id
    master = {a.id for a in load_catalog().actions if a.origin == "openapi" and a.master_key}
    assert master == {"calls.search", "calls.create", "calls.update", "emails.stats"}


def test_tool_names_follow_apollos_own_mcp_server() -> None:
    catalog = load_catalog()
    official = [
        "apollo_analytics_sync_report",
        "apollo_contacts_create",
        "apollo_email_accounts_index",
        "apollo_emailer_campaigns_add_contact_ids",
        "apollo_emailer_campaigns_remove_or_stop_contact_ids",
        "apollo_emailer_campaigns_search",
        "apollo_mixed_companies_search",
        "apollo_mixed_people_api_search",
        "apollo_organizations_bulk_enrich",
        "apollo_organizations_enrich",
        "apollo_people_bulk_match",
        "apollo_people_match",
        "apollo_users_api_profile",
    ]
    assert [t for t in official if catalog.by_tool(t) is None] == []
    # Seen in public code, not in the official list: the same pattern.
    for seen in ("apollo_webhook_result_show", "apollo_usage_stats_credit_usage_stats"):
        assert catalog.by_tool(seen) is not None, seen
    assert len({a.mcp_tool for a in catalog.actions}) == 80
