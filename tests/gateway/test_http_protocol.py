"""The HTTP server itself, over raw sockets: a request head is capped before anyone
is authenticated, and a chunked request's trailers are never its headers."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bollard.loopback import LoopbackServer
from bollard.protocol import HEAD_MAX_BYTES, GuardedHttpToolsProtocol
from tests.harness import Bollard, StartBollard
from tests.hostile_upstreams import catcher

SEARCH = "/api/v1/mixed_people/api_search"


def exchange(url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes and read one answer: its status, headers and body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received and (chunk := sock.recv(65536)):
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        while len(body) < int(headers.get("content-length", 0)):
            body += sock.recv(65536)
    return int(status_line.split()[1]), headers, body


def post(path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: bollard\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def chunked(path: str, headers: dict[str, str], body: bytes, trailers: dict[str, str]) -> bytes:
    head = f"PATCH {path} HTTP/1.1\r\nHost: bollard\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Transfer-Encoding: chunked\r\n\r\n"
    framed = b"%x\r\n%s\r\n0\r\n" % (len(body), body)
    tail = "".join(f"{k}: {v}\r\n" for k, v in trailers.items()) + "\r\n"
    return head.encode() + framed + tail.encode()


@pytest.mark.parametrize(
    ("size", "complete"),
    [(HEAD_MAX_BYTES + 1024, True), (HEAD_MAX_BYTES + 1024, False), (8 * 1024 * 1024, False)],
)
def test_a_request_head_past_16_kib_is_answered_431_before_authentication(
    bollard: Bollard, size: int, complete: bool
) -> None:
    # Complete: parsed, and counted field by field. Incomplete (no blank line yet):
    # refused on the bytes received, without waiting for the end of the head.
    padding = {"X-Padding": "p" * size}
    raw = post(SEARCH, padding, b"{}")
    status, headers, body = exchange(bollard.url, raw if complete else raw[: len(raw) - 10])
    assert status == 431
    assert headers["connection"] == "close"
    assert json.loads(body)["error_code"] == "HEADERS_TOO_LARGE"
    assert bollard.records() == []  # nobody was authenticated, nothing was decided


def test_a_head_just_under_the_cap_is_served(bollard: Bollard) -> None:
    _, key = bollard.agents.create("a", ["people:read"])
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    headers["X-Padding"] = "p" * (HEAD_MAX_BYTES - 1024)
    status, _, _ = exchange(bollard.url, post(SEARCH, headers, b"{}"))
    assert status == 200


def test_a_key_sent_only_in_a_trailer_is_not_a_key(bollard: Bollard) -> None:
    _, key = bollard.agents.create("writer", ["contacts:write"])
    raw = chunked(
        "/api/v1/contacts/abc123",
        {"Content-Type": "application/json"},
        b'{"title": "CEO"}',
        {"X-Api-Key": key},
    )
    status, _, body = exchange(bollard.url, raw)
    assert status == 401, body
    assert bollard.sandbox.calls == []


def test_a_writers_key_in_a_trailer_does_not_replace_the_readers_in_the_headers(
    bollard: Bollard,
) -> None:
    _, reader = bollard.agents.create("reader", ["contacts:read"])
    _, writer = bollard.agents.create("writer", ["contacts:write"])
    raw = chunked(
        "/api/v1/contacts/abc123",
        {"X-Api-Key": reader, "Content-Type": "application/json"},
        b'{"title": "CEO"}',
        {"X-Api-Key": writer},
    )
    status, _, body = exchange(bollard.url, raw)
    assert status == 403, body
    assert json.loads(body)["error_code"] == "NOT_GRANTED"
    assert bollard.sandbox.calls == []
    assert {r["agent"] for r in bollard.records()} == {"reader"}


def test_a_content_type_in_a_trailer_does_not_reach_apollo(start_bollard: StartBollard) -> None:
    with catcher() as upstream:
        bollard = start_bollard(apollo_url=upstream.url)
        _, key = bollard.agents.create("writer", ["contacts:write"])
        raw = chunked(
            "/api/v1/contacts/abc123",
            {"X-Api-Key": key, "Content-Type": "application/json"},
            b'{"title": "CEO"}',
            {"Content-Type": "text/plain", "X-Api-Key": "bol_someone_else"},
        )
        status, _, body = exchange(bollard.url, raw)
    assert status == 200, body
    [sent] = upstream.seen
    assert sent["content-type"] == "application/json"


def test_trailers_past_the_cap_are_refused_too(bollard: Bollard) -> None:
    _, key = bollard.agents.create("writer", ["contacts:write"])
    raw = chunked(
        "/api/v1/contacts/abc123",
        {"X-Api-Key": key, "Content-Type": "application/json"},
        b'{"title": "CEO"}',
        {"X-Padding": "p" * (1024 * 1024)},  # past what one socket read takes in
    )
    status, _, body = exchange(bollard.url, raw[:-4])  # the trailer never ends
    assert status == 431
    assert json.loads(body)["error_code"] == "HEADERS_TOO_LARGE"


class _Hasty(GuardedHttpToolsProtocol):
    head_seconds = 0.3


@pytest.mark.parametrize("sent", [b"", b"POST /api/v1/mixed_people/api_search HTTP/1.1\r\nHo"])
def test_a_request_head_that_does_not_arrive_in_time_is_answered_408(sent: bytes) -> None:
    # uvicorn's keep-alive timeout covers only the wait between requests.
    app = Starlette(routes=[Route("/{path:path}", _ok, methods=["GET", "POST"])])
    with LoopbackServer(app, options={"http": _Hasty}) as server:
        status, headers, body = exchange(server.url, sent)
    assert status == 408
    assert headers["connection"] == "close"
    assert json.loads(body)["error_code"] == "REQUEST_HEAD_TIMEOUT"


async def _ok(request: Request) -> Response:
    return Response("ok")
