"""What the clients need from a runtime: POST a body, open a WebSocket.

Two method families so that one object can serve both clients (as httpx's ``MockTransport``
does): ``post``/``connect``/``close`` for ``Client``, ``apost``/``aconnect``/``aclose`` for
``AsyncClient``. A new runtime (Pyodide's ``fetch``, say) is one new class implementing these.
Stdlib only.
"""

from __future__ import annotations

from typing import Protocol


class WebSocketClosed(Exception):
    """The server closed the WebSocket; for ``/pubsub`` this is how a subscription times out."""


class WebSocket(Protocol):
    def send(self, text: str) -> None:
        """Send one text frame; raise ``WebSocketClosed`` if the server has closed."""

    def recv(self, timeout: float | None = None) -> str:
        """The next text frame; ``WebSocketClosed`` on close, ``TimeoutError`` after ``timeout``."""

    def close(self) -> None: ...


class AsyncWebSocket(Protocol):
    async def send(self, text: str) -> None: ...

    async def recv(self, timeout: float | None = None) -> str: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    """Failures to reach the server must surface as ``colonies.errors.TransportError``."""

    def post(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        """POST ``body``; the HTTP status and the reply text, whatever the status."""

    def connect(self, url: str, timeout: float | None) -> WebSocket: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def apost(self, url: str, body: str, timeout: float | None) -> tuple[int, str]: ...

    async def aconnect(self, url: str, timeout: float | None) -> AsyncWebSocket: ...

    async def aclose(self) -> None: ...
