"""The HTTP/1.1 protocol Bollard serves with: uvicorn's httptools protocol, guarded.

Two faults of the parser underneath, closed here at the server layer, before any
request reaches the app (and so before authentication):

- A request line and headers of any size were read into memory: httptools keeps
  a header value it has not seen the end of, however long. Here a request head
  past `HEAD_MAX_BYTES` is answered 431 and the connection closed, so ten clients
  sending 30 MB headers cost what ten 16 KiB ones do. The bytes of a head are
  counted as they arrive (at most one socket read past the cap is ever held) and
  again exactly, field by field, once parsed. After the 431 the connection is
  closed the way nginx does it (a "lingering close"): our side is shut, and what the
  client still sends is read and dropped for a while, so that its kernel does not
  answer the rest with a reset that would destroy the 431 before it is read.
- Nothing bounded how long a client could take over a request head (uvicorn's
  keep-alive timeout covers only the wait between requests): one byte a minute held a
  connection for ever. Here a head must arrive whole within `HEAD_SECONDS` of its
  first byte (or of the connection, for the first request), else 408 and close.
- Trailers of a chunked request were appended to the request's headers (uvicorn
  hands the app the very list the parser keeps appending to), so a key or a
  Content-Type sent after the body replaced the real one for anyone reading the
  headers after the body. Here only the head's fields are headers; trailers are
  dropped, and their bytes are capped like a head's.

`SERVER_OPTIONS` go to every uvicorn Bollard runs (`bollard serve`, and the
loopback servers of the tests and benchmarks), so what is tested is what is served.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Common servers' limit (nginx's large_client_header_buffers is 4 x 8 KiB, Node's
# --max-http-header-size 16 KiB); Apollo clients send a few hundred bytes.
HEAD_MAX_BYTES = 16 * 1024
# After a 431: how much more of a refused request is read (and dropped), and for
# how long, before the connection is closed outright.
LINGER_MAX_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 5.0
# How long a request line and headers may take to arrive (nginx's
# client_header_timeout is 60 s; an agent sends its head in one write).
HEAD_SECONDS = 30.0


class _HeadTooLarge(Exception):
    """Raised inside a parser callback: stops the parser on this request."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a capped, timed head and no trailers as headers."""

    head_seconds = HEAD_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # reading a request line and headers
        self._raw_head = 0  # bytes received since this head began (an upper bound)
        self._head = 0  # bytes of this head's parsed line and fields (exact)
        self._unparsed = 0  # bytes received after the head that moved no body
        self._too_large = False
        self._dropped = 0  # bytes read and dropped after a 431
        self._linger: asyncio.TimerHandle | None = None
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_clock()

    def data_received(self, data: bytes) -> None:
        if self._too_large:
            self._dropped += len(data)
            if self._dropped > LINGER_MAX_BYTES:
                self.transport.close()
            return
        if self._in_head:
            self._raw_head += len(data)
        else:
            self._unparsed += len(data)
        super().data_received(data)
        self._check_unparsed()

    def _check_unparsed(self) -> None:
        """Refuse a head (or trailers) still unparsed past the cap."""
        if self._too_large:
            return  # already answered
        over_head = self._in_head and self._raw_head > HEAD_MAX_BYTES
        if over_head or (not self._in_head and self._unparsed > HEAD_MAX_BYTES):
            self._too_large = True
            self._answer_431()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._raw_head, self._head = True, 0, 0
        self._start_head_clock()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # a trailer: never one of the request's headers
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._unparsed = False, 0
        self._stop_head_clock()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._unparsed = 0
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._unparsed = 0
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers any parser error 400; the one raised by `_count` is a 431.
        if self._too_large:
            self._answer_431()
        else:
            super().send_400_response(msg)

    def _count(self, size: int) -> None:
        self._head += size
        if self._head > HEAD_MAX_BYTES:
            self._too_large = True
            raise _HeadTooLarge

    def _answer_431(self) -> None:
        body = json.dumps(
            {
                "error": f"the request line and headers (or trailers) are larger than "
                f"{HEAD_MAX_BYTES} bytes: send smaller headers",
                "error_code": "HEADERS_TOO_LARGE",
            }
        ).encode()
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        if self.cycle is not None and not self.cycle.response_complete:
            # An app waiting for this request's body (trailers past the cap) is told
            # the client has gone, and anything it sends is dropped.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(head + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
        self._stop_head_clock()
        super().connection_lost(exc)

    def _start_head_clock(self) -> None:
        self._stop_head_clock()
        self._head_deadline = self.loop.call_later(self.head_seconds, self._head_too_slow)

    def _stop_head_clock(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self._in_head or self._too_large or self.transport.is_closing():
            return
        self._too_large = True  # nothing more of this connection is parsed
        body = json.dumps(
            {
                "error": f"the request line and headers did not arrive within "
                f"{self.head_seconds:g} s: send the request head in one go",
                "error_code": "REQUEST_HEAD_TIMEOUT",
            }
        ).encode()
        head = (
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        self.transport.write(head + body)
        self.transport.close()


SERVER_OPTIONS: dict[str, Any] = {"http": GuardedHttpToolsProtocol}
