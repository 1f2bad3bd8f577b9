"""The CPython transports: httpx (sync) and aiohttp (async) for ``/api``, websockets for
``/pubsub``.

httpx, aiohttp and websockets are imported inside the methods, never at module level, so that
``import colonies.client`` also works where they do not exist (Pyodide).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import ssl
from collections.abc import Mapping
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


@functools.cache
def _httpx_default_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once per process: httpx builds one per ``Client``
    (loading every CA certificate, ~25 ms here), which each CLI command would pay, though
    most speak plain HTTP."""
    import httpx

    return httpx.create_ssl_context()


class HTTPXTransport:
    """``httpx.Client`` for requests and ``websockets.sync`` for subscriptions.

    ``verify`` is httpx's: ``False`` skips certificate checks (self-signed TLS proxies), or pass
    an ``ssl.SSLContext``; by default see ``default_verify``.
    """

    def __init__(self, *, verify: bool | ssl.SSLContext | None = None) -> None:
        require_client_extra("httpx", "websockets")
        import httpx

        self._verify = default_verify() if verify is None else verify
        tls = _httpx_default_context() if self._verify is True else self._verify
        self._http: httpx.Client = httpx.Client(verify=tls)

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


# --- the /rpc WebSocket (issue 13): AsyncClient's default against servers that offer it ---
RPC_SOCKET_ENV = "COLONIES_RPC_SOCKET"
# The server's default cap on requests in flight per socket (ServerConfig: 429 beyond it).
RPC_MAX_IN_FLIGHT = 64
# Bodies from this size on go by POST /api: a frame holds up every reply behind it on the one
# socket, the frame's JSON escaping can push a body the server accepts over its frame limit
# (answered without the frame's id), and the per-request cost a frame saves is noise there.
RPC_MAX_FRAME_BODY = 64 * 1024


