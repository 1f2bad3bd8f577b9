"""What ``Client`` and ``AsyncClient`` share: configuration, URLs and choosing the signing key.

Stdlib only (runs in Pyodide).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from colonies.client._requests import Call

TransportT = TypeVar("TransportT")

DEFAULT_URL = "http://localhost:50080"


@dataclass(frozen=True)
class ClientConfig:
    """Where the server is and which key signs by default."""

    host: str = "localhost"
    port: int = 50080
    tls: bool = False
    prvkey: str | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"


def from_env(environ: Mapping[str, str] | None = None) -> ClientConfig:
    """Read the Go CLI's variables: ``COLONIES_SERVER_HOST``, ``COLONIES_SERVER_HTTP_PORT`` (else
    ``COLONIES_SERVER_PORT``), ``COLONIES_TLS`` and ``COLONIES_PRVKEY``.

    Unlike the Go CLI, which uses HTTPS when ``COLONIES_TLS`` is unset, only ``"true"`` means
    HTTPS here: the usual setup (docker-compose.env, a local server) is plain HTTP. The CPython
    transports trust the CAs in ``COLONIES_CA_FILE`` when it is set.
    """
    env = os.environ if environ is None else environ
    port = env.get("COLONIES_SERVER_HTTP_PORT") or env.get("COLONIES_SERVER_PORT") or "50080"
    try:
        port_number = int(port)
    except ValueError:
        raise ValueError(f"The server port must be a number, got {port!r}") from None
    return ClientConfig(
        host=env.get("COLONIES_SERVER_HOST") or "localhost",
        port=port_number,
        tls=env.get("COLONIES_TLS", "").strip().lower() == "true",
        prvkey=env.get("COLONIES_PRVKEY") or None,
    )


def pubsub_url(url: str) -> str:
    """``http(s)://host:port[/prefix]`` -> ``ws(s)://host:port[/prefix]/pubsub``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"The server URL must start with http:// or https://, got {url!r}")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/pubsub"


class BaseClient(Generic[TransportT]):
    """URLs, the default key and timeouts; subclasses add the transport I/O."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        prvkey: str | None = None,
        *,
        transport: TransportT | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.prvkey = prvkey
        self.timeout = timeout
        self._api_url = self.url + "/api"
        self._pubsub_url = pubsub_url(self.url)
        self._transport: TransportT = self._default_transport() if transport is None else transport

    @classmethod
    def from_env(
        cls,
        *,
        transport: TransportT | None = None,
        timeout: float = 30.0,
        environ: Mapping[str, str] | None = None,
    ) -> Self:
        """A client for the server and key named by the environment (see ``from_env``)."""
        config = from_env(environ)
        return cls(config.url, config.prvkey, transport=transport, timeout=timeout)

    def _default_transport(self) -> TransportT:
        raise NotImplementedError

    def _body(self, call: Call[Any], prvkey: str | None) -> str:
        return call.body(prvkey or self.prvkey)

    def _http_timeout(self, call: Call[Any]) -> float:
        return self.timeout if call.timeout is None else max(call.timeout, self.timeout)
