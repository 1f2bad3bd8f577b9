"""The ColonyOS SDK client: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

    from colonies.client import Client
    with Client.from_env() as client:
        process = client.submit(spec)
        process = client.wait(process.processid, timeout=60)

Importing this package imports neither httpx nor websockets, so it also loads in Pyodide; only
creating the default transport does.
"""

from colonies.client._async import AsyncClient
from colonies.client._base import ClientConfig, from_env
from colonies.client._sync import Client
from colonies.client._transports import (
    AsyncHTTPTransport,
    AsyncSocketTransport,
    AsyncTransport,
    AsyncWebSocket,
    HTTPXTransport,
    MockTransport,
    Transport,
    WebSocket,
    WebSocketClosed,
)

__all__ = [
    "AsyncClient",
    "AsyncHTTPTransport",
    "AsyncSocketTransport",
    "AsyncTransport",
    "AsyncWebSocket",
    "Client",
    "ClientConfig",
    "HTTPXTransport",
    "MockTransport",
    "Transport",
    "WebSocket",
    "WebSocketClosed",
    "from_env",
]
