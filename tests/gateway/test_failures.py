"""Apollo down, slow or failing, and an audit log that cannot be written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bollard.loopback import LoopbackServer
from tests.harness import StartBollard, audit_insert_trigger

SEARCH = "/api/v1/mixed_people/api_search"


async def _slow(request: Request) -> Response:
    await asyncio.sleep(5)
    return JSONResponse({})


async def _broken(request: Request) -> Response:
    return JSONResponse({"error": "upstream exploded"}, status_code=503)


async def _odd_header(request: Request) -> Response:
    # Starlette sends header values as latin-1: these are the bytes 9, 0xFF, 0xFE,
    # which are not UTF-8.
    return JSONResponse({"people": []}, headers={"x-minute-requests-left": "9\xff\xfe"})


@pytest.fixture
def odd_apollo() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/slow/api/v1/mixed_people/api_search", _slow, methods=["POST"]),
            Route("/broken/api/v1/mixed_people/api_search", _broken, methods=["POST"]),
            Route("/odd/api/v1/mixed_people/api_search", _odd_header, methods=["POST"]),
        ]
    )
    with LoopbackServer(app) as server:
        yield server.url


def test_unreachable_apollo_gives_502_with_a_clear_message(start_bollard: StartBollard) -> None:
    bollard = start_bollard(apollo_url="http://127.0.0.1:9")
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={})
    assert reply.status_code == 502
    assert "unreachable" in reply.json()["error"]
    assert bollard.records()[-1]["outcome"] == "upstream_error"


def test_slow_apollo_gives_504_not_a_hang(start_bollard: StartBollard, odd_apollo: str) -> None:
    bollard = start_bollard(apollo_url=f"{odd_apollo}/slow", upstream_read_timeout=0.3)
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={})
    assert reply.status_code == 504
    assert reply.json()["error_code"] == "UPSTREAM_TIMEOUT"
    assert bollard.records()[-1]["outcome"] == "timeout"


def test_apollo_5xx_is_passed_back_and_recorded(
    start_bollard: StartBollard, odd_apollo: str
) -> None:
    bollard = start_bollard(apollo_url=f"{odd_apollo}/broken")
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={})
    assert reply.status_code == 503
    assert reply.json() == {"error": "upstream exploded"}
    assert (bollard.records()[-1]["outcome"], bollard.records()[-1]["status"]) == (
        "upstream_error",
        503,
    )


def test_a_header_apollo_sent_in_no_text_encoding_is_passed_back_byte_for_byte_and_recorded(
    start_bollard: StartBollard, odd_apollo: str
) -> None:
    bollard = start_bollard(apollo_url=f"{odd_apollo}/odd")
    _, key = bollard.agents.create("a", ["people:read"])
    with bollard.client(key) as client:
        reply = client.post(SEARCH, json={})
    assert reply.status_code == 200
    assert (b"x-minute-requests-left", b"9\xff\xfe") in reply.headers.raw
    outcome = bollard.records()[-1]
    assert (outcome["kind"], outcome["outcome"]) == ("outcome", "ok")
    assert "x-minute-requests-left" in outcome["data"]


def test_unwritable_audit_log_means_no_call_is_forwarded(start_bollard: StartBollard) -> None:
    bollard = start_bollard()
    _, key = bollard.agents.create("a", ["people:read"])
    # A real write error from the real database, on the real insert path.
    full = "SELECT RAISE(ABORT, 'database or disk is full')"
    audit_insert_trigger(bollard.engine, "audit_full", full)
    with bollard.client(key) as client:
        first = client.post(SEARCH, json={})
        ready = client.get("/readyz")  # the trigger still fails every write
        with bollard.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_full"))
        # The writer tries the database again on its own, and calls resume.
        assert bollard.gateway.audit.wait_writable(20)
        second = client.post(SEARCH, json={})
    assert first.status_code == 503
    assert first.json()["error_code"] == "AUDIT_UNAVAILABLE"
    assert ready.status_code == 503
    # The refused call was never sent (nothing is retried and carried on); the next is.
    assert second.status_code == 200
    assert len(bollard.sandbox.calls) == 1


def test_an_unforeseen_error_after_the_record_is_recorded_and_answered_in_apollos_shape(
    start_bollard: StartBollard, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bollard = start_bollard()
    _, key = bollard.agents.create("a", ["people:read"])
    assert bollard.settings.apollo_key is not None
    upstream_key = bollard.settings.apollo_key.get_secret_value()
    real_request = aiohttp.ClientSession._request

    async def exploding(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        # A failure of no kind the gateway knows, whose text quotes the upstream key.
        raise RuntimeError(f"unforeseen, with headers {kwargs.get('headers')}")

    monkeypatch.setattr(aiohttp.ClientSession, "_request", exploding)
    with bollard.client(key) as client:
        failed = client.post(SEARCH, json={})
        monkeypatch.setattr(aiohttp.ClientSession, "_request", real_request)
        after = client.post(SEARCH, json={})
    assert failed.status_code == 500
    body = failed.json()
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "may have reached Apollo" in body["error"]
    assert body["bollard"]["request_id"] == failed.headers["x-request-id"]
    pair = [r for r in bollard.records() if r["request_id"] == failed.headers["x-request-id"]]
    assert [(r["kind"], r["decision"], r["outcome"]) for r in pair] == [
        ("request", "allow", None),
        ("outcome", None, "error"),
    ]
    assert after.status_code == 200  # the server carries on
    # The log says where it failed, never what the exception said (it held the key).
    assert "RuntimeError forwarding request" in caplog.text
    assert upstream_key not in caplog.text


ENRICH = "/api/v1/organizations/enrich"


def ledger_unwritable(engine: Engine) -> None:
    """Every change to the credit ledger refused: a real error from the real database."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER ledger_gone BEFORE UPDATE ON credit_ledger "
                "BEGIN SELECT RAISE(ABORT, 'the credit ledger refuses writes'); END"
            )
        )


