"""The ``colonies`` command line (Typer + Rich), named and flagged like the Go CLI."""

from __future__ import annotations

import os
import sys

import typer

from colonies import __version__
from colonies.cli import (
    about,
    attribute,
    blueprint,
    cluster,
    colony,
    cron,
    database,
    dev,
    executor,
    fs,
    function,
    generator,
    location,
    log,
    monitor,
    process,
    security,
    server,
    user,
    wasm,
    workflow,
)
from colonies.cli.output import WIDE_ENV

app = typer.Typer(
    name="colonies",
    help="ColonyOS in Python: run a server, manage colonies and executors, submit functions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("dev")(dev.dev)
app.add_typer(server.app, name="server")
app.add_typer(colony.app, name="colony")
app.add_typer(executor.app, name="executor")
app.add_typer(function.app, name="function")
app.add_typer(process.app, name="process")
app.add_typer(workflow.app, name="workflow")
app.add_typer(cron.app, name="cron")
app.add_typer(generator.app, name="generator")
app.add_typer(security.app, name="security")
app.add_typer(wasm.app, name="wasm")
app.add_typer(database.app, name="database")
app.add_typer(fs.app, name="fs")  # ColonyFS files and snapshots (spec §4.9)
# --- surface: locations, logs, attributes, monitoring (spec §4.4, §4.7, §7.3) ---
app.add_typer(location.app, name="location")
app.add_typer(log.app, name="log")
app.add_typer(attribute.app, name="attribute")
app.add_typer(monitor.app, name="monitor")
# --- admin: users, cluster, version, config (spec §4.4, §4.12, §7.3) ---
app.add_typer(user.app, name="user")
app.add_typer(cluster.app, name="cluster")
app.add_typer(blueprint.app, name="blueprint")  # blueprints (spec §4.11)
app.command("version")(about.version)
app.command("config")(about.config)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"colonies {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print this CLI's version and exit (`colonies version` asks the server too).",
    ),
    wide: bool = typer.Option(
        False,
        "--wide",
        help="Whole 64-character IDs in tables on a terminal too (also COLONIES_WIDE=true).",
    ),
) -> None:
    """ColonyOS in Python: run a server, manage colonies and executors, submit functions."""
    if wide:
        os.environ[WIDE_ENV] = "true"


def main() -> None:
    # ``--module myfuncs`` finds a module in the current folder, as ``python -m`` would, but
    # after the installed packages, so that a local file cannot shadow one of them.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    app()
