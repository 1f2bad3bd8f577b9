"""Workflows (process graphs) across the two servers (issue 10).

- Our SDK (``Client`` and ``AsyncClient``) against the Go server: a diamond run by an executor
  in the test, a failing step, cancel, children added at run time, lists, remove, wait.
- Our CLI (``colonies workflow ...``) against the Go server.
- The Go CLI's ``workflow`` commands against our server, side by side with the Go server.
- Differential: the same workflow messages to both servers, replies compared field by field.

Where the Go server behaves differently on purpose of ours, the test pins Go's answer and
README.md ("Differences from the Go server") says why. Each test works in a colony of its own
on the shared Go server: a workflow with an unknown dependency is stored by Go half-made, and
from then on listing the colony's waiting graphs fails there.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from colonies import crypto
from colonies.cli import app
from colonies.client import AsyncClient, Client
from colonies.errors import NoProcessAvailable, ServerError, WaitTimeout
from colonies.model import (
    Colony,
    Conditions,
    FunctionSpec,
    Process,
    ProcessGraph,
    ProcessState,
    User,
    WorkflowSpec,
)
from colonies.workflow import Workflow
from interop.conftest import GoCLI, Server, unique
from interop.test_go_cli_against_ours import Pair, cli_json, pair
from interop.test_ours_against_go import Worker, background, invoke, register, serving
from interop.twin import Twin, close_connections, ours_module, twin

__all__ = ["close_connections", "ours_module", "pair", "twin"]  # fixtures used here

AnyClient = Client | AsyncClient
ZERO = "0001-01-01T00:00:00Z"
NO_GRAPH = "0" * 64
WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = (
    ProcessState.WAITING,
    ProcessState.RUNNING,
    ProcessState.SUCCESS,
    ProcessState.FAILED,
    ProcessState.CANCELLED,
)


@dataclass
class Place:
    """A colony of its own on a server: its owner's key, a member user and an executor."""

    server: Server
    colonyname: str
    owner: str
    user: str
    worker: Worker

    @property
    def executortype(self) -> str:
        return self.worker.type

    def spec(self, node: str, *after: str, **kw: Any) -> FunctionSpec:
        return FunctionSpec(
            nodename=node,
            funcname=node,
            args=[node],
            maxwaittime=-1,
            maxexectime=-1,
            conditions=Conditions(
                colonyname=self.colonyname, executortype=self.executortype, dependencies=list(after)
            ),
            **kw,
        )

    def workflow(self, *specs: FunctionSpec) -> WorkflowSpec:
        return WorkflowSpec(colonyname=self.colonyname, functionspecs=list(specs))

    def diamond(self) -> Workflow:
        """a -> b, c -> d; d comes after c, then b: its ``in`` is c's output, then b's."""
        wf = Workflow(
            self.colonyname, executortype=self.executortype, maxwaittime=-1, maxexectime=-1
        )
        a = wf.step("a", args=["a"])
        b = wf.step("b", after=[a])
        c = wf.step("c", after=[a])
        wf.step("d", after=[c, b])
        return wf

    def env(self) -> dict[str, str]:
        return {
            "COLONIES_COLONY_NAME": self.colonyname,
            "COLONIES_COLONY_PRVKEY": self.owner,
            "COLONIES_PRVKEY": self.user,
        }


def make_place(server: Server) -> Place:
    name, owner, user = unique("wf"), crypto.generate_private_key(), crypto.generate_private_key()
    with server.client(server.server_prvkey) as admin:
        admin.add_colony(Colony(colonyid=crypto.id_from_private_key(owner), name=name))
    with server.client(owner) as client:
        client.add_user(
            User(
                colonyname=name,
                userid=crypto.id_from_private_key(user),
                name="wfuser",
                email="",
                phone="",
            )
        )
    worker = register(server, unique("wftype"), colony_prvkey=owner, colonyname=name)
    return Place(server, name, owner, user, worker)


@pytest.fixture
def place(goserver: Server) -> Place:
    return make_place(goserver)


