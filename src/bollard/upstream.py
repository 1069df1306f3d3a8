"""The HTTP client to Apollo: one pooled session, key choice, explicit timeouts.

aiohttp rather than httpx: measured on this machine, a pass-through built on
httpx's pool served 7-15x fewer requests/s than the same one on aiohttp's.

Three of aiohttp's defaults are turned off, because each one costs the team:
it follows redirects (with our `X-Api-Key` to whatever host the `Location` names),
it sends an idempotent request (`GET`, which Apollo uses for credit-spending
reads) a second time when the connection drops after sending, and it reads an
answer whole, however large. Here a 3xx is an upstream error, nothing is sent
twice once it may have reached Apollo, and an answer is read up to
`MAX_REPLY_BYTES` (after decompression).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from bollard.catalog import Action, Catalog
from bollard.errors import (
    MasterKeyRequired,
    UpstreamFailedMidCall,
    UpstreamRedirected,
    UpstreamReplyTooLarge,
    UpstreamTimeout,
    UpstreamUnavailable,
)

KeyKind = Literal["scoped", "master"]

# Only these request headers of the agent go up; its own credentials never do.
FORWARD_REQUEST_HEADERS = ("content-type", "accept", "cache-control")
# Only these response headers of Apollo come back (plus our own request id).
_RATE_HEADER_PREFIXES = ("x-rate-limit-", "x-minute-", "x-hourly-", "x-daily-", "x-24-hour-")
# Apollo's answers are small (a page of 100 people is a few hundred KB): anything
# past this is not an answer Bollard should hold in memory.
MAX_REPLY_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024


def _as_sent(value: str) -> str:
    """A header's bytes as Apollo sent them, one character each (latin-1).

    aiohttp decodes UTF-8 and escapes any other byte as a lone surrogate, which
    neither the agent's response (latin-1) nor the audit record (UTF-8 JSON) can
    encode: one odd byte from upstream would cost the agent a 500 and the call its
    outcome record. This way the agent gets the bytes unchanged.
    """
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


def keep_response_header(name: str) -> bool:
    """Whether an upstream response header is passed back to the agent."""
    lower = name.lower()
    return lower in ("content-type", "retry-after") or lower.startswith(_RATE_HEADER_PREFIXES)


@dataclass(frozen=True, slots=True)
class UpstreamKeys:
    """The team's Apollo keys and which actions the scoped one covers."""

    scoped: str | None
    scoped_actions: frozenset[str]
    master: str | None

    @classmethod
    def from_values(
        cls,
        catalog: Catalog,
        scoped: str | None,
        master: str | None,
        scopes: Sequence[str] | None = None,
    ) -> UpstreamKeys:
        covered = (
            frozenset(scopes)
            if scopes is not None
            else frozenset(a.id for a in catalog.actions if not a.master_key)
        )
        return cls(scoped=scoped, scoped_actions=covered if scoped else frozenset(), master=master)

    @property
    def configured(self) -> bool:
        return bool(self.scoped or self.master)

    def choose(self, action: Action) -> tuple[KeyKind, str]:
        """The least-privileged key that can serve the action, or a 403 saying none can."""
        if self.scoped and action.id in self.scoped_actions and not action.master_key:
            return "scoped", self.scoped
        if self.master:
            return "master", self.master
        if action.master_key:
            raise MasterKeyRequired(
                f"{action.id} needs Apollo's master API key and none is configured; "
                "set BOLLARD_APOLLO_MASTER_KEY (or BOLLARD_APOLLO_MASTER_KEY_FILE)"
            )
        raise MasterKeyRequired(
            f"no configured Apollo key covers {action.id}: add it to BOLLARD_APOLLO_KEY_SCOPES "
            "if the scoped key includes it, or configure BOLLARD_APOLLO_MASTER_KEY"
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """Apollo's answer, as it came."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Upstream:
    """Sends one call to Apollo with the chosen key; never retries a write."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self._base = URL(base_url.rstrip("/") + "/api/v1")
        self._max_reply = max_reply_bytes
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # path -> full URL: most calls hit a few paths

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= 1024:  # paths with record ids: keep the memory bounded
                self._urls.clear()
            url = self._urls[path] = self._base.with_path(self._base.path + path, encoded=False)
        return url

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
            # No cookie ever set by Apollo may ride along on another agent's call
            # (and keeping none saves a jar lookup per call).
            cookie_jar=aiohttp.DummyCookieJar(),
            middlewares=(_never_resend,),
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        action: Action,
        path: str,
        query: Sequence[tuple[str, str]],
        body: bytes | None,
        headers: Mapping[str, str],
        key: str,
    ) -> Reply:
        """Forward one call. Only a failure to connect, when nothing was sent, is tried
        once more (for a read); once a call may have reached Apollo it is never resent."""
        attempts = 2 if action.access == "read" else 1
        for attempt in range(attempts):
            try:
                return await self._once(action.method, path, query, body, headers, key)
            except aiohttp.ClientConnectorError as exc:
                if attempt + 1 == attempts:
                    reason = exc.strerror or "connection failed"
                    raise UpstreamUnavailable(
                        f"Apollo is unreachable at {self._base.origin()}: {reason}"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        body: bytes | None,
        headers: Mapping[str, str],
        key: str,
    ) -> Reply:
        assert self._session is not None, "Upstream.start() was not awaited"
        out = CIMultiDict(
            {k: v for k, v in headers.items() if k.lower() in FORWARD_REQUEST_HEADERS}
        )
        out["X-Api-Key"] = key
        url = self._url(path)
        if query:
            url = url.with_query(list(query))
        try:
            async with self._session.request(
                method, url, data=body, headers=out, allow_redirects=False
            ) as resp:
                if 300 <= resp.status < 400:
                    resp.close()  # its body is not read: nor is its connection reused
                    raise self._redirected(resp)
                payload = await self._read(resp)
                kept = tuple(
                    (k, _as_sent(v)) for k, v in resp.headers.items() if keep_response_header(k)
                )
                return Reply(resp.status, kept, payload)
        except TimeoutError:
            raise UpstreamTimeout(
                "Apollo did not answer in time; the call may or may not have been applied "
                "(writes are not retried): check before repeating a write"
            ) from None
        except aiohttp.ClientConnectorError:
            raise
        except aiohttp.ClientError as exc:
            raise _mid_call(exc) from None

    def _redirected(self, resp: aiohttp.ClientResponse) -> UpstreamRedirected:
        """Apollo's API never redirects a call: a 3xx names where it pointed, unfollowed."""
        location = resp.headers.get("Location", "")
        try:
            target = self._base.join(URL(location)).host if location else None
        except ValueError:
            target = None
        where = f"to host {target[:253]!r}" if target else "with no usable Location"
        return UpstreamRedirected(
            f"Apollo's URL answered {resp.status}, redirecting {where}; Bollard never follows "
            f"a redirect (the Apollo key goes to {self._base.host!r} only): check "
            "BOLLARD_APOLLO_URL"
        )

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        body = await read_capped(resp, self._max_reply)
        if body is None:
            raise UpstreamReplyTooLarge(
                f"Apollo's answer was larger than the {self._max_reply} bytes Bollard reads; "
                "it was dropped: narrow the request (per_page, fewer records)"
            )
        return body


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """A response's body (decompressed), or None past `limit` bytes, having held no
    more than that: the connection is then closed."""
    declared = resp.content_length
    if declared is None or declared <= limit:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return b"".join(chunks)
    resp.close()
    return None


def _mid_call(exc: aiohttp.ClientError) -> UpstreamFailedMidCall:
    return UpstreamFailedMidCall(
        f"the connection to Apollo failed mid-call ({type(exc).__name__}); the call may "
        "have reached Apollo and is not resent: check before repeating it"
    )


async def _never_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Turn a dropped connection into our own error before aiohttp sees it.

    aiohttp sends an idempotent request again when the connection drops after it
    was sent (RFC 9112's allowance for HTTP verbs that change nothing); Apollo's
    `GET`s can spend credits. It does so only for these two exception types, which
    leave its retry loop here as an error of ours instead. A failure to connect
    (nothing sent) passes through unchanged.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _mid_call(exc) from None
