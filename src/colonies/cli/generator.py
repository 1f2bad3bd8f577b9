"""``colonies generator``: workflows started by packed args (add, pack, ls, get, remove).

A generator starts its workflow once ``--trigger`` args are packed, or ``--timeout`` seconds
after the last run (or the first pack) with fewer; the args become the root steps' args. Member
key (``COLONIES_PRVKEY``); the flags are the Go CLI's.
"""

from __future__ import annotations

from typing import Annotated

import typer

from colonies.cli.context import MEMBER, Host, Json, Port, PrvKey, colony_name, connect
from colonies.cli.cron import Count, SpecFile, workflow_json
from colonies.cli.output import done, fields, format_time, print_json, print_table, table
from colonies.cli.workflow import ColonyName
from colonies.model import Generator

app = typer.Typer(help="Start workflows when enough args are packed.", no_args_is_help=True)

GeneratorId = Annotated[str, typer.Option("--generatorid", help="Generator ID.")]


@app.command()
def add(
    spec_file: SpecFile,
    name: Annotated[str, typer.Option("--name", help="Generator name (unique in the colony).")],
    trigger: Annotated[
        int, typer.Option("--trigger", help="Start a workflow per this many packed args.")
    ],
    timeout: Annotated[
        int,
        typer.Option("--timeout", help="Seconds after which fewer args start one (-1: never)."),
    ] = -1,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Add a generator; prints its ID (member key)."""
    spec, text = workflow_json(spec_file, colonyname)
    generator = Generator(
        colonyname=spec.colonyname, name=name, trigger=trigger, timeout=timeout, workflowspec=text
    )
    with connect(host, port, MEMBER, prvkey) as client:
        added = client.add_generator(generator)
    if as_json:
        print_json(added.to_dict())
    else:
        typer.echo(added.generatorid)


@app.command()
def pack(
    generatorid: GeneratorId,
    arg: Annotated[str, typer.Option("--arg", help="The arg to pack.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Pack an arg for the generator's next workflow (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.pack_generator(generatorid, arg)
    done(f"Packed an arg for generator {generatorid}")


@app.command()
def ls(
    count: Count = 100,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the colony's generators (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        found = client.get_generators(colony, count)
    if as_json:
        print_json([g.to_dict() for g in found])
        return
    rows = table(
        "Generator ID",
        "Name",
        "Trigger",
        "Timeout",
        "Initiator",
        empty=f"No generators in colony {colony}",
    )
    for g in found:
        rows.add_row(g.generatorid, g.name, str(g.trigger), str(g.timeout), g.initiatorname)
    print_table(rows)


@app.command()
def get(
    generatorid: GeneratorId,
    as_json: Json = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show a generator and how many args wait (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        generator = client.get_generator(generatorid)
    if as_json:
        print_json(generator.to_dict())
        return
    print_table(
        fields(
            [
                ("Generator ID", generator.generatorid),
                ("Name", generator.name),
                ("Colony", generator.colonyname),
                ("Initiator", f"{generator.initiatorname} ({generator.initiatorid})"),
                ("Trigger", str(generator.trigger)),
                ("Timeout", str(generator.timeout)),
                ("Queued args", str(generator.queuesize)),
                ("First pack", format_time(generator.firstpack)),
                ("Last run", format_time(generator.lastrun)),
                ("Checker period", f"{generator.checkerperiod} ms"),
                ("Workflow spec", generator.workflowspec),
            ]
        )
    )


@app.command()
def remove(
    generatorid: GeneratorId, host: Host = None, port: Port = None, prvkey: PrvKey = None
) -> None:
    """Remove a generator and its packed args (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.remove_generator(generatorid)
    done(f"Generator {generatorid} removed")
