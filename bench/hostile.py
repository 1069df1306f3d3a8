"""Hostile input against a running `bollard serve`: what it answers, and its peak memory.

Starts `bollard serve` (on its built-in sandbox, in a fresh directory) in its own
process, takes the demo agent's key from its first-start message, and sends, phase by
phase, over raw sockets on loopback:

- huge headers: clients each sending a request whose one header is 30 MB, no key;
- trailers: chunked requests whose key (or Content-Type) comes only in a trailer;
- huge trailers: a chunked request whose trailer never ends;
- nested JSON: a body of 100,000 nested lists, and an integer of 5,000 digits;
- huge bodies: 50 MB bodies with a valid key;
- slow clients: connections sending a request head a few bytes at a time, while a
  well-behaved call is timed alongside.

For each phase it prints the answers by status (`reset` when the connection was
dropped with no answer), and the server's peak resident memory during the phase
(VmHWM, reset between phases through /proc/PID/clear_refs). Linux only.

    uv run python bench/hostile.py [--clients 10] [--header-mb 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

SEARCH = "/api/v1/mixed_people/api_search"
MB = 1 << 20
Answers = collections.Counter[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def bollard(workdir: Path) -> Iterator[tuple[int, int, str]]:
    """A `bollard serve` on a free port: its pid, port and the demo agent's key."""
    port = free_port()
    env = {**os.environ, "BOLLARD_DATABASE_URL": f"sqlite:///{workdir / 'bollard.db'}"}
    env["BOLLARD_STATE_DIR"] = str(workdir / "state")
    out = (workdir / "serve.out").open("w+b")
    command = [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=out)
    try:
        key = _wait_for_key(proc, out, port)
        yield proc.pid, port, key
    finally:
        proc.terminate()
        proc.wait(30)


def _wait_for_key(proc: subprocess.Popen[bytes], out: object, port: int) -> str:
    path = Path(out.name)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bollard serve exited:\n{path.read_text()}")
        found = re.search(r"^\s+(bol_\S+)$", path.read_text(), re.MULTILINE)
        with socket.socket() as sock:
            listening = sock.connect_ex(("127.0.0.1", port)) == 0
        if found and listening:
            return found[1]
        time.sleep(0.1)
    raise RuntimeError("bollard serve did not start in 60 s")


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found[1]) / 1024 if found else float("nan")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def exchange(port: int, chunks: list[bytes], pause: float = 0.0) -> str:
    """Send the chunks; the status of the answer, or `reset` for none."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return "refused"
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        line = await asyncio.wait_for(reader.readline(), 30)
        return line.split()[1].decode() if line.startswith(b"HTTP/") else "reset"
    except (OSError, TimeoutError, IndexError):
        # The server may answer (431) and close while we are still sending: read it.
        with contextlib.suppress(Exception):
            line = await asyncio.wait_for(reader.readline(), 1)
            if line.startswith(b"HTTP/"):
                return line.split()[1].decode()
        return "reset"
    finally:
        writer.close()


def request(method: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {SEARCH} HTTP/1.1\r\nHost: bollard\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def chunked(headers: dict[str, str], body: bytes, trailer: bytes) -> bytes:
    head = f"POST {SEARCH} HTTP/1.1\r\nHost: bollard\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += "Transfer-Encoding: chunked\r\n\r\n"
    return head.encode() + b"%x\r\n%s\r\n0\r\n" % (len(body), body) + trailer


def phases(
    args: argparse.Namespace, port: int, key: str
) -> dict[str, Callable[[], Awaitable[Answers]]]:
    json_type = {"Content-Type": "application/json"}
    keyed = {"X-Api-Key": key, **json_type}
    n = args.clients

    async def many(make: Callable[[], Awaitable[str]], count: int) -> Answers:
        return collections.Counter(await asyncio.gather(*(make() for _ in range(count))))

    async def huge_headers() -> Answers:
        head = request("POST", {"X-Padding": "p" * (args.header_mb * MB)}, b"{}")
        pieces = [head[i : i + MB] for i in range(0, len(head), MB)]
        return await many(lambda: exchange(port, pieces), n)

    async def trailers() -> Answers:
        only = chunked(json_type, b"{}", f"X-Api-Key: {key}\r\n\r\n".encode())
        ctype = chunked({"X-Api-Key": key}, b"{}", b"Content-Type: application/json\r\n\r\n")
        return await many(lambda: exchange(port, [only]), n) + await many(
            lambda: exchange(port, [ctype]), n
        )

    async def huge_trailers() -> Answers:
        start = chunked(keyed, b"{}", b"X-Padding: ")
        pieces = [start] + [b"p" * MB] * args.header_mb
        return await many(lambda: exchange(port, pieces), n)

    async def nested_json() -> Answers:
        deep = b"[" * 100_000 + b"]" * 100_000
        big_int = b'{"per_page": ' + b"9" * 5000 + b"}"
        return await many(lambda: exchange(port, [request("POST", keyed, deep)]), n) + await many(
            lambda: exchange(port, [request("POST", keyed, big_int)]), n
        )

    async def huge_bodies() -> Answers:
        body = b'{"q_keywords": "' + b"x" * (50 * MB) + b'"}'
        raw = request("POST", keyed, body)
        pieces = [raw[i : i + MB] for i in range(0, len(raw), MB)]
        return await many(lambda: exchange(port, pieces), n)

    async def slow_clients() -> Answers:
        raw = request("POST", keyed, b"{}")
        drips = [raw[i : i + 8] for i in range(0, len(raw), 8)]
        slow = [asyncio.ensure_future(exchange(port, drips, pause=0.05)) for _ in range(20 * n)]
        began = time.monotonic()
        fine = await exchange(port, [request("POST", keyed, b"{}")])
        print(f"    a well-behaved call meanwhile: {fine} in {time.monotonic() - began:.3f} s")
        return collections.Counter(await asyncio.gather(*slow))

    return {
        f"{n} x {args.header_mb} MB header, no key": huge_headers,
        f"{2 * n} x key or Content-Type only in a trailer": trailers,
        f"{n} x {args.header_mb} MB trailer": huge_trailers,
        f"{2 * n} x nested JSON / 5,000-digit integer": nested_json,
        f"{n} x 50 MB body with a key": huge_bodies,
        f"{20 * n} x slow client (8 bytes / 50 ms)": slow_clients,
    }


async def run(args: argparse.Namespace, pid: int, port: int, key: str) -> None:
    print(f"bollard serve pid {pid} on port {port}; at rest {peak_rss_mb(pid):.0f} MB peak")
    for name, phase in phases(args, port, key).items():
        reset_peak(pid)
        answers = await phase()
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(answers.items()))
        print(f"{name}\n    answers {counts}; server peak RSS {peak_rss_mb(pid):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--header-mb", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, bollard(Path(tmp)) as (pid, port, key):
        asyncio.run(run(args, pid, port, key))


if __name__ == "__main__":
    main()
