"""``GET /rpc``: the ``/api`` RPCs over one WebSocket (our extension, used by browsers).

A browser pays several milliseconds of overhead per ``fetch`` even on loopback; frames on an
open WebSocket cost a fraction of that. Each text frame is ``{"id": n, "body": envelope}``
(the same signed envelope as a ``POST /api`` body) and gets ``{"id": n, "status": s,
"body": reply}``. Requests run concurrently, so a long-poll does not hold up the others. When
the socket closes, running long-polls end as if their HTTP client had hung up: a process claimed
for one of them goes back to the queue.

Limits (``ServerConfig``): a frame is verified as a ``POST /api`` body is (``calls.parse``:
size for its type, envelope, signature, type) before it costs a task; requests in flight are
capped per socket and per signing key across sockets (429 beyond either); a socket that sends
``max_bad_frames_per_socket`` frames that fail verification is closed with code 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from colonies import jsoncodec, rpc
from colonies.rpc import RPCError
from colonies.server.calls import parse, run
from colonies.server.context import ServerContext

POLICY_VIOLATION = 1008  # WebSocket close code: the peer broke the server's rules


async def receive_frame(ws: WebSocket) -> str | bytes:
    """The next data frame, text or binary; ``WebSocketDisconnect`` when the peer has gone."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text: str | None = message.get("text")
    return text if text is not None else bytes(message.get("bytes") or b"")


class KeyQuota:
    """How many of something each key holds at once, across sockets, below a ceiling.

    Keys holding nothing take no memory, so unknown keys leave nothing behind.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._held)

    def acquire(self, key: str) -> bool:
        held = self._held.get(key, 0)
        if held >= self.limit:
            return False
        self._held[key] = held + 1
        return True

    def release(self, key: str) -> None:
        left = self._held[key] - 1
        if left:
            self._held[key] = left
        else:
            del self._held[key]


def parse_frame(data: str | bytes, limit: int) -> tuple[Any, str]:
    """The ``(id, body)`` of a frame, or ``RPCError`` (400, or 413 above ``limit`` bytes)."""
    if len(data) > limit:
        raise RPCError(413, "Frame is too large")
    try:
        frame = json.loads(data)
        frame_id, body = frame["id"], frame["body"]
        if not isinstance(body, str):
            raise TypeError("body must be a string")
    except (ValueError, KeyError, TypeError) as e:
        raise RPCError(400, f'Invalid RPC frame, expected {{"id", "body"}}: {e}') from None
    return frame_id, body


def endpoint(
    ctx: ServerContext, routes: Mapping[str, Any]
) -> Callable[[WebSocket], Awaitable[None]]:
    config = ctx.config
    per_key = KeyQuota(config.max_rpc_in_flight_per_key)

    async def rpc_socket(ws: WebSocket) -> None:
        await ws.accept()
        closed = asyncio.Event()
        send_lock = asyncio.Lock()
        running: set[asyncio.Task[None]] = set()
        bad_frames = 0

        async def respond(frame_id: Any, status: int, body: str) -> None:
            async with send_lock:
                with contextlib.suppress(Exception):  # the socket may be gone meanwhile
                    frame = {"id": frame_id, "status": status, "body": body}
                    await ws.send_text(jsoncodec.dumps_text(frame))

        async def handle(frame_id: Any, parsed: rpc.Request) -> None:
            reply = await run(ctx, parsed, closed.wait)
            if reply is not None:
                await respond(frame_id, *reply)

        def admit(signer: str) -> str | None:
            """Why one more request cannot run now, or ``None`` (then it holds its slots)."""
            if len(running) >= config.max_rpc_in_flight_per_socket:
                limit = config.max_rpc_in_flight_per_socket
                return f"Too many requests in flight on this socket (max {limit})"
            if signer and not per_key.acquire(signer):
                return f"Too many requests in flight for this key (max {per_key.limit})"
            return None

        def start(frame_id: Any, parsed: rpc.Request) -> None:
            task = asyncio.create_task(handle(frame_id, parsed))
            running.add(task)

            def finished(task: asyncio.Task[None]) -> None:
                running.discard(task)
                if parsed.signer:
                    per_key.release(parsed.signer)

            task.add_done_callback(finished)

        try:
            while True:
                frame_id: Any = None
                try:
                    frame_id, body = parse_frame(await receive_frame(ws), config.max_body_bytes)
                    parsed = await parse(ctx, routes, body)
                except RPCError as e:
                    await respond(frame_id, e.status, rpc.build_error(e.status, e.message))
                    bad_frames += 1
                    if bad_frames >= config.max_bad_frames_per_socket:
                        with contextlib.suppress(Exception):
                            await ws.close(POLICY_VIOLATION, "Too many bad frames")
                        return
                    continue
                refusal = admit(parsed.signer)
                if refusal is not None:
                    await respond(frame_id, 429, rpc.build_error(429, refusal))
                    continue
                start(frame_id, parsed)
        except WebSocketDisconnect:
            pass
        finally:
            closed.set()  # long-polls end and give back what they claimed
            if running:
                await asyncio.wait(running, timeout=5)

    return rpc_socket
