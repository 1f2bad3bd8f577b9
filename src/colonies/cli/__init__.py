"""The ``colonies`` command line (Typer + Rich), named and flagged like the Go CLI."""

from __future__ import annotations

import typer

from colonies.cli import dev, security, server

app = typer.Typer(
    name="colonies",
    help="ColonyOS in Python: run a server, manage colonies and executors, submit functions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("dev")(dev.dev)
app.add_typer(server.app, name="server")
app.add_typer(security.app, name="security")


def main() -> None:
    app()
