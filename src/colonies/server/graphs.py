"""Process graphs (spec §6.5) without I/O: checking a workflow spec, the graph's state from its
processes' states, a child's input from its parents' outputs, and the nodes and edges a client
draws. ``lifecycle`` does the storing and signalling.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from colonies.model import FunctionSpec, Process, ProcessGraph, ProcessState, WorkflowSpec
from colonies.rpc import RPCError
from colonies.server.specs import check_spec

FINAL = frozenset({ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED})

# Node drawing, as the Go server lays nodes out (pkg/core/processgraph.go calcNodes).
BOX_WIDTH, PADDING, LEVEL_HEIGHT = 150, 50, 80
BACKGROUNDS: dict[int, str] = {
    ProcessState.WAITING: "#eee8d8",
    ProcessState.RUNNING: "#4689cd",
    ProcessState.SUCCESS: "#92d050",
    ProcessState.FAILED: "#cb4239",
    ProcessState.CANCELLED: "#f5a623",
}


@dataclass
class Step:
    """One function spec of a checked workflow, with its needs and its neighbours by name."""

    spec: FunctionSpec
    cpu: int
    memory: int
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.nodename


def invalid(message: str) -> RPCError:
    return RPCError(400, message)


def plan(workflow: WorkflowSpec) -> list[Step]:
    """Check a workflow spec and link its steps (in the spec's order), or refuse it (400).

    Every spec needs a unique, non-empty ``nodename``; ``conditions.dependencies`` name parents
    (a parent named twice counts once), which must exist and must not form a cycle. Each spec's
    colony becomes the workflow's and a ``maxexectime`` of 0 becomes -1, as the Go server does.
    """
    if not workflow.functionspecs:
        raise invalid("Failed to submit workflow, the workflow has no function specs")
    steps: dict[str, Step] = {}
    for spec in workflow.functionspecs:
        if not spec.nodename:
            raise invalid("Nodename is missing, check function spec for errors")
        if spec.nodename in steps:
            raise invalid(f"Duplicate nodename: {spec.nodename}")
        spec.conditions.colonyname = workflow.colonyname
        if spec.maxexectime == 0:
            spec.maxexectime = -1
        try:
            cpu, memory = check_spec(spec)
        except RPCError as e:
            raise invalid(f"{e.message} (nodename {spec.nodename})") from None
        steps[spec.nodename] = Step(spec, cpu, memory)
    for step in steps.values():
        for name in dict.fromkeys(step.spec.conditions.dependencies):
            if name not in steps:
                raise invalid(
                    "Failed to submit workflow, invalid dependencies, are you depending on a "
                    "nodename that does not exits?"
                )
            step.parents.append(name)
            steps[name].children.append(step.name)
    if cycle := _cycle(steps):
        raise invalid(f"Failed to submit workflow, the dependencies form a cycle: {cycle}")
    return list(steps.values())


def _cycle(steps: dict[str, Step]) -> str:
    """One cycle as "a -> b -> a", or "" for a DAG."""
    done: set[str] = set()
    for start in steps:
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack: list[Iterator[str]] = [iter(steps[start].children)]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif nxt in on_path:
                return " -> ".join([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(steps[nxt].children))
    return ""


def graph_state(processes: Sequence[Process]) -> int:
    """The graph's state from its processes' (spec §6.5)."""
    states = [p.state for p in processes]
    if ProcessState.FAILED in states:
        return ProcessState.FAILED
    if ProcessState.CANCELLED in states:
        return ProcessState.CANCELLED
    if states and all(s == ProcessState.SUCCESS for s in states):
        return ProcessState.SUCCESS
    if ProcessState.SUCCESS in states or ProcessState.RUNNING in states:
        return ProcessState.RUNNING
    return ProcessState.WAITING


def ready(process: Process, by_id: dict[str, Process]) -> bool:
    """Whether a process waiting for its parents may run now: every parent succeeded."""
    return all(
        (parent := by_id.get(pid)) is not None and parent.state == ProcessState.SUCCESS
        for pid in process.parents
    )


def inputs(process: Process, by_id: dict[str, Process]) -> list[Any]:
    """A child's ``in``: its parents' ``out`` arrays concatenated, in the order of its
    ``parents`` (which is the order of its spec's ``dependencies``), as the Go server does."""
    return [value for pid in process.parents for value in by_id[pid].output]


def _walk(graph: ProcessGraph, by_id: dict[str, Process]) -> list[tuple[Process, int]]:
    """Depth-first from the roots along ``children``, each process once with the depth it was
    first reached at (Go's ``IterateWithDepth``); then any process no root reaches."""
    seen: set[str] = set()
    order: list[tuple[Process, int]] = []
    stack = [(pid, 0) for pid in reversed(graph.rootprocessids)]
    while stack:
        pid, depth = stack.pop()
        process = by_id.get(pid)
        if process is None or pid in seen:
            continue
        seen.add(pid)
        order.append((process, depth))
        stack.extend((child, depth + 1) for child in reversed(process.children))
    order.extend((p, 0) for pid, p in by_id.items() if pid not in seen)
    return order


def draw(graph: ProcessGraph, processes: Sequence[Process]) -> ProcessGraph:
    """The graph with ``processids`` (depth-first from the roots), ``nodes`` (laid out as the Go
    server does: one row per depth, rows centred) and ``edges`` (parent to child; animated
    while the parent runs)."""
    by_id = {p.processid: p for p in processes}
    walk = _walk(graph, by_id)
    nodes: list[dict[str, Any]] = []
    per_depth: dict[int, list[dict[str, Any]]] = {}
    for process, depth in walk:
        row = per_depth.setdefault(depth, [])
        kind = "input" if not process.parents else "output" if not process.children else ""
        node: dict[str, Any] = {
            "id": process.processid,
            "data": {"label": process.spec.nodename},
            "position": {"x": len(row) * (BOX_WIDTH + PADDING), "y": depth * LEVEL_HEIGHT},
            "type": kind,
            "style": {"color": "", "background": BACKGROUNDS.get(process.state, "#eee8d8")},
        }
        row.append(node)
        nodes.append(node)

    def width(row: list[dict[str, Any]]) -> int:
        return len(row) * BOX_WIDTH + (len(row) - 1) * PADDING

    widest = max((width(row) for row in per_depth.values()), default=0)
    for row in per_depth.values():
        shift = widest // 2 - width(row) // 2
        for node in row:
            node["position"]["x"] += shift
    edges = [
        {
            "id": f"{process.processid}-{child}",
            "source": process.processid,
            "target": child,
            "animated": process.state == ProcessState.RUNNING,
        }
        for process, _ in walk
        for child in process.children
    ]
    graph.processids = [p.processid for p, _ in walk]
    graph.nodes, graph.edges = nodes, edges
    return graph


_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def lock(processgraphid: str) -> asyncio.Lock:
    """This replica's lock on one graph: its reactions (read the processes, change them, set
    the graph's state) run one at a time, so a slower one never writes an older state last."""
    found = _locks.get(processgraphid)
    if found is None:
        found = _locks[processgraphid] = asyncio.Lock()
    return found
