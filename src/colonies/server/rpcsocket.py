"""``GET /rpc``: the ``/api`` RPCs over one WebSocket (our extension, used by browsers).

A browser pays several milliseconds of overhead per ``fetch`` even on loopback; frames on an
open WebSocket cost a fraction of that. Each text frame is ``{"id": n, "body": envelope}``
(the same signed envelope as a ``POST /api`` body) and gets ``{"id": n, "status": s,
"body": reply}``. Requests run concurrently, so a long-poll does not hold up the others. When
the socket closes, running long-polls end as if their HTTP client had hung up: a process claimed
for one of them goes back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from colonies import rpc
from colonies.server.calls import answer
from colonies.server.context import ServerContext

MAX_IN_FLIGHT = 64  # requests one socket may have running at once


def endpoint(
    ctx: ServerContext, routes: Mapping[str, Any]
) -> Callable[[WebSocket], Awaitable[None]]:
    async def rpc_socket(ws: WebSocket) -> None:
        await ws.accept()
        closed = asyncio.Event()
        send_lock = asyncio.Lock()
        running: set[asyncio.Task[None]] = set()
        limit = ctx.config.max_body_bytes

        async def respond(frame_id: Any, status: int, body: str) -> None:
            async with send_lock:
                with contextlib.suppress(Exception):  # the socket may be gone meanwhile
                    await ws.send_text(json.dumps({"id": frame_id, "status": status, "body": body}))

        async def handle(frame_id: Any, body: str) -> None:
            reply = await answer(ctx, routes, body, closed.wait)
            if reply is not None:
                await respond(frame_id, *reply)

        try:
            while True:
                text = await ws.receive_text()
                if len(text) > limit:
                    await respond(None, 413, rpc.build_error(413, "Frame is too large"))
                    continue
                try:
                    frame = json.loads(text)
                    frame_id, body = frame["id"], frame["body"]
                    if not isinstance(body, str):
                        raise TypeError("body must be a string")
                except (ValueError, KeyError, TypeError) as e:
                    message = f'Invalid RPC frame, expected {{"id", "body"}}: {e}'
                    await respond(None, 400, rpc.build_error(400, message))
                    continue
                if len(running) >= MAX_IN_FLIGHT:
                    message = f"Too many requests in flight on this socket (max {MAX_IN_FLIGHT})"
                    await respond(frame_id, 429, rpc.build_error(429, message))
                    continue
                task = asyncio.create_task(handle(frame_id, body))
                running.add(task)
                task.add_done_callback(running.discard)
        except WebSocketDisconnect:
            pass
        finally:
            closed.set()  # long-polls end and give back what they claimed
            if running:
                await asyncio.wait(running, timeout=5)

    return rpc_socket
