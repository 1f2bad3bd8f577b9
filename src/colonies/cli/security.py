"""``colonies security generate|id``: local key operations, no server involved."""

from __future__ import annotations

import json

import typer

from colonies import crypto
from colonies.cli.output import fail

app = typer.Typer(help="Generate private keys and derive IDs (local only).", no_args_is_help=True)


@app.command()
def generate(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Generate a new private key and print it with its ID."""
    prvkey = crypto.generate_private_key()
    identity = crypto.id_from_private_key(prvkey)
    if as_json:
        typer.echo(json.dumps({"id": identity, "prvkey": prvkey}))
    else:
        typer.echo(f"Id: {identity}\nPrvKey: {prvkey}")


@app.command("id")
def show_id(
    prvkey: str = typer.Option(..., "--prvkey", envvar="COLONIES_PRVKEY", help="Private key."),
) -> None:
    """Print the ID (public identity) of a private key."""
    try:
        typer.echo(crypto.id_from_private_key(prvkey))
    except crypto.InvalidKeyError as e:
        fail(f"Invalid private key: {e}")
