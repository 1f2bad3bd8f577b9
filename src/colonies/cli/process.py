"""``colonies process``: list processes by state, inspect, cancel and remove them; as an
executor assign, close and fail them; pause and resume assignments.

Member key (``COLONIES_PRVKEY``), except ``removeall``, ``pause`` and ``resume``, which need the
colony owner's key. The colony is ``COLONIES_COLONY_NAME``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

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
from colonies.cli.output import (
    done,
    fields,
    format_json,
    format_outputs,
    format_time,
    print_json,
    print_table,
    process_state,
    state_word,
    table,
)
from colonies.cli.removal import chosen_state, confirm
from colonies.model import Process, ProcessState

app = typer.Typer(
    help="List, inspect, cancel, remove, assign and close processes; pause assignments.",
    no_args_is_help=True,
)

ProcessId = Annotated[str, typer.Option("-p", "--processid", help="Process ID.")]

# The ps commands: name, state, and which time tells most about a process in that state.
_LISTS = (
    ("ps", ProcessState.RUNNING, "running", "Started", "starttime"),
    ("psw", ProcessState.WAITING, "waiting", "Submitted", "submissiontime"),
    ("pss", ProcessState.SUCCESS, "successful", "Ended", "endtime"),
    ("psf", ProcessState.FAILED, "failed", "Ended", "endtime"),
    ("psc", ProcessState.CANCELLED, "cancelled", "Ended", "endtime"),
)


def _lister(state: ProcessState, time_label: str, time_field: str) -> Callable[..., None]:
    """One ``ps*`` command; the five differ only in the state they list."""

    def command(
        count: Annotated[int, typer.Option("--count", help="At most this many (<= 100).")] = 20,
        executortype: Annotated[
            str, typer.Option("--executortype", help="Only processes for this executor type.")
        ] = "",
        label: Annotated[str, typer.Option("--label", help="Only processes with this label.")] = "",
        initiator: Annotated[
            str, typer.Option("--initiator", help="Only processes submitted by this user.")
        ] = "",
        host: Host = None,
        port: Port = None,
        prvkey: PrvKey = None,
        as_json: Json = False,
    ) -> None:
        colonyname = colony_name()
        with connect(host, port, MEMBER, prvkey) as client:
            processes = client.get_processes(
                colonyname,
                state,
                count=count,
                executortype=executortype,
                label=label,
                initiator=initiator,
            )
        if as_json:
            print_json([p.to_dict() for p in processes])
            return
        result = table(
            "Process ID",
            "Function",
            "Args",
            "Executor type",
            time_label,
            "Initiator",
            empty=f"No {state_word(state)} processes in colony {colonyname}",
        )
        for p in processes:
            result.add_row(
                p.processid,
                p.spec.funcname,
                format_json(p.spec.args),
                p.spec.conditions.executortype,
                format_time(getattr(p, time_field)),
                p.initiatorname,
            )
        print_table(result)

    return command


for _name, _state, _what, _time_label, _time_field in _LISTS:
    app.command(_name, help=f"List {_what} processes (member key).")(
        _lister(_state, _time_label, _time_field)
    )


@app.command()
def get(
    processid: ProcessId,
    out: Annotated[
        bool, typer.Option("--out", help="Print only the outputs, space-separated, as Go does.")
    ] = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Show one process (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        process = client.get_process(processid)
    if as_json:
        print_json(process.to_dict())
    elif out:
        typer.echo(format_outputs(process.output))
    else:
        print_table(_process_fields(process))


def _process_fields(p: Process) -> Table:
    spec, conditions = p.spec, p.spec.conditions
    return fields(
        [
            ("Process ID", p.processid),
            ("State", process_state(p.state)),
            ("Function", spec.funcname),
            ("Args", format_json(spec.args)),
            ("Kwargs", format_json(spec.kwargs)),
            ("Label", spec.label),
            ("Priority", str(spec.priority)),
            ("Executor type", conditions.executortype),
            ("Executor names", ", ".join(conditions.executornames)),
            ("Assigned executor ID", p.assignedexecutorid),
            ("Initiator", p.initiatorname),
            ("Submitted", format_time(p.submissiontime)),
            ("Started", format_time(p.starttime)),
            ("Ended", format_time(p.endtime)),
            ("Retries", str(p.retries)),
            ("Output", format_json(p.output)),
            ("Errors", "\n".join(p.errors)),
        ]
    )


@app.command()
def cancel(
    processid: ProcessId, host: Host = None, port: Port = None, prvkey: PrvKey = None
) -> None:
    """Cancel a waiting or running process (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.cancel(processid)
    done(f"Process {processid} cancelled")


@app.command()
def remove(
    processid: ProcessId, host: Host = None, port: Port = None, prvkey: PrvKey = None
) -> None:
    """Remove a process that is not running (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.remove_process(processid)
    done(f"Process {processid} removed")


@app.command()
def removeall(
    waiting: Annotated[bool, typer.Option("--waiting", help="Only waiting processes.")] = False,
    successful: Annotated[
        bool, typer.Option("--successful", help="Only successful processes.")
    ] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed processes.")] = False,
    cancelled: Annotated[
        bool, typer.Option("--cancelled", help="Only cancelled processes.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Remove all processes of the colony, or those in one state (colony key).

    Without a state flag running processes go too; workflow members are always kept.
    """
    state = chosen_state(waiting=waiting, successful=successful, failed=failed, cancelled=cancelled)
    what = f"{state.name.lower()} processes" if state is not None else "processes"
    colonyname = colony_name()
    if not yes:
        confirm(f"Remove all {what} in colony {colonyname}?")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.remove_all_processes(colonyname, -1 if state is None else state)
    done(f"Removed all {what} in colony {colonyname}")


# --- process assign|close|fail|pause|resume|status (spec §4.5, §6.8) ------------------------

ColonyName = Annotated[
    str | None,
    typer.Option(
        "--colonyname", help="Colony (default: $COLONIES_COLONY_NAME).", show_default=False
    ),
]


@app.command()
def assign(
    timeout: Annotated[
        int, typer.Option("--timeout", help="Seconds to wait for a process to be assigned.")
    ] = 100,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Take the next process as the executor whose key signs (member key); prints its ID.

    Exits non-zero when no process came within the timeout.
    """
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        process = client.assign(colonyname, timeout)
    if as_json:
        print_json(process.to_dict())
    else:
        typer.echo(process.processid)
        done(f"Process {process.processid} assigned ({process.spec.funcname})")


@app.command("close")
def close_(
    processid: ProcessId,
    out: Annotated[
        list[str] | None,
        typer.Option("--out", help="One output value; repeat for more (commas are kept)."),
    ] = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Close a process assigned to you as successful, with outputs if given."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.close(processid, list(out) if out else None)
    done(f"Process {processid} closed as successful")


@app.command("fail")
def fail_(
    processid: ProcessId,
    errors: Annotated[
        list[str] | None,
        typer.Option("--errors", help="One error message; repeat for more."),
    ] = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Close a process assigned to you as failed."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.fail(processid, list(errors) if errors else ["No errors specified"])
    done(f"Process {processid} closed as failed")


@app.command()
def pause(
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Pause process assignments in the colony (colony key)."""
    name = colony_name(colonyname, "--colonyname")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.pause_assignments(name)
    done(f"Process assignments in colony {name} are paused")


@app.command()
def resume(
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Resume process assignments in the colony (colony key)."""
    name = colony_name(colonyname, "--colonyname")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.resume_assignments(name)
    done(f"Process assignments in colony {name} are resumed")


@app.command()
def status(
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Print PAUSED or ACTIVE: whether assignments in the colony are paused (member key)."""
    name = colony_name(colonyname, "--colonyname")
    with connect(host, port, MEMBER, prvkey) as client:
        paused = client.get_pause_status(name)
    if as_json:
        print_json({"colonyname": name, "ispaused": paused})
    else:
        typer.echo("PAUSED" if paused else "ACTIVE")