@pytest.fixture(params=[Client, AsyncClient], ids=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> type[AnyClient]:
    result: type[AnyClient] = request.param
    return result


@dataclass
class Clients:
    user: AnyClient
    worker: AnyClient
    owner: AnyClient


@pytest.fixture
async def clients(place: Place, kind: type[AnyClient]) -> Any:
    made = Clients(
        kind(place.server.url, place.user),
        kind(place.server.url, place.worker.prvkey),
        kind(place.server.url, place.owner),
    )
    yield made
    for client in (made.user, made.worker, made.owner):
        await invoke(client, "close_transport")


async def refused(call: Any) -> tuple[int, str]:
    """The status and text of the ServerError an awaited SDK call raised."""
    with pytest.raises(ServerError) as e:
        await call
    return e.value.status, e.value.message


async def nodes(client: AnyClient, graph: ProcessGraph) -> dict[str, Process]:
    found = [await invoke(client, "get_process", pid) for pid in graph.processids]
    return {p.spec.nodename: p for p in found}


async def nothing_to_assign(worker: AnyClient, colonyname: str) -> None:
    with pytest.raises(NoProcessAvailable):
        await invoke(worker, "assign", colonyname, 1)


# --- our SDK against the Go server -----------------------------------------------------------


async def test_sdk_diamond(place: Place, clients: Clients) -> None:
    user, worker, colony = clients.user, clients.worker, place.colonyname
    graph = await invoke(user, "submit_workflow", place.diamond())
    assert graph.state == WAITING and len(graph.processids) == 4
    assert graph.submissiontime == ZERO  # Go's submit reply; ours has the real time (README)
    assert graph.initiatorname == "wfuser" and graph.colonyname == colony
    steps = await nodes(user, graph)
    assert graph.rootprocessids == [steps["a"].processid]
    assert steps["d"].parents == [steps["c"].processid, steps["b"].processid]
    # Go stores a step's children in any order (README); ours in the order of the spec
    assert sorted(steps["a"].children) == sorted([steps["b"].processid, steps["c"].processid])
    assert not steps["a"].waitforparents and steps["d"].waitforparents
    stored = await invoke(user, "get_processgraph", graph.processgraphid)
    assert stored.submissiontime != ZERO and stored.state == WAITING

    a = await invoke(worker, "assign", colony, 5)
    assert a.spec.nodename == "a" and a.input == []
    running = await invoke(user, "get_processgraph", graph.processgraphid)
    assert running.state == RUNNING and running.starttime != ZERO
    assert [g.processgraphid for g in await invoke(user, "get_processgraphs", colony, 10, RUNNING)]
    await nothing_to_assign(worker, colony)  # b and c wait for a
    await invoke(worker, "close", a.processid, ["A1", {"n": 2}])

    # Go sets `in` at assign; ours at release (same value, README)
    first, second = [await invoke(worker, "assign", colony, 5) for _ in range(2)]
    assert {first.spec.nodename, second.spec.nodename} == {"b", "c"}
    assert first.input == second.input == ["A1", {"n": 2}]
    await nothing_to_assign(worker, colony)  # d waits for b and c
    by_name = {first.spec.nodename: first, second.spec.nodename: second}
    await invoke(worker, "close", by_name["b"].processid, ["B"])
    await nothing_to_assign(worker, colony)
    await invoke(worker, "close", by_name["c"].processid, ["C1", "C2"])
    d = await invoke(worker, "assign", colony, 5)
    assert d.spec.nodename == "d" and d.input == ["C1", "C2", "B"]  # in the order of after
    await invoke(worker, "close", d.processid, ["D"])

    done = await invoke(user, "wait_processgraph", graph.processgraphid, 10)
    assert done.state == SUCCESS and done.endtime != ZERO
    assert {p.state for p in (await nodes(user, graph)).values()} == {SUCCESS}
    labels = {n["id"]: n["data"]["label"] for n in done.nodes}
    assert sorted(labels.values()) == ["a", "b", "c", "d"]  # Go: any order; ours depth first
    edges = sorted((labels[e["source"]], labels[e["target"]]) for e in done.edges)
    assert edges == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]  # Go: any order (README)
    listed = await invoke(user, "get_processgraphs", colony, 10, SUCCESS)
    assert [g.processgraphid for g in listed] == [graph.processgraphid]
    assert listed[0].nodes == [] and listed[0].edges == []


async def test_sdk_failing_middle_step(place: Place, clients: Clients) -> None:
    """Go's failure spreading (README: ours fails only the other active steps, with an error
    naming the failed one, and keeps SUCCESS of finished steps)."""
    user, worker, colony = clients.user, clients.worker, place.colonyname
    graph = await invoke(user, "submit_workflow", place.diamond())
    a = await invoke(worker, "assign", colony, 5)
    await invoke(worker, "close", a.processid, ["A"])
    first, second = [await invoke(worker, "assign", colony, 5) for _ in range(2)]
    b, c = sorted((first, second), key=lambda p: p.spec.nodename)
    await invoke(worker, "fail", b.processid, ["boom"])
    done = await invoke(user, "wait_processgraph", graph.processgraphid, 10)
    assert done.state == FAILED and done.endtime != ZERO
    steps = await nodes(user, graph)
    assert {p.state for p in steps.values()} == {FAILED}  # a too, though it succeeded
    assert steps["b"].errors == ["boom"]
    assert steps["c"].errors == steps["d"].errors == []  # no error, no end time
    assert steps["c"].endtime == steps["d"].endtime == ZERO
    status, text = await refused(invoke(worker, "close", c.processid, ["C"]))
    assert (status, text) == (400, "Tried to set failed process as successful")
    await nothing_to_assign(worker, colony)
    assert [g.processgraphid for g in await invoke(user, "get_processgraphs", colony, 10, FAILED)]

    # A failing last step: the graph fails, a running sibling keeps running on Go.
    fork = place.workflow(place.spec("a"), place.spec("b", "a"), place.spec("c", "a"))
    graph = await invoke(user, "submit_workflow", fork)
    a = await invoke(worker, "assign", colony, 5)
    await invoke(worker, "close", a.processid, ["A"])
    first, second = [await invoke(worker, "assign", colony, 5) for _ in range(2)]
    await invoke(worker, "fail", first.processid, ["boom"])
    assert (await invoke(user, "wait_processgraph", graph.processgraphid, 10)).state == FAILED
    steps = await nodes(user, graph)
    assert steps["a"].state == SUCCESS and steps[first.spec.nodename].state == FAILED
    assert steps[second.spec.nodename].state == RUNNING


