"""Pyodide's transport: the browser's ``fetch`` for ``/api`` and ``WebSocket`` for ``/pubsub``.

Only imported inside Pyodide (it needs the ``js`` and ``pyodide`` modules). The request body goes
out as a plain string, which browsers send as ``text/plain``: a CORS "simple request", so a
cross-origin server needs no preflight, only ``Access-Control-Allow-Origin`` on its replies.
"""

from __future__ import annotations

import asyncio
import json
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
        except asyncio.CancelledError:
            # Abort the request itself, so the server sees the hang-up: a process it claimed
            # for this poll then goes back to the queue instead of to a reply nobody reads.
            controller.abort()
            raise
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


class SocketTransport(FetchTransport):
    """RPCs over one WebSocket to ``/rpc`` (a colonies-server extension), ``fetch`` otherwise.

    A browser spends several milliseconds on every ``fetch`` even on loopback; a frame on an
    open socket costs far less, which is what lets one tab run hundreds of processes a second.
    Servers without ``/rpc`` (the Go server) are detected once: if the socket cannot open but a
    ``fetch`` to the same server works, this transport keeps to ``fetch``. No client-side
    timeout per request: long-polls end on the server, and a closed socket fails every request
    on it at once (the executor then retries).
    """

    def __init__(self) -> None:
        self._socket: BrowserWebSocket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[tuple[int, str]]] = {}
        self._next_id = 0
        self._use_fetch = False

    async def apost(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        if self._use_fetch:
            return await super().apost(url, body, timeout)
        socket = await self._connected(url)
        if socket is None:  # the socket did not open: is the server up, without /rpc?
            reply = await super().apost(url, body, timeout)
            self._use_fetch = True
            return reply
        self._next_id += 1
        frame_id = self._next_id
        future: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            await socket.send(json.dumps({"id": frame_id, "body": body}))
            return await future
        except WebSocketClosed:
            raise TransportError(f"RPC socket for {url} closed") from None
        finally:
            self._pending.pop(frame_id, None)

    async def probe(self, url: str) -> bool:
        """Open the ``/rpc`` socket of the server whose ``/api`` is ``url`` for the calls to
        come; False if it would not open (Go has no ``/rpc``: every call then goes by fetch)."""
        if self._use_fetch:
            return False
        return await self._connected(url) is not None

    async def _connected(self, url: str) -> BrowserWebSocket | None:
        if self._socket is not None and self._reader is not None and not self._reader.done():
            return self._socket
        ws_url = url.replace("http", "ws", 1).rsplit("/api", 1)[0] + "/rpc"
        socket = BrowserWebSocket(ws_url)
        try:
            await socket.opened
        except WebSocketClosed:
            await socket.close()
            return None
        self._socket = socket
        self._reader = asyncio.ensure_future(self._read(socket))
        return socket

    async def _read(self, socket: BrowserWebSocket) -> None:
        """Hand each reply frame to the request waiting for it; fail them all on close."""
        try:
            while True:
                frame = json.loads(await socket.recv())
                future = self._pending.get(frame.get("id"))
                if future is not None and not future.done():
                    future.set_result((int(frame["status"]), str(frame["body"])))
        except WebSocketClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(WebSocketClosed("the RPC socket closed"))
            await socket.close()

    async def aclose(self) -> None:
        if self._socket is not None:
            await self._socket.close()
