"""The CPython transports: httpx (sync) and aiohttp (async) for ``/api``, websockets for
``/pubsub``.

httpx, aiohttp and websockets are imported inside the methods, never at module level, so that
``import colonies.client`` also works where they do not exist (Pyodide).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from typing import TYPE_CHECKING, Any

from colonies.client._transports.base import WebSocketClosed
from colonies.errors import TransportError

if TYPE_CHECKING:
    import aiohttp
    import httpx
    from websockets.asyncio.client import ClientConnection as AsyncConnection
    from websockets.sync.client import ClientConnection

# Process frames carry the whole process, outputs included, so there is no sensible cap.
_MAX_FRAME: int | None = None
# The server often drops /pubsub without a close frame: do not wait long for one.
_CLOSE_TIMEOUT = 2.0


CA_FILE_ENV = "COLONIES_CA_FILE"


def default_verify() -> bool | ssl.SSLContext:
    """Certificates are checked against the system's CAs, or against the PEM file named by
    ``COLONIES_CA_FILE`` (a private CA, or a server's self-signed certificate)."""
    cafile = os.environ.get(CA_FILE_ENV)
    if not cafile:
        return True
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as e:
        raise TransportError(f"cannot use {CA_FILE_ENV}={cafile}: {e}") from None


# --- packaging (issue 12 §1): the base install has none of httpx, aiohttp, websockets ---
def require_client_extra(*modules: str) -> None:
    """A clear error when the base install (stdlib only) lacks what these transports use."""
    import importlib.util

    if missing := [m for m in modules if importlib.util.find_spec(m) is None]:
        raise ModuleNotFoundError(
            f"the CPython HTTP transports need {', '.join(missing)}: "
            "pip install 'colonies[client]' (or pass transport= to the client)",
            name=missing[0],
        )


def _ws_options(url: str, verify: bool | ssl.SSLContext, timeout: float | None) -> dict[str, Any]:
    """websockets options; it takes a TLS context (never ``None``) and only for ``wss://``."""
    options: dict[str, Any] = {
        "open_timeout": timeout,
        "close_timeout": _CLOSE_TIMEOUT,
        "max_size": _MAX_FRAME,
    }
    if url.startswith("wss:") and verify is not True:
        if verify is False:
            verify = ssl.create_default_context()
            verify.check_hostname = False
            verify.verify_mode = ssl.CERT_NONE
        options["ssl"] = verify
    return options


def _failed(what: str, url: str, exc: BaseException) -> TransportError:
    reason = failure_reason(exc)
    return TransportError(f"{what} {url} failed: {reason}", reason)


def failure_reason(exc: BaseException) -> str:
    """What went wrong in a few words: the operating system's reason for a socket error
    ("connection refused") rather than the library's wording (aiohttp's "Cannot connect to host
    … ssl:default [Connect call failed …]", httpx's "[Errno 111] …")."""
    seen: BaseException | None = exc
    while seen is not None:
        os_error = getattr(seen, "os_error", None)  # aiohttp's connector errors
        for candidate in (os_error, seen):
            if isinstance(candidate, ssl.SSLCertVerificationError):
                return f"certificate verify failed: {candidate.verify_message}"
            if isinstance(candidate, ssl.SSLError):
                return f"TLS: {candidate.reason or candidate}"
            if isinstance(candidate, socket.gaierror) and candidate.strerror:
                return candidate.strerror.lower()  # DNS: "name or service not known"
            if isinstance(candidate, ConnectionError | TimeoutError) and candidate.errno:
                return os.strerror(candidate.errno).lower()
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        return "timed out"
    return str(exc) or type(exc).__name__


class HTTPXTransport:
    """``httpx.Client`` for requests and ``websockets.sync`` for subscriptions.

    ``verify`` is httpx's: ``False`` skips certificate checks (self-signed TLS proxies), or pass
    an ``ssl.SSLContext``; by default see ``default_verify``.
    """

    def __init__(self, *, verify: bool | ssl.SSLContext | None = None) -> None:
        require_client_extra("httpx", "websockets")
        import httpx

        self._verify = default_verify() if verify is None else verify
        self._http: httpx.Client = httpx.Client(verify=self._verify)

    def post(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        import httpx

        try:
            reply = self._http.post(url, content=body.encode(), timeout=timeout)
        except (httpx.TransportError, OSError) as e:
            raise _failed("POST", url, e) from e
        return reply.status_code, reply.text

    def connect(self, url: str, timeout: float | None) -> _SyncWebSocket:
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        try:
            ws = connect(url, legacy=True, **_ws_options(url, self._verify, timeout))
        except (WebSocketException, OSError) as e:
            raise _failed("WebSocket", url, e) from e
        return _SyncWebSocket(ws)

    def close(self) -> None:
        self._http.close()


class _SyncWebSocket:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(text)
        except ConnectionClosed as e:
            raise WebSocketClosed(str(e)) from e

    def recv(self, timeout: float | None = None) -> str:
        from websockets.exceptions import ConnectionClosed

        try:
            frame = self._ws.recv(timeout)
        except ConnectionClosed as e:
            raise WebSocketClosed(str(e)) from e
        return frame if isinstance(frame, str) else frame.decode()

    def close(self) -> None:
        self._ws.close()


class AsyncHTTPTransport:
    """aiohttp for requests and ``websockets.asyncio`` for subscriptions.

    aiohttp rather than ``httpx.AsyncClient``: on loopback a request costs ~0.5 ms of client CPU
    with aiohttp against ~2.9 ms with httpx's async stack (measured here, see
    docs/performance.md), and the async client is what executors and load generators use.
    ``verify`` as for ``HTTPXTransport``. The session is created on first use, inside the
    running event loop, as aiohttp requires.
    """

    def __init__(self, *, verify: bool | ssl.SSLContext | None = None) -> None:
        require_client_extra("aiohttp", "websockets")
        self._verify = default_verify() if verify is None else verify
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            ssl_option: bool | ssl.SSLContext = self._verify
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_option, limit=0)
            )
        return self._session

    async def apost(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        import aiohttp

        try:
            async with self._http().post(
                url, data=body.encode(), timeout=aiohttp.ClientTimeout(total=timeout)
            ) as reply:
                return reply.status, await reply.text()
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise _failed("POST", url, e) from e

    async def aconnect(self, url: str, timeout: float | None) -> _AsyncWebSocket:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        try:
            ws = await connect(url, **_ws_options(url, self._verify, timeout))
        except (WebSocketException, OSError) as e:
            raise _failed("WebSocket", url, e) from e
        return _AsyncWebSocket(ws)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _AsyncWebSocket:
    def __init__(self, ws: AsyncConnection) -> None:
        self._ws = ws

    async def send(self, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(text)
        except ConnectionClosed as e:
            raise WebSocketClosed(str(e)) from e

    async def recv(self, timeout: float | None = None) -> str:
        from websockets.exceptions import ConnectionClosed

        try:
            async with asyncio.timeout(timeout):
                frame = await self._ws.recv()
        except ConnectionClosed as e:
            raise WebSocketClosed(str(e)) from e
        return frame if isinstance(frame, str) else frame.decode()

    async def close(self) -> None:
        await self._ws.close()