async def test_sdk_cancel_and_remove(place: Place, clients: Clients) -> None:
    user, worker, colony = clients.user, clients.worker, place.colonyname
    graph = await invoke(user, "submit_workflow", place.diamond())
    a = await invoke(worker, "assign", colony, 5)
    assert await refused(invoke(user, "cancel", a.processid)) == (
        400,
        "Failed to cancel, cannot cancel a process part of a workflow, "
        "cancel the entire workflow instead",
    )
    assert await refused(invoke(user, "remove_process", a.processid)) == (
        400,
        "Failed to remove, cannot remove a process part of a workflow, "
        "delete the entire workflow instead",
    )
    assert await refused(invoke(user, "remove_processgraph", graph.processgraphid)) == (
        400,
        "Failed to remove processgraph, cannot remove a running processgraph",
    )
    await invoke(user, "cancel_processgraph", graph.processgraphid)
    done = await invoke(user, "wait_processgraph", graph.processgraphid, 10)
    assert done.state == CANCELLED
    assert {p.state for p in (await nodes(user, graph)).values()} == {CANCELLED}
    await nothing_to_assign(worker, colony)
    cancelled = await invoke(user, "get_processgraphs", colony, 10, CANCELLED)
    assert [g.processgraphid for g in cancelled] == [graph.processgraphid]
    await invoke(user, "cancel_processgraph", graph.processgraphid)  # Go: no refusal (README)
    await invoke(user, "remove_processgraph", graph.processgraphid)
    missing = await refused(invoke(user, "get_processgraph", graph.processgraphid))
    assert missing == (500, "Failed to get processgraph, graph is nil")  # ours: 404 (README)
    gone = await refused(invoke(user, "get_process", a.processid))
    assert gone == (404, "Failed to get process, process not found")

    # Go cancels a finished graph: SUCCESS becomes CANCELLED (README: ours refuses, 400).
    solo = await invoke(user, "submit_workflow", place.workflow(place.spec("solo")))
    step = await invoke(worker, "assign", colony, 5)
    await invoke(worker, "close", step.processid, [])
    assert (await invoke(user, "wait_processgraph", solo.processgraphid, 10)).state == SUCCESS
    await invoke(user, "cancel_processgraph", solo.processgraphid)
    assert (await invoke(user, "get_processgraph", solo.processgraphid)).state == CANCELLED


async def test_sdk_add_child(place: Place, clients: Clients) -> None:
    user, worker, colony = clients.user, clients.worker, place.colonyname
    graph = await invoke(
        user, "submit_workflow", place.workflow(place.spec("a"), place.spec("b", "a"))
    )
    a = await invoke(worker, "assign", colony, 5)
    b = (await nodes(user, graph))["b"]
    gid = graph.processgraphid
    other = register(place.server, place.executortype, colony_prvkey=place.owner, colonyname=colony)
    with place.server.client(other.prvkey) as stranger, pytest.raises(ServerError) as e:
        stranger.add_child(gid, a.processid, "", place.spec("z"))  # ours: 403 (README)
    assert (e.value.status, e.value.message) == (
        400,
        f"Process with Id {a.processid} is not assigned to executor with Id {other.id}",
    )
    # insert false: one more child of a, besides b
    x = await invoke(worker, "add_child", gid, a.processid, "", place.spec("?"), "x", False)
    assert x.spec.nodename == "x" and x.waitforparents and x.parents == [a.processid]
    assert x.processgraphid == gid and x.state == WAITING
    assert x.initiatorid == ""  # Go leaves the child's initiator empty; ours sets it (README)
    # insert true: spliced between a and its children (b and x)
    y = await invoke(worker, "add_child", gid, a.processid, "", place.spec("y"), insert=True)
    assert sorted(y.children) == sorted([b.processid, x.processid])  # Go: any order
    assert (await invoke(user, "get_process", a.processid)).children == [y.processid]
    assert (await invoke(user, "get_process", b.processid)).parents == [y.processid]
    assert (await invoke(user, "get_process", x.processid)).parents == [y.processid]
    drawn = await invoke(user, "get_processgraph", gid)
    assert len(drawn.processids) == len(drawn.nodes) == 4 and len(drawn.edges) == 3
    await nothing_to_assign(worker, colony)
    await invoke(worker, "close", a.processid, ["A"])
    ready = await invoke(worker, "assign", colony, 5)
    assert ready.processid == y.processid and ready.input == ["A"]
    status, text = await refused(invoke(worker, "add_child", gid, a.processid, "", place.spec("z")))
    assert (status, text) == (400, f"Process with Id {a.processid} is not running")
    await nothing_to_assign(worker, colony)
    await invoke(worker, "close", y.processid, ["Y"])
    last = [await invoke(worker, "assign", colony, 5) for _ in range(2)]
    assert {p.processid for p in last} == {b.processid, x.processid}
    assert [p.input for p in last] == [["Y"], ["Y"]]
    for p in last:
        await invoke(worker, "close", p.processid, [])
    assert (await invoke(user, "wait_processgraph", gid, 10)).state == SUCCESS

    # childprocessid: the new step also comes before an existing waiting step
    graph = await invoke(
        user, "submit_workflow", place.workflow(place.spec("a"), place.spec("b", "a"))
    )
    a = await invoke(worker, "assign", colony, 5)
    b = (await nodes(user, graph))["b"]
    z = await invoke(
        worker, "add_child", graph.processgraphid, a.processid, b.processid, place.spec("z")
    )
    assert z.children == [b.processid] and z.parents == [a.processid]
    b = await invoke(user, "get_process", b.processid)
    assert b.parents == [a.processid, z.processid]
    await invoke(user, "cancel_processgraph", graph.processgraphid)


