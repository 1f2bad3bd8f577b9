"""``/executor/``: the browser executor served by the ColonyOS server itself."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from colonies.web import ARCHIVE, STATIC, WebBundle


def executor_routes(bundle: WebBundle | None, problem: str = "") -> list[BaseRoute]:
    """The page's routes; without a bundle, a page that says how to install the runtime."""

    async def to_slash(request: Request) -> Response:
        return RedirectResponse("/executor/", status_code=307)

    if bundle is None:

        async def missing(request: Request) -> Response:
            text = html.escape(problem or "the browser executor is not configured")
            return HTMLResponse(
                f"<!doctype html><title>ColonyOS browser executor</title>"
                f"<h1>Browser executor unavailable</h1><p>{text}</p>",
                status_code=503,
            )

        return [
            Route("/executor", to_slash),
            Mount("/executor", routes=[Route("/{path:path}", missing)]),
        ]

    async def config(request: Request) -> Response:
        return JSONResponse(bundle.config, headers={"Cache-Control": "no-store"})

    async def archive(request: Request) -> Response:
        return Response(
            bundle.archive, media_type="application/zip", headers={"Cache-Control": "no-cache"}
        )

    return [
        Route("/executor", to_slash),
        Mount(
            "/executor",
            routes=[
                Route("/config.json", config),
                Route(f"/{ARCHIVE}", archive),
                Mount("/pyodide", app=StaticFiles(directory=bundle.pyodide_dir)),
                Mount("/", app=StaticFiles(directory=STATIC, html=True)),
            ],
        ),
    ]
