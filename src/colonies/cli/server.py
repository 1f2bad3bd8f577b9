"""``colonies server start|status|stats|alive|chid``: run a server, check one, count what it
holds, give it a new owner key."""

from __future__ import annotations

from pathlib import Path

import typer

from colonies.cli.context import SERVER_OWNER, Host, Json, Port, ServerPrvKey, connect
from colonies.cli.database import Database, DbHost, DbName, DbPassword, DbPort, DbUser, settings
from colonies.cli.ids import require_id
from colonies.cli.output import done, fail, fields, print_json, print_statistics, print_table
from colonies.server.context import ServerConfig
from colonies.server.logs import FORMATS
from colonies.server.runner import DatabaseUnavailable, TLSFiles, open_server_store, serve
from colonies.server.workers import serve_workers
from colonies.web.dashboard_routes import dashboard_routes

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
    log_level: str = typer.Option("warning", "--log-level", help="info: a line per request."),
    log_format: str = typer.Option(
        "text",
        "--log-format",
        envvar="COLONIES_LOG_FORMAT",
        help="text or json (one object a line).",
    ),
    tls_cert: Path | None = typer.Option(
        None,
        "--tls-cert",
        "--tlscert",
        envvar=["COLONIES_TLSCERT", "COLONIES_SERVER_HTTP_TLS_CERT"],
        help="PEM certificate (chain): serve HTTPS and WSS.",
    ),
    tls_key: Path | None = typer.Option(
        None,
        "--tls-key",
        "--tlskey",
        envvar=["COLONIES_TLSKEY", "COLONIES_SERVER_HTTP_TLS_KEY"],
        help="PEM private key of --tls-cert.",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        envvar="COLONIES_SERVER_WORKERS",
        min=1,
        help="Server processes on the one port (SO_REUSEPORT), one per core; needs PostgreSQL.",
    ),
) -> None:
    """Start a server: on PostgreSQL when configured (--database or --dbhost; the database is
    created if missing), otherwise on an embedded SQLite store in the data directory."""
    if log_format not in FORMATS:
        fail(f"--log-format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    try:
        tls = TLSFiles.of(tls_cert, tls_key)
    except ValueError as e:
        fail(str(e))
    database_settings = settings(database, dbhost, dbport, dbuser, dbpassword, dbname)
    postgres_url = database_settings.postgres_url()
    if workers > 1 and postgres_url is None:
        fail(
            "--workers above 1 needs PostgreSQL (--database or --dbhost): workers wake each "
            "other's long-polls through it, which an SQLite file cannot do"
        )
    try:
        store, stored_id = open_server_store(database_settings, data_dir)
    except DatabaseUnavailable as e:
        fail(str(e))
    if not serverid and not stored_id:
        fail("no server ID: set COLONIES_SERVER_ID or pass --serverid on first start")
    try:
        config = ServerConfig.from_env()
    except ValueError as e:
        fail(str(e))
    config.host, config.port, config.server_id = host, port, serverid
    if workers > 1 and postgres_url is not None:
        try:
            status = serve_workers(
                workers,
                postgres_url,
                config,
                web=dashboard_routes,
                log_level=log_level,
                log_format=log_format,
                tls=tls,
            )
        except OSError as e:
            fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
        raise typer.Exit(status)
    web = dashboard_routes()  # /dashboard/ (and / leading to it): signs in the browser
    serve(store, config, web=web, log_level=log_level, log_format=log_format, tls=tls)


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


@app.command()
def alive(host: Host = None, port: Port = None) -> None:
    """Exit 0 if the server answers, 1 (with the reason) if not: for scripts and health checks.

    The Go CLI's ``server alive`` exits 0 without asking the server; this one asks (unsigned
    getserverinfomsg, as ``server status``)."""
    with connect(host, port) as client:
        client.server_info()
        url = client.url
    done(f"The server at {url} is alive")


@app.command()
def chid(
    serverid: str = typer.Option(..., "--serverid", help="ID of the new server owner key."),
    host: Host = None,
    port: Port = None,
    serverprvkey: ServerPrvKey = None,
) -> None:
    """Give the server a new owner key: sign with the current one (COLONIES_SERVER_PRVKEY /
    --serverprvkey). Set COLONIES_SERVER_ID to the new ID too, or a restart brings the old one
    back."""
    require_id(serverid, "--serverid")
    with connect(host, port, SERVER_OWNER, serverprvkey) as client:
        client.change_server_id(serverid)
    done(f"The server now belongs to the key with ID {serverid}")
