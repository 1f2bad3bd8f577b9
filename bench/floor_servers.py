"""The HTTP stacks the floor scenario compares (issue 13), each a server process on 127.0.0.1
whose ``POST /api`` does the same work, ``bench.floor.answer`` (envelope + secp256k1 recovery +
reply), and whose ``GET /health`` answers an empty 200:

- ``uvicorn``: ``bench/floor.py``, the real server's uvicorn options (httptools, uvloop);
- ``granian``: the same ASGI app on granian (1 worker, uvloop); a worker process under a
  supervisor, so the floor meters the whole process tree;
- ``raw``: no ASGI, an ``asyncio.Protocol`` on uvloop feeding ``httptools.HttpRequestParser``
  (HTTP/1.1 keep-alive, Content-Length or chunked bodies, no pipelining), run by
  ``python -m bench.floor_servers --port P``; with ``--tasks`` each request is answered from a
  task of its own, as the real server's async handlers would have to be.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from importlib.util import find_spec
from typing import cast

import httptools
import uvloop

from bench.floor import answer

REASONS = {200: b"OK", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found"}


@dataclass(frozen=True)
class Floor:
    """One HTTP stack under test: its row name, its command line, and whether it can run."""

    name: str
    argv: Callable[[str, int], list[str]]  # (host, port) -> the server's command line
    missing: str = ""  # why it cannot run here (a package not installed), else ""


def floors(python: str) -> list[Floor]:
    """The stacks, in table order; ``python`` runs each server."""
    granian_missing = "" if find_spec("granian") else "granian is not installed"
    return [
        Floor(
            "floor: uvicorn + httptools (ASGI)",
            lambda host, port: [python, "-m", "bench.floor", "--host", host, "--port", str(port)],
        ),
        Floor(
            "floor: granian (ASGI)",
            lambda host, port: [
                *(python, "-m", "granian", "--interface", "asgi", "--workers", "1"),
                *("--loop", "uvloop", "--log-level", "warning", "--factory"),
                *("--host", host, "--port", str(port), "bench.floor:create_app"),
            ],
            granian_missing,
        ),
        Floor(
            "floor: raw asyncio protocol",
            lambda host, port: [
                *(python, "-m", "bench.floor_servers"),
                *("--host", host, "--port", str(port)),
            ],
        ),
        Floor(
            "floor: raw asyncio protocol, a task per request",
            lambda host, port: [
                *(python, "-m", "bench.floor_servers", "--tasks"),
                *("--host", host, "--port", str(port)),
            ],
        ),
    ]


# --- the raw protocol ---------------------------------------------------------------------


class Clock:
    """The ``date`` header, formatted once a second (as uvicorn does), not per response."""

    def __init__(self) -> None:
        self.header = b""
        self.tick()

    def tick(self) -> None:
        self.header = b"date: " + formatdate(usegmt=True).encode() + b"\r\n"
        asyncio.get_running_loop().call_later(1.0 - time.time() % 1.0, self.tick)


def route(method: bytes, url: bytes, body: bytes) -> tuple[int, bytes]:
    """``POST /api`` does the floor's work; ``GET /health`` is an empty 200; the rest 404."""
    if method == b"POST" and url == b"/api":
        return answer(body)
    if method == b"GET" and url == b"/health":
        return 200, b""
    return 404, b""


class FloorProtocol(asyncio.Protocol):
    """One connection: httptools calls back as bytes arrive; a complete request is answered
    in one write, at once or (``tasks``) from a task of its own, as a real server's handlers,
    which await the store and long-polls, would have to be run."""

    def __init__(self, clock: Clock, connections: set[asyncio.Transport], tasks: bool) -> None:
        self.clock, self.connections, self.tasks = clock, connections, tasks
        self.pending: set[asyncio.Task[None]] = set()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's, not a subclass
        self.connections.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.connections.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # answered 404 and closed by on_message_complete
        except httptools.HttpParserError:
            self.respond(400, b"", keep_alive=False)

    # httptools callbacks (only the ones defined are called)

    def on_message_begin(self) -> None:
        self.url, self.body = b"", []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method, body = self.parser.get_method(), b"".join(self.body)
        keep_alive = self.parser.should_keep_alive()
        if self.parser.should_upgrade():  # a WebSocket (the SDK tries /rpc): not here
            self.respond(404, b"", keep_alive=False)
        elif not self.tasks:
            self.respond(*route(method, self.url, body), keep_alive)
        else:
            task = asyncio.get_running_loop().create_task(
                self.handle(method, self.url, body, keep_alive)
            )
            self.pending.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self.pending.discard)

    async def handle(self, method: bytes, url: bytes, body: bytes, keep_alive: bool) -> None:
        """A handler's coroutine; it never awaits: what the task costs is the point."""
        self.respond(*route(method, url, body), keep_alive)

    def respond(self, status: int, data: bytes, keep_alive: bool) -> None:
        assert self.transport is not None
        if self.transport.is_closing():  # the client left before its answer
            return
        head = b"HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, b"Error"))
        self.transport.write(
            head
            + self.clock.header
            + b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n" % len(data)
            + (b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
            + data
        )
        if not keep_alive:
            self.transport.close()


async def serve(host: str, port: int, tasks: bool) -> None:
    """Serve until SIGINT or SIGTERM, then close every connection."""
    loop = asyncio.get_running_loop()
    clock, connections = Clock(), set[asyncio.Transport]()
    server = await loop.create_server(lambda: FloorProtocol(clock, connections, tasks), host, port)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for transport in list(connections):
        transport.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description="the floor's raw asyncio protocol server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tasks", action="store_true", help="answer from a task per request")
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port, args.tasks))


if __name__ == "__main__":
    main()
