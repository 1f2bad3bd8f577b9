"""Transports: the only runtime-specific part of the client (see ``base``)."""

from colonies.client._transports.base import (
    AsyncTransport,
    AsyncWebSocket,
    Transport,
    WebSocket,
    WebSocketClosed,
)
from colonies.client._transports.default import AsyncHTTPTransport, HTTPXTransport
from colonies.client._transports.mock import MockTransport

__all__ = [
    "AsyncHTTPTransport",
    "AsyncTransport",
    "AsyncWebSocket",
    "HTTPXTransport",
    "MockTransport",
    "Transport",
    "WebSocket",
    "WebSocketClosed",
]
