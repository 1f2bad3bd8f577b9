"""``colonies server start|status|stats``: run a server, check one, count what it holds."""

from __future__ import annotations

from pathlib import Path

import typer

from colonies.cli.context import SERVER_OWNER, Host, Json, Port, ServerPrvKey, connect
from colonies.cli.database import Database, DbHost, DbName, DbPassword, DbPort, DbUser, settings
from colonies.cli.output import fail, fields, print_json, print_statistics, print_table
from colonies.server.context import ServerConfig
from colonies.server.runner import DatabaseUnavailable, open_server_store, serve

app = typer.Typer(
    help="Run a ColonyOS server, check it, show its statistics.", no_args_is_help=True
)


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
        help="Directory of the embedded SQLite database (when no PostgreSQL is configured).",
    ),
    database: Database = None,
    dbhost: DbHost = None,
    dbport: DbPort = None,
    dbuser: DbUser = None,
    dbpassword: DbPassword = None,
    dbname: DbName = None,
    serverid: str = typer.Option(
        "",
        "--serverid",
        envvar="COLONIES_SERVER_ID",
        help="ID of the server owner key (stored; needed on first start).",
    ),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """Start a server: on PostgreSQL when configured (--database or --dbhost; the database is
    created if missing), otherwise on an embedded SQLite store in the data directory."""
    try:
        store, stored_id = open_server_store(
            settings(database, dbhost, dbport, dbuser, dbpassword, dbname), data_dir
        )
    except DatabaseUnavailable as e:
        fail(str(e))
    if not serverid and not stored_id:
        fail("no server ID: set COLONIES_SERVER_ID or pass --serverid on first start")
    try:
        config = ServerConfig.from_env()
    except ValueError as e:
        fail(str(e))
    config.host, config.port, config.server_id = host, port, serverid
    serve(store, config, log_level=log_level)


@app.command()
def status(host: Host = None, port: Port = None, as_json: Json = False) -> None:
    """Check that the server answers and show its build and backends (unsigned)."""
    with connect(host, port) as client:
        info = client.server_info()
        url = client.url
    if as_json:
        print_json(info.to_dict())
        return
    backends = ", ".join(f"{b.type} {b.host}:{b.port}" for b in info.backends)
    print_table(
        fields(
            [
                ("Server", url),
                ("Build version", info.buildversion),
                ("Build time", info.buildtime),
                ("Backends", backends),
            ]
        )
    )


@app.command()
def stats(
    host: Host = None, port: Port = None, serverprvkey: ServerPrvKey = None, as_json: Json = False
) -> None:
    """Counts of colonies, executors and processes on the whole server (server key)."""
    with connect(host, port, SERVER_OWNER, serverprvkey) as client:
        statistics = client.statistics()
    print_statistics(statistics, as_json)
