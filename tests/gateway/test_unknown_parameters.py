"""Parameters Apollo would silently ignore: refused on both doors with the nearest names,
nothing sent; Apollo's documented parameters (in either encoding) still pass; an agent's
switch lets unknown ones through, each recorded as a warning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bollard import arguments
from bollard.catalog import Action, load_catalog
from bollard.errors import UnknownParameter
from tests.harness import ADMIN, Bollard, StartBollard, changes, mcp_session, text
from tests.harness import cli as _cli

SEARCH = "/api/v1/mixed_people/api_search"
DOCUMENT = "tests/catalog/data/apollo-rest-api-openapi.json"


def _sent(bollard: Bollard) -> int:
    return len(bollard.sandbox.calls)


def _requests(bollard: Bollard) -> list[dict[str, Any]]:
    return [json.loads(r["data"]) for r in bollard.records() if r["kind"] == "request"]


def test_an_unknown_parameter_is_refused_over_rest_with_the_nearest_names(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("agent", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={"titles": ["cto"], "per_page": 5})
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["error_code"] == "UNKNOWN_PARAMETER"
    assert "'titles' (did you mean person_titles" in body["error"]
    assert "person_titles" in body["bollard"]["unknown_parameters"]["titles"]
    assert _sent(bollard) == 0  # nothing went up: no search without its filter
    (request,) = _requests(bollard)
    assert "'titles' (did you mean person_titles" in request["reason"]


@pytest.mark.anyio
async def test_an_unknown_parameter_is_refused_over_mcp_alike(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    async with mcp_session(bollard.url, key) as session:
        result = await session.call_tool(
            "apollo_mixed_people_api_search", {"titles": ["cto"], "per_page": 5}
        )
    assert result.is_error
    assert isinstance(result.structured_content, dict)
    assert result.structured_content["error_code"] == "UNKNOWN_PARAMETER"
    assert "person_titles" in result.structured_content["bollard"]["unknown_parameters"]["titles"]
    assert "did you mean person_titles" in text(result)
    assert _sent(bollard) == 0


def test_documented_array_and_range_forms_pass_and_a_bracketed_json_key_is_named(
    bollard: Bollard,
) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    query = [("person_titles[]", "cto"), ("revenue_range[min]", "10"), ("page", "1")]
    with bollard.client(key) as client:
        assert client.post(SEARCH, params=[*query, ("per_page", "5")]).status_code == 200
        assert client.post(SEARCH, json={"person_titles": ["cto"], "per_page": 5}).is_success
        refused = client.post(SEARCH, json={"person_titles[]": ["cto"]})
    assert refused.json()["bollard"]["unknown_parameters"] == {"person_titles[]": ["person_titles"]}
    assert _sent(bollard) == 2


def test_the_switch_lets_unknown_parameters_through_with_a_warning_on_the_record(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("legacy", ["people:read"])
    run = _cli(bollard, "agents", "set", "legacy", "--allow-unknown-parameters", "--reason", "x")
    assert run.exit_code == 0, run.output
    assert "each recorded as a warning" in run.stdout
    shown = _cli(bollard, "agents", "show", "legacy", "--json")
    assert json.loads(shown.stdout)["allow_unknown_parameters"] is True
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={"titles": ["cto"], "per_page": 5})
    assert reply.status_code == 200, reply.text
    assert _sent(bollard) == 1
    (request,) = _requests(bollard)
    assert request["warnings"] == [
        "unknown parameter 'titles' sent to Apollo, which may ignore it "
        "(this agent may send unknown parameters)"
    ]
    admin = [json.loads(r["data"]) for r in bollard.records() if r["kind"] == "admin"][-1]
    assert (admin["change"], admin["reason"]) == ("agents.set", "x")
    flips = (
        admin["before"]["allow_unknown_parameters"],
        admin["after"]["allow_unknown_parameters"],
    )
    assert flips == (False, True)


def test_switching_it_off_refuses_again_on_the_next_call(bollard: Bollard) -> None:
    _, key = bollard.agents.create("agent", ["people:read"])
    admin = changes(bollard)
    admin.set_allow_unknown_parameters(ADMIN, "agent", True)
    with bollard.client(key) as client:
        assert client.post(SEARCH, json={"titles": ["cto"]}).status_code == 200
        admin.set_allow_unknown_parameters(ADMIN, "agent", False)
        assert client.post(SEARCH, json={"titles": ["cto"]}).status_code == 422
    assert _sent(bollard) == 1


def _operations() -> Iterator[tuple[Action, str, dict[str, Any]]]:
    """Each operation of Apollo's vendored document, with the catalog action it is."""
    catalog = load_catalog()
    with open(DOCUMENT, encoding="utf-8") as f:
        document = json.load(f)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            segments = ["x1" if s.startswith("{") else s for s in path.split("/") if s]
            found = catalog.match(method.upper(), segments)
            assert found is not None, (method, path)
            yield found[0], path, operation


