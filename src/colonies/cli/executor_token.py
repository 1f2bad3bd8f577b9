"""``colonies executor token create``: a join token instead of handing out the colony key."""

from __future__ import annotations

import json
import re
import time

import typer

from colonies import crypto, jointoken
from colonies.cli.output import err, fail

app = typer.Typer(
    help="Join tokens: let executors join without the colony key.", no_args_is_help=True
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90`` / ``90s`` / ``30m`` / ``1h`` / ``7d`` in seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"invalid duration {text!r}: use e.g. 30m, 1h or 7d")
    return float(match.group(1)) * _UNIT[match.group(2)]


@app.command()
def create(
    executortype: str = typer.Option(..., "--type", help="Executor type the token admits."),
    ttl: str = typer.Option("1h", "--ttl", help="How long the token is valid: 30m, 1h, 7d…"),
    colonyname: str = typer.Option(..., "--colony", envvar="COLONIES_COLONY_NAME"),
    colony_prvkey: str = typer.Option(
        ...,
        "--colonyprvkey",
        envvar="COLONIES_COLONY_PRVKEY",
        show_default=False,
        help="Colony owner key that signs the token.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a join token for executors of TYPE in the colony (signed with the colony key).

    Anyone holding the token can register and approve executors of that type until it expires,
    so share it like a password and keep the TTL short.
    """
    try:
        seconds = parse_duration(ttl)
        crypto.id_from_private_key(colony_prvkey)
    except (ValueError, crypto.InvalidKeyError) as e:
        fail(f"{e} (check --ttl and COLONIES_COLONY_PRVKEY / --colonyprvkey)")
    token = jointoken.create(colony_prvkey, colonyname, executortype, seconds)
    expires = int(time.time() + seconds)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "token": token,
                    "colonyname": colonyname,
                    "executortype": executortype,
                    "expires": expires,
                }
            )
        )
        return
    typer.echo(token)
    err.print(
        f"Join token for executors of type [bold]{executortype}[/] in colony "
        f"[bold]{colonyname}[/], valid until "
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(expires))}."
    )