async def test_sdk_lists_counts_and_removeall(place: Place, clients: Clients) -> None:
    user, worker, owner, colony = clients.user, clients.worker, clients.owner, place.colonyname
    fork = place.workflow(place.spec("a"), place.spec("b", "a"))
    first = await invoke(user, "submit_workflow", fork)
    second = await invoke(user, "submit_workflow", fork)
    waiting = await invoke(user, "get_processgraphs", colony, 10, WAITING)
    assert [g.processgraphid for g in waiting] == [second.processgraphid, first.processgraphid]
    assert len(await invoke(user, "get_processgraphs", colony, 1, WAITING)) == 1
    await invoke(worker, "assign", colony, 5)  # the first graph's a: that graph runs
    running = await invoke(user, "get_processgraphs", colony, 10, RUNNING)
    assert [g.processgraphid for g in running] == [first.processgraphid]
    stats = await invoke(user, "colony_statistics", colony)
    assert (stats.waitingworkflows, stats.runningworkflows) == (1, 1)
    too_many = await refused(invoke(user, "get_processgraphs", colony, 101, WAITING))
    assert too_many == (400, "Count is larger than MaxCount limit <100>")
    negative = await refused(invoke(user, "get_processgraphs", colony, -1, WAITING))
    assert negative == (400, "pq: LIMIT must not be negative")  # ours: "Invalid count" (README)
    assert await refused(invoke(user, "get_processgraphs", colony, 10, 7)) == (
        400,
        "invalid msg.State",
    )
    assert await refused(invoke(user, "remove_all_processgraphs", colony)) == (
        403,
        "Access denied, not colony owner",
    )
    assert await refused(invoke(owner, "remove_all_processgraphs", colony, RUNNING)) == (
        400,
        "not possible to remove running processgraphs",
    )
    assert await refused(invoke(owner, "remove_all_processgraphs", colony, 9)) == (
        400,
        "invalid state when deleting all processgraphs",
    )
    await invoke(owner, "remove_all_processgraphs", colony, WAITING)
    assert await invoke(user, "get_processgraphs", colony, 10, WAITING) == []
    # Go removes the waiting steps of the running graph too, and that graph can no longer be
    # read (README: ours removes whole WAITING graphs only).
    b = first.processids[1]
    assert await refused(invoke(user, "get_process", b)) == (
        404,
        "Failed to get process, process not found",
    )
    broken = f"Failed to iterate processgraph, process with ID={b} not found"
    assert await refused(invoke(user, "get_processgraphs", colony, 10, RUNNING)) == (400, broken)
    assert await refused(invoke(user, "get_processgraph", first.processgraphid)) == (400, broken)
    await invoke(owner, "remove_all_processgraphs", colony)
    assert await invoke(user, "get_processgraphs", colony, 10, RUNNING) == []
    assert (await invoke(user, "colony_statistics", colony)).waitingprocesses == 0


async def test_sdk_wait_processgraph(place: Place, clients: Clients) -> None:
    user, colony = clients.user, place.colonyname
    graph = await invoke(user, "submit_workflow", place.diamond())
    with pytest.raises(WaitTimeout):
        await invoke(user, "wait_processgraph", graph.processgraphid, 0.3)
    waiting = background(user, "wait_processgraph", graph.processgraphid, 20)
    await asyncio.sleep(0.2)
    assert not waiting.done()
    with serving(place.server, place.worker, lambda p: [p.spec.nodename]) as served:
        done = await asyncio.wait_for(waiting, 30)
    assert done.state == SUCCESS and done.processgraphid == graph.processgraphid
    assert sorted(p.spec.nodename for p in served) == ["a", "b", "c", "d"]
    d = next(p for p in served if p.spec.nodename == "d")
    assert d.input == ["c", "b"]
    assert [g.processgraphid for g in await invoke(user, "get_processgraphs", colony, 10, SUCCESS)]


def test_go_stores_invalid_workflows(place: Place) -> None:
    """README: Go answers 500 and stores a graph before it checks dependencies, and accepts an
    empty list and cycles (graphs that wait forever); ours refuses all with 400."""
    with place.server.client(place.user) as user:
        empty = user.submit_workflow(place.workflow())
        assert empty.processids == [] and empty.rootprocessids == []
        cycle = user.submit_workflow(place.workflow(place.spec("a", "b"), place.spec("b", "a")))
        assert cycle.rootprocessids == [] and len(cycle.processids) == 2
        for graph in (empty, cycle):
            assert user.get_processgraph(graph.processgraphid).state == WAITING
        with pytest.raises(ServerError) as e:
            user.submit_workflow(place.workflow(place.spec("a"), place.spec("b", "nope")))
        assert e.value.status == 500
        assert "are you depending on a nodename that does not exits?" in e.value.message
        with pytest.raises(ServerError) as e:
            user.get_processgraphs(place.colonyname, 100, WAITING)  # the half-made graph
        assert e.value.status == 400 and "Failed to iterate processgraph" in e.value.message
        with pytest.raises(ServerError) as e:
            user.submit_workflow(place.workflow(place.spec("a"), place.spec("a")))
        assert (e.value.status, e.value.message) == (500, "Duplicate nodename: a")


# --- our CLI against the Go server -----------------------------------------------------------


def cli(place: Place, *args: str) -> Result:
    """Our ``colonies`` command in-process, configured for ``place`` on the Go server."""
    env: dict[str, str | None] = {
        **place.server.env,
        **place.env(),
        "COLONIES_SERVER_HTTP_PORT": None,
        "COLONIES_EXECUTOR_TYPE": None,
    }
    return CliRunner().invoke(app, list(args), env=env)


def ok(result: Result) -> str:
    assert result.exception is None, (result.exception, result.stderr)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def failed(result: Result) -> str:
    """The command failed with an ``Error:`` line and no traceback; its stderr."""
    assert isinstance(result.exception, SystemExit), (result.exception, result.stderr)
    assert result.exit_code != 0 and "Traceback" not in result.stderr, result.stderr
    assert "Error: " in result.stderr, result.stderr
    return result.stderr


