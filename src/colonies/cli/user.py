"""``colonies user``: add, list, inspect, remove users, and move your own user to a new key.

Users are colony members without an executor: people (or scripts) that submit and read. Adding
and removing need the colony owner's key, reading a member's; ``chid`` is signed by the user
itself (``COLONIES_PRVKEY``). The colony is ``COLONIES_COLONY_NAME``.
"""

from __future__ import annotations

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
from colonies.cli.ids import require_id
from colonies.cli.output import done, fields, print_json, print_table, table
from colonies.cli.removal import confirm
from colonies.model import User

app = typer.Typer(help="Manage users.", no_args_is_help=True)

Name = Annotated[str, typer.Option("--name", help="User name.")]
UserId = Annotated[str, typer.Option("--userid", help="ID of the user's key (security id).")]


@app.command()
def add(
    name: Name,
    userid: UserId,
    email: Annotated[str, typer.Option("--email", help="Email address.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Phone number.")] = "",
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Add a user to the colony (colony key)."""
    colonyname = colony_name()
    require_id(userid, "--userid")
    user = User(colonyname=colonyname, userid=userid, name=name, email=email, phone=phone)
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.add_user(user)
    done(f"User {name} added to colony {colonyname}")


@app.command("ls")
def ls(host: Host = None, port: Port = None, prvkey: PrvKey = None, as_json: Json = False) -> None:
    """List the colony's users (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        users = client.get_users(colonyname)
    if as_json:
        print_json([u.to_dict() for u in users])
        return
    result = table("Name", "Email", "Phone", "User ID")
    for u in users:
        result.add_row(u.name, u.email, u.phone, u.userid)
    print_table(result)


@app.command()
def get(
    name: Name, host: Host = None, port: Port = None, prvkey: PrvKey = None, as_json: Json = False
) -> None:
    """Show one user (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        user = client.get_user(colonyname, name)
    if as_json:
        print_json(user.to_dict())
        return
    print_table(
        fields(
            [
                ("Name", user.name),
                ("User ID", user.userid),
                ("Colony", user.colonyname),
                ("Email", user.email),
                ("Phone", user.phone),
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
    """Remove a user from the colony (colony key); asks for YES like the Go CLI unless --yes."""
    colonyname = colony_name()
    if not yes:
        confirm(f"Remove user {name} in colony {colonyname}?")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.remove_user(colonyname, name)
    done(f"User {name} removed from colony {colonyname}")


@app.command()
def chid(userid: UserId, host: Host = None, port: Port = None, prvkey: PrvKey = None) -> None:
    """Move your user to a new key: sign with the current one (COLONIES_PRVKEY / --prvkey),
    give the new key's ID; afterwards only the new key works."""
    colonyname = colony_name()
    require_id(userid, "--userid")
    with connect(host, port, MEMBER, prvkey) as client:
        client.change_user_id(colonyname, userid)
    done(f"User ID changed in colony {colonyname}: sign with the new key from now on")
