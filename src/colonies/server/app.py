"""The ASGI application: ``POST /api``, ``GET /pubsub``, ``GET /health`` (spec §1).

Data flows one way: HTTP body -> envelope (rpc) -> handler (auth, store) -> reply envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from colonies import rpc
from colonies.server import handlers, pubsub, rpcsocket
from colonies.server.calls import answer, until_disconnect
from colonies.server.context import ServerConfig, ServerContext
from colonies.server.leader import AdvisoryLockLeader
from colonies.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from colonies.server.pgsignals import PostgresSignals
from colonies.server.sweeper import flush_function_runs, sweep_forever
from colonies.store.base import Store

TEXT_BYTES = b"text/plain; charset=utf-8"


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


def declared_length(scope: Scope) -> int:
    """The request's Content-Length (0 when absent: the body is then counted as it streams)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value) if len(value) < 19 else 2**63
    return 0


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
            if declared_length(scope) > limit:  # refused before a byte of the body is read
                raise BodyTooLarge
            body = await read_body(receive, limit)
        except BodyTooLarge:
            message = f"Request body is larger than {limit} bytes"
            await send_reply(send, 413, rpc.build_error(413, message))
            return
        except ConnectionResetError:
            return
        reply = await answer(self.ctx, self.routes, body, lambda: until_disconnect(receive))
        if reply is not None:
            await send_reply(send, *reply)


def create_app(
    store: Store, config: ServerConfig | None = None, *, web: list[BaseRoute] | None = None
) -> Starlette:
    """The server as an ASGI app; the caller owns ``store`` only until the app shuts down.

    ``web`` adds routes such as the browser executor's (``colonies.web.routes``).
    """
    config = config or ServerConfig()
    ctx = ServerContext(store=store, config=config)
    conninfo = getattr(store, "conninfo", None)
    if isinstance(conninfo, str):  # a database other replicas may share (PostgresStore)
        ctx.signals = PostgresSignals(ctx, store, conninfo)
        ctx.leader = AdvisoryLockLeader(conninfo)
    routes = handlers.load()

    async def health(request: Request) -> Response:
        return Response(b"", status_code=200 if ctx.signals.healthy() else 503)

    async def metrics(request: Request) -> Response:
        return Response(await ctx.metrics.render(ctx), media_type=METRICS_CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if config.server_id:
            await store.set_server_id(config.server_id)
        await ctx.signals.start()
        await ctx.leader.start()
        sweeper = asyncio.create_task(sweep_forever(ctx))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await flush_function_runs(ctx)
            await ctx.leader.close()
            await ctx.signals.close()
            await store.close()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            WebSocketRoute("/pubsub", counted(ctx, "pubsub", pubsub.endpoint(ctx, routes))),
            WebSocketRoute("/rpc", counted(ctx, "rpc", rpcsocket.endpoint(ctx, routes))),
            *(web or []),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(ApiEndpoint, ctx=ctx, routes=routes)
    app.add_middleware(GinCORS)
    app.state.ctx = ctx
    return app


def counted(
    ctx: ServerContext, name: str, endpoint: Callable[[WebSocket], Awaitable[None]]
) -> Callable[[WebSocket], Awaitable[None]]:
    """``endpoint`` with its open sockets counted in the metrics."""
    gauge = ctx.metrics.websockets.labels(name)

    async def serve(ws: WebSocket) -> None:
        gauge.inc()
        try:
            await endpoint(ws)
        finally:
            gauge.dec()

    return serve


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
