"""Running a verified request: the handler call, and long-polls that may lose their client.

Shared by ``POST /api`` (``app``) and the RPC WebSocket (``rpcsocket``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.types import Receive

from colonies import rpc
from colonies.rpc import RPCError
from colonies.server import handlers
from colonies.server.context import ServerConfig, ServerContext
from colonies.server.handlers import Msg
from colonies.server.lifecycle import release
from colonies.server.logs import ACCESS, log_request
from colonies.store.base import WriteCancelled

log = logging.getLogger("colonies.server")

# Long-polls that must end when their client goes away (the wake-up is then passed on).
LONG_POLLS = frozenset({"assignprocessmsg"})


async def until_disconnect(receive: Receive) -> None:
    """Return when the HTTP client hangs up."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def dispatch(ctx: ServerContext, request: rpc.Request) -> tuple[int, str, Any]:
    """Run the handler for a verified request; the reply status, envelope and raw result."""
    route = handlers.HANDLERS[request.payloadtype]
    try:
        result = await route.handler(ctx, Msg(request.msg), request.signer)
    except RPCError as e:
        return e.status, rpc.build_error(e.status, e.message), None
    except Exception as e:  # a bug or a store failure: still a ColonyOS reply, and logged
        log.exception("handler for %s failed", request.payloadtype)
        message = f"Internal server error in {request.payloadtype}: {type(e).__name__}"
        return 500, rpc.build_error(500, message), None
    if len(request.payload) < ctx.config.offload_bytes:
        return 200, rpc.build_reply(route.reply_type, result), result
    # A large request's reply is about as large (a submit echoes its spec): encoded in a worker
    # thread, so that the event loop gets a turn between the handler and the encoding.
    reply = await asyncio.to_thread(rpc.build_reply, route.reply_type, result)
    return 200, reply, result


async def long_poll(
    ctx: ServerContext, parsed: rpc.Request, hang_up: Awaitable[object]
) -> tuple[int, str] | None:
    """Run a long-poll until it answers, or its client hangs up (then ``None``: no reply).

    A hang-up cancels the wait, which passes the waiter's wake-up on. If the handler had already
    claimed a process when the client went away, the process goes back to the queue.
    """
    work = asyncio.ensure_future(dispatch(ctx, parsed))
    gone = asyncio.ensure_future(hang_up)
    try:
        done, _ = await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        if gone not in done:
            # A hang-up seen in the same loop pass as the result has only just woken ``gone``:
            # one more turn lets it finish, so that no process goes to a closed connection.
            await asyncio.sleep(0)
    finally:  # also when the server cancels this request on shutdown
        if not work.done():
            work.cancel()
        hung_up = gone.done() and not gone.cancelled()
        gone.cancel()
    if not hung_up:
        status, body, _ = work.result()
        return status, body
    # The client is gone (even if the handler finished in the same loop pass: a reply now would
    # go to a closed connection), so a process claimed for it goes back to the queue.
    with contextlib.suppress(asyncio.CancelledError):
        try:
            status, _, result = await work
        except WriteCancelled as e:  # cancelled while its claim was committing: it stands
            status, result = 200, {"processid": e.processid}
        if status == 200 and isinstance(result, dict):
            await release(ctx, str(result.get("processid", "")), parsed.signer)
    return None


# Payload types that carry user data (arguments, output, errors, logs, attribute values) may be
# as large as ``max_body_bytes``; records (executors, functions, users, locations, colonies) up
# to ``max_record_bytes``; every other type is a control message (names, IDs, counts) and gets
# ``max_control_bytes``. A new type is a control message until it is listed here.
DATA_TYPES = frozenset(
    {
        "submitfuncspecmsg",
        "setoutputmsg",
        "closesuccessfulmsg",
        "closefailedmsg",
        "addlogmsg",
        "addexecutorlogmsg",
        "addattributemsg",
        "submitworkflowspecmsg",
        "addchildmsg",
        "addcronmsg",  # a workflow spec, as submitworkflowspecmsg
        "addgeneratormsg",
        "packgeneratormsg",  # an argument for the generator's workflow
        "channelappendmsg",  # channels (spec §4.10): a message of up to 10 MB
    }
)
RECORD_TYPES = frozenset(
    {
        "addcolonymsg",
        "addexecutormsg",
        "addexecutorbytokenmsg",
        "updateexecutormsg",
        "reportallocationmsg",
        "addfunctionmsg",
        "addusermsg",
        "addlocationmsg",
        "addfilemsg",  # ColonyFS: a File record (spec §4.9)
    }
)


def max_request_bytes(config: ServerConfig, payloadtype: str) -> int:
    """The largest request body accepted for ``payloadtype`` (never above ``max_body_bytes``)."""
    if payloadtype in DATA_TYPES:
        return config.max_body_bytes
    limit = config.max_record_bytes if payloadtype in RECORD_TYPES else config.max_control_bytes
    return min(limit, config.max_body_bytes)


async def parse(ctx: ServerContext, routes: Mapping[str, Any], body: bytes | str) -> rpc.Request:
    """Verify and decode a request body, or raise ``RPCError`` (413 above its type's limit).

    From ``offload_bytes`` on, the work (JSON, signature hash, base64, checks) runs in a worker
    thread, one request at a time: the event loop keeps answering everyone else meanwhile.
    """
    config = ctx.config

    def limit(payloadtype: str) -> int:
        return max_request_bytes(config, payloadtype)

    if len(body) < config.offload_bytes:
        return rpc.parse_request(body, routes, max_bytes=limit)
    async with ctx.offloaded:
        return await asyncio.to_thread(rpc.parse_request, body, routes, max_bytes=limit)


async def answer(
    ctx: ServerContext,
    routes: Mapping[str, Any],
    body: bytes | str,
    hang_up: Callable[[], Awaitable[object]],
) -> tuple[int, str] | None:
    """The reply (status, envelope) to a request body, whichever way it came in.

    ``hang_up`` makes an awaitable that completes when the client goes away; it is only
    watched during long-polls, which return ``None`` (no reply) when it does.
    """
    try:
        parsed = await parse(ctx, routes, body)
    except RPCError as e:
        ctx.metrics.refused(e.status)
        return e.status, rpc.build_error(e.status, e.message)
    return await run(ctx, parsed, hang_up)


async def run(
    ctx: ServerContext, parsed: rpc.Request, hang_up: Callable[[], Awaitable[object]]
) -> tuple[int, str] | None:
    """``answer`` for a request already parsed and verified (``rpcsocket`` parses first)."""
    started = time.perf_counter()
    if parsed.payloadtype in LONG_POLLS:
        ctx.metrics.longpolls.inc()
        try:
            reply = await long_poll(ctx, parsed, hang_up())
        finally:
            ctx.metrics.longpolls.dec()
        if reply is not None:
            record(ctx, parsed, reply[0], started)
        return reply
    status, text, _ = await dispatch(ctx, parsed)
    record(ctx, parsed, status, started)
    return status, text


def record(ctx: ServerContext, parsed: rpc.Request, status: int, started: float) -> None:
    """Count an answered request in the metrics and, at log level INFO, the access log."""
    seconds = time.perf_counter() - started
    ctx.metrics.observe(parsed.payloadtype, status, seconds)
    if ACCESS.isEnabledFor(logging.INFO):
        log_request(parsed.payloadtype, parsed.signer, status, seconds)
