"""``colonies server start``: the server without the dev setup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from colonies.cli.output import fail
from colonies.server.context import ServerConfig
from colonies.server.runner import open_store, serve

app = typer.Typer(help="Run a ColonyOS server.", no_args_is_help=True)


@app.command()
def start(
    port: int = typer.Option(
        50080, "--port", envvar=["COLONIES_SERVER_HTTP_PORT", "COLONIES_SERVER_PORT"]
    ),
    host: str = typer.Option("0.0.0.0", "--host", help="Interface to listen on."),
    data_dir: Path = typer.Option(
        Path("colonies-data"),
        "--data-dir",
        envvar="COLONIES_DATA_DIR",
        help="Directory of the embedded SQLite database.",
    ),
    serverid: str = typer.Option(
        "",
        "--serverid",
        envvar="COLONIES_SERVER_ID",
        help="ID of the server owner key (stored; needed on first start).",
    ),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """Start a server on an embedded SQLite store."""
    store = open_store(data_dir)
    if not serverid and not asyncio.run(store.get_server_id()):
        fail("no server ID: set COLONIES_SERVER_ID or pass --serverid on first start")
    config = ServerConfig.from_env()
    config.host, config.port, config.server_id = host, port, serverid
    serve(store, config, log_level=log_level)
