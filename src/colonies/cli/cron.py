"""``colonies cron``: workflows started on a schedule (add, ls, get, run, remove).

Member key (``COLONIES_PRVKEY``); the colony is ``COLONIES_COLONY_NAME`` unless the spec file
or ``--colonyname`` names one. The spec file is the one ``colonies workflow submit`` reads (the
Go CLI's list of function specs, or a WorkflowSpec object). The flags are the Go CLI's:
``--interval`` seconds, or ``--cron`` with a 6-field expression (seconds first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from colonies.cli.context import MEMBER, Host, Json, Port, PrvKey, colony_name, connect
from colonies.cli.output import done, fail, fields, format_time, print_json, print_table, table
from colonies.cli.workflow import ColonyName, read_spec
from colonies.model import Cron, WorkflowSpec

app = typer.Typer(help="Start workflows on a schedule.", no_args_is_help=True)

CronId = Annotated[str, typer.Option("--cronid", help="Cron ID.")]
Count = Annotated[int, typer.Option("--count", help="At most this many.")]
SpecFile = Annotated[
    Path,
    typer.Option(
        "--spec",
        dir_okay=False,
        help="Workflow spec as JSON: a list of function specs (the Go CLI's format) or "
        '{"colonyname": ..., "functionspecs": [...]}.',
    ),
]


def workflow_json(spec_file: Path, colonyname: str | None) -> tuple[WorkflowSpec, str]:
    """The spec file's workflow (its colony filled in) and the JSON string a cron or a
    generator stores."""
    spec = read_spec(spec_file)
    if not spec.colonyname:
        spec.colonyname = colony_name(colonyname, "--colonyname")
    return spec, json.dumps(spec.to_dict())


@app.command()
def add(
    spec_file: SpecFile,
    name: Annotated[str, typer.Option("--name", help="Cron name (unique in the colony).")],
    cron_expression: Annotated[
        str,
        typer.Option(
            "--cron", help='Cron expression with seconds first, e.g. "0 0 * * * *" (hourly).'
        ),
    ] = "",
    interval: Annotated[
        int, typer.Option("--interval", help="Interval in seconds (-1: use --cron).")
    ] = -1,
    random: Annotated[
        bool, typer.Option("--random", help="A random schedule (needs --interval).")
    ] = False,
    waitprevious: Annotated[
        bool,
        typer.Option(
            "--waitprevious",
            help="Wait for the previous workflow to finish before starting the next.",
        ),
    ] = False,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Add a cron; prints its ID (member key)."""
    if interval == -1 and not cron_expression:
        fail("pass --interval or --cron")
    spec, text = workflow_json(spec_file, colonyname)
    cron = Cron(
        colonyname=spec.colonyname,
        name=name,
        cronexpression=cron_expression,
        interval=interval,
        random=random,
        waitforprevprocessgraph=waitprevious,
        workflowspec=text,
    )
    with connect(host, port, MEMBER, prvkey) as client:
        added = client.add_cron(cron)
    if as_json:
        print_json(added.to_dict())
    else:
        typer.echo(added.cronid)


@app.command()
def ls(
    count: Count = 100,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the colony's crons (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        found = client.get_crons(colony, count)
    if as_json:
        print_json([c.to_dict() for c in found])
        return
    rows = table(
        "Cron ID", "Name", "Schedule", "Next run", "Initiator", empty=f"No crons in colony {colony}"
    )
    for c in found:
        rows.add_row(c.cronid, c.name, schedule(c), format_time(c.nextrun), c.initiatorname)
    print_table(rows)


def schedule(cron: Cron) -> str:
    if cron.interval > 0:
        return f"every {cron.interval}s" + (" (random)" if cron.random else "")
    return cron.cronexpression


@app.command()
def get(
    cronid: CronId,
    as_json: Json = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show a cron (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        cron = client.get_cron(cronid)
    if as_json:
        print_json(cron.to_dict())
        return
    print_table(
        fields(
            [
                ("Cron ID", cron.cronid),
                ("Name", cron.name),
                ("Colony", cron.colonyname),
                ("Initiator", f"{cron.initiatorname} ({cron.initiatorid})"),
                ("Schedule", schedule(cron)),
                ("Next run", format_time(cron.nextrun)),
                ("Last run", format_time(cron.lastrun)),
                ("Previous workflow", cron.prevprocessgraphid),
                ("Wait for previous", str(cron.waitforprevprocessgraph).lower()),
                ("Checker period", f"{cron.checkerperiod} ms"),
                ("Workflow spec", cron.workflowspec),
            ]
        )
    )


@app.command()
def run(cronid: CronId, host: Host = None, port: Port = None, prvkey: PrvKey = None) -> None:
    """Start the cron's workflow now (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        cron = client.run_cron(cronid)
    done(f"Cron {cronid} run; latest workflow: {cron.prevprocessgraphid or '-'}")


@app.command()
def remove(cronid: CronId, host: Host = None, port: Port = None, prvkey: PrvKey = None) -> None:
    """Remove a cron (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.remove_cron(cronid)
    done(f"Cron {cronid} removed")
