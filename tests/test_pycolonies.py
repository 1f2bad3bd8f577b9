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