def go_spec_file(place: Place, path: Path, *steps: tuple[str, ...]) -> Path:
    """A spec file as the Go CLI reads it: a list of function specs (no colony in it)."""
    specs = []
    for node, *after in steps:
        spec = place.spec(node, *after).to_dict()
        del spec["conditions"]["colonyname"]
        specs.append(spec)
    path.write_text(json.dumps(specs))
    return path


DIAMOND = (("a",), ("b", "a"), ("c", "a"), ("d", "c", "b"))


def cli_ids(place: Place, command: str) -> list[str]:
    return [g["processgraphid"] for g in json.loads(ok(cli(place, "workflow", command, "--json")))]


def test_cli_against_go(place: Place, tmp_path: Path) -> None:
    diamond = go_spec_file(place, tmp_path / "diamond.json", *DIAMOND)
    graphid = ok(cli(place, "workflow", "submit", "--spec", str(diamond))).strip()
    assert len(graphid) == 64
    assert cli_ids(place, "psw") == [graphid]
    assert graphid in ok(cli(place, "workflow", "psw"))
    shown = json.loads(ok(cli(place, "workflow", "get", "--workflowid", graphid, "--json")))
    assert shown["state"] == WAITING and len(shown["processids"]) == 4
    tree = ok(cli(place, "workflow", "get", "--workflowid", graphid))
    assert "after: c, b" in tree and "WAITING" in tree, tree

    def answer(process: Process) -> list[Any]:
        if process.spec.nodename == "boom":
            raise ValueError("boom broke")
        return [process.spec.nodename]

    with serving(place.server, place.worker, answer):
        waited = cli(place, "workflow", "submit", "--spec", str(diamond), "--wait")
        second = ok(waited).strip()
        assert "succeeded" in waited.stderr
        failing = go_spec_file(place, tmp_path / "failing.json", ("boom",), ("after", "boom"))
        doomed = cli(place, "workflow", "submit", "--spec", str(failing), "--wait")
        assert doomed.exit_code == 1 and "boom broke" in failed(doomed)
        doomed_id = doomed.stdout.strip()
        with place.server.client(place.user) as client:  # the first one runs meanwhile
            assert client.wait_processgraph(graphid, 20).state == SUCCESS
    assert sorted(cli_ids(place, "pss")) == sorted([second, graphid])
    assert cli_ids(place, "psf") == [doomed_id]
    assert cli_ids(place, "ps") == []
    done = ok(cli(place, "workflow", "get", "--workflowid", second))
    assert "SUCCESS" in done and "0001-01-01" not in done

    idle = go_spec_file(place, tmp_path / "idle.json", ("a",), ("b", "a"))
    cancelled = ok(cli(place, "workflow", "submit", "--spec", str(idle))).strip()
    ok(cli(place, "workflow", "cancel", "--workflowid", cancelled))
    assert cli_ids(place, "psc") == [cancelled]
    ok(cli(place, "workflow", "remove", "--workflowid", cancelled))
    assert "graph is nil" in failed(cli(place, "workflow", "get", "--workflowid", cancelled))
    assert cli_ids(place, "psc") == []
    ok(cli(place, "workflow", "removeall", "--yes"))
    for command in ("psw", "pss", "psf", "psc"):
        assert cli_ids(place, command) == []


# --- the Go CLI against our server, side by side with the Go server -------------------------

WORKFLOW_ID = re.compile(r"WorkflowID=([0-9a-f]{64})")


def go_cli_spec(executortype: str, path: Path, *steps: tuple[str, ...]) -> Path:
    specs = [
        {
            "nodename": node,
            "funcname": node,
            "args": [node],
            "maxwaittime": -1,
            "maxexectime": -1,
            "conditions": {"executortype": executortype, "dependencies": list(after)},
        }
        for node, *after in steps
    ]
    path.write_text(json.dumps(specs))
    return path


def submitted(pair: Pair, spec: Path) -> str:
    """``workflow submit --spec`` on both; the Go graph's ID (ours is mapped to it)."""
    go, ours = pair.both("workflow", "submit", "--spec", str(spec))
    assert go.rc == ours.rc == 0, (go.raw_err, ours.raw_err)
    assert (go.out, go.err) == (ours.out, ours.err)
    (go_id,) = WORKFLOW_ID.findall(go.raw_err)
    (our_id,) = WORKFLOW_ID.findall(ours.raw_err)
    pair.ours.ids[go_id] = our_id
    twin = pair.twin
    twin.compare.go_to_ours[go_id] = our_id
    by_node: list[dict[str, str]] = []
    for server, graphid in ((twin.go, go_id), (twin.ours, our_id)):
        graph = twin.send(server, "user", graph_msg(graphid)).payload
        steps = [
            twin.send(server, "user", {"msgtype": "getprocessmsg", "processid": pid}).payload
            for pid in graph["processids"]
        ]
        by_node.append({step["spec"]["nodename"]: step["processid"] for step in steps})
    for node, go_step in by_node[0].items():  # the steps' IDs matched by node
        twin.compare.go_to_ours[go_step] = by_node[1][node]
        twin.compare.ours_to_go[by_node[1][node]] = go_step
    return go_id


def run_steps(twin: Twin, count: int) -> None:
    """The twin's executor takes ``count`` steps on each server and closes each with its
    nodename as output (siblings come in any order on Go: each server's own step is closed)."""
    assign = {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 5}
    for _ in range(count):
        for server in (twin.go, twin.ours):
            step = twin.send(server, "executor", assign)
            assert step.status == 200, step
            close = {"msgtype": "closesuccessfulmsg", "processid": step.payload["processid"]}
            out = [step.payload["spec"]["nodename"]]
            assert twin.send(server, "executor", close | {"out": out}).status == 200


