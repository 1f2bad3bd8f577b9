"""``colonies executor``: register, list, inspect, approve, reject and remove executors.

Changing an executor needs the colony owner's key; reading needs a member's. The colony is
``COLONIES_COLONY_NAME``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from colonies.cli import executor_run, executor_token
from colonies.cli.context import (
    COLONY_OWNER,
    EXECUTOR_TYPE_ENV,
    MEMBER,
    ColonyPrvKey,
    Host,
    Json,
    Port,
    PrvKey,
    colony_name,
    connect,
)
from colonies.cli.output import (
    done,
    executor_state,
    fields,
    format_time,
    print_json,
    print_table,
    table,
)
from colonies.client import Client
from colonies.model import Executor, ExecutorState

app = typer.Typer(help="Manage executors.", no_args_is_help=True)

Name = Annotated[str, typer.Option("--name", help="Executor name.")]


@app.command()
def add(
    executorid: Annotated[str, typer.Option("--executorid", help="ID of the executor's key.")],
    name: Name,
    executortype: Annotated[
        str,
        typer.Option("--type", envvar=EXECUTOR_TYPE_ENV, help="Executor type processes target."),
    ],
    approve: Annotated[bool, typer.Option("--approve", help="Approve it right away.")] = False,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Register an executor; it gets no work until approved (colony key)."""
    colonyname = colony_name()
    executor = Executor(
        executorid=executorid, executortype=executortype, executorname=name, colonyname=colonyname
    )
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.add_executor(executor)
        if approve:
            client.approve_executor(colonyname, name)
    if approve:
        done(f"Executor {name} added and approved")
    else:
        done(f"Executor {name} added; approve it with: colonies executor approve --name {name}")


@app.command("ls")
def ls(
    show_all: Annotated[
        bool, typer.Option("--all", help="Include unregistered (removed) executors.")
    ] = False,
    executortype: Annotated[
        str | None, typer.Option("--type", help="Only executors of this type.")
    ] = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """List the colony's executors (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        executors = [
            e
            for e in client.get_executors(colonyname)
            if (show_all or e.state != ExecutorState.UNREGISTERED)
            and (not executortype or e.executortype == executortype)
        ]
    if as_json:
        print_json([e.to_dict() for e in executors])
        return
    result = table("Name", "Type", "State", "Location", "Last heard from", "Executor ID")
    for e in executors:
        result.add_row(
            e.executorname,
            e.executortype,
            executor_state(e.state),
            e.locationname,
            format_time(e.lastheardfromtime),
            e.executorid,
        )
    print_table(result)


@app.command()
def get(
    name: Name,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Show one executor (member key)."""
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        executor = client.get_executor(colonyname, name)
    if as_json:
        print_json(executor.to_dict())
        return
    print_table(
        fields(
            [
                ("Name", executor.executorname),
                ("Executor ID", executor.executorid),
                ("Type", executor.executortype),
                ("Colony", executor.colonyname),
                ("State", executor_state(executor.state)),
                ("Location", executor.locationname),
                ("Commissioned", format_time(executor.commissiontime)),
                ("Last heard from", format_time(executor.lastheardfromtime)),
            ]
        )
    )


def _changer(change: Callable[[Client, str, str], None], past: str) -> Callable[..., None]:
    """One of ``approve``/``reject``/``remove``: same flags, same key, another call."""

    def command(
        name: Name, host: Host = None, port: Port = None, colonyprvkey: ColonyPrvKey = None
    ) -> None:
        colonyname = colony_name()
        with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
            change(client, colonyname, name)
        done(f"Executor {name} {past}")

    return command


app.command("approve", help="Approve an executor so that it gets work (colony key).")(
    _changer(Client.approve_executor, "approved")
)
app.command("reject", help="Reject an executor: it stays registered, gets no work (colony key).")(
    _changer(Client.reject_executor, "rejected")
)
app.command(
    "remove", help="Unregister an executor; its running processes go back to waiting (colony key)."
)(_changer(Client.remove_executor, "removed"))


app.command("run")(executor_run.run)
app.add_typer(executor_token.app, name="token")
