"""Run the server with uvicorn on a SQLite data directory (used by ``colonies dev|server``)."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn
from starlette.routing import BaseRoute

from colonies.server.app import create_app
from colonies.server.context import ServerConfig
from colonies.store.sqlite import SQLiteStore

DB_FILE = "colonies.db"


def open_store(data_dir: Path) -> SQLiteStore:
    data_dir.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(data_dir / DB_FILE)


def serve(
    store: SQLiteStore,
    config: ServerConfig,
    *,
    web: list[BaseRoute] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until SIGINT/SIGTERM; the store is closed on shutdown."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    app = create_app(store, config, web=web)
    uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level=log_level,
            timeout_graceful_shutdown=2,
            ws_ping_interval=20,
        )
    ).run()
