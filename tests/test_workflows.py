"""Workflows (process graphs) on our server: dependency order, outputs flowing into ``in``,
failure and cancel spreading over the graph, children added at run time, listing, statistics,
authorization, validation, the ``Workflow`` builder and the SDK (sync and async)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from colonies import crypto
from colonies.client import AsyncClient, Client
from colonies.errors import NoProcessAvailable, ServerError, WaitTimeout
from colonies.model import (
    Conditions,
    FunctionSpec,
    Process,
    ProcessGraph,
    ProcessState,
    WorkflowSpec,
)
from colonies.workflow import Workflow
from conftest import Identity, LiveServer, add_executor


def spec(node: str, *deps: str, executortype: str = "wf", **kw: Any) -> FunctionSpec:
    return FunctionSpec(
        nodename=node,
        funcname=node,
        conditions=Conditions(executortype=executortype, dependencies=list(deps)),
        **kw,
    )


def diamond(colonyname: str) -> WorkflowSpec:
    # d lists c before b: its input is c's output, then b's
    return WorkflowSpec(
        colonyname=colonyname,
        functionspecs=[spec("a"), spec("b", "a"), spec("c", "a"), spec("d", "c", "b")],
    )


class World:
    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.key = add_executor(live, "wf-1", "wf")
        self.client = Client(live.url, self.key.prvkey)

    def assign(self, timeout: int = 1) -> Process:
        return self.client.assign(self.live.colonyname, timeout)

    def nothing_to_assign(self) -> None:
        with pytest.raises(NoProcessAvailable):
            self.client.assign(self.live.colonyname, -1)

    def nodes(self, graph: ProcessGraph) -> dict[str, Process]:
        found = [self.client.get_process(pid) for pid in graph.processids]
        return {p.spec.nodename: p for p in found}


@pytest.fixture
def world(live: LiveServer) -> World:
    w = World(live)
    yield w  # type: ignore[misc]
    w.client.close_transport()


def test_diamond_runs_in_dependency_order_with_outputs_flowing(world: World) -> None:
    c = world.client
    graph = c.submit_workflow(diamond(world.live.colonyname))
    assert graph.state == ProcessState.WAITING and len(graph.processids) == 4
    nodes = world.nodes(graph)
    assert graph.rootprocessids == [nodes["a"].processid]
    assert not nodes["a"].waitforparents and nodes["d"].waitforparents
    assert nodes["d"].parents == [nodes["c"].processid, nodes["b"].processid]
    assert nodes["a"].children == [nodes["b"].processid, nodes["c"].processid]
    assert nodes["b"].spec.maxexectime == -1  # 0 becomes -1 in workflows, as in Go

    a = world.assign()
    assert a.spec.nodename == "a" and a.input == []
    running = c.get_processgraph(graph.processgraphid)
    assert running.state == ProcessState.RUNNING and running.starttime != graph.starttime
    world.nothing_to_assign()  # b and c wait for a
    c.close(a.processid, ["A1", {"n": 2}])

    first, second = world.assign(), world.assign()
    assert {first.spec.nodename, second.spec.nodename} == {"b", "c"}
    assert first.input == second.input == ["A1", {"n": 2}]
    world.nothing_to_assign()  # d waits for b and c
    by_name = {first.spec.nodename: first, second.spec.nodename: second}
    c.close(by_name["b"].processid, ["B"])
    world.nothing_to_assign()
    c.close(by_name["c"].processid, ["C1", "C2"])

    d = world.assign()
    assert d.spec.nodename == "d" and d.input == ["C1", "C2", "B"]  # dependency order
    c.close(d.processid, ["D"])
    done = c.wait_processgraph(graph.processgraphid, timeout=10)
    assert done.state == ProcessState.SUCCESS and done.endtime != graph.endtime

    drawn = c.get_processgraph(graph.processgraphid)
    ids = world.nodes(drawn)
    assert [n["data"]["label"] for n in drawn.nodes] == ["a", "b", "d", "c"]  # depth first
    assert [(n["position"]["x"], n["position"]["y"]) for n in drawn.nodes] == [
        (100, 0),
        (0, 80),
        (100, 160),
        (200, 80),
    ]
    assert [n["type"] for n in drawn.nodes] == ["input", "", "output", ""]
    assert {n["style"]["background"] for n in drawn.nodes} == {"#92d050"}
    assert [(e["source"], e["target"]) for e in drawn.edges] == [
        (ids["a"].processid, ids["b"].processid),
        (ids["a"].processid, ids["c"].processid),
        (ids["b"].processid, ids["d"].processid),
        (ids["c"].processid, ids["d"].processid),
    ]
    assert drawn.edges[0]["id"] == f"{ids['a'].processid}-{ids['b'].processid}"


def test_a_failing_step_fails_the_graph_and_the_other_steps(world: World) -> None:
    c = world.client
    graph = c.submit_workflow(diamond(world.live.colonyname))
    c.close(world.assign().processid, [1])
    b, other = world.assign(), world.assign()
    c.fail(b.processid, ["boom"])
    failed = c.get_processgraph(graph.processgraphid)
    assert failed.state == ProcessState.FAILED and failed.endtime != graph.endtime
    nodes = world.nodes(graph)
    assert nodes["a"].state == ProcessState.SUCCESS  # finished steps keep their state
    assert nodes[b.spec.nodename].errors == ["boom"]
    for name in (other.spec.nodename, "d"):
        assert nodes[name].state == ProcessState.FAILED
        assert b.processid in nodes[name].errors[0]
    with pytest.raises(ServerError) as e:  # the running sibling was failed meanwhile
        c.close(other.processid, [2])
    assert e.value.status == 400
    world.nothing_to_assign()
    assert c.wait_processgraph(graph.processgraphid, 5).state == ProcessState.FAILED


def test_an_expired_step_fails_the_graph(live: LiveServer, world: World) -> None:
    wf = WorkflowSpec(
        colonyname=live.colonyname,
        functionspecs=[spec("a", maxwaittime=1, executortype="nobody"), spec("b", "a")],
    )
    graph = world.client.submit_workflow(wf)
    done = world.client.wait_processgraph(graph.processgraphid, timeout=10)
    assert done.state == ProcessState.FAILED
    nodes = world.nodes(graph)
    assert nodes["a"].errors == ["Maximum waiting time limit exceeded"]
    assert nodes["b"].state == ProcessState.FAILED


def test_cancel(world: World) -> None:
    c = world.client
    graph = c.submit_workflow(diamond(world.live.colonyname))
    a = world.assign()
    with pytest.raises(ServerError, match="cancel the entire workflow instead"):
        c.cancel(a.processid)
    with pytest.raises(ServerError, match="delete the entire workflow instead"):
        c.remove_process(a.processid)
    c.cancel_processgraph(graph.processgraphid)
    done = c.wait_processgraph(graph.processgraphid, 5)
    assert done.state == ProcessState.CANCELLED
    assert {p.state for p in world.nodes(graph).values()} == {ProcessState.CANCELLED}
    world.nothing_to_assign()
    with pytest.raises(ServerError, match="processgraph is CANCELLED") as e:
        c.cancel_processgraph(graph.processgraphid)
    assert e.value.status == 400
    c.remove_processgraph(graph.processgraphid)
    with pytest.raises(ServerError, match="graph is nil") as e:
        c.get_processgraph(graph.processgraphid)
    assert e.value.status == 404
    with pytest.raises(ServerError):
        c.get_process(a.processid)


def test_add_child_at_run_time(world: World) -> None:
    c = world.client
    graph = c.submit_workflow(
        WorkflowSpec(colonyname=world.live.colonyname, functionspecs=[spec("a"), spec("b", "a")])
    )
    a = world.assign()
    b = world.nodes(graph)["b"]
    # one more child of a, besides b
    x = c.add_child(graph.processgraphid, a.processid, "", spec("?"), "x", False)
    assert x.spec.nodename == "x" and x.waitforparents and x.parents == [a.processid]
    assert x.initiatorid == world.key.id and x.processgraphid == graph.processgraphid
    # spliced between a and its children (b and x)
    y = c.add_child(graph.processgraphid, a.processid, "", spec("y"), insert=True)
    assert y.children == [b.processid, x.processid]
    assert c.get_process(a.processid).children == [y.processid]
    assert c.get_process(b.processid).parents == [y.processid]
    drawn = c.get_processgraph(graph.processgraphid)
    assert len(drawn.processids) == 4 and len(drawn.nodes) == 4
    world.nothing_to_assign()
    c.close(a.processid, ["A"])
    assert world.assign().processid == y.processid  # b and x wait for y now
    with pytest.raises(ServerError, match="is not running"):  # a is closed
        c.add_child(graph.processgraphid, a.processid, "", spec("z"))
    world.nothing_to_assign()
    ready = c.get_process(y.processid)
    c.close(ready.processid, ["Y"])
    last = [world.assign(), world.assign()]
    assert {p.processid for p in last} == {b.processid, x.processid}
    assert [p.input for p in last] == [["Y"], ["Y"]]
    for p in last:
        c.close(p.processid, [])
    assert c.wait_processgraph(graph.processgraphid, 5).state == ProcessState.SUCCESS


def test_add_child_refusals(live: LiveServer, world: World) -> None:
    c = world.client
    graph = c.submit_workflow(
        WorkflowSpec(colonyname=live.colonyname, functionspecs=[spec("a"), spec("b", "a")])
    )
    a = world.assign()
    other = add_executor(live, "wf-2", "wf")
    with Client(live.url, other.prvkey) as stranger:
        with pytest.raises(ServerError, match="is not assigned to executor") as e:
            stranger.add_child(graph.processgraphid, a.processid, "", spec("z"))
        assert e.value.status == 403
    with pytest.raises(ServerError, match="process not found") as e:
        c.add_child(graph.processgraphid, "f" * 64, "", spec("z"))
    assert e.value.status == 404
    solo_spec = spec("solo", executortype="solo")
    solo_spec.conditions.colonyname = live.colonyname
    solo = c.submit(solo_spec)
    with pytest.raises(ServerError, match="is not running"):
        c.add_child("", solo.processid, "", spec("z"))
    # childprocessid (not insert): the new step also comes before b
    z = c.add_child(graph.processgraphid, a.processid, world.nodes(graph)["b"].processid, spec("z"))
    b = world.nodes(graph)["b"]
    assert b.parents == [a.processid, z.processid] and z.children == [b.processid]


def test_listing_counting_and_removing(live: LiveServer, world: World) -> None:
    c = world.client
    colony = live.colonyname
    first = c.submit_workflow(diamond(colony))
    second = c.submit_workflow(diamond(colony))
    waiting = c.get_processgraphs(colony, 10, ProcessState.WAITING)
    assert [g.processgraphid for g in waiting] == [second.processgraphid, first.processgraphid]
    assert waiting[0].nodes == [] and waiting[0].edges == []
    world.assign()
    running = c.get_processgraphs(colony, 10, ProcessState.RUNNING)
    assert len(running) == 1
    stats = c.colony_statistics(colony)
    assert (stats.waitingworkflows, stats.runningworkflows) == (1, 1)
    assert stats.waitingprocesses == 7 and stats.runningprocesses == 1
    with Client(live.url, live.server.prvkey) as server:
        assert server.statistics().runningworkflows == 1
    with pytest.raises(ServerError, match="cannot remove a running processgraph"):
        c.remove_processgraph(running[0].processgraphid)
    for bad in (101, -1):
        with pytest.raises(ServerError) as e:
            c.get_processgraphs(colony, bad, ProcessState.WAITING)
        assert e.value.status == 400
    with pytest.raises(ServerError, match=r"invalid msg\.State"):
        c.get_processgraphs(colony, 10, 7)
    with Client(live.url, live.colony.prvkey) as owner:
        with pytest.raises(ServerError, match="not possible to remove running processgraphs"):
            owner.remove_all_processgraphs(colony, ProcessState.RUNNING)
        with pytest.raises(ServerError, match="invalid state"):
            owner.remove_all_processgraphs(colony, 9)
        owner.remove_all_processgraphs(colony, ProcessState.WAITING)
        assert c.get_processgraphs(colony, 10, ProcessState.WAITING) == []
        assert len(c.get_processgraphs(colony, 10, ProcessState.RUNNING)) == 1
        owner.remove_all_processgraphs(colony)
    assert c.get_processgraphs(colony, 10, ProcessState.RUNNING) == []
    assert c.colony_statistics(colony).waitingprocesses == 0
    with pytest.raises(ServerError, match="Access denied, not colony owner"):
        c.remove_all_processgraphs(colony)


def test_non_members_are_refused(live: LiveServer, world: World) -> None:
    graph = world.client.submit_workflow(diamond(live.colonyname))
    with Client(live.url, crypto.generate_private_key()) as stranger:
        calls = [
            lambda: stranger.submit_workflow(diamond(live.colonyname)),
            lambda: stranger.get_processgraph(graph.processgraphid),
            lambda: stranger.get_processgraphs(live.colonyname),
            lambda: stranger.remove_processgraph(graph.processgraphid),
            lambda: stranger.cancel_processgraph(graph.processgraphid),
        ]
        for call in calls:
            with pytest.raises(ServerError) as e:
                call()
            assert e.value.status == 403
    assert world.client.get_processgraph(graph.processgraphid).state == ProcessState.WAITING


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([spec("a"), spec("a")], "Duplicate nodename: a"),
        ([spec("")], "Nodename is missing"),
        ([spec("a"), spec("b", "x")], "are you depending on a nodename that does not exits?"),
        ([spec("a", "b"), spec("b", "a")], "cycle: a -> b -> a"),
        ([spec("a", "a")], "cycle: a -> a"),
        ([], "no function specs"),
        ([spec("a", executortype="")], "executortype must be set (nodename a)"),
        ([spec("a", priority=10**6)], "priority outside range"),
    ],
)
def test_validation(world: World, specs: list[FunctionSpec], message: str) -> None:
    with pytest.raises(ServerError) as e:
        world.client.submit_workflow(WorkflowSpec(colonyname="dev", functionspecs=specs))
    assert e.value.status == 400 and message in e.value.message
    assert world.client.get_processgraphs("dev") == []  # nothing was stored


def test_colonyname_of_each_spec_is_the_workflows(live: LiveServer, world: World) -> None:
    wf = diamond(live.colonyname)
    wf.functionspecs[1].conditions.colonyname = "elsewhere"
    graph = world.client.submit_workflow(wf)
    assert {p.spec.conditions.colonyname for p in world.nodes(graph).values()} == {live.colonyname}
    assert graph.initiatorid == world.key.id and graph.initiatorname == "wf-1"
    assert graph.submissiontime != ProcessGraph().submissiontime


def test_builder(live: LiveServer, world: World) -> None:
    wf = Workflow(live.colonyname, executortype="wf")
    gen = wf.step("gen", args=[1])
    left = wf.step("double", after=[gen])
    right = wf.step("double", after=[gen], kwargs={"k": 1})
    wf.step("sum", after=[right, left])
    assert right.name == "double-2"
    graph = world.client.submit_workflow(wf)
    nodes = world.nodes(graph)
    assert nodes["sum"].spec.conditions.dependencies == ["double-2", "double"]
    assert nodes["double-2"].spec.kwargs == {"k": 1} and nodes["gen"].spec.args == [1]

    broken = Workflow(live.colonyname, executortype="wf")
    broken.step("a", after=["nope"])
    with pytest.raises(ValueError, match="unknown step 'nope'"):
        world.client.submit_workflow(broken)
    looped = Workflow(live.colonyname, executortype="wf")
    looped.step("a", after=["b"])
    looped.step("b", after=["a"])
    with pytest.raises(ValueError, match="cycle"):
        looped.to_spec()
    with pytest.raises(ValueError, match="no steps"):
        Workflow("dev").to_spec()
    with pytest.raises(ValueError, match="no executortype"):
        untyped = Workflow("dev")
        untyped.step("a")
        untyped.to_spec()
    with pytest.raises(ValueError, match="exists already"):
        wf.step("x", name="gen")


def test_wait_processgraph_times_out(world: World) -> None:
    graph = world.client.submit_workflow(diamond(world.live.colonyname))
    with pytest.raises(WaitTimeout):
        world.client.wait_processgraph(graph.processgraphid, timeout=0.3)


def test_async_client(live: LiveServer) -> None:
    key: Identity = add_executor(live, "wf-async", "wf")

    async def run() -> None:
        async with AsyncClient(live.url, key.prvkey) as c:
            graph = await c.submit_workflow(diamond(live.colonyname))
            waiter = asyncio.ensure_future(c.wait_processgraph(graph.processgraphid, 20))
            for _ in range(4):
                process = await c.assign(live.colonyname, 5)
                await c.close(process.processid, [process.spec.nodename])
            done = await waiter
            assert done.state == ProcessState.SUCCESS
            drawn = await c.get_processgraph(graph.processgraphid)
            assert len(drawn.nodes) == 4
            assert [g.processgraphid for g in await c.get_processgraphs(live.colonyname, 5, 2)] == [
                graph.processgraphid
            ]
            other = await c.submit_workflow(diamond(live.colonyname))
            a = await c.assign(live.colonyname, 5)
            child = await c.add_child(other.processgraphid, a.processid, "", spec("x"))
            assert child.parents == [a.processid]
            await c.cancel_processgraph(other.processgraphid)
            assert (await c.get_processgraph(other.processgraphid)).state == 4
            await c.remove_processgraph(other.processgraphid)
            async with AsyncClient(live.url, live.colony.prvkey) as owner:
                await owner.remove_all_processgraphs(live.colonyname)
            assert await c.get_processgraphs(live.colonyname, 5, 2) == []

    asyncio.run(run())


def test_a_workflow_carries_on_after_a_server_restart(tmp_path: Any) -> None:
    """The graph, its waiting steps and their dependencies are stored: a workflow half done
    when the server stops finishes after it starts again on the same data."""
    from conftest import restart_server, start_server

    live, thread = start_server(tmp_path / "colonies.db")
    key = add_executor(live, "wf-1", "wf")
    with Client(live.url, key.prvkey) as client:
        graph = client.submit_workflow(diamond("dev"))
        first = client.assign("dev", 1)
        client.close(first.processid, ["A"])
    thread.stop(keep_data=True)
    again = restart_server(live)
    try:
        with Client(live.url, key.prvkey) as client:
            ran = []
            for _ in range(3):
                process = client.assign("dev", 5)
                ran.append((process.spec.nodename, process.input))
                client.close(process.processid, [process.spec.nodename.upper()])
            done = client.wait_processgraph(graph.processgraphid, 10)
        assert done.state == ProcessState.SUCCESS
        assert sorted(ran[:2]) == [("b", ["A"]), ("c", ["A"])]
        assert ran[2] == ("d", ["C", "B"])
    finally:
        again.stop()
