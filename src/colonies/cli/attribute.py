"""``colonies attribute add|get``: key/value results attached to a process.

``add`` signs with the key of the executor the process is assigned to (``COLONIES_PRVKEY``) and
the process must be running; ``get`` needs any member key of the process's colony.
"""

from __future__ import annotations

from typing import Annotated

import typer

from colonies.cli.context import MEMBER, Host, Json, Port, PrvKey, connect
from colonies.cli.output import done, fields, print_json, print_table
from colonies.model import Attribute, AttributeType

app = typer.Typer(help="Add and read process attributes.", no_args_is_help=True)


@app.command()
def add(
    processid: Annotated[str, typer.Option("-p", "--processid", help="Process ID.")],
    key: Annotated[str, typer.Option("--key", help="Attribute key.")],
    value: Annotated[str, typer.Option("--value", help="Attribute value.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Attach an output attribute to a running process assigned to you; prints its ID."""
    with connect(host, port, MEMBER, prvkey) as client:
        process = client.get_process(processid)
        added = client.add_attribute(
            Attribute(
                targetid=processid,
                targetcolonyname=process.spec.conditions.colonyname,
                targetprocessgraphid=process.processgraphid,
                attributetype=AttributeType.OUT,
                key=key,
                value=value,
            )
        )
    if as_json:
        print_json(added.to_dict())
    else:
        typer.echo(added.attributeid)
        done(f"Attribute {key} added to process {processid}")


@app.command()
def get(
    attributeid: Annotated[str, typer.Option("--attributeid", help="Attribute ID.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Show one attribute (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        attribute = client.get_attribute(attributeid)
    if as_json:
        print_json(attribute.to_dict())
        return
    try:
        kind = AttributeType(attribute.attributetype).name
    except ValueError:
        kind = str(attribute.attributetype)
    print_table(
        fields(
            [
                ("Attribute ID", attribute.attributeid),
                ("Key", attribute.key),
                ("Value", attribute.value),
                ("Type", kind),
                ("Process ID", attribute.targetid),
                ("Workflow ID", attribute.targetprocessgraphid),
                ("Colony", attribute.targetcolonyname),
            ]
        )
    )
