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

And one cost of uvicorn's, removed the same way: it writes a response's head and its
body in two calls to the transport, which uvloop sends at once, so two send(2)s and
two wake-ups of the client for every response. Here the protocol's transport holds
what is written in one turn of the event loop and sends it in one write as the loop
turns again (`OneWriteTransport`). It sits under the protocol, not in uvicorn's
`RequestResponseCycle.send`, because every writer goes through it alike: the head and
body, a streamed chunk, the 100 Continue, uvicorn's 400 and 500 and the 431 and 408
here; and a write the turn does not follow with another (a HEAD answer, a chunk of a
stream) goes out on the loop's next turn rather than waiting for one that may never
come.

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
# What one turn may hold back before it is sent at once: the transport's own high-water
# mark, so a stream written in one turn still meets flow control (pause_writing) as soon
# as it would have without the holding.
HOLD_MAX_BYTES = 64 * 1024


class OneWriteTransport(asyncio.Transport):
    """A transport whose writes of one event-loop turn reach the socket in one write.

    Whatever is written is held and sent by a callback scheduled at the first write
    (`call_soon`: it runs among the next turn's callbacks, once the loop has polled
    for I/O); closing, a half-close and a full hold (`HOLD_MAX_BYTES`) send it at
    once, so nothing written is ever behind a close or past the transport's flow
    control.
    """

    __slots__ = ("_held", "_held_bytes", "_loop", "_sending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._sending = False  # a send on the next turn is scheduled

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        # The caller may reuse a buffer it wrote; bytes cannot change while held.
        held = data if type(data) is bytes else bytes(data)
        self._held.append(held)
        self._held_bytes += len(held)
        if self._held_bytes >= HOLD_MAX_BYTES:
            self.send_held()
        elif not self._sending:
            self._sending = True
            self._loop.call_soon(self._end_of_turn)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _end_of_turn(self) -> None:
        self._sending = False
        self.send_held()

    def send_held(self) -> None:
        """Send what is held, in one write."""
        if not self._held:
            return
        held, self._held, self._held_bytes = self._held, [], 0
        if self._transport.is_closing():
            return  # the connection is gone: as uvicorn's writes to a lost peer
        self._transport.writelines(held)  # uvloop: one writev, nothing copied

    def write_eof(self) -> None:
        self.send_held()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def close(self) -> None:
        self.send_held()  # closing sends what was written first, as a transport does
        self._transport.close()

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


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
        # uvicorn keeps this transport and hands it to every request's cycle.
        super().connection_made(OneWriteTransport(transport, self.loop))
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
