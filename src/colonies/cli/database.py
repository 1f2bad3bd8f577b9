"""``colonies database create|drop``: the PostgreSQL database a server runs on.

Named and flagged like the Go CLI's ``database`` commands (``--dbhost``, ``--dbport``,
``--dbuser``, ``--dbpassword``, with the Go server's ``COLONIES_DB_*`` variables), plus
``--database`` (a ``postgresql://`` URL, ``COLONIES_DATABASE_URL``) and ``--dbname``
(``COLONIES_DB_NAME``, default ``colonies``): the same settings ``colonies server start`` reads.
Unlike Go, which drops its tables from the shared ``postgres`` database, ``drop`` drops our own
database, closing the connections still open to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer

from colonies.cli.output import done, fail
from colonies.server.runner import DB_NAME, DB_PORT, DatabaseSettings, describe, reason

app = typer.Typer(help="Create or drop the PostgreSQL database of a server.", no_args_is_help=True)

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="COLONIES_DATABASE_URL",
        help="PostgreSQL URL (postgresql://user:password@host:port/dbname); wins over --db*.",
        show_default=False,
    ),
]
DbHost = Annotated[
    str | None,
    typer.Option(
        "--dbhost", envvar="COLONIES_DB_HOST", help="PostgreSQL host.", show_default=False
    ),
]
DbPort = Annotated[
    int | None,
    typer.Option(
        "--dbport", envvar="COLONIES_DB_PORT", help=f"PostgreSQL port [default: {DB_PORT}]"
    ),
]
DbUser = Annotated[
    str | None,
    typer.Option("--dbuser", envvar="COLONIES_DB_USER", help="PostgreSQL user [default: postgres]"),
]
DbPassword = Annotated[
    str | None,
    typer.Option(
        "--dbpassword",
        envvar="COLONIES_DB_PASSWORD",
        help="PostgreSQL password.",
        show_default=False,
    ),
]
DbName = Annotated[
    str | None,
    typer.Option("--dbname", envvar="COLONIES_DB_NAME", help=f"Database name [default: {DB_NAME}]"),
]


def settings(
    database: str | None,
    dbhost: str | None,
    dbport: int | None,
    dbuser: str | None,
    dbpassword: str | None,
    dbname: str | None,
) -> DatabaseSettings:
    return DatabaseSettings(database, dbhost, dbport, dbuser, dbpassword, dbname)


def _run(
    given: DatabaseSettings,
    action: Callable[[str], Coroutine[Any, Any, bool]],
    changed: str,
    same: str,
) -> None:
    import psycopg

    if given.url and not given.postgres_url():
        fail(f"--database must be a postgresql:// URL, got {given.url!r}")
    url = given.postgres_url(default_host="localhost")  # Go's --dbhost default
    assert url is not None
    where = describe(url)
    try:
        did = asyncio.run(action(url))
    except (psycopg.Error, OSError, ValueError) as e:
        fail(f"cannot use PostgreSQL at {where}: {reason(e)}")
    done(f"Database {where} {changed if did else same}")


@app.command()
def create(
    database: Database = None,
    dbhost: DbHost = None,
    dbport: DbPort = None,
    dbuser: DbUser = None,
    dbpassword: DbPassword = None,
    dbname: DbName = None,
) -> None:
    """Create a database (nothing happens when it exists; the server creates its tables)."""
    from colonies.store.postgres import create_database

    given = settings(database, dbhost, dbport, dbuser, dbpassword, dbname)
    _run(given, create_database, "created", "exists already")


@app.command()
def drop(
    database: Database = None,
    dbhost: DbHost = None,
    dbport: DbPort = None,
    dbuser: DbUser = None,
    dbpassword: DbPassword = None,
    dbname: DbName = None,
) -> None:
    """Drop the database and everything in it (connections to it are closed)."""
    from colonies.store.postgres import drop_database

    given = settings(database, dbhost, dbport, dbuser, dbpassword, dbname)
    _run(given, drop_database, "dropped", "does not exist")
