"""``colonies function exec|submit``: submit a function call and, with ``--wait``, its result;
``function register|ls|remove``: the functions executors offer.

All sign with the member key (``COLONIES_PRVKEY``) in colony ``COLONIES_COLONY_NAME``. Waiting
has no time limit: the SDK's ``wait`` re-subscribes whenever the server closes a subscription,
where the Go CLI gives up after 100 s.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from colonies.cli.context import (
    EXECUTOR_TYPE_ENV,
    MEMBER,
    Host,
    Json,
    Port,
    PrvKey,
    colony_name,
    connect,
)
from colonies.cli.output import done, err, fail, format_outputs, print_json, print_table, table
from colonies.client import Client
from colonies.errors import ColoniesError, TransportError
from colonies.model import (
    Conditions,
    ExecutorState,
    Function,
    FunctionSpec,
    Process,
    ProcessState,
    Wire,
)

app = typer.Typer(
    help="Submit functions to executors; register, list and remove functions.",
    no_args_is_help=True,
)

Wait = Annotated[bool, typer.Option("--wait", help="Wait until the process has finished.")]
Out = Annotated[
    bool,
    typer.Option(
        "--out", help="Print the outputs, space-separated, as Go prints them (implies --wait)."
    ),
]
ProcessJson = Annotated[
    bool, typer.Option("--json", help="Print the process as JSON (the final one with --wait).")
]


@app.command("exec")
def exec_(
    ctx: typer.Context,
    func: Annotated[str, typer.Option("--func", help="Function name.")],
    args: Annotated[
        list[str] | None,
        typer.Option(
            "--args",
            help="One string argument; repeat for more. Commas are kept: --args 'a,b' is one "
            "argument (the Go CLI would split it in two).",
        ),
    ] = None,
    kwargs: Annotated[
        list[str] | None, typer.Option("--kwargs", help="Keyword argument KEY:VALUE; repeatable.")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="Environment variable KEY=VALUE for the process; repeatable."),
    ] = None,
    targettype: Annotated[
        str | None,
        typer.Option(
            "--targettype", envvar=EXECUTOR_TYPE_ENV, help="Executor type that should run it."
        ),
    ] = None,
    executorname: Annotated[
        str | None, typer.Option("--executorname", help="Only this executor may run it.")
    ] = None,
    maxwaittime: Annotated[
        int,
        typer.Option("--maxwaittime", help="Seconds it may wait for an executor (-1: no limit)."),
    ] = -1,
    maxexectime: Annotated[
        int, typer.Option("--maxexectime", help="Seconds it may run before retry (-1: no limit).")
    ] = -1,
    maxretries: Annotated[
        int, typer.Option("--maxretries", help="Retries after exec timeouts (-1: unlimited).")
    ] = -1,
    priority: Annotated[int, typer.Option("--priority", help="Higher runs first.")] = 0,
    label: Annotated[str, typer.Option("--label", help="Label to filter processes by.")] = "",
    wait: Wait = False,
    out: Out = False,
    as_json: ProcessJson = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Submit a function call; prints the process ID, or with --wait --out its outputs."""
    source = ctx.get_parameter_source("targettype")
    type_from_env = source is not None and source.name == "ENVIRONMENT"
    if not targettype and not executorname:
        fail(f"no executor type: pass --targettype or set {EXECUTOR_TYPE_ENV}")
    spec = FunctionSpec(
        funcname=func,
        args=list(args or []),
        kwargs=_pairs(kwargs, ":", "--kwargs"),
        priority=priority,
        maxwaittime=maxwaittime,
        maxexectime=maxexectime,
        maxretries=maxretries,
        conditions=Conditions(
            colonyname=colony_name(),
            executortype=targettype or "",
            executornames=[executorname] if executorname else [],
        ),
        label=label,
        env=_pairs(env, "=", "--env"),
    )
    _submit_and_report(spec, wait or out, out, as_json, host, port, prvkey, type_from_env)