def rpc_socket_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``COLONIES_RPC_SOCKET=false`` (or 0, no, off) keeps ``AsyncClient`` on ``POST /api``."""
    value = (os.environ if environ is None else environ).get(RPC_SOCKET_ENV, "")
    return value.strip().lower() not in ("false", "0", "no", "off")


def rpc_url(api_url: str) -> str | None:
    """``http(s)://host:port[/prefix]/api`` -> ``ws(s)://host:port[/prefix]/rpc``; ``None`` for
    a URL that does not end in ``/api`` (nothing to derive a socket from)."""
    scheme, sep, rest = api_url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest.endswith("/api"):
        return None
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.removesuffix('/api')}/rpc"


class AsyncSocketTransport(AsyncHTTPTransport):
    """``AsyncHTTPTransport`` whose requests go as frames on one WebSocket to ``/rpc``.

    ``/rpc`` is a colonies-server extension (the browser executor and the dashboard use it):
    each ``{"id": n, "body": envelope}`` frame gets ``{"id": n, "status": s, "body": reply}``,
    requests run concurrently, and a closed socket ends its long-polls on the server, which
    puts a process claimed for one of them back in the queue. A frame skips the HTTP request
    and response machinery on both sides (client CPU per signed ``getcolonymsg`` here: ~90 µs
    on the socket against ~180 µs for ``POST /api``, signing included). The socket is aiohttp's
    (``ws_connect`` on the same session, so TLS and ``verify`` are those of ``POST``): measured
    against ``websockets`` on the same load, ~90 against ~100 µs; no compression (either
    library's deflate added 10-25 µs). ``/pubsub`` subscriptions are unchanged (inherited).

    - Servers without ``/rpc`` (the Go server answers 404) are told apart from unreachable ones:
      an upgrade refused with a 4xx status, or a reachable server that breaks the upgrade, means
      ``POST /api`` for every later call to that server. A connection that fails (refused, DNS,
      TLS) sends the call by ``POST`` instead, so the error is the one ``POST`` reports.
    - At most ``max_in_flight`` requests per socket (the server's default cap, 429 beyond it);
      further callers wait for a slot, so a flood behaves as with ``POST``: slower, not refused.
    - If the socket closes, its requests fail with ``TransportError`` (executors retry) and the
      next request opens a new one; concurrent first calls open one socket, not one each.
    - ``timeout`` covers waiting for a slot, connecting and the reply (``TransportError``
      "timed out"). A frame cannot be called off, so a request that times out or whose caller
      is cancelled retires its socket: it takes no new requests and closes once its other
      requests are answered, which ends the abandoned long-poll on the server (its claimed
      process goes back to the queue). The others are not failed, because an executor that
      stops cancels its polls while other slots are still reporting results. The price: a
      process handed to the abandoned poll before that close stays assigned, unseen (HTTP
      hangs up at once; here the window is as long as the other requests take).
    - Bodies of 64 KiB and more go by ``POST /api`` (see ``RPC_MAX_FRAME_BODY``).
    """

    def __init__(
        self,
        *,
        verify: bool | ssl.SSLContext | None = None,
        max_in_flight: int = RPC_MAX_IN_FLIGHT,
    ) -> None:
        super().__init__(verify=verify)
        self._max_in_flight = max_in_flight
        self._routes: dict[str, _Route] = {}

    def socket_state(self, url: str) -> tuple[str, int]:
        """How calls to the server whose ``/api`` is ``url`` go, and how many sockets this
        transport has opened to it: ``("socket", n)``, ``("post", n)`` (no ``/rpc`` there) or
        ``("none", 0)`` (not called yet, or the socket is being opened)."""
        route = self._routes.get(url)
        if route is None:
            return "none", 0
        if route.http_only:
            return "post", route.opened
        return ("socket" if route.usable() is not None else "none"), route.opened

    async def apost(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        route = self._routes.get(url)
        if route is None:
            route = self._routes[url] = _Route(rpc_url(url), self._max_in_flight)
        if route.http_only or len(body) >= RPC_MAX_FRAME_BODY:
            return await super().apost(url, body, timeout)
        try:
            async with asyncio.timeout(timeout), route.slots:
                conn = route.usable() or await self._open(route)
                if conn is not None:
                    return await conn.call(body)
        except TimeoutError:
            raise TransportError(f"RPC {route.url} failed: timed out", "timed out") from None
        return await super().apost(url, body, timeout)  # the socket did not open

    async def _open(self, route: _Route) -> _RPCSocket | None:
        """The route's socket, opened by the first caller (the others wait for it); ``None``
        when it will not open (and ``route.http_only`` if the server has no ``/rpc``)."""
        import aiohttp

        async with route.connecting:
            if conn := route.usable():
                return conn
            if route.http_only or route.url is None:
                route.http_only = True
                return None
            try:
                ws = await self._http().ws_connect(
                    route.url,
                    max_msg_size=0,  # replies carry whole processes: no cap, as for POST
                    timeout=aiohttp.ClientWSTimeout(ws_close=_CLOSE_TIMEOUT),
                )
            except aiohttp.WSServerHandshakeError as e:
                route.http_only = e.status < 500  # 5xx: a proxy whose server is away
                return None
            except (aiohttp.ClientConnectorError, OSError):
                return None  # unreachable: POST says so in its words
            except aiohttp.ClientError:
                route.http_only = True  # reachable, but the upgrade went wrong
                return None
            route.conn = _RPCSocket(ws, route.url)
            route.opened += 1
            return route.conn

    async def aclose(self) -> None:
        for route in self._routes.values():
            await route.close()
        await super().aclose()


class _Route:
    """One server's ``/api`` URL: its ``/rpc`` socket (and those given up on, still closing),
    the slots in flight, and whether the server has ``/rpc`` at all."""

    def __init__(self, url: str | None, max_in_flight: int) -> None:
        self.url = url
        self.slots = asyncio.Semaphore(max_in_flight)
        self.connecting = asyncio.Lock()
        self.conn: _RPCSocket | None = None
        self.http_only = False
        self.opened = 0
        self.retired: set[_RPCSocket] = set()

    def usable(self) -> _RPCSocket | None:
        """The socket new requests may use, if there is one; one that stopped taking requests
        is kept in ``retired`` until its reader has ended."""
        conn = self.conn
        if conn is None or conn.accepting:
            return conn
        self.conn = None
        self.retired.add(conn)
        conn.reader.add_done_callback(lambda _: self.retired.discard(conn))
        return None

    async def close(self) -> None:
        conns = [*self.retired, *([self.conn] if self.conn else [])]
        self.conn = None
        for conn in conns:
            await conn.close()


class _RPCSocket:
    """One open ``/rpc`` WebSocket: frames out, one reader task handing replies to callers."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, url: str) -> None:
        self._ws = ws
        self._url = url
        self._pending: dict[int, asyncio.Future[tuple[int, str]]] = {}
        self._next_id = 0
        self.abandoned = False
        self.reader: asyncio.Task[None] = asyncio.ensure_future(self._read())

    @property
    def accepting(self) -> bool:
        """Open and not given up on: new requests may use it."""
        return not self.abandoned and not self.reader.done()

    async def call(self, body: str) -> tuple[int, str]:
        self._next_id += 1
        frame_id = self._next_id
        future: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            await self._ws.send_str(json.dumps({"id": frame_id, "body": body}))
            return await future
        except ConnectionError as e:  # aiohttp: "Cannot write to closing transport"
            raise self._failure("connection closed") from e
        except asyncio.CancelledError:  # the caller's, which also cancels the future
            if future.cancelled() or not future.done():
                self.abandoned = True  # no reply yet: the server still runs the request
            raise
        finally:
            del self._pending[frame_id]
            if self.abandoned and not self._pending:
                self.reader.cancel()  # the server ends what is left, abandoned long-polls too

    def _failure(self, reason: str) -> TransportError:
        return TransportError(f"RPC {self._url} failed: {reason}", reason)

    async def _read(self) -> None:
        """Hand each reply frame to its caller; when the socket ends, fail the rest."""
        import aiohttp

        reason = "connection closed"
        try:
            while True:
                message = await self._ws.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break  # closed (or a binary frame, which the server never sends)
                frame = json.loads(message.data)
                future = self._pending.get(frame.get("id"))
                if future is not None and not future.done():
                    future.set_result((int(frame["status"]), str(frame["body"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            reason = "bad reply frame"
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(self._failure(reason))
            await self._ws.close()

    async def close(self) -> None:
        self.reader.cancel()
        await asyncio.wait({self.reader})
