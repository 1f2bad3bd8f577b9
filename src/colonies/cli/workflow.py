"""``colonies workflow``: submit a workflow (a DAG of function specs), list, inspect, cancel and
remove process graphs.

Member key (``COLONIES_PRVKEY``), except ``removeall``, which needs the colony owner's key. The
colony is ``COLONIES_COLONY_NAME`` unless the spec file or ``--colonyname`` names one.

The spec file is what the Go CLI reads: a JSON list of function specs, each with a unique
``nodename`` and its parents' nodenames in ``conditions.dependencies``. A WorkflowSpec object
(``{"colonyname": ..., "functionspecs": [...]}``, what the SDK sends) is accepted too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.text import Text
from rich.tree import Tree

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
    err,
    fail,
    fields,
    format_time,
    print_json,
    print_table,
    process_state,
    state_word,
    table,
)
from colonies.cli.removal import chosen_state, confirm
from colonies.client import Client
from colonies.model import Process, ProcessGraph, ProcessState, WireError, WorkflowSpec
from colonies.timeutil import NS, now_ns, parse_ns

app = typer.Typer(
    help="Submit workflows (DAGs of functions) and list, inspect, cancel and remove them.",
    no_args_is_help=True,
)

WorkflowId = Annotated[
    str,
    typer.Option("--workflowid", "--processgraphid", help="Workflow (process graph) ID."),
]
ColonyName = Annotated[
    str | None,
    typer.Option(
        "--colonyname",
        "--colonyid",
        help="Colony (default: $COLONIES_COLONY_NAME; a colonyname in the spec file wins). "
        "--colonyid is the Go CLI's name for it.",
        show_default=False,
    ),
]

# The ps commands: name, state, and which time tells most about a graph in that state.
_LISTS = (
    ("ps", ProcessState.RUNNING, "running", "Started", "starttime"),
    ("psw", ProcessState.WAITING, "waiting", "Submitted", "submissiontime"),
    ("pss", ProcessState.SUCCESS, "successful", "Ended", "endtime"),
    ("psf", ProcessState.FAILED, "failed", "Ended", "endtime"),
    ("psc", ProcessState.CANCELLED, "cancelled", "Ended", "endtime"),
)

_FINISHED = (ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED)


@app.command()
def submit(
    spec_file: Annotated[
        Path,
        typer.Option(
            "--spec",
            dir_okay=False,
            help="Workflow spec as JSON: a list of function specs (the Go CLI's format) or "
            '{"colonyname": ..., "functionspecs": [...]}.',
        ),
    ],
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Wait until the workflow has finished; exit 1 if it failed or was cancelled.",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the workflow as JSON (the final one with --wait)."),
    ] = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Submit a workflow from a JSON file; prints the workflow ID (member key)."""
    spec = read_spec(spec_file)
    if not spec.colonyname:
        spec.colonyname = colony_name(colonyname, "--colonyname")
    problem = ""
    with connect(host, port, MEMBER, prvkey) as client:
        graph = client.submit_workflow(spec)
        if not as_json:
            typer.echo(graph.processgraphid)  # first, so it is known while waiting
        if wait:
            graph = _wait(client, graph.processgraphid)
            problem = _what_went_wrong(client, graph)
    if as_json:
        print_json(graph.to_dict())
    if problem:
        fail(problem)
    if wait:
        done(f"Workflow {graph.processgraphid} succeeded")


def read_spec(path: Path) -> WorkflowSpec:
    """The workflow in a spec file, in the Go CLI's format or as a WorkflowSpec object."""
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        fail(f"cannot read the workflow spec in {path}: {e}")
    if isinstance(data, list):
        data = {"functionspecs": data}
    elif isinstance(data, dict) and "functionspecs" not in data:
        if "funcname" in data:
            fail(
                f"{path} holds one function spec, not a workflow: "
                "use colonies function submit --spec, or put it in a list"
            )
        fail(f"{path}: expected a list of function specs or an object with functionspecs")
    try:
        spec = WorkflowSpec.from_dict(data)
    except WireError as e:
        fail(f"cannot read the workflow spec in {path}: {e}")
    if not spec.functionspecs:
        fail(f"{path}: the workflow has no function specs")
    return spec


