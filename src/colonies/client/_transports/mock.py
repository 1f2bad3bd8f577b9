"""A transport answering from Python functions, for tests without a server. Stdlib only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from colonies.client._transports.base import WebSocketClosed
from colonies.errors import TransportError

Handler = Callable[[str], tuple[int, str]]
PubSubHandler = Callable[[list[str]], str | None]


class MockTransport:
    """Serves both clients: ``handler(body) -> (status, text)`` answers each POST.

    ``pubsub(frames) -> frame | None`` answers each ``recv`` on a WebSocket, given the frames
    sent on that socket so far; ``None`` means the server closed it, and raising
    ``TimeoutError`` means no frame came: ``recv`` then sleeps its timeout and raises it. Without
    ``pubsub``, opening a WebSocket fails like an unreachable server.
    """

    def __init__(self, handler: Handler, *, pubsub: PubSubHandler | None = None) -> None:
        self.handler = handler
        self.pubsub = pubsub

    def post(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        return self.handler(body)

    def connect(self, url: str, timeout: float | None) -> MockWebSocket:
        if self.pubsub is None:
            raise TransportError(f"WebSocket {url} failed: MockTransport has no pubsub handler")
        return MockWebSocket(self.pubsub)

    def close(self) -> None:
        pass

    async def apost(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        return self.post(url, body, timeout)

    async def aconnect(self, url: str, timeout: float | None) -> AsyncMockWebSocket:
        return AsyncMockWebSocket(self.connect(url, timeout))

    async def aclose(self) -> None:
        pass


class MockWebSocket:
    def __init__(self, pubsub: PubSubHandler) -> None:
        self._pubsub = pubsub
        self.sent: list[str] = []
        self.closed = False

    def send(self, text: str) -> None:
        if self.closed:
            raise WebSocketClosed("closed")
        self.sent.append(text)

    def next_frame(self) -> str:
        """The handler's answer: a frame, ``WebSocketClosed``, or ``TimeoutError`` (silence)."""
        frame = None if self.closed else self._pubsub(self.sent)
        if frame is None:
            self.closed = True
            raise WebSocketClosed("closed by the server")
        return frame

    def recv(self, timeout: float | None = None) -> str:
        try:
            return self.next_frame()
        except TimeoutError:
            time.sleep(timeout or 0)
            raise

    def close(self) -> None:
        self.closed = True


class AsyncMockWebSocket:
    def __init__(self, ws: MockWebSocket) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        self._ws.send(text)

    async def recv(self, timeout: float | None = None) -> str:
        try:
            return self._ws.next_frame()
        except TimeoutError:
            await asyncio.sleep(timeout or 0)
            raise

    async def close(self) -> None:
        self._ws.close()
