"""Transports: the only runtime-specific part of the client (see ``base``)."""

from colonies.client._transports.base import (
    AsyncTransport,
    AsyncWebSocket,
    Transport,
    WebSocket,
    WebSocketClosed,
)
from colonies.client._transports.default import (
    AsyncHTTPTransport,
    AsyncSocketTransport,
    HTTPXTransport,
    rpc_socket_enabled,
)
from colonies.client._transports.mock import MockTransport

__all__ = [
    "AsyncHTTPTransport",
    "AsyncSocketTransport",
    "AsyncTransport",
    "AsyncWebSocket",
    "HTTPXTransport",
    "MockTransport",
    "Transport",
    "WebSocket",
    "WebSocketClosed",
    "rpc_socket_enabled",
]
