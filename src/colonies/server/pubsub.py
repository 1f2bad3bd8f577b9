"""``GET /pubsub``: process-state subscriptions over a WebSocket (spec §1.5).

Each text frame is a signed envelope; one connection can carry several subscriptions. When a
subscription's ``timeout`` runs out the server closes the socket, as the Go server does: clients
(the Go CLI, pycolonies, ours) treat that as "no event yet" and decide whether to subscribe again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from colonies import rpc
from colonies.model import Process
from colonies.rpc import RPCError
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg

SUBSCRIPTIONS = frozenset({"subscribeprocessmsg", "subscribeprocessesmsg"})


def _event(process: Process) -> str:
    return rpc.build_reply("subscribeprocessmsg", process.to_dict())


class Connection:
    """One WebSocket and the subscriptions running on it."""

    def __init__(self, ctx: ServerContext, ws: WebSocket) -> None:
        self.ctx, self.ws = ctx, ws
        self.closed = asyncio.Event()
        self.lock = asyncio.Lock()

    async def send(self, text: str) -> None:
        async with self.lock:
            with contextlib.suppress(Exception):
                await self.ws.send_text(text)

    async def expire(self, timeout: int) -> None:
        """Close the socket when a subscription's time is up (Go semantics)."""
        await asyncio.sleep(max(timeout, 0))
        self.closed.set()

    async def process(self, msg: Msg) -> None:
        process = await self.ctx.store.get_process(msg.text("processid"))
        if process is None:
            raise RPCError(403, f"Invalid process with Id {msg.text('processid')}")
        state = msg.integer("state")
        timeout = msg.integer("timeout")
        with self.ctx.events.subscribe_process(process.processid, state) as queue:
            current = await self.ctx.store.get_process(process.processid)
            if current is not None and current.state == state:
                await self.send(_event(current))
            await self._forward(queue, timeout)

    async def processes(self, msg: Msg, signer: str) -> None:
        executor = await self.ctx.executor(signer)
        if executor is None:
            raise RPCError(403, "executor not found")
        executortype = msg.text("executortype") or executor.executortype
        with self.ctx.events.subscribe_type(executortype, msg.integer("state")) as queue:
            await self._forward(queue, msg.integer("timeout"))

    async def _forward(self, queue: asyncio.Queue[Process], timeout: int) -> None:
        expiry = asyncio.ensure_future(self.expire(timeout))
        try:
            while True:
                await self.send(_event(await queue.get()))
        finally:
            expiry.cancel()

    async def run(self, request: rpc.Request) -> None:
        msg = Msg(request.msg)
        try:
            if request.payloadtype == "subscribeprocessmsg":
                await self.process(msg)
            else:
                await self.processes(msg, request.signer)
        except RPCError as e:
            await self.send(rpc.build_error(e.status, e.message))


def endpoint(
    ctx: ServerContext, routes: Mapping[str, Any]
) -> Callable[[WebSocket], Awaitable[None]]:
    async def pubsub(ws: WebSocket) -> None:
        await ws.accept()
        conn = Connection(ctx, ws)
        tasks: set[asyncio.Task[None]] = set()

        async def read_frames() -> None:
            while True:
                text = await ws.receive_text()
                request = rpc.parse_request(text, SUBSCRIPTIONS)
                if request.payloadtype in SUBSCRIPTIONS:
                    tasks.add(asyncio.create_task(conn.run(request)))

        reader = asyncio.create_task(read_frames())
        closer = asyncio.create_task(conn.closed.wait())
        try:
            await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, closer, *tasks):
                task.cancel()
            if reader.done() and not reader.cancelled():
                exc = reader.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | RPCError):
                    raise exc
            with contextlib.suppress(Exception):
                await ws.close()

    return pubsub
