"""Pyodide's transport: the browser's ``fetch`` for ``/api`` and ``WebSocket`` for ``/pubsub``.

Only imported inside Pyodide (it needs the ``js`` and ``pyodide`` modules). The request body goes
out as a plain string, which browsers send as ``text/plain``: a CORS "simple request", so a
cross-origin server needs no preflight, only ``Access-Control-Allow-Origin`` on its replies.
"""

from __future__ import annotations

import asyncio
from typing import Any

import js  # type: ignore[import-not-found]
from pyodide.ffi import JsException, create_proxy, to_js  # type: ignore[import-not-found]

from colonies.client._transports.base import WebSocketClosed
from colonies.errors import TransportError

_OPEN = 1  # WebSocket.OPEN


class FetchTransport:
    """``AsyncTransport`` on the browser's fetch and WebSocket (main thread or Web Worker)."""

    async def apost(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        controller = js.AbortController.new()
        options = to_js(
            {"method": "POST", "body": body, "signal": controller.signal},
            dict_converter=js.Object.fromEntries,
        )
        abort = create_proxy(lambda: controller.abort())
        timer = js.setTimeout(abort, int(timeout * 1000)) if timeout is not None else None
        try:
            response = await js.fetch(url, options)
            text = await response.text()
        except JsException as e:
            reason = "timed out" if controller.signal.aborted else str(e)
            raise TransportError(f"POST {url} failed: {reason}") from None
        finally:
            if timer is not None:
                js.clearTimeout(timer)
            abort.destroy()
        return int(response.status), str(text)

    async def aconnect(self, url: str, timeout: float | None) -> BrowserWebSocket:
        ws = BrowserWebSocket(url)
        try:
            await asyncio.wait_for(asyncio.shield(ws.opened), timeout)
        except (TimeoutError, WebSocketClosed):
            await ws.close()
            raise TransportError(f"WebSocket {url} failed to open") from None
        return ws

    async def aclose(self) -> None:
        return None


class BrowserWebSocket:
    """A browser WebSocket with the ``AsyncWebSocket`` interface (frames via an asyncio queue)."""

    def __init__(self, url: str) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self._frames: asyncio.Queue[str | None] = asyncio.Queue()
        self._ws = js.WebSocket.new(url)
        self._proxies = [
            self._on("open", lambda _e: self._settle(None)),
            self._on("message", lambda e: self._frames.put_nowait(str(e.data))),
            self._on("close", lambda _e: self._closed()),
            self._on("error", lambda _e: self._closed()),
        ]

    def _on(self, event: str, handler: Any) -> Any:
        proxy = create_proxy(handler)
        setattr(self._ws, f"on{event}", proxy)
        return proxy

    def _settle(self, error: Exception | None) -> None:
        if not self.opened.done():
            if error is None:
                self.opened.set_result(None)
            else:
                self.opened.set_exception(error)

    def _closed(self) -> None:
        self._settle(WebSocketClosed("closed before it opened"))
        self._frames.put_nowait(None)

    async def send(self, text: str) -> None:
        if self._ws.readyState != _OPEN:
            raise WebSocketClosed("WebSocket is not open")
        self._ws.send(text)

    async def recv(self, timeout: float | None = None) -> str:
        frame = await asyncio.wait_for(self._frames.get(), timeout)
        if frame is None:
            self._frames.put_nowait(None)  # stay closed for later calls
            raise WebSocketClosed("the server closed the WebSocket")
        return frame

    async def close(self) -> None:
        self._ws.close()
        for proxy in self._proxies:
            proxy.destroy()
        self._proxies.clear()