def ledger_states(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT state, reserved FROM credit_ledger"))]


def test_apollos_answer_reaches_the_agent_when_its_credits_cannot_be_settled(
    start_bollard: StartBollard, caplog: pytest.LogCaptureFixture
) -> None:
    # Apollo has acted and charged: a 500 now would invite a repeat. The reservation
    # (the worst case) stays counted instead, which errs toward refusing.
    bollard = start_bollard()
    _, key = bollard.agents.create("a", ["organizations:read"])
    ledger_unwritable(bollard.engine)
    domain = bollard.sandbox.organizations.orgs[0].domain
    with bollard.client(key) as client:
        reply = client.get(ENRICH, params={"domain": domain})
    outcome = bollard.records()[-1]
    assert reply.status_code == 200
    assert reply.json()["organization"]["primary_domain"] == domain
    assert (outcome["kind"], outcome["outcome"], outcome["status"]) == ("outcome", "ok", 200)
    assert json.loads(outcome["data"])["credits"] == 1  # what Apollo charged
    assert ledger_states(bollard.engine) == [("reserved", 1)]
    assert "could not settle ledger entry" in caplog.text


def test_apollo_unreachable_is_still_reported_when_the_reservation_cannot_be_given_back(
    start_bollard: StartBollard, caplog: pytest.LogCaptureFixture
) -> None:
    bollard = start_bollard(apollo_url="http://127.0.0.1:9")
    _, key = bollard.agents.create("a", ["organizations:read"])
    ledger_unwritable(bollard.engine)
    with bollard.client(key) as client:
        reply = client.get(ENRICH, params={"domain": "example.com"})
    assert reply.status_code == 502
    assert "unreachable" in reply.json()["error"]
    assert bollard.records()[-1]["outcome"] == "upstream_error"
    assert ledger_states(bollard.engine) == [("reserved", 1)]
    assert "could not release ledger entry" in caplog.text
