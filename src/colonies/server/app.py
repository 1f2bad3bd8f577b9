"""The ASGI application: ``POST /api``, ``GET /pubsub``, ``GET /health`` (spec §1).

Data flows one way: HTTP body -> envelope (rpc) -> handler (auth, store) -> reply envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from colonies import rpc
from colonies.rpc import RPCError
from colonies.server import handlers, pubsub
from colonies.server.context import ServerConfig, ServerContext
from colonies.server.handlers import Msg
from colonies.server.handlers.processes import release
from colonies.server.sweeper import flush_function_runs, sweep_forever
from colonies.store.base import Store

log = logging.getLogger("colonies.server")

TEXT_BYTES = b"text/plain; charset=utf-8"
# Long-polls that must end when their client goes away (the wake-up is then passed on).
LONG_POLLS = frozenset({"assignprocessmsg"})


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, refusing to buffer more than ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away while sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_reply(send: Send, status: int, body: str) -> None:
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", TEXT_BYTES),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _until_disconnect(receive: Receive) -> None:
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
    return 200, rpc.build_reply(route.reply_type, result), result


async def long_poll(
    ctx: ServerContext, receive: Receive, parsed: rpc.Request
) -> tuple[int, str] | None:
    """Run a long-poll until it answers, or its client hangs up (then ``None``: no reply).

    A hang-up cancels the wait, which passes the waiter's wake-up on. If the handler had already
    claimed a process when the client went away, the process goes back to the queue.
    """
    work = asyncio.ensure_future(dispatch(ctx, parsed))
    gone = asyncio.ensure_future(_until_disconnect(receive))
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
        status, _, result = await work
        if status == 200 and isinstance(result, dict):
            await release(ctx, str(result.get("processid", "")), parsed.signer)
    return None


class ApiEndpoint:
    """``POST /api`` as plain ASGI, in front of Starlette's router.

    Every RPC comes through here, so it skips the router and the request/response objects
    (~20% of a request's server time): read the body, verify, dispatch, write the envelope.
    """

    def __init__(self, app: ASGIApp, ctx: ServerContext, routes: Mapping[str, Any]) -> None:
        self.app, self.ctx, self.routes = app, ctx, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        limit = self.ctx.config.max_body_bytes
        try:
            parsed = rpc.parse_request(await read_body(receive, limit), self.routes)
        except BodyTooLarge:
            message = f"Request body is larger than {limit} bytes"
            await send_reply(send, 413, rpc.build_error(413, message))
            return
        except ConnectionResetError:
            return
        except RPCError as e:
            await send_reply(send, e.status, rpc.build_error(e.status, e.message))
            return
        if parsed.payloadtype in LONG_POLLS:
            reply = await long_poll(self.ctx, receive, parsed)
            if reply is not None:
                await send_reply(send, *reply)
            return
        status, body, _ = await dispatch(self.ctx, parsed)
        await send_reply(send, status, body)


def create_app(
    store: Store, config: ServerConfig | None = None, *, web: list[BaseRoute] | None = None
) -> Starlette:
    """The server as an ASGI app; the caller owns ``store`` only until the app shuts down.

    ``web`` adds routes such as the browser executor's (``colonies.web.routes``).
    """
    config = config or ServerConfig()
    ctx = ServerContext(store=store, config=config)
    routes = handlers.load()

    async def health(request: Request) -> Response:
        return Response(b"", status_code=200)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if config.server_id:
            await store.set_server_id(config.server_id)
        sweeper = asyncio.create_task(sweep_forever(ctx))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await flush_function_runs(ctx)
            await store.close()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            WebSocketRoute("/pubsub", pubsub.endpoint(ctx, routes)),
            *(web or []),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(ApiEndpoint, ctx=ctx, routes=routes)
    app.add_middleware(GinCORS)
    app.state.ctx = ctx
    return app


class GinCORS:
    """CORS exactly as the Go server's ``gin-contrib/cors`` ``Default()`` (spec §1.4).

    Starlette's CORSMiddleware answers preflights with 200 and rejects unlisted request headers;
    browsers and the JS SDK expect the Go server's behaviour: 204 for every preflight, and
    ``Access-Control-Allow-Origin: *`` on every cross-origin reply.
    """

    METHODS = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    HEADERS = "Origin,Content-Length,Content-Type"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        host = headers.get(b"host", b"")
        if not origin or origin in (b"http://" + host, b"https://" + host):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", b"*"),
                        (b"access-control-allow-methods", self.METHODS.encode()),
                        (b"access-control-allow-headers", self.HEADERS.encode()),
                        (b"access-control-max-age", b"43200"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", b"*"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)
