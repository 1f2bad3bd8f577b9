"""``/dashboard/``: the live web dashboard, served by the server itself (``/`` leads to it).

The page is static (``colonies/web/dashboard/``): it signs every request in the browser with
``@noble/secp256k1`` and ``@noble/hashes`` (npm, listed in ``runtime.toml``, served from
``/dashboard/vendor/``) and talks to ``/rpc`` over one WebSocket, so the server only hands out
files and a private key never reaches it. ``index.html`` is sent with a Content-Security-Policy
that allows scripts from this origin and the page's one inline import map (by its hash) only.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from colonies.web import RuntimeNotFound, find_npm_package, runtime_files

DASHBOARD = Path(__file__).parent / "dashboard"
SIGNING_PACKAGES = ("@noble/secp256k1", "@noble/hashes")
PAGE_FILES = ("app.js", "signer.js", "rpc.js", "charts.js", "style.css", "favicon.svg")
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def content_security_policy(page: str) -> str:
    """Scripts from this origin and the page's import map (by hash); nothing from elsewhere."""
    found = IMPORT_MAP.search(page)
    digest = hashlib.sha256(found.group(1).encode()).digest() if found else b""
    import_map = f" 'sha256-{base64.b64encode(digest).decode()}'" if found else ""
    return (
        "default-src 'self'; "
        f"script-src 'self'{import_map}; "
        "connect-src 'self' ws: wss:; "
        "img-src 'self' data:; "
        "style-src 'self'; "
        "base-uri 'none'; "
        "form-action 'none'; "
        "frame-ancestors 'none'"
    )


def dashboard_routes(signing: dict[str, Path] | None = None) -> list[BaseRoute]:
    """``/``, ``/dashboard`` and ``/dashboard/…``. ``signing`` maps each signing npm package to
    its folder (found in the wheel or ``web/node_modules`` when not given); without them the
    page says how to install them (503)."""

    async def to_dashboard(request: Request) -> Response:
        return RedirectResponse("/dashboard/", status_code=307)

    problem = ""
    if signing is None:
        try:
            signing = {name: find_npm_package(name) for name in SIGNING_PACKAGES}
        except RuntimeNotFound as e:
            problem = str(e)
    redirects: list[BaseRoute] = [Route("/", to_dashboard), Route("/dashboard", to_dashboard)]
    if problem or signing is None:
        text = html.escape(problem)

        async def missing(request: Request) -> Response:
            return HTMLResponse(
                "<!doctype html><meta charset=utf-8><title>ColonyOS dashboard</title>"
                f"<h1>Dashboard unavailable</h1><p>{text}</p>",
                status_code=503,
            )

        return [*redirects, Mount("/dashboard", routes=[Route("/{path:path}", missing)])]

    page = (DASHBOARD / "index.html").read_text()
    headers = {
        "Content-Security-Policy": content_security_policy(page),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
    }
    vendor = {
        f"{name}/{file}": folder / file
        for name, folder in signing.items()
        for file in runtime_files()[name]
    }

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=headers)

    def serve(path: Path | None) -> Response:
        if path is None or not path.is_file():
            return Response("Not Found", status_code=404, media_type="text/plain")
        return FileResponse(
            path,
            media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def page_file(request: Request) -> Response:
        name = request.path_params["name"]
        return serve(DASHBOARD / name if name in PAGE_FILES else None)

    async def vendor_file(request: Request) -> Response:
        return serve(vendor.get(request.path_params["path"]))

    return [
        *redirects,
        Mount(
            "/dashboard",
            routes=[
                Route("/", index),
                Route("/vendor/{path:path}", vendor_file),
                Route("/{name}", page_file),
            ],
        ),
    ]
