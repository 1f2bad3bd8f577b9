"""The ``colonies`` command line (Typer + Rich), named and flagged like the Go CLI."""

from __future__ import annotations

import typer

from colonies.cli import (
    colony,
    cron,
    database,
    dev,
    executor,
    function,
    generator,
    process,
    security,
    server,
    wasm,
    workflow,
)

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


def main() -> None:
    app()
