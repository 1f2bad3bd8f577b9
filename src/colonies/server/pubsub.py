"""``GET /pubsub``: process-state and channel subscriptions over a WebSocket (spec §1.5).

Each text frame is a signed envelope; one connection can carry several subscriptions. When a
subscription's ``timeout`` runs out the server closes the socket, as the Go server does: clients
(the Go CLI, pycolonies, ours) treat that as "no event yet" and decide whether to subscribe again.

Unlike the Go server (which checks no membership), a subscription needs what reading the
processes needs: ``subscribeprocessmsg`` a member of the process's colony (as ``getprocessmsg``),
``subscribeprocessesmsg`` a member of the colony it names, and it gets only that colony's events.
``subscribechannelmsg`` (spec §4.10) needs what reading the channel needs, and ends with a ``[]``
frame at its timeout, leaving the socket open (as Go).
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
from colonies.model import ChannelEntry, Executor, Process
from colonies.rpc import RPCError
from colonies.server import channels
from colonies.server.auth import require_member
from colonies.server.context import ServerContext
from colonies.server.events import Subscription
from colonies.server.handlers import Msg
from colonies.server.handlers.channels import open_channel
from colonies.server.rpcsocket import POLICY_VIOLATION, receive_frame

SUBSCRIPTIONS = frozenset({"subscribeprocessmsg", "subscribeprocessesmsg", "subscribechannelmsg"})
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
        if request.payloadtype == "subscribechannelmsg":
            await self.subscribe_channel(msg, signer)
            return
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
        held = self.ctx.events.held(signer) + self.ctx.channels.held(signer)
        if held >= self.config.max_subscriptions_per_key:
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

    # --- channels (spec §4.10) ---

    async def subscribe_channel(self, msg: Msg, signer: str) -> None:
        """A channel's entries after index ``afterseq``, then each new one, until ``timeout``
        (0: 30 s); then a ``[]`` frame, and the socket stays open (as Go). On a closed
        process's channel (which Go has deleted) the end frame follows the log at once."""
        process, name = await open_channel(self.ctx, msg, signer)
        if not channels.authorized(process, signer):
            raise RPCError(403, "Not authorized to subscribe to channel")
        timeout = msg.integer("timeout") or channels.DEFAULT_SUBSCRIBE_TIMEOUT
        if process.state in channels.CLOSED_STATES:
            timeout = 0  # nothing can be appended any more: the log, then the end frame
        after = max(msg.integer("afterseq"), 0)
        self.make_room(signer)
        watch = self.ctx.channels.watch(process.processid, name, signer)
        task = asyncio.create_task(self.forward_channel(watch, after, min(timeout, MAX_TIMEOUT)))
        self.running.add(task)

        def finished(task: asyncio.Task[None]) -> None:
            self.running.discard(task)
            self.ctx.channels.unwatch(watch)
            if not task.cancelled() and task.exception() is not None:
                log.error("channel subscription failed", exc_info=task.exception())

        task.add_done_callback(finished)

    async def forward_channel(self, watch: channels.Watch, index: int, timeout: int) -> None:
        """Send what the store holds from ``index`` on, then wait for wake-ups (appends here
        or on another replica) and send each new entry in a frame of its own."""
        store, loop = self.ctx.store, asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0)
        catching_up = True
        while True:
            watch.event.clear()  # before reading: an append committed later wakes us again
            while True:
                entries = await store.read_channel(
                    watch.processid, watch.name, index, channels.PAGE
                )
                if not entries:
                    break
                index += len(entries)
                if catching_up:  # what was there already: in frames of up to PAGE entries
                    await self.send(_entries(entries))
                else:
                    for entry in entries:
                        await self.send(_entries([entry]))
            catching_up = False
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(watch.event.wait(), remaining)
            except TimeoutError:
                break
        await self.send(_entries([]))


def _entries(entries: list[ChannelEntry]) -> str:
    return rpc.build_reply("subscribechannelmsg", [entry.to_dict() for entry in entries])


def endpoint(
    ctx: ServerContext, routes: Mapping[str, Any]
) -> Callable[[WebSocket], Awaitable[None]]:
    async def pubsub(ws: WebSocket) -> None:
        await ws.accept()
        await Connection(ctx, ws).serve()

    return pubsub
