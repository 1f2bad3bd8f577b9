"""``colonies colony``: add, list, inspect and remove colonies, and change a colony's owner key.

Adding, listing and removing need the server owner's key; reading one colony needs a member's;
``chid`` needs the colony owner's.
"""

from __future__ import annotations

from typing import Annotated

import typer

from colonies.cli.context import (
    COLONY_OWNER,
    MEMBER,
    SERVER_OWNER,
    ColonyPrvKey,
    Host,
    Json,
    Port,
    PrvKey,
    ServerPrvKey,
    colony_name,
    connect,
)
from colonies.cli.ids import require_id
from colonies.cli.output import done, fields, print_json, print_statistics, print_table, table
from colonies.model import Colony

app = typer.Typer(help="Manage colonies.", no_args_is_help=True)

Name = Annotated[
    str | None,
    typer.Option(
        "--name", help="Colony name (default: $COLONIES_COLONY_NAME).", show_default=False
    ),
]


@app.command()
def add(
    name: Annotated[str, typer.Option("--name", help="Name of the new colony.")],
    colonyid: Annotated[
        str, typer.Option("--colonyid", help="ID of the colony owner's key (colonies security id).")
    ],
    host: Host = None,
    port: Port = None,
    serverprvkey: ServerPrvKey = None,
) -> None:
    """Add a colony owned by the key whose ID is --colonyid (server key)."""
    with connect(host, port, SERVER_OWNER, serverprvkey) as client:
        colony = client.add_colony(Colony(colonyid=colonyid, name=name))
    done(f"Colony {colony.name} added (colony ID {colony.colonyid})")


@app.command("ls")
def ls(
    host: Host = None, port: Port = None, serverprvkey: ServerPrvKey = None, as_json: Json = False
) -> None:
    """List every colony on the server (server key)."""
    with connect(host, port, SERVER_OWNER, serverprvkey) as client:
        colonies = client.get_colonies()
    if as_json:
        print_json([c.to_dict() for c in colonies])
        return
    result = table("Name", "Colony ID")
    for colony in colonies:
        result.add_row(colony.name, colony.colonyid)
    print_table(result)


def get(
    name: Name = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Show one colony; also checks that it exists and that your key is a member."""
    colonyname = colony_name(name, "--name")
    with connect(host, port, MEMBER, prvkey) as client:
        colony = client.get_colony(colonyname)
    if as_json:
        print_json(colony.to_dict())
        return
    print_table(fields([("Name", colony.name), ("Colony ID", colony.colonyid)]))


app.command("get")(get)
app.command("check", help="Same as get (the Go CLI's name).")(get)


@app.command()
def remove(
    name: Annotated[str, typer.Option("--name", help="Colony to remove.")],
    host: Host = None,
    port: Port = None,
    serverprvkey: ServerPrvKey = None,
) -> None:
    """Remove a colony and everything in it (server key)."""
    with connect(host, port, SERVER_OWNER, serverprvkey) as client:
        client.remove_colony(name)
    done(f"Colony {name} removed")


@app.command()
def stats(
    name: Name = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Counts of executors and processes in a colony (member key)."""
    colonyname = colony_name(name, "--name")
    with connect(host, port, MEMBER, prvkey) as client:
        statistics = client.colony_statistics(colonyname)
    print_statistics(statistics, as_json)


@app.command()
def chid(
    colonyid: Annotated[str, typer.Option("--colonyid", help="ID of the new colony owner key.")],
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Give the colony a new owner key: sign with the current one (COLONIES_COLONY_PRVKEY /
    --colonyprvkey); afterwards only the key whose ID is --colonyid owns the colony."""
    colonyname = colony_name()
    require_id(colonyid, "--colonyid")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.change_colony_id(colonyname, colonyid)
    done(f"Colony {colonyname} now belongs to the key with ID {colonyid}")
