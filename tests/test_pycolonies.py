"""The official Python SDK (pycolonies, from PyPI) drives our server as an independent client."""

from __future__ import annotations

import threading

import pycolonies  # the upstream SDK, a pinned test dependency
import pytest

from colonies import crypto
from conftest import Identity, LiveServer


@pytest.fixture
def pc(live: LiveServer) -> object:
    return pycolonies.Colonies(live.host, live.port)


def _executor(pc, live: LiveServer, name: str, executortype: str = "py") -> Identity:  # type: ignore[no-untyped-def]
    key = Identity(crypto.generate_private_key())
    reply = pc.add_executor(
        {
            "executorname": name,
            "executorid": key.id,
            "colonyname": live.colonyname,
            "executortype": executortype,
        },
        live.colony.prvkey,
    )
    assert reply["state"] == 0  # PENDING until approved
    pc.approve_executor(live.colonyname, name, live.colony.prvkey)
    return key


def test_full_process_lifecycle(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    listed = pc.list_executors(live.colonyname, executor.prvkey)
    assert [e["executorname"] for e in listed] == ["py-1"]
    assert listed[0]["state"] == 1

    spec = pycolonies.func_spec(
        func="add", args=["5", "3"], colonyname=live.colonyname, executortype="py"
    )
    submitted = pc.submit_func_spec(spec, executor.prvkey)
    assert submitted.state == 0
    assert [p["processid"] for p in pc.list_processes(live.colonyname, 10, 0, executor.prvkey)] == [
        submitted.processid
    ]

    assigned = pc.assign(live.colonyname, 5, executor.prvkey)
    assert assigned.processid == submitted.processid
    assert assigned.state == 1 and assigned.assignedexecutorid == executor.id
    pc.set_output(assigned.processid, ["8"], executor.prvkey)
    assert pc.get_process(assigned.processid, executor.prvkey).output == ["8"]
    pc.close(assigned.processid, ["8"], executor.prvkey)

    done = pc.wait(submitted, 5, executor.prvkey)
    assert done.state == 2 and done.output == ["8"]
    successful = pc.list_processes(live.colonyname, 10, 2, executor.prvkey)
    assert [p["processid"] for p in successful] == [submitted.processid]
    stats = pc.stats(live.colonyname, executor.prvkey)
    assert stats["successfulprocesses"] == 1 and stats["waitingprocesses"] == 0


def test_fail_records_errors(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    spec = pycolonies.func_spec(func="nope", args=[], colonyname=live.colonyname, executortype="py")
    submitted = pc.submit_func_spec(spec, executor.prvkey)
    assigned = pc.assign(live.colonyname, 5, executor.prvkey)
    pc.fail(assigned.processid, ["unknown function nope"], executor.prvkey)
    failed = pc.get_process(submitted.processid, executor.prvkey)
    assert failed.state == 3 and failed.errors == ["unknown function nope"]
    assert [p["processid"] for p in pc.list_processes(live.colonyname, 10, 3, executor.prvkey)] == [
        submitted.processid
    ]


def test_wait_returns_when_another_client_closes(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    spec = pycolonies.func_spec(
        func="echo", args=["hi"], colonyname=live.colonyname, executortype="py"
    )
    submitted = pc.submit_func_spec(spec, executor.prvkey)

    def run_executor() -> None:
        worker = pycolonies.Colonies(live.host, live.port)
        process = worker.assign(live.colonyname, 5, executor.prvkey)
        worker.close(process.processid, ["hi"], executor.prvkey)

    thread = threading.Thread(target=run_executor)
    thread.start()
    done = pc.wait(submitted, 10, executor.prvkey)
    thread.join(10)
    assert done.state == 2 and done.output == ["hi"]


def test_priorities_respected(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    ids = {}
    for priority in (0, 5, -3, 2):
        spec = pycolonies.func_spec(
            func="f",
            args=[str(priority)],
            colonyname=live.colonyname,
            executortype="py",
            priority=priority,
        )
        ids[priority] = pc.submit_func_spec(spec, executor.prvkey).processid
    order = [pc.assign(live.colonyname, 5, executor.prvkey).processid for _ in ids]
    assert order == [ids[5], ids[2], ids[0], ids[-3]]


def test_no_work_and_unapproved(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    with pytest.raises(Exception, match="No process available"):
        pc.assign(live.colonyname, 1, executor.prvkey)
    pending = Identity(crypto.generate_private_key())
    pc.add_executor(
        {
            "executorname": "py-2",
            "executorid": pending.id,
            "colonyname": live.colonyname,
            "executortype": "py",
        },
        live.colony.prvkey,
    )
    with pytest.raises(Exception, match="Access denied"):
        pc.assign(live.colonyname, 1, pending.prvkey)
    pc.reject_executor(live.colonyname, "py-2", live.colony.prvkey)
    pc.remove_executor(live.colonyname, "py-2", live.colony.prvkey)
    states = {
        e["executorname"]: e["state"] for e in pc.list_executors(live.colonyname, executor.prvkey)
    }
    assert states == {"py-1": 1, "py-2": 3}


def test_colony_management_by_server_owner(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    other = Identity(crypto.generate_private_key())
    pc.add_colony({"colonyid": other.id, "name": "second"}, live.server.prvkey)
    names = sorted(c["name"] for c in pc.list_colonies(live.server.prvkey))
    assert names == ["dev", "second"]
    pc.del_colony("second", live.server.prvkey)
    assert [c["name"] for c in pc.list_colonies(live.server.prvkey)] == ["dev"]
    with pytest.raises(Exception, match="not server owner"):
        pc.list_colonies(live.colony.prvkey)


def _step(live: LiveServer, node: str, *deps: str):  # type: ignore[no-untyped-def]
    spec = pycolonies.func_spec(
        func=node, args=[node], colonyname=live.colonyname, executortype="pyflow"
    )
    spec.nodename = node
    spec.conditions.dependencies = list(deps)
    return spec


def test_workflow_api(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """pycolonies' workflow calls: submit a diamond, run it with outputs flowing into ``in``,
    read the graph (a pydantic ProcessGraph with nodes and edges), add a child, list, remove."""
    executor = _executor(pc, live, "py-flow", "pyflow")
    steps = [
        _step(live, "a"),
        _step(live, "b", "a"),
        _step(live, "c", "a"),
        _step(live, "d", "c", "b"),
    ]
    workflow = pycolonies.Workflow(colonyname=live.colonyname, functionspecs=steps)
    graph = pc.submit_workflow(workflow, executor.prvkey)
    assert graph.state == 0 and len(graph.processids) == 4
    assert pc.find_process("d", graph.processids, executor.prvkey).waitforparents

    a = pc.assign(live.colonyname, 5, executor.prvkey)
    assert a.spec.nodename == "a"
    # a child added at run time, between a and its children
    child = pycolonies.func_spec(
        func="x", args=[], colonyname=live.colonyname, executortype="pyflow"
    )
    added = pc.add_child(graph.processgraphid, a.processid, "", child, "x", True, executor.prvkey)
    assert added["spec"]["nodename"] == "x" and added["parents"] == [a.processid]
    pc.close(a.processid, ["A"], executor.prvkey)
    x = pc.assign(live.colonyname, 5, executor.prvkey)
    assert x.processid == added["processid"] and x.input == ["A"]
    pc.close(x.processid, ["X"], executor.prvkey)
    middle = [pc.assign(live.colonyname, 5, executor.prvkey) for _ in range(2)]
    assert sorted(p.spec.nodename for p in middle) == ["b", "c"]
    assert all(p.input == ["X"] for p in middle)
    for p in middle:
        pc.close(p.processid, [p.spec.nodename.upper()], executor.prvkey)
    d = pc.assign(live.colonyname, 5, executor.prvkey)
    assert d.input == ["C", "B"]
    pc.close(d.processid, ["D"], executor.prvkey)

    done = pc.get_processgraph(graph.processgraphid, executor.prvkey)
    assert done.state == 2 and len(done.nodes) == 5 and len(done.edges) == 5
    assert {n.data["label"] for n in done.nodes} == {"a", "b", "c", "d", "x"}
    listed = pc.get_processgraphs(live.colonyname, 10, executor.prvkey, state=2)
    assert [g["processgraphid"] for g in listed] == [graph.processgraphid]
    assert pc.get_processgraphs(live.colonyname, 10, executor.prvkey) == []  # WAITING
    assert pc.stats(live.colonyname, executor.prvkey)["successfulworkflows"] == 1

    pc.remove_processgraph(graph.processgraphid, executor.prvkey)
    with pytest.raises(Exception, match="graph is nil"):
        pc.get_processgraph(graph.processgraphid, executor.prvkey)
    second = pc.submit_workflow(workflow, executor.prvkey)
    pc.remove_all_processgraphs(live.colonyname, live.colony.prvkey)  # no state: WAITING
    with pytest.raises(Exception, match="graph is nil"):
        pc.get_processgraph(second.processgraphid, executor.prvkey)
