"""The official Python SDK (pycolonies, from PyPI) drives our server as an independent client."""

from __future__ import annotations

import threading
from pathlib import Path

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


# --- pycolonies' calls for colonies, users, functions, logs, attributes, crons, generators ---


def test_users_and_lookups(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    alice = Identity(crypto.generate_private_key())
    user = {"colonyname": live.colonyname, "userid": alice.id, "name": "alice", "email": "a@x"}
    assert pc.add_user(user, live.colony.prvkey)["name"] == "alice"
    assert [u["name"] for u in pc.get_users(live.colonyname, alice.prvkey)] == ["alice"]
    assert pc.get_colony(live.colonyname, alice.prvkey)["name"] == live.colonyname
    assert pc.get_executor(live.colonyname, "py-1", alice.prvkey)["executorid"] == executor.id
    pc.remove_user(live.colonyname, "alice", live.colony.prvkey)
    with pytest.raises(Exception, match="Access denied"):
        pc.get_users(live.colonyname, alice.prvkey)


def test_functions_logs_and_attributes(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    function = pc.add_function(live.colonyname, "py-1", "add", executor.prvkey)
    assert function["funcname"] == "add"
    by_colony = pc.get_functions_by_colony(live.colonyname, executor.prvkey)
    by_executor = pc.get_functions_by_executor(live.colonyname, "py-1", executor.prvkey)
    assert [f["funcname"] for f in by_colony] == [f["funcname"] for f in by_executor] == ["add"]

    spec = pycolonies.func_spec(func="add", args=[1], colonyname=live.colonyname, executortype="py")
    submitted = pc.submit_func_spec(spec, executor.prvkey)
    process = pc.assign(live.colonyname, 5, executor.prvkey)
    pc.add_log(process.processid, "adding\n", executor.prvkey)
    attribute = pc.add_attribute(process.processid, "progress", "50%", executor.prvkey)
    assert pc.get_attribute(attribute["attributeid"], executor.prvkey)["value"] == "50%"
    logs = pc.get_process_log(live.colonyname, process.processid, 10, 0, executor.prvkey)
    assert [entry["message"] for entry in logs] == ["adding\n"]
    by_executor_logs = pc.get_executor_log(live.colonyname, "py-1", 10, 0, executor.prvkey)
    assert [entry["message"] for entry in by_executor_logs] == ["adding\n"]
    pc.close(process.processid, [1], executor.prvkey)

    pc.remove_process(submitted.processid, executor.prvkey)
    with pytest.raises(Exception, match="not found"):
        pc.get_process(submitted.processid, executor.prvkey)
    pc.submit_func_spec(spec, executor.prvkey)
    pc.remove_all_processes(live.colonyname, live.colony.prvkey)
    assert pc.list_processes(live.colonyname, 10, 0, executor.prvkey) == []


def test_crons_and_generators(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    executor = _executor(pc, live, "py-1")
    workflow = pycolonies.Workflow(
        colonyname=live.colonyname,
        functionspecs=[
            pycolonies.func_spec(
                func="tick", args=[], colonyname=live.colonyname, executortype="py"
            )
        ],
    )
    cron = pc.add_cron("nightly", "0 0 3 * * *", False, workflow, live.colonyname, executor.prvkey)
    assert pc.get_cron(cron["cronid"], executor.prvkey)["name"] == "nightly"
    assert [c["cronid"] for c in pc.get_crons(live.colonyname, 10, executor.prvkey)] == [
        cron["cronid"]
    ]
    pc.run_cron(cron["cronid"], executor.prvkey)
    started = pc.assign(live.colonyname, 5, executor.prvkey)
    assert started.spec.funcname == "tick"
    graph = started.processgraphid
    in_graph = pc.get_processes_for_workflow(graph, live.colonyname, executor.prvkey)
    assert [p["processid"] for p in in_graph] == [started.processid]
    pc.del_cron(cron["cronid"], executor.prvkey)
    assert pc.get_crons(live.colonyname, 10, executor.prvkey) == []

    generator = {
        "colonyname": live.colonyname,
        "name": "batcher",
        "workflowspec": workflow.model_dump_json(),
        "trigger": 10,
        "timeout": -1,
    }
    added = pc.add_generator(generator, executor.prvkey)
    assert pc.get_generator(added["generatorid"], executor.prvkey)["name"] == "batcher"
    names = [g["name"] for g in pc.get_generators(live.colonyname, executor.prvkey)]
    assert names == ["batcher"]
    pc.remove_generator(added["generatorid"], executor.prvkey)
    assert not pc.get_generators(live.colonyname, executor.prvkey)


def test_every_public_pycolonies_method_is_exercised_in_this_file() -> None:
    """All 77 public methods of pycolonies.Colonies are called by a test here against our server."""
    import inspect
    from pathlib import Path

    methods = [
        name
        for name, _ in inspect.getmembers(pycolonies.Colonies, inspect.isfunction)
        if not name.startswith("_")
    ]
    assert len(methods) == 77
    source = Path(__file__).read_text()
    unexercised = [m for m in methods if f".{m}(" not in source and m not in NOT_CALLABLE_HERE]
    assert unexercised == []


# ``sync`` calls a C library built from the Go source (libcfslib.so, via ctypes) that is not on
# PyPI; our ``colonies fs sync`` and ``Client.sync`` do the same with the messages it sends.
NOT_CALLABLE_HERE = {"sync"}


# --- channels (spec §4.10): pycolonies' channel calls against our server ---------------------


def test_channels(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    """pycolonies sends payloads as lists of byte values and reads base64 back; its
    subscription returns everything up to the server's timeout frame."""
    from colonies.client import Client
    from colonies.model import Conditions, FunctionSpec

    submitter = _executor(pc, live, "py-submitter", "submitter")
    worker = _executor(pc, live, "py-worker")
    spec = FunctionSpec(
        funcname="stream",
        conditions=Conditions(colonyname=live.colonyname, executortype="py"),
        channels=["out"],
    )
    with Client(live.url, submitter.prvkey) as client:  # pycolonies' FuncSpec has no channels
        processid = client.submit(spec).processid
    assert pc.assign(live.colonyname, 5, worker.prvkey).processid == processid

    pc.channel_append(processid, "out", 1, "hello", worker.prvkey)
    pc.channel_append(processid, "out", 2, b"\x00\x01", worker.prvkey, in_reply_to=1)
    pc.channel_append(processid, "out", 1, "ack", submitter.prvkey, payload_type="end")
    entries = pc.channel_read(processid, "out", 0, 0, submitter.prvkey)
    assert [(e["sequence"], e["payload"], e.get("type")) for e in entries] == [
        (1, b"hello", "data"),
        (2, b"\x00\x01", "data"),
        (1, b"ack", "end"),
    ]
    assert entries[1]["inreplyto"] == 1 and entries[0]["senderid"] == worker.id
    assert [e["sequence"] for e in pc.channel_read(processid, "out", 1, 1, worker.prvkey)] == [2]

    streamed = pc.subscribe_channel(processid, "out", worker.prvkey, after_seq=1, timeout=1)
    assert [e["payload"] for e in streamed] == [b"\x00\x01", b"ack"]
    batches: list[int] = []
    stop_after_first = lambda got: batches.append(len(got)) or False  # noqa: E731
    pc.subscribe_channel(processid, "out", submitter.prvkey, timeout=30, callback=stop_after_first)
    assert batches == [3]  # the backlog in one frame; returning False ends the subscription

    stranger = _executor(pc, live, "py-stranger")
    with pytest.raises(Exception, match="Not authorized to read from channel"):
        pc.channel_read(processid, "out", 0, 0, stranger.prvkey)
    with pytest.raises(Exception, match="Not authorized to subscribe to channel"):
        pc.subscribe_channel(processid, "out", stranger.prvkey, timeout=1)


# --- blueprints (spec §4.11): pycolonies' blueprint calls against our server -----------------


def test_blueprints(pc, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    member = _executor(pc, live, "py-bp")
    definition = {
        "kind": "BlueprintDefinition",
        "metadata": {"name": "caches", "colonyname": live.colonyname},
        "spec": {
            "group": "example.io",
            "version": "v1",
            "names": {"kind": "Cache", "plural": "caches"},
            "scope": "Namespaced",
            "schema": {"type": "object", "properties": {"size": {"type": "number"}}},
            "handler": {"executorType": "cache-reconciler", "functionName": "reconcile"},
        },
    }
    added = pc.add_blueprint_definition(definition, live.colony.prvkey)
    assert added["spec"]["handler"]["executorType"] == "cache-reconciler"
    assert pc.get_blueprint_definition(live.colonyname, "caches", member.prvkey) == added
    assert pc.get_blueprint_definitions(live.colonyname, member.prvkey) == [added]

    blueprint = {
        "kind": "Cache",
        "metadata": {"name": "c1", "colonyname": live.colonyname, "locationname": "lab"},
        "spec": {"size": 1},
    }
    created = pc.add_blueprint(blueprint, member.prvkey)
    assert created["metadata"]["name"] == "c1" and len(created["blueprintid"]) == 64
    assert pc.get_blueprint(live.colonyname, "c1", member.prvkey) == created
    assert [b["metadata"]["name"] for b in pc.get_blueprints(live.colonyname, member.prvkey)] == [
        "c1"
    ]
    assert pc.get_blueprints(live.colonyname, member.prvkey, kind="Cache", location="LAB")
    assert pc.get_blueprints(live.colonyname, member.prvkey, kind="Other") == []
    with pytest.raises(Exception, match="must be a number"):
        pc.add_blueprint({**blueprint, "spec": {"size": "big"}}, member.prvkey)

    blueprint["spec"] = {"size": 2}
    assert pc.update_blueprint(blueprint, member.prvkey)["metadata"]["generation"] == 1
    forced = pc.update_blueprint(blueprint, member.prvkey, force_generation=True)
    assert forced["metadata"]["generation"] == 2
    pc.update_blueprint_status(live.colonyname, "c1", {"ready": True}, member.prvkey)
    assert pc.get_blueprint(live.colonyname, "c1", member.prvkey)["status"] == {"ready": True}
    history = pc.get_blueprint_history(created["blueprintid"], member.prvkey)
    assert [h["changetype"] for h in history] == ["update", "update", "create"]
    assert len(pc.get_blueprint_history(created["blueprintid"], member.prvkey, limit=1)) == 1

    process = pc.reconcile_blueprint(live.colonyname, "c1", member.prvkey, force=True)
    assert process["spec"]["kwargs"] == {"blueprintName": "c1", "force": True, "kind": "Cache"}
    assert process["spec"]["conditions"]["executortype"] == "cache-reconciler"

    pc.remove_blueprint(live.colonyname, "c1", member.prvkey)
    with pytest.raises(Exception, match="Blueprint not found"):
        pc.get_blueprint(live.colonyname, "c1", member.prvkey)
    pc.remove_blueprint_definition(live.colonyname, "caches", live.colony.prvkey)
    assert pc.get_blueprint_definitions(live.colonyname, member.prvkey) == []


# --- files and snapshots (ColonyFS, spec §4.9): pycolonies' file calls against our server ----
# pycolonies moves the bytes itself with boto3, configured by the AWS_S3_* variables; here they
# name moto's S3 server. What pycolonies uploads our SDK downloads, and the other way round.


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from s3server import moto_server

    with moto_server() as server:
        env = server.env()
        env["AWS_S3_REGION"] = "us-east-1"
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("COLONIES_FS_DIR", raising=False)
        yield server


def test_files_and_snapshots(pc, live: LiveServer, s3_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from colonies.client import Client

    member = _executor(pc, live, "py-fs")
    colony, key = live.colonyname, member.prvkey
    source = tmp_path / "hello.txt"
    source.write_text("hello from pycolonies")
    added = pc.upload_file(colony, key, filepath=str(source), label="/py")
    assert added["name"] == "hello.txt" and added["size"] == 21 and len(added["fileid"]) == 64
    pc.upload_data(colony, key, filename="data.bin", data=b"\x01\x02", label="/py")
    assert pc.get_file(colony, key, label="/py", filename="hello.txt")[0] == added
    assert pc.get_file(colony, key, fileid=added["fileid"])[0]["name"] == "hello.txt"
    assert {f["name"] for f in pc.get_files("/py", colony, key)} == {"hello.txt", "data.bin"}
    assert pc.get_file_labels(colony, key) == [{"name": "/py", "files": 2}]
    assert pc.get_file_labels(colony, key, name="/p", exact=False)[0]["name"] == "/py"
    out = pc.download_file(
        colony, key, dst=str(tmp_path / "out"), label="/py", filename="hello.txt"
    )
    assert Path(out).read_text() == "hello from pycolonies"
    assert pc.download_data(colony, key, label="/py", filename="data.bin") == b"\x01\x02"

    with Client(live.url, key) as ours:  # pycolonies' upload, our download; and back
        assert ours.download_data(colony, fileid=added["fileid"]) == b"hello from pycolonies"
        mine = ours.upload_data(colony, "ours.txt", b"from colonies", "/py")
    assert pc.download_data(colony, key, fileid=mine.fileid) == b"from colonies"

    snapshot = pc.create_snapshot(colony, "/py", "py-snap", key)
    assert snapshot["name"] == "py-snap" and len(snapshot["fileids"]) == 3
    assert pc.get_snapshot_by_id(colony, snapshot["snapshotid"], key) == snapshot
    assert pc.get_snapshot_by_name(colony, "py-snap", key) == snapshot
    assert [s["name"] for s in pc.get_snapshots(colony, key)] == ["py-snap"]

    pc.delete_file(colony, key, label="/py", filename="hello.txt")
    with pytest.raises(Exception, match="Failed to get file"):
        pc.get_file(colony, key, label="/py", filename="hello.txt")
    assert {f["name"] for f in pc.get_files("/py", colony, key)} == {"data.bin", "ours.txt"}
