"""``colonies function exec|submit``: submit a function call and, with ``--wait``, its result.

Both sign with the member key (``COLONIES_PRVKEY``) in colony ``COLONIES_COLONY_NAME``. Waiting
has no time limit: the SDK's ``wait`` re-subscribes whenever the server closes a subscription,
where the Go CLI gives up after 100 s.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import typer

from colonies.cli.context import EXECUTOR_TYPE_ENV, MEMBER, Host, Port, PrvKey, colony_name, connect
from colonies.cli.output import done, err, fail, format_outputs, print_json
from colonies.client import Client
from colonies.model import Conditions, FunctionSpec, Process, ProcessState

app = typer.Typer(help="Submit functions to executors.", no_args_is_help=True)

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
    _submit_and_report(spec, wait or out, out, as_json, host, port, prvkey)


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
        spec = FunctionSpec.from_dict(json.loads(spec_file.read_text()))
    except (OSError, ValueError) as e:  # WireError is a ValueError too
        fail(f"cannot read the function spec in {spec_file}: {e}")
    if not spec.conditions.colonyname:
        spec.conditions.colonyname = colony_name()
    _submit_and_report(spec, wait or out, out, as_json, host, port, prvkey)


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
) -> None:
    """Submit, optionally wait, and report the way the flags ask."""
    with connect(host, port, MEMBER, prvkey) as client:
        process = client.submit(spec)
        if wait:
            process = _wait(client, process)
    if as_json:
        print_json(process.to_dict())
    if process.state == ProcessState.FAILED:
        errors = "; ".join(process.errors) or "no error message"
        fail(f"Process {process.processid} failed: {errors}")
    if process.state == ProcessState.CANCELLED:
        fail(f"Process {process.processid} was cancelled")
    if not as_json:
        typer.echo(format_outputs(process.output) if out else process.processid)


def _wait(client: Client, process: Process) -> Process:
    """Block until the process is SUCCESS, FAILED or CANCELLED, showing that on stderr."""
    processid, conditions = process.processid, process.spec.conditions
    message = f"Waiting for process {processid}"
    progress: AbstractContextManager[object] = nullcontext()
    if err.is_terminal:
        progress = err.status(message + " …")
    else:
        done(message)
    try:
        with progress:
            return client.wait(
                processid, executortype=conditions.executortype, colonyname=conditions.colonyname
            )
    except KeyboardInterrupt:
        fail(f"Stopped waiting; process {processid} goes on (colonies process get -p {processid})")
