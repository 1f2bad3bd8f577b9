"""``colonies location add|ls|get|remove``: the sites executors say they run at.

``add`` and ``remove`` need the colony owner's key (``COLONIES_COLONY_PRVKEY``), ``ls`` and
``get`` a member's (``COLONIES_PRVKEY``). The colony is ``COLONIES_COLONY_NAME``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from colonies.cli.context import (
    COLONY_OWNER,
    MEMBER,
    ColonyPrvKey,
    Host,
    Json,
    Port,
    PrvKey,
    colony_name,
    connect,
)
from colonies.cli.output import done, fields, print_json, print_table, table
from colonies.cli.removal import confirm
from colonies.model import Location

app = typer.Typer(help="Manage the locations of a colony.", no_args_is_help=True)

Name = Annotated[str, typer.Option("--name", help="Location name.")]


@app.command()
def add(
    name: Name,
    desc: Annotated[str, typer.Option("--desc", help="Description.")] = "",
    long: Annotated[float, typer.Option("--long", help="Longitude.")] = 0.0,
    lat: Annotated[float, typer.Option("--lat", help="Latitude.")] = 0.0,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
    as_json: Json = False,
) -> None:
    """Add a location (colony key); prints its ID."""
    location = Location(
        locationid=secrets.token_hex(32),
        name=name,
        colonyname=colony_name(),
        description=desc,
        long=long,
        lat=lat,
    )
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        added = client.add_location(location)
    if as_json:
        print_json(added.to_dict())
    else:
        typer.echo(added.locationid)
        done(f"Location {added.name} added to colony {added.colonyname}")


@app.command("ls")
def list_(
    host: Host = None, port: Port = None, prvkey: PrvKey = None, as_json: Json = False
) -> None:
    """List the colony's locations (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        locations = client.get_locations(colonyname)
    if as_json:
        print_json([loc.to_dict() for loc in locations])
        return
    result = table(
        "Name",
        "Description",
        "Longitude",
        "Latitude",
        "Location ID",
        empty=f"No locations in colony {colonyname}",
    )
    for loc in locations:
        result.add_row(loc.name, loc.description, str(loc.long), str(loc.lat), loc.locationid)
    print_table(result)


@app.command()
def get(
    name: Name, host: Host = None, port: Port = None, prvkey: PrvKey = None, as_json: Json = False
) -> None:
    """Show one location (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        loc = client.get_location(colony_name(), name)
    if as_json:
        print_json(loc.to_dict())
        return
    print_table(
        fields(
            [
                ("Name", loc.name),
                ("Location ID", loc.locationid),
                ("Colony", loc.colonyname),
                ("Description", loc.description),
                ("Longitude", str(loc.long)),
                ("Latitude", str(loc.lat)),
            ]
        )
    )


@app.command()
def remove(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Remove a location (colony key); asks for YES like the Go CLI unless --yes."""
    colonyname = colony_name()
    if not yes:
        confirm(f"Remove location {name} in colony {colonyname}?")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.remove_location(colonyname, name)
    done(f"Location {name} removed from colony {colonyname}")
