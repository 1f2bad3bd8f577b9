"""The floor: what one signed request costs on our stack without the server's work.

A Starlette app served by uvicorn exactly as ``colonies.server.runner.serve`` serves the real
server (same uvicorn options, so the same httptools + uvloop auto-pick), with ``POST /api`` as a
bare ASGI endpoint in front of the router: read the body, parse the envelope and recover the
signer with ``colonies.rpc.parse_request`` (the same secp256k1 recovery, coincurve), answer a
``getcolonymsg``-shaped reply built by ``colonies.rpc.build_reply``. No store, no authorization,
no handler, no middleware. Run it with ``python -m bench.floor --port P``. The same app on
granian, and the same work (``answer``) behind a raw asyncio protocol, are the other floors
(``bench/floor_servers.py``).
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from colonies import rpc

KNOWN_TYPES = frozenset({"getcolonymsg"})
COLONY_ID = "0" * 64


def answer(body: bytes) -> tuple[int, bytes]:
    """The floor's whole work for one ``POST /api`` body: status and reply bytes. Every
    server under test (``bench/floor_servers.py``) calls this, so they differ only in HTTP."""
    try:
        parsed = rpc.parse_request(body, KNOWN_TYPES)
        colony = {"colonyid": COLONY_ID, "name": str(parsed.msg.get("colonyname", ""))}
        return 200, rpc.build_reply(parsed.payloadtype, colony).encode()
    except rpc.RPCError as e:
        return e.status, rpc.build_error(e.status, e.message).encode()


class Api:
    """``POST /api`` as plain ASGI; everything else goes to the Starlette app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, data = answer(body)
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(data)),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


async def health(request: Request) -> Response:
    return Response(b"")


def create_app() -> Starlette:
    app = Starlette(routes=[Route("/health", health, methods=["GET"])])
    app.add_middleware(Api)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.Server(
        uvicorn.Config(  # the options of colonies.server.runner.serve
            create_app(),
            host=args.host,
            port=args.port,
            log_level="warning",
            timeout_graceful_shutdown=2,
            ws_ping_interval=20,
        )
    ).run()


if __name__ == "__main__":
    main()