def test_go_cli_workflow_commands(pair: Pair, tmp_path: Path) -> None:
    """``workflow get`` prints one table per step in the order of ``processids``, which Go
    reads back with siblings in any order (README): its tables are compared as a set."""
    twin = pair.twin
    spec = go_cli_spec(twin.executortype, tmp_path / "wf.json", ("a",), ("b", "a"), ("c", "a"))
    graph = submitted(pair, spec)
    shown = pair.same_tables("workflow", "get", "--workflowid", graph)
    assert "Waiting" in shown.out and "NodeName" in shown.out
    go_json, our_json = pair.both("workflow", "get", "--workflowid", graph, "--json")
    compare_graphs(twin, cli_json(go_json), cli_json(our_json))
    assert "WorkflowId" not in pair.same("workflow", "psw").err
    pair.same("workflow", "psw", "--count", "1")
    pair.same("workflow", "ps")
    pair.same("workflow", "pss")
    run_steps(twin, 3)
    assert "Successful" in pair.same_tables("workflow", "get", "--workflowid", graph).out
    pair.same("workflow", "pss")
    pair.same("workflow", "psw")

    other = submitted(pair, spec)
    run_steps(twin, 1)
    pair.same("workflow", "ps")
    pair.same_tables("workflow", "get", "--workflowid", other)
    removing = pair.same("workflow", "remove", "--workflowid", other)
    assert removing.rc != 0 and "cannot remove a running processgraph" in removing.err
    assert pair.same("workflow", "cancel", "--workflowid", other).rc == 0
    pair.same("workflow", "psc")
    assert "Cancelled" in pair.same_tables("workflow", "get", "--workflowid", other).out
    assert pair.same("workflow", "remove", "--workflowid", other).rc == 0
    gone = pair.same("workflow", "get", "--workflowid", other)
    assert gone.rc != 0 and "graph is nil" in gone.err
    pair.same("workflow", "psc")
    pair.same("colony", "stats")
    # Cancelling a finished workflow: Go makes it CANCELLED, ours refuses (README).
    go, ours = pair.both("workflow", "cancel", "--workflowid", graph)
    assert go.rc == 0 and ours.rc != 0
    assert "Failed to cancel processgraph, processgraph is SUCCESS" in ours.err
    go, ours = pair.both("workflow", "psc")
    assert go.raw_out.count(graph) == 1 and pair.ours.ids[graph] not in ours.raw_out


def test_go_cli_submit_against_ours(go_cli_ours: GoCLI, ours: Server, tmp_path: Path) -> None:
    """The Go CLI's submit on our server alone, the workflow run by an executor: its ``get``,
    ``psw``, ``pss``, ``cancel``, ``remove`` read what we store."""
    worker = register(ours, "wfgo")
    spec = go_cli_spec("wfgo", tmp_path / "wf.json", ("a",), ("b", "a"))
    submit = go_cli_ours("workflow", "submit", "--spec", str(spec))
    assert submit.returncode == 0, submit.stderr
    (graphid,) = WORKFLOW_ID.findall(submit.stderr)
    assert graphid in go_cli_ours("workflow", "psw").stdout
    got = go_cli_ours("workflow", "get", "--workflowid", graphid)
    assert got.returncode == 0 and "Waiting" in got.stdout and "NodeName" in got.stdout
    with ours.client() as client:
        graph = client.get_processgraph(graphid)
    assert graph.initiatorname == "myuser" and len(graph.processids) == 2
    with serving(ours, worker, lambda p: [p.spec.nodename]), ours.client() as client:
        assert client.wait_processgraph(graphid, 10).state == SUCCESS
    assert graphid in go_cli_ours("workflow", "pss").stdout
    assert "Successful" in go_cli_ours("workflow", "get", "--workflowid", graphid).stdout
    idle = go_cli_spec("nobody", tmp_path / "idle.json", ("x",))
    waiting = go_cli_ours("workflow", "submit", "--spec", str(idle))
    (waiting_id,) = WORKFLOW_ID.findall(waiting.stderr)
    assert go_cli_ours("workflow", "cancel", "--workflowid", waiting_id).returncode == 0
    assert waiting_id in go_cli_ours("workflow", "psc").stdout
    assert go_cli_ours("workflow", "remove", "--workflowid", waiting_id).returncode == 0
    gone = go_cli_ours("workflow", "get", "--workflowid", waiting_id)
    assert "graph is nil" in gone.stderr
    # The Go CLI's --wait returns as soon as the workflow is submitted, on the Go server too.
    waited = go_cli_ours("workflow", "submit", "--spec", str(spec), "--wait", timeout=30)
    assert waited.returncode == 0, waited.stderr
    (waited_id,) = WORKFLOW_ID.findall(waited.stderr)
    with ours.client() as client:
        assert client.get_processgraph(waited_id).state == WAITING
    with serving(ours, worker, lambda p: [p.spec.nodename]), ours.client() as client:
        assert client.wait_processgraph(waited_id, 10).state == SUCCESS


# --- differential ----------------------------------------------------------------------------


def submit_wf(colony: str, executortype: str, *steps: tuple[str, ...]) -> dict[str, Any]:
    specs = [
        {
            "nodename": node,
            "funcname": node,
            "args": [node],
            "maxwaittime": -1,
            "maxexectime": -1,
            "conditions": {"executortype": executortype, "dependencies": list(after)},
        }
        for node, *after in steps
    ]
    return {
        "msgtype": "submitworkflowspecmsg",
        "spec": {"colonyname": colony, "functionspecs": specs},
    }