def _wait(client: Client, graphid: str) -> ProcessGraph:
    """Block until the graph is SUCCESS, FAILED or CANCELLED, showing that on stderr."""
    message = f"Waiting for workflow {graphid}"
    progress: AbstractContextManager[object] = nullcontext()
    if err.is_terminal:
        progress = err.status(message + " …")
    else:
        done(message)
    try:
        with progress:
            return client.wait_processgraph(graphid)
    except KeyboardInterrupt:
        fail(
            f"Stopped waiting; workflow {graphid} goes on "
            f"(colonies workflow get --workflowid {graphid})"
        )


def _what_went_wrong(client: Client, graph: ProcessGraph) -> str:
    """For a failed or cancelled graph, one line naming it and the steps' error messages."""
    if graph.state == ProcessState.CANCELLED:
        return f"Workflow {graph.processgraphid} was cancelled"
    if graph.state != ProcessState.FAILED:
        return ""
    steps = _processes(client, graph)
    reasons = [f"{_name(p)}: {'; '.join(p.errors)}" for p in steps.values() if p.errors]
    return f"Workflow {graph.processgraphid} failed" + (
        f" ({', '.join(reasons)})" if reasons else ""
    )


def _lister(state: ProcessState, time_label: str, time_field: str) -> Callable[..., None]:
    """One ``ps*`` command; the five differ only in the state they list."""

    def command(
        count: Annotated[int, typer.Option("--count", help="At most this many (<= 100).")] = 20,
        colonyname: ColonyName = None,
        host: Host = None,
        port: Port = None,
        prvkey: PrvKey = None,
        as_json: Json = False,
    ) -> None:
        colony = colony_name(colonyname, "--colonyname")
        with connect(host, port, MEMBER, prvkey) as client:
            graphs = client.get_processgraphs(colony, count, state)
        if as_json:
            print_json([g.to_dict() for g in graphs])
            return
        result = table(
            "Workflow ID",
            time_label,
            "Initiator",
            empty=f"No {state_word(state)} workflows in colony {colony}",
        )
        for g in graphs:
            result.add_row(g.processgraphid, format_time(getattr(g, time_field)), g.initiatorname)
        print_table(result)

    return command


for _name_, _state, _what, _time_label, _time_field in _LISTS:
    app.command(_name_, help=f"List {_what} workflows (member key).")(
        _lister(_state, _time_label, _time_field)
    )


