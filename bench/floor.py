"""The floor: what one signed request costs on our stack without the server's work.

A bare Starlette app served by uvicorn exactly as ``colonies.server.runner.serve`` serves the
real server (same uvicorn options, so the same httptools + uvloop auto-pick). ``POST /api``
parses the envelope and recovers the signer with ``colonies.rpc.parse_request`` (the same
secp256k1 recovery, coincurve) and answers a ``getcolonymsg``-shaped reply with
``colonies.rpc.build_reply``; no store, no authorization, no handler. Run it with
``python -m bench.floor --port P``.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from colonies import rpc

KNOWN_TYPES = frozenset({"getcolonymsg"})
COLONY_ID = "0" * 64
TEXT = "text/plain; charset=utf-8"


async def api(request: Request) -> Response:
    try:
        parsed = rpc.parse_request(await request.body(), KNOWN_TYPES)
    except rpc.RPCError as e:
        return Response(rpc.build_error(e.status, e.message), e.status, media_type=TEXT)
    colony = {"colonyid": COLONY_ID, "name": str(parsed.msg.get("colonyname", ""))}
    return Response(rpc.build_reply(parsed.payloadtype, colony), media_type=TEXT)


async def health(request: Request) -> Response:
    return Response(b"")


def create_app() -> Starlette:
    return Starlette(
        routes=[Route("/api", api, methods=["POST"]), Route("/health", health, methods=["GET"])]
    )


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