def graph_msg(graphid: str) -> dict[str, Any]:
    return {"msgtype": "getprocessgraphmsg", "processgraphid": graphid}


def same_graph(twin: Twin, graphid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The graph read from both, compared field by field; nodes in label order (README)."""
    go, ours = twin.both("user", graph_msg(graphid))
    assert go.status == ours.status == 200, (go, ours)
    compare_graphs(twin, go.payload, ours.payload)
    return go.payload, ours.payload


def compare_graphs(twin: Twin, go: Any, ours: Any) -> None:
    """A graph (or a list of graphs) field by field. Go reads ``processids`` and ``nodes``
    back depth first, but the children of a step in any order (README): Go's are put in the
    order of ours (by the IDs matched so far) and the nodes in label order. Each edge's ``id``
    is checked to be ``source-target`` (two IDs in one string)."""
    if isinstance(ours, list):
        go = [] if go is None else go  # Go's null for an empty list
        assert len(go) == len(ours), (go, ours)
        for one, other in zip(go, ours, strict=True):
            compare_graphs(twin, one, other)
        return
    mapped = twin.compare.go_to_ours
    where = {pid: i for i, pid in enumerate(ours["processids"])}
    go["processids"].sort(key=lambda pid: where.get(mapped.get(pid, ""), len(where)))
    edges = {(e["source"], e["target"]): i for i, e in enumerate(ours["edges"])}

    def ends(edge: dict[str, Any]) -> int:
        return edges.get((mapped.get(edge["source"], ""), mapped.get(edge["target"], "")), -1)

    (go["edges"] or []).sort(key=ends)
    rows: list[dict[int, list[int]]] = []
    for graph in (go, ours):
        graph["nodes"].sort(key=lambda n: n["data"]["label"])
        row: dict[int, list[int]] = {}
        for node in graph["nodes"]:  # siblings swap places in Go's layout: compare each row
            row.setdefault(node["position"]["y"], []).append(node["position"].pop("x"))
        rows.append({y: sorted(xs) for y, xs in row.items()})
        for edge in graph["edges"] or []:
            assert edge.pop("id") == f"{edge['source']}-{edge['target']}"
    assert rows[0] == rows[1]
    twin.compare(go, ours)


def same_graphs(twin: Twin, state: int) -> None:
    msg = {"msgtype": "getprocessgraphsmsg", "colonyname": "$COLONY", "count": 10, "state": state}
    go, ours = twin.both("user", msg)
    assert go.status == ours.status == 200, (go, ours)
    compare_graphs(twin, go.payload, ours.payload)


def same_process(twin: Twin, processid: str) -> None:
    """A process of a graph read from both; Go's ``children`` put in the order of ours (Go
    stores them in any order, README)."""
    go, ours = twin.both("user", {"msgtype": "getprocessmsg", "processid": processid})
    assert go.status == ours.status == 200, (go, ours)
    where = {pid: i for i, pid in enumerate(ours.payload["children"] or [])}
    mapped = twin.compare.go_to_ours
    (go.payload["children"] or []).sort(key=lambda pid: where.get(mapped.get(pid, ""), -1))
    twin.compare(go.payload, ours.payload)


def test_differential_diamond(twin: Twin) -> None:
    msg = submit_wf("$COLONY", twin.executortype, *DIAMOND)
    go, ours = twin.both("user", msg)
    assert go.status == ours.status == 200, (go, ours)
    # Go's submit reply has a zero submissiontime, ours the real one (README)
    assert go.payload["submissiontime"] == ZERO and ours.payload["submissiontime"] != ZERO
    go.payload["submissiontime"] = ours.payload["submissiontime"] = ZERO
    twin.compare(go.payload, ours.payload)
    graphid = go.payload["processgraphid"]
    for go_id, our_id in zip(go.payload["processids"], ours.payload["processids"], strict=True):
        twin.compare.go_to_ours.setdefault(go_id, our_id)
    same_graph(twin, graphid)
    for processid in go.payload["processids"]:
        same_process(twin, processid)
    same_graphs(twin, WAITING)

    assign = {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 5}
    expected_inputs = {"a": [], "b": ["a"], "c": ["a"], "d": ["c", "b"]}
    for wave in (["a"], ["b", "c"], ["d"]):
        # siblings are assigned in any order on Go (README): compare them by node
        replies = [twin.both("executor", assign) for _ in wave]
        for side in (0, 1):
            assigned = {reply[side].payload["spec"]["nodename"]: reply[side] for reply in replies}
            assert sorted(assigned) == wave
            for node, reply in assigned.items():
                assert reply.status == 200 and reply.payload["in"] == expected_inputs[node]
                assert reply.payload["state"] == RUNNING
        for processid in go.payload["processids"]:
            same_process(twin, processid)
        same_graph(twin, graphid)
        for reply, _ in replies:
            node = reply.payload["spec"]["nodename"]
            close = {"msgtype": "closesuccessfulmsg", "processid": reply.payload["processid"]}
            twin.ok("executor", close | {"out": [node]})
    go_graph, _ = same_graph(twin, graphid)
    assert go_graph["state"] == SUCCESS
    for processid in go.payload["processids"]:
        same_process(twin, processid)
    same_graphs(twin, SUCCESS)
    stats = {"msgtype": "getcolonystatsmsg", "colonyname": "$COLONY"}
    twin.same("user", stats)
    twin.ok("user", {"msgtype": "removeprocessgraphmsg", "processgraphid": graphid, "all": False})
    go_missing, our_missing = twin.both("user", graph_msg(graphid))
    assert go_missing.error == (500, "Failed to get processgraph, graph is nil")
    assert our_missing.error == (404, "Failed to get processgraph, graph is nil")
    same_graphs(twin, SUCCESS)


def test_differential_refusals(twin: Twin) -> None:
    """The same answers, or the documented differences (README)."""
    msg = submit_wf("$COLONY", twin.executortype, ("a",), ("b", "a"))
    go, ours = twin.both("user", msg)
    graphid = go.payload["processgraphid"]
    twin.compare.go_to_ours[graphid] = ours.payload["processgraphid"]
    for go_id, our_id in zip(go.payload["processids"], ours.payload["processids"], strict=True):
        twin.compare.go_to_ours.setdefault(go_id, our_id)
    a, _ = twin.same(
        "executor", {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 5}
    )
    twin.same("user", {"msgtype": "cancelprocessmsg", "processid": a["processid"]}, 400)
    twin.same("user", {"msgtype": "removeprocessmsg", "processid": a["processid"]}, 400)
    remove = {"msgtype": "removeprocessgraphmsg", "processgraphid": graphid, "all": False}
    twin.same("user", remove, 400)
    lists = {"msgtype": "getprocessgraphsmsg", "colonyname": "$COLONY"}
    twin.same("user", lists | {"count": 101, "state": 0}, 400)
    twin.same("user", lists | {"count": 10, "state": 7}, 400)
    go_neg, our_neg = twin.both("user", lists | {"count": -1, "state": 0})
    assert go_neg.error == (400, "pq: LIMIT must not be negative")
    assert our_neg.status == 400 and our_neg.error[1].startswith("Invalid count")
    removeall = {"msgtype": "removeallprocessgraphsmsg", "colonyname": "$COLONY"}
    twin.same("user", removeall | {"state": -1}, 403)
    twin.same("owner", removeall | {"state": RUNNING}, 400)
    twin.same("owner", removeall | {"state": 9}, 400)
    twin.same("stranger", graph_msg(graphid), 403)
    for verb, unknown in (
        ("get", graph_msg(NO_GRAPH)),
        ("cancel", {"msgtype": "cancelprocessgraphmsg", "processgraphid": NO_GRAPH}),
        ("remove", remove | {"processgraphid": NO_GRAPH}),
    ):
        go_unknown, our_unknown = twin.both("user", unknown)
        text = f"Failed to {verb} processgraph, graph is nil"
        assert (go_unknown.error, our_unknown.error) == ((500, text), (404, text))
    # add child by an executor the parent is not assigned to: Go 400, ours 403
    child = {
        "msgtype": "addchildmsg",
        "processgraphid": graphid,
        "parentprocessid": a["processid"],
        "childprocessid": "",
        "insert": False,
        "spec": {
            "nodename": "x",
            "funcname": "x",
            "conditions": {"colonyname": "$COLONY", "executortype": twin.executortype},
        },
    }
    go_child, our_child = twin.both("user", child)
    assert go_child.status == 400 and our_child.status == 403
    assert go_child.payload["message"] == our_child.payload["message"].replace(
        twin.compare.go_to_ours[a["processid"]], a["processid"]
    )
    # a failed step: Go fails every step and says nothing more (README)
    fail = {"msgtype": "closefailedmsg", "processid": a["processid"], "errors": ["boom"]}
    twin.ok("executor", fail)
    go_graph, our_graph = twin.both("user", graph_msg(graphid))
    assert go_graph.payload["state"] == our_graph.payload["state"] == FAILED
    b_id = next(p for p in go.payload["processids"] if p != a["processid"])
    go_b, our_b = twin.both("user", {"msgtype": "getprocessmsg", "processid": b_id})
    assert go_b.payload["state"] == our_b.payload["state"] == FAILED
    assert go_b.payload["errors"] is None or go_b.payload["errors"] == []
    assert twin.compare.go_to_ours[a["processid"]] in our_b.payload["errors"][0]
    assert go_b.payload["endtime"] == ZERO and our_b.payload["endtime"] != ZERO
    # cancel a finished graph: Go takes it, ours refuses (README)
    go_cancel, our_cancel = twin.both(
        "user", {"msgtype": "cancelprocessgraphmsg", "processgraphid": graphid}
    )
    assert go_cancel.status == 200
    assert our_cancel.error == (400, "Failed to cancel processgraph, processgraph is FAILED")
    twin.ok("owner", removeall | {"state": -1})
    same_graphs(twin, FAILED)


def test_differential_removeall_waiting(twin: Twin) -> None:
    """``removeallprocessgraphsmsg`` with state WAITING: Go also removes the waiting steps of a
    running graph, which can then no longer be read; ours removes whole waiting graphs (README)."""
    msg = submit_wf("$COLONY", twin.executortype, ("a",), ("b", "a"))
    running, ours_running = twin.both("user", msg)
    twin.compare.go_to_ours[running.payload["processgraphid"]] = ours_running.payload[
        "processgraphid"
    ]
    twin.ok("user", msg)
    twin.same("executor", {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 5})
    removeall = {"msgtype": "removeallprocessgraphsmsg", "colonyname": "$COLONY", "state": WAITING}
    twin.ok("owner", removeall)
    same_graphs(twin, WAITING)
    go, ours = twin.both("user", graph_msg(running.payload["processgraphid"]))
    b = running.payload["processids"][1]
    assert go.error == (400, f"Failed to iterate processgraph, process with ID={b} not found")
    assert ours.status == 200 and ours.payload["state"] == RUNNING
    assert len(ours.payload["processids"]) == 2
    twin.ok("owner", removeall | {"state": -1})
    same_graphs(twin, RUNNING)
