"""The HTTP server itself, over raw sockets: a request head is capped before anyone
is authenticated, a chunked request's trailers are never its headers, and a
response's head and body reach the client in one TCP segment."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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


# One write per response. A response's head and body are written by uvicorn in two
# calls; the client counts the TCP segments that brought it data (Linux's tcp_info):
# on loopback, with Nagle off (uvloop's default), each send(2) is a segment of its own.


def data_segments_received(sock: socket.socket) -> int:
    """How many TCP segments carrying data this socket has received."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("I", info, 152)[0])  # struct tcp_info's tcpi_data_segs_in


def read_answer(sock: socket.socket, *, has_body: bool = True) -> tuple[bytes, bytes]:
    """Read one answer framed by Content-Length: its head and its body."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().partition(b"content-length: ")[2].partition(b"\r\n")[0])
    while has_body and len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside a body"
        body += chunk
    return head, body


def get(path: str, method: str = "GET", *extra: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: bollard", *extra, "", ""]).encode()


@contextmanager
def connection(url: str) -> Iterator[socket.socket]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        yield sock


def test_a_gateway_answer_reaches_the_client_in_one_segment(bollard: Bollard) -> None:
    _, key = bollard.agents.create("a", ["people:read"])
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    request = post(SEARCH, headers, b'{"person_titles": ["ceo"]}').replace(
        b"Connection: close", b"Connection: keep-alive"
    )
    with connection(bollard.url) as sock:
        for calls in (1, 2):  # and the next answer on the same connection too
            sock.sendall(request)
            head, body = read_answer(sock)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert json.loads(body)["people"]
            assert data_segments_received(sock) == calls


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers as the test's path says: /ok, /echo, /fail-after-head, /stream."""
    assert scope["type"] == "http"
    path = scope["path"]
    if path == "/echo":
        body = b""
        while (message := await receive())["more_body"]:
            body += message["body"]
        body += message["body"]
    elif path == "/fail-after-head":
        await send({"type": "http.response.start", "status": 200, "headers": _length(10)})
        raise RuntimeError("an error after the head was sent")
    elif path == "/stream":
        await _stream(scope["state"]["released"], send)
        return
    else:
        body = b"ok"
    await send({"type": "http.response.start", "status": 200, "headers": _length(len(body))})
    await send({"type": "http.response.body", "body": body})


async def _stream(released: threading.Event, send: Send) -> None:
    """A server-sent event, then another only once the test has read the first."""
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
    assert await asyncio.to_thread(released.wait, 10)
    await send({"type": "http.response.body", "body": b"data: two\n\n"})


def _length(size: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/plain"), (b"content-length", str(size).encode())]


@contextmanager
def plain_server(options: dict[str, Any] | None = None) -> Iterator[tuple[str, threading.Event]]:
    released = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        scope["state"] = {"released": released}
        await _app(scope, receive, send)

    with LoopbackServer(app, options=options) as server:
        yield server.url, released


def test_a_stream_sends_each_chunk_as_it_is_written() -> None:
    with plain_server() as (url, released), connection(url) as sock:
        sock.sendall(get("/stream"))
        received = b""
        while b"data: one\n\n" not in received:  # the app waits for us before "two"
            chunk = sock.recv(65536)
            assert chunk
            received += chunk
        assert received.startswith(b"HTTP/1.1 200 ")
        assert b"two" not in received
        released.set()
        while not received.endswith(b"0\r\n\r\n"):
            received += sock.recv(65536)
    assert b"data: two\n\n" in received


def test_a_head_answer_is_sent_and_the_connection_serves_the_next_request() -> None:
    with plain_server() as (url, _), connection(url) as sock:
        sock.sendall(get("/ok", "HEAD"))
        head, body = read_answer(sock, has_body=False)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"content-length: 2" in head
        assert body == b""
        sock.sendall(get("/ok"))
        head, body = read_answer(sock)
        assert data_segments_received(sock) == 2
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b"ok"


def test_an_answer_before_a_close_is_sent_whole_then_the_connection_ends() -> None:
    with plain_server() as (url, _), connection(url) as sock:
        sock.sendall(get("/ok", "GET", "Connection: close"))
        head, body = read_answer(sock)
        assert b"connection: close" in head
        assert body == b"ok"
        assert sock.recv(65536) == b""
        assert data_segments_received(sock) == 1


def test_an_error_after_the_head_sends_the_head_then_closes() -> None:
    with plain_server() as (url, _), connection(url) as sock:
        sock.sendall(get("/fail-after-head"))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 ")
    assert received.endswith(b"content-length: 10\r\n\r\n")  # and no body: closed


def test_a_client_expecting_100_continue_is_told_to_continue() -> None:
    with plain_server() as (url, _), connection(url) as sock:
        head = get("/echo", "POST", "Content-Length: 5", "Expect: 100-continue")
        sock.sendall(head)
        received = b""
        while b"\r\n\r\n" not in received:  # the body is sent only after this
            received += sock.recv(65536)
        assert received == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        head, body = read_answer(sock)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b"hello"


def test_a_stream_faster_than_its_client_is_paused_before_it_is_all_written() -> None:
    # Writes are held for a turn, but no more than the transport's high-water mark:
    # the transport still pauses the writer while the client does not read.
    chunk, chunks = b"x" * (16 * 1024), 4096  # 64 MiB, more than the socket buffers
    written: list[int] = []
    paused_after: list[int] = []
    paused = threading.Event()

    class Watched(GuardedHttpToolsProtocol):
        def pause_writing(self) -> None:
            paused_after.append(len(written))
            paused.set()
            super().pause_writing()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        headers = _length(len(chunk) * chunks)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for _ in range(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            written.append(1)
        await send({"type": "http.response.body", "body": b""})

    with LoopbackServer(app, options={"http": Watched}) as server, connection(server.url) as sock:
        sock.sendall(get("/"))
        assert paused.wait(10)  # before reading a byte
        _, body = read_answer(sock)
    assert paused_after[0] < chunks
    assert len(body) == len(chunk) * chunks
    assert body.count(b"x") == len(body)