def _documented(operation: dict[str, Any]) -> list[tuple[str, str]]:
    """Every parameter name Apollo's document gives an operation, as a client sends it:
    query names as written (`person_titles[]`, `revenue_range[min]`), body properties."""
    pairs = [(p["name"], "1") for p in operation.get("parameters", []) if p["in"] == "query"]
    for content in operation.get("requestBody", {}).get("content", {}).values():
        pairs += [(name, "1") for name in content.get("schema", {}).get("properties", {})]
    return pairs


def test_every_parameter_apollo_documents_is_known_to_its_action() -> None:
    checked = 0
    for action, path, operation in _operations():
        args = arguments.from_query(_documented(operation))
        assert arguments.unknown(action, args) == {}, (action.id, path)
        checked += 1
    assert checked == len(load_catalog().actions)


def test_the_refusal_names_every_unknown_name_and_what_the_action_takes() -> None:
    action = load_catalog().get("people.enrich")
    assert action is not None
    with pytest.raises(UnknownParameter) as raised:
        arguments.check(action, {"emial": "a@example.com", "zzzz": 1})
    assert raised.value.nearest == {"emial": ["email"], "zzzz": []}
    assert "its parameters are first_name, last_name" in raised.value.message
    arguments.check(action, {"emial": "a@example.com"}, allow_unknown=True)  # no error


BULK = "/api/v1/people/bulk_match"


def test_an_unknown_key_inside_an_item_of_details_is_refused_with_the_nearest(
    database_url: str, start_bollard: StartBollard
) -> None:
    bollard = start_bollard(database_url)
    _, key = bollard.agents.create("agent", ["people:read"])
    details = [{"email": "a@example.com"}, {"emial": "b@example.com"}]
    with bollard.client(key) as client:
        reply = client.post(BULK, json={"details": details})
        assert reply.status_code == 422, reply.text
        assert reply.json()["error_code"] == "UNKNOWN_PARAMETER"
        assert reply.json()["bollard"]["unknown_parameters"] == {
            "details[1].emial": ["details[1].email"]
        }
        assert "'details[1].emial' (did you mean details[1].email?)" in reply.json()["error"]
        assert "details[1] takes first_name, last_name, name, email" in reply.json()["error"]
        assert _sent(bollard) == 0
        changes(bollard).set_allow_unknown_parameters(ADMIN, "agent", True)
        assert client.post(BULK, json={"details": details}).status_code == 200
        assert client.post(BULK, json={"details": [{"email": "a@example.com"}]}).status_code == 200
    assert _sent(bollard) == 2
    warned = _requests(bollard)[1]["warnings"]
    assert warned == [
        "unknown parameter 'details[1].emial' sent to Apollo, which may ignore it "
        "(this agent may send unknown parameters)"
    ]


def _nested(schema: dict[str, Any], depth: int = 0) -> Any:
    """A value with every key Apollo's document gives an object (or each item of an array
    of objects), down to its leaves."""
    if depth > 6:
        return "1"
    if schema.get("type") == "array" or "items" in schema:
        return [_nested(schema.get("items", {}), depth + 1)]
    if "properties" in schema:
        return {k: _nested(v, depth + 1) for k, v in schema["properties"].items()}
    return "1"


def test_every_key_apollo_documents_inside_an_object_parameter_is_known() -> None:
    checked = 0
    for action, path, operation in _operations():
        for content in operation.get("requestBody", {}).get("content", {}).values():
            props = content.get("schema", {}).get("properties", {})
            args = {k: _nested(v) for k, v in props.items() if isinstance(_nested(v), list | dict)}
            assert arguments.unknown(action, args) == {}, (action.id, path)
            checked += len(args)
    assert checked > 10