@app.command()
def submit(
    spec_file: Annotated[
        Path,
        typer.Option("--spec", exists=True, dir_okay=False, help="Function spec as JSON."),
    ],
    wait: Wait = False,
    out: Out = False,
    as_json: ProcessJson = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Submit a function spec from a JSON file (colony defaults to $COLONIES_COLONY_NAME)."""
    try:
        data = json.loads(spec_file.read_text())
        spec = FunctionSpec.from_dict(data)
    except (OSError, ValueError) as e:  # WireError is a ValueError too
        fail(f"cannot read the function spec in {spec_file}: {e}")
    if unknown := unknown_keys(FunctionSpec, data):
        fail(
            f"{spec_file}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            "(a function spec has funcname, args, kwargs, conditions, …: see --help)"
        )
    if not spec.funcname:
        fail(f"{spec_file}: no funcname: name the function to run")
    if not spec.conditions.colonyname:
        spec.conditions.colonyname = colony_name()
    _submit_and_report(spec, wait or out, out, as_json, host, port, prvkey)


def unknown_keys(cls: type[Wire], data: Any, where: str = "") -> list[str]:
    """Keys of ``data`` that no field of ``cls`` (or of its nested records) reads: a typo
    (``"func"`` for ``"funcname"``) would otherwise be dropped without a word."""
    if not isinstance(data, dict):
        return []
    hints = typing.get_type_hints(cls)
    fields = {f.metadata.get("json", f.name).lower(): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    found: list[str] = []
    for key, value in data.items():
        match = fields.get(str(key).lower())
        if match is None:
            found.append(f"{where}{key}")
            continue
        kind = hints[match.name]
        if isinstance(kind, type) and issubclass(kind, Wire):
            found += unknown_keys(kind, value, f"{where}{key}.")
    return found


def _pairs(values: list[str] | None, sep: str, flag: str) -> dict[str, str]:
    """``KEY<sep>VALUE`` flags as a dict; the value may contain ``sep`` itself."""
    result: dict[str, str] = {}
    for value in values or []:
        key, found, rest = value.partition(sep)
        if not found or not key:
            fail(f"{flag} expects KEY{sep}VALUE, got {value!r}")
        result[key] = rest
    return result


def _submit_and_report(
    spec: FunctionSpec,
    wait: bool,
    out: bool,
    as_json: bool,
    host: str | None,
    port: int | None,
    prvkey: str | None,
    type_from_env: bool = False,
) -> None:
    """Submit, optionally wait, and report the way the flags ask."""
    with connect(host, port, MEMBER, prvkey) as client:
        process = client.submit(spec)
        if wait:
            process = _wait(client, process, type_from_env)
    if as_json:
        print_json(process.to_dict())
    if process.state == ProcessState.FAILED:
        errors = "; ".join(process.errors) or "no error message"
        fail(f"Process {process.processid} failed: {errors}")
    if process.state == ProcessState.CANCELLED:
        fail(f"Process {process.processid} was cancelled")
    if not as_json:
        typer.echo(format_outputs(process.output) if out else process.processid)


def _wait(client: Client, process: Process, type_from_env: bool = False) -> Process:
    """Block until the process is SUCCESS, FAILED or CANCELLED, showing that on stderr: a
    spinner with the time waited on a terminal, else one line. What would make the wait long
    (no executor of the target type, the server unreachable) is said once, and waiting goes on.
    """
    processid, conditions = process.processid, process.spec.conditions
    message = f"Waiting for process {processid}"
    _warn_if_nobody_serves(client, conditions, type_from_env)
    warned: list[TransportError] = []

    def unreachable(error: TransportError) -> None:
        if not warned:
            warned.append(error)
            err.print(
                f"[yellow]Warning:[/] cannot reach the server at {escape(client.url)} "
                f"({escape(error.reason)}); still waiting",
                soft_wrap=True,
            )

    progress: AbstractContextManager[object] = nullcontext()
    if err.is_terminal:
        progress = Progress(
            SpinnerColumn(),
            TextColumn(escape(f"Waiting for process {processid[:12]}…")),  # fits a line
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        progress.add_task("wait", total=None)
    else:
        done(message)
    try:
        with progress:
            return client.wait(
                processid,
                executortype=conditions.executortype,
                colonyname=conditions.colonyname,
                on_unreachable=unreachable,
            )
    except KeyboardInterrupt:
        fail(f"Stopped waiting; process {processid} goes on (colonies process get -p {processid})")


def _warn_if_nobody_serves(client: Client, conditions: Conditions, type_from_env: bool) -> None:
    """Say so when no approved executor of the target type is registered in the colony."""
    if not conditions.executortype or conditions.executornames:
        return
    try:
        executors = client.get_executors(conditions.colonyname)
    except ColoniesError:
        return  # not allowed to list them, or the server went away: the wait says the rest
    serving = [
        e
        for e in executors
        if e.executortype == conditions.executortype and e.state == ExecutorState.APPROVED
    ]
    if serving:
        return
    source = f" (from {EXECUTOR_TYPE_ENV})" if type_from_env else ""
    err.print(
        f"[yellow]Warning:[/] no approved executor of type {escape(conditions.executortype)}"
        f"{escape(source)} is registered in colony {escape(conditions.colonyname)}: the process "
        "waits until one joins (pass --targettype to choose another type)",
        soft_wrap=True,
    )


# --- function register|ls|remove (spec §4.7) ------------------------------------------------


@app.command()
def register(
    name: Annotated[str, typer.Option("--name", help="The executor offering it (you).")],
    func: Annotated[str, typer.Option("--func", help="Function name.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Register a function of an executor, signed with that executor's key; prints its ID."""
    function = Function(executorname=name, colonyname=colony_name(), funcname=func)
    with connect(host, port, MEMBER, prvkey) as client:
        added = client.add_function(function)
    if as_json:
        print_json(added.to_dict())
    else:
        typer.echo(added.functionid)
        done(f"Function {func} registered for executor {name}")


@app.command("ls")
def list_(
    executorname: Annotated[
        str, typer.Option("--executorname", help="Only this executor's functions.")
    ] = "",
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """List the colony's functions, one row per function and executor type (member key).

    Like the Go CLI the table sums the executors offering a function; the averages are
    weighted by each executor's call count. ``--json`` lists every registration.
    """
    colonyname = colony_name()
    with connect(host, port, MEMBER, prvkey) as client:
        functions = client.get_functions(colonyname, executorname)
    if as_json:
        print_json([f.to_dict() for f in functions])
        return
    groups: dict[tuple[str, str], list[Function]] = {}
    for f in functions:
        groups.setdefault((f.funcname, f.executortype), []).append(f)
    result = table(
        "Function",
        "Executor type",
        "Executors",
        "Calls",
        "Avg wait (s)",
        "Avg exec (s)",
        empty=f"No functions in colony {colonyname}",
    )
    for (funcname, executortype), group in sorted(groups.items()):
        calls = sum(f.counter for f in group)
        result.add_row(
            funcname,
            executortype,
            str(len(group)),
            str(calls),
            _average(group, calls, "avgwaittime"),
            _average(group, calls, "avgexectime"),
        )
    print_table(result)


def _average(group: list[Function], calls: int, attr: str) -> str:
    if not calls:
        return "-"
    return f"{sum(getattr(f, attr) * f.counter for f in group) / calls:.3f}"


@app.command()
def remove(
    functionid: Annotated[str, typer.Option("--functionid", help="Function ID.")],
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove a function, signed with the key of the executor that registered it."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.remove_function(functionid)
    done(f"Function {functionid} removed")
