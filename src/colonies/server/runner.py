"""Run the server with uvicorn on its store (used by ``colonies dev|server``).

The store is SQLite in a data directory unless PostgreSQL is configured: a URL
(``--database`` / ``COLONIES_DATABASE_URL``) or the Go server's variables (``COLONIES_DB_HOST``,
``COLONIES_DB_PORT``, ``COLONIES_DB_USER``, ``COLONIES_DB_PASSWORD``), so the upstream
``docker-compose.env`` starts us on its database server. The Go server keeps its tables in the
``postgres`` database (prefixed ``PROD_``); we use a database of our own, ``colonies`` unless
``COLONIES_DB_NAME`` says otherwise, created on start when missing (like Go's ``--initdb``).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import uvicorn
from starlette.routing import BaseRoute

from colonies.server import logs
from colonies.server.app import create_app
from colonies.server.context import ServerConfig
from colonies.store import Store, is_postgres_url
from colonies.store.sqlite import SQLiteStore

DB_FILE = "colonies.db"
DB_NAME = "colonies"
DB_PORT = 5432
DB_USER = "postgres"


class DrainingServer(uvicorn.Server):
    """uvicorn, ending the app's long-polls as soon as a shutdown begins (Ctrl-C, SIGTERM):
    otherwise each would hold the shutdown until uvicorn's grace period, then be cancelled."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        ctx = getattr(getattr(self.config.app, "state", None), "ctx", None)
        if ctx is not None:
            ctx.drain()
        await super().shutdown(sockets)


@dataclass(frozen=True)
class TLSFiles:
    """The server's certificate (chain) and private key, PEM files."""

    cert: Path
    key: Path

    @classmethod
    def of(cls, cert: Path | None, key: Path | None) -> TLSFiles | None:
        """Both files or neither (plain HTTP); one alone, or a missing file, is a ValueError."""
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            raise ValueError("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
        for path in (cert, key):
            if not path.is_file():
                raise ValueError(f"TLS file not found: {path}")
        return cls(cert, key)


class DatabaseUnavailable(Exception):
    """PostgreSQL is configured but cannot be reached or set up; the message says where."""


def open_store(data_dir: Path) -> SQLiteStore:
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(data_dir / DB_FILE)


@dataclass
class DatabaseSettings:
    """Where the store is: a URL, or the Go server's host/port/user/password variables."""

    url: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    name: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DatabaseSettings:
        port = env.get("COLONIES_DB_PORT")
        if port is not None and not port.strip().isdigit():
            raise ValueError(f"COLONIES_DB_PORT must be a port number, got {port!r}")
        return cls(
            url=env.get("COLONIES_DATABASE_URL") or None,
            host=env.get("COLONIES_DB_HOST") or None,
            port=int(port) if port else None,
            user=env.get("COLONIES_DB_USER") or None,
            password=env.get("COLONIES_DB_PASSWORD") or None,
            name=env.get("COLONIES_DB_NAME") or None,
        )

    def postgres_url(self, *, default_host: str | None = None) -> str | None:
        """The PostgreSQL URL these settings name, or ``None`` for SQLite (no URL, no host)."""
        if self.url:
            return self.url if is_postgres_url(self.url) else None
        host = self.host or default_host
        if not host:
            return None
        if ":" in host and not host.startswith("["):  # an IPv6 address
            host = f"[{host}]"
        auth = quote(self.user or DB_USER, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{host}:{self.port or DB_PORT}/{quote(self.name or DB_NAME)}"


def describe(url: str) -> str:
    """``host:port/dbname`` of a PostgreSQL URL, without the password, for messages."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "the configured URL"
    return f"{info.get('host', 'localhost')}:{info.get('port', DB_PORT)}/{info.get('dbname', '')}"


def reason(error: BaseException) -> str:
    """The first line of a (psycopg) error: libpq adds hints on further lines."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


async def prepare_postgres(url: str) -> str:
    """Create the database if missing and bring its schema up to date; returns the stored
    server ID ('' if none). Raises ``DatabaseUnavailable`` with a one-line reason."""
    import psycopg

    from colonies.store.postgres import PostgresStore, create_database

    try:
        await create_database(url)
        store = PostgresStore(url, min_size=1, max_size=1)
        try:
            await store.migrate()
            return await store.get_server_id()
        finally:
            await store.close()
    except (psycopg.Error, OSError, ValueError) as e:
        raise DatabaseUnavailable(
            f"cannot use PostgreSQL at {describe(url)}: {reason(e)}"
        ) from None


def open_server_store(settings: DatabaseSettings, data_dir: Path) -> tuple[Store, str]:
    """The store to serve (PostgreSQL when configured, else SQLite in ``data_dir``) and the
    server ID stored in it. A non-URL ``settings.url`` is a SQLite file."""
    url = settings.postgres_url()
    if url is None:
        if settings.url:
            store: Store = SQLiteStore(settings.url)
        else:
            store = open_store(data_dir)
        return store, asyncio.run(store.get_server_id())
    from colonies.store.postgres import PostgresStore

    serverid = asyncio.run(prepare_postgres(url))
    return PostgresStore(url), serverid


def serve(
    store: Store,
    config: ServerConfig,
    *,
    web: list[BaseRoute] | None = None,
    log_level: str = "warning",
    log_format: str = "text",
    tls: TLSFiles | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; the store is closed on shutdown. With ``tls``, HTTPS/WSS.
    ``sockets``: listen on these (``--workers``) rather than binding ``config.host:port``."""
    log_config = logs.configure(log_level, log_format)
    app = create_app(store, config, web=web)
    DrainingServer(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level=log_level,
            log_config=log_config,
            access_log=False,  # colonies.access logs each RPC with its type, signer and status
            ssl_certfile=tls.cert if tls else None,
            ssl_keyfile=tls.key if tls else None,
            timeout_graceful_shutdown=2,
            ws_ping_interval=20,
        )
    ).run(sockets=sockets)