@app.command()
def get(
    workflowid: WorkflowId,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
    as_json: Json = False,
) -> None:
    """Show a workflow and its steps as a tree (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        graph = client.get_processgraph(workflowid)
        if as_json:
            print_json(graph.to_dict())
            return
        steps = _processes(client, graph)
    print_table(_graph_fields(graph))
    _print(steps_tree(graph, steps))


def _processes(client: Client, graph: ProcessGraph) -> dict[str, Process]:
    return {pid: client.get_process(pid) for pid in graph.processids}


def _graph_fields(g: ProcessGraph) -> Any:
    return fields(
        [
            ("Workflow ID", g.processgraphid),
            ("Colony", g.colonyname),
            ("Initiator", g.initiatorname),
            ("State", process_state(g.state)),
            ("Submitted", format_time(g.submissiontime)),
            ("Started", format_time(g.starttime)),
            ("Ended", format_time(g.endtime)),
            ("Run time", run_time(g.starttime, g.endtime, g.state)),
            ("Steps", str(len(g.processids))),
        ]
    )


def steps_tree(graph: ProcessGraph, steps: dict[str, Process]) -> Tree:
    """The graph's steps, children under their parents.

    A step with several parents is drawn once, under the parent that comes last in dependency
    order (so it shows after all of them), and says "after: a, b".
    """
    order = _topological(graph.processids, steps)
    rank = {pid: i for i, pid in enumerate(order)}
    placed_under: dict[str, list[str]] = {}
    roots: list[str] = []
    for pid in order:
        parents = [p for p in steps[pid].parents if p in steps and rank[p] < rank[pid]]
        if parents:
            placed_under.setdefault(max(parents, key=rank.__getitem__), []).append(pid)
        else:
            roots.append(pid)

    tree = Tree(Text("Steps", style="bold"), guide_style="dim")

    def add(branch: Tree, pid: str) -> None:
        node = branch.add(_step_label(steps[pid], steps))
        for child in placed_under.get(pid, []):
            add(node, child)

    for pid in roots:
        add(tree, pid)
    return tree


def _topological(processids: list[str], steps: dict[str, Process]) -> list[str]:
    """Parents before children, otherwise in the graph's order. Steps caught in a cycle (which
    the server never makes) come last rather than going missing."""
    known = [pid for pid in processids if pid in steps]
    pending = {pid: {p for p in steps[pid].parents if p in steps} for pid in known}
    order: list[str] = []
    while pending:
        ready = [pid for pid in known if pid in pending and not pending[pid] - set(order)]
        if not ready:
            ready = [pid for pid in known if pid in pending]
        for pid in ready:
            del pending[pid]
        order.extend(ready)
    return order


def _name(p: Process) -> str:
    return p.spec.nodename or p.processid[:12]


def _step_label(p: Process, steps: dict[str, Process]) -> Text:
    label = Text()
    label.append(_name(p), style="bold")
    if p.spec.funcname != _name(p):  # steps built in Python are named after their function
        label.append(f"  {p.spec.funcname or '-'}")
    if p.spec.conditions.executortype:
        label.append(f" on {p.spec.conditions.executortype}", style="dim")
    label.append("  ")
    label.append_text(process_state(p.state))
    if took := run_time(p.starttime, p.endtime, p.state):
        label.append(f"  {took}")
    parents = [steps[pid] for pid in p.parents if pid in steps]
    if len(parents) > 1:
        label.append(f"  after: {', '.join(_name(q) for q in parents)}", style="magenta")
    label.append(f"\n{p.processid}", style="dim")
    if p.errors:
        label.append("\nerror: " + "; ".join(p.errors), style="red")
    return label


def run_time(start: str, end: str, state: int) -> str:
    """How long it ran (end - start), "running for ..." while it runs, or "" if it never ran."""
    try:
        start_ns, end_ns = parse_ns(start), parse_ns(end)
    except ValueError:
        return ""
    if not start_ns:
        return ""
    if end_ns:
        return format_duration((end_ns - start_ns) / NS)
    if state == ProcessState.RUNNING:
        return "running for " + format_duration((now_ns() - start_ns) / NS)
    return ""


def format_duration(seconds: float) -> str:
    """``0.42s``, ``12.3s``, ``2m 05s``, ``1h 02m``."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _print(renderable: RenderableType) -> None:
    """Like ``print_table``: on stdout, as wide as needed into a pipe or a file."""
    width = None if sys.stdout.isatty() else 10_000
    Console(highlight=False, markup=False, width=width).print(renderable)


@app.command()
def cancel(
    workflowid: WorkflowId, host: Host = None, port: Port = None, prvkey: PrvKey = None
) -> None:
    """Cancel a workflow: its waiting and running steps are cancelled (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.cancel_processgraph(workflowid)
    done(f"Workflow {workflowid} cancelled")


@app.command()
def remove(
    workflowid: WorkflowId, host: Host = None, port: Port = None, prvkey: PrvKey = None
) -> None:
    """Remove a workflow that is not running, and all its processes (member key)."""
    with connect(host, port, MEMBER, prvkey) as client:
        client.remove_processgraph(workflowid)
    done(f"Workflow {workflowid} removed")


@app.command()
def removeall(
    waiting: Annotated[bool, typer.Option("--waiting", help="Only waiting workflows.")] = False,
    successful: Annotated[
        bool, typer.Option("--successful", help="Only successful workflows.")
    ] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed workflows.")] = False,
    cancelled: Annotated[
        bool, typer.Option("--cancelled", help="Only cancelled workflows.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    colonyprvkey: ColonyPrvKey = None,
) -> None:
    """Remove all workflows of the colony and their processes, or those in one state (colony
    key)."""
    state = chosen_state(waiting=waiting, successful=successful, failed=failed, cancelled=cancelled)
    what = f"{state.name.lower()} workflows" if state is not None else "workflows"
    colony = colony_name(colonyname, "--colonyname")
    if not yes:
        confirm(f"Remove all {what} in colony {colony}?")
    with connect(host, port, COLONY_OWNER, colonyprvkey) as client:
        client.remove_all_processgraphs(colony, -1 if state is None else state)
    done(f"Removed all {what} in colony {colony}")
