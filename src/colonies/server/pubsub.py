"""``GET /pubsub``: process-state subscriptions over a WebSocket (spec §1.5).

Each text frame is a signed envelope; one connection can carry several subscriptions. When a
subscription's ``timeout`` runs out the server closes the socket, as the Go server does: clients
(the Go CLI, pycolonies, ours) treat that as "no event yet" and decide whether to subscribe again.

Unlike the Go server (which checks no membership), a subscription needs what reading the
processes needs: ``subscribeprocessmsg`` a member of the process's colony (as ``getprocessmsg``),
``subscribeprocessesmsg`` a member of the colony it names, and it gets only that colony's events.
A frame whose envelope or signature does not verify closes the socket without a reply (as Go).
A refused subscription gets an error envelope and the socket stays open (as Go), but only for
``max_bad_frames_per_socket`` refusals; then it is closed with code 1008. Both checks run before
anything is registered or started, and subscriptions are capped per socket and per signing key
across sockets (429 beyond either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from colonies import rpc
from colonies.model import Executor, Process
from colonies.rpc import RPCError
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.events import Subscription
from colonies.server.handlers import Msg
from colonies.server.rpcsocket import POLICY_VIOLATION, receive_frame

SUBSCRIPTIONS = frozenset({"subscribeprocessmsg", "subscribeprocessesmsg"})
MAX_TIMEOUT = 2**31  # seconds; longer timeouts are cut to this

log = logging.getLogger("colonies.server")


def _event(process: Process) -> str:
    return rpc.build_reply("subscribeprocessmsg", process.to_dict())


class Connection:
    """One WebSocket and the subscriptions running on it."""

    def __init__(self, ctx: ServerContext, ws: WebSocket) -> None:
        self.ctx, self.ws = ctx, ws
        self.config = ctx.config
        self.closed = asyncio.Event()
        self.close_code = 1000
        self.lock = asyncio.Lock()
        self.running: set[asyncio.Task[None]] = set()
        self.refused = 0

    async def send(self, text: str) -> None:
        async with self.lock:
            with contextlib.suppress(Exception):
                await self.ws.send_text(text)

    async def serve(self) -> None:
        reader = asyncio.create_task(self.read_frames())
        closer = asyncio.create_task(self.closed.wait())
        try:
            await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, closer, *self.running):
                task.cancel()  # each subscription is unregistered as its task ends
            if reader.done() and not reader.cancelled():
                exc = reader.exception()
                if isinstance(exc, RPCError):
                    self.close_code = POLICY_VIOLATION
                elif exc is not None and not isinstance(exc, WebSocketDisconnect):
                    raise exc
            with contextlib.suppress(Exception):
                await self.ws.close(self.close_code)

    async def read_frames(self) -> None:
        while True:
            # An envelope or signature that does not verify ends the connection (RPCError).
            request = rpc.parse_request(await receive_frame(self.ws), SUBSCRIPTIONS)
            try:
                await self.subscribe(request)
            except RPCError as e:
                await self.send(rpc.build_error(e.status, e.message))
                self.refused += 1
                if self.refused >= self.config.max_bad_frames_per_socket:
                    self.close_code = POLICY_VIOLATION
                    return

    async def subscribe(self, request: rpc.Request) -> None:
        """Check the signer may subscribe and has room, then register and start forwarding."""
        msg, signer = Msg(request.msg), request.signer
        state, timeout = msg.integer("state"), min(msg.integer("timeout"), MAX_TIMEOUT)
        if request.payloadtype == "subscribeprocessmsg":
            processid = msg.text("processid")
            process = await self.ctx.store.get_process(processid)
            if process is None:
                raise RPCError(403, f"Invalid process with Id {processid}")
            await require_member(self.ctx, signer, process.spec.conditions.colonyname)
            self.make_room(signer)
            sub = self.ctx.events.subscribe_process(signer, processid, state)
            self.start(self.forward(sub, timeout, processid), sub)
        else:
            colonyname = msg.text("colonyname")
            member = await require_member(self.ctx, signer, colonyname)
            executortype = msg.text("executortype")
            if not executortype and isinstance(member, Executor):
                executortype = member.executortype
            self.make_room(signer)
            sub = self.ctx.events.subscribe_type(signer, colonyname, executortype, state)
            self.start(self.forward(sub, timeout), sub)

    def make_room(self, signer: str) -> None:
        if len(self.running) >= self.config.max_subscriptions_per_socket:
            limit = self.config.max_subscriptions_per_socket
            raise RPCError(429, f"Too many subscriptions on this socket (max {limit})")
        if self.ctx.events.held(signer) >= self.config.max_subscriptions_per_key:
            limit = self.config.max_subscriptions_per_key
            raise RPCError(429, f"Too many subscriptions for this key (max {limit})")

    def start(self, forward: Coroutine[Any, Any, None], sub: Subscription) -> None:
        task = asyncio.create_task(forward)
        self.running.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            self.running.discard(task)
            sub.close()
            if not task.cancelled() and task.exception() is not None:
                log.error("subscription failed", exc_info=task.exception())

        task.add_done_callback(finished)

    async def forward(self, sub: Subscription, timeout: int, processid: str = "") -> None:
        """Send the subscription's events until its time is up; then close the socket (Go)."""
        if processid:  # already in the state: one event at once, even with timeout 0 (§1.5)
            current = await self.ctx.store.get_process(processid)
            if current is not None and current.state == sub.state:
                await self.send(_event(current))
        expiry = asyncio.get_running_loop().call_later(max(timeout, 0), self.closed.set)
        try:
            while True:
                process = await sub.queue.get()
                if sub.stalled:  # the client does not read: end rather than buffer
                    self.closed.set()
                    return
                await self.send(_event(process))
        finally:
            expiry.cancel()


def endpoint(
    ctx: ServerContext, routes: Mapping[str, Any]
) -> Callable[[WebSocket], Awaitable[None]]:
    async def pubsub(ws: WebSocket) -> None:
        await ws.accept()
        await Connection(ctx, ws).serve()

    return pubsub
