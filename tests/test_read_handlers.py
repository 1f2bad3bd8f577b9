"""What the read messages answer, not only that they answer: history, process lists and their
filters, logs and log search, users, locations, pause status, statistics, functions,
attributes and executors (spec §4.2-4.7, §4.12)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from colonies import crypto, rpc
from colonies.client import Client
from colonies.errors import ServerError
from colonies.model import (
    Attribute,
    AttributeType,
    Colony,
    Conditions,
    Executor,
    ExecutorState,
    Function,
    FunctionSpec,
    Process,
    ProcessState,
    User,
)
from conftest import Identity, LiveServer, add_executor, post


def call(live: LiveServer, key: Identity, msgtype: str, **fields: Any) -> Any:
    """One signed RPC that must succeed; its decoded payload."""
    reply = post(live, rpc.build_request({"msgtype": msgtype, **fields}, key.prvkey))
    assert reply.status_code == 200, reply.text
    envelope = reply.json()
    return json.loads(base64.b64decode(envelope["payload"])) if envelope["payload"] else None


def spec(
    funcname: str = "f", executortype: str = "t", label: str = "", priority: int = 0
) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        label=label,
        priority=priority,
        conditions=Conditions(colonyname="dev", executortype=executortype),
    )


def ids(processes: list[Process]) -> list[str]:
    return [p.processid for p in processes]


class World:
    """Colony "dev" with executors alpha (type t) and beta (type u), and a user alice."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.alpha = add_executor(live, "alpha", "t")
        self.beta = add_executor(live, "beta", "u")
        self.alice = Identity(crypto.generate_private_key())
        self.owner = Client(live.url, live.colony.prvkey)
        self.owner.add_user(User(colonyname="dev", userid=self.alice.id, name="alice"))
        self.a = Client(live.url, self.alpha.prvkey)
        self.b = Client(live.url, self.beta.prvkey)
        self.u = Client(live.url, self.alice.prvkey)

    def run(self, client: Client, executortype: str = "t", **kw: Any) -> Process:
        """Submit (as alice) a process and have ``client`` take it; the RUNNING process."""
        submitted = self.u.submit(spec(executortype=executortype, **kw))
        process = client.assign("dev", timeout=-1)
        assert process.processid == submitted.processid
        return process

    def other_colony(self) -> Identity:
        """Colony "other" with an approved executor "x" of type t; x's key."""
        other, key = (
            Identity(crypto.generate_private_key()),
            Identity(crypto.generate_private_key()),
        )
        with Client(self.live.url, self.live.server.prvkey) as server:
            server.add_colony(Colony(colonyid=other.id, name="other"))
        with Client(self.live.url, other.prvkey) as owner:
            owner.add_executor(
                Executor(executorid=key.id, executortype="t", executorname="x", colonyname="other")
            )
            owner.approve_executor("other", "x")
        return key

    def close(self) -> None:
        for client in (self.owner, self.a, self.b, self.u):
            client.close_transport()


@pytest.fixture
def world(live: LiveServer) -> Any:
    w = World(live)
    yield w
    w.close()


# --- processes ------------------------------------------------------------------------------


def test_process_history_by_state_executor_and_age(world: World) -> None:
    done_a = world.run(world.a)
    world.a.close(done_a.processid, ["a"])
    failed_a = world.run(world.a)
    world.a.fail(failed_a.processid, ["no"])
    done_b = world.run(world.b, executortype="u")
    world.b.close(done_b.processid, ["b"])
    waiting = world.u.submit(spec())
    u = world.u
    assert ids(u.process_history("dev", ProcessState.SUCCESS, 60)) == [
        done_a.processid,
        done_b.processid,
    ]  # oldest submission first
    assert ids(u.process_history("dev", ProcessState.FAILED, 60)) == [failed_a.processid]
    assert ids(u.process_history("dev", ProcessState.WAITING, 60)) == [waiting.processid]
    assert u.process_history("dev", ProcessState.RUNNING, 60) == []
    by_beta = u.process_history("dev", ProcessState.SUCCESS, 60, world.beta.id)
    assert ids(by_beta) == [done_b.processid] and by_beta[0].output == ["b"]
    assert u.process_history("dev", ProcessState.FAILED, 60, world.beta.id) == []
    # seconds=0: only processes submitted from now on, so none of these
    assert u.process_history("dev", ProcessState.SUCCESS, 0) == []


def test_process_lists_filter_and_order(world: World) -> None:
    low = world.u.submit(spec(label="batch", priority=1))
    high = world.u.submit(spec(label="batch", priority=5))
    other_type = world.u.submit(spec(executortype="u"))
    by_alpha = world.a.submit(spec(label="mine"))
    u = world.u
    assert ids(u.get_processes("dev", ProcessState.WAITING)) == [
        high.processid,  # highest priority first, then by submission
        low.processid,
        other_type.processid,
        by_alpha.processid,
    ]
    assert ids(u.get_processes("dev", ProcessState.WAITING, count=2)) == [
        high.processid,
        low.processid,
    ]
    assert ids(u.get_processes("dev", ProcessState.WAITING, executortype="u")) == [
        other_type.processid
    ]
    assert ids(u.get_processes("dev", ProcessState.WAITING, label="batch")) == [
        high.processid,
        low.processid,
    ]
    # initiator is a user's name: alice submitted all but the one alpha did
    assert by_alpha.processid not in ids(
        u.get_processes("dev", ProcessState.WAITING, initiator="alice")
    )
    assert len(u.get_processes("dev", ProcessState.WAITING, initiator="alice")) == 3
    assert u.get_processes("dev", ProcessState.RUNNING) == []
    started_first = world.a.assign("dev", timeout=-1)
    started_second = world.a.assign("dev", timeout=-1)
    assert ids(u.get_processes("dev", ProcessState.RUNNING)) == [
        started_first.processid,  # oldest start first
        started_second.processid,
    ]
    world.a.close(started_first.processid, [])
    world.a.close(started_second.processid, [])
    assert ids(u.get_processes("dev", ProcessState.SUCCESS)) == [
        started_second.processid,  # latest end first
        started_first.processid,
    ]


def test_a_process_reads_back_as_submitted(world: World) -> None:
    submitted = world.u.submit(spec(funcname="echo", label="l", priority=3))
    got = world.a.get_process(submitted.processid)
    assert got.spec.funcname == "echo" and got.spec.label == "l" and got.spec.priority == 3
    assert got.initiatorid == world.alice.id and got.initiatorname == "alice"
    assert got.state == ProcessState.WAITING and got.isassigned is False


# --- logs -----------------------------------------------------------------------------------


def test_process_logs_in_order_with_count_since_and_latest(world: World) -> None:
    process = world.run(world.a)
    for i in range(5):
        world.a.add_log(process.processid, f"line {i}")
    other = world.run(world.a)
    world.a.add_log(other.processid, "other process")
    logs = world.u.get_logs("dev", processid=process.processid)
    assert [log.message for log in logs] == [f"line {i}" for i in range(5)]
    assert {(log.processid, log.colonyname, log.executorname) for log in logs} == {
        (process.processid, "dev", "alpha")
    }
    assert [log.timestamp for log in logs] == sorted(log.timestamp for log in logs)
    first_two = world.u.get_logs("dev", processid=process.processid, count=2)
    assert [log.message for log in first_two] == ["line 0", "line 1"]
    last_two = world.u.get_logs("dev", processid=process.processid, count=2, latest=True)
    assert [log.message for log in last_two] == ["line 3", "line 4"]  # still oldest first
    after = world.u.get_logs("dev", processid=process.processid, since=logs[2].timestamp)
    assert [log.message for log in after] == ["line 3", "line 4"]  # strictly after
    assert world.u.get_logs("dev", processid=process.processid, count=0) == []


def test_executor_logs_are_the_executors_own(world: World) -> None:
    world.a.add_executor_log("dev", "alpha", "alpha starting")
    world.b.add_executor_log("dev", "beta", "beta starting")
    world.a.add_executor_log("dev", "alpha", "alpha ready")
    logs = world.u.get_logs("dev", executorname="alpha")
    assert [(log.message, log.executorname, log.processid) for log in logs] == [
        ("alpha starting", "alpha", ""),
        ("alpha ready", "alpha", ""),
    ]
    assert [log.message for log in world.u.get_logs("dev", executorname="beta")] == [
        "beta starting"
    ]


def test_log_search_matches_text_in_the_colony(world: World) -> None:
    process = world.run(world.a)
    world.a.add_log(process.processid, "disk FULL on node 3")
    world.a.add_log(process.processid, "all good")
    world.a.add_executor_log("dev", "alpha", "node 3 rebooted")
    with Client(world.live.url, world.other_colony().prvkey) as outsider:
        outsider.add_executor_log("other", "x", "node 3 in the other colony")
    search = {"colonyname": "dev", "days": 1, "count": 10}
    found = call(world.live, world.alice, "searchlogsmsg", text="node 3", **search)
    assert [(f["message"], f["processid"]) for f in found] == [
        ("disk FULL on node 3", process.processid),
        ("node 3 rebooted", ""),
    ]
    assert call(world.live, world.alice, "searchlogsmsg", text="full", **search) in ([], None)
    limited = call(world.live, world.alice, "searchlogsmsg", text="o", **{**search, "count": 1})
    assert [f["message"] for f in limited] == ["disk FULL on node 3"]
    none = call(world.live, world.alice, "searchlogsmsg", text="node", **{**search, "days": 0})
    assert none in ([], None)  # days=0: only logs from now on


# --- users, locations, pause status ---------------------------------------------------------


def test_users_read_back(world: World) -> None:
    bob = Identity(crypto.generate_private_key())
    world.owner.add_user(
        User(colonyname="dev", userid=bob.id, name="bob", email="b@x.org", phone="123")
    )
    users = world.a.get_users("dev")
    assert [(u.name, u.userid) for u in users] == [("alice", world.alice.id), ("bob", bob.id)]
    got = world.a.get_user("dev", "bob")
    assert (got.userid, got.email, got.phone, got.colonyname) == (bob.id, "b@x.org", "123", "dev")
    by_id = call(world.live, world.alpha, "getuserbyidmsg", colonyname="dev", userid=bob.id)
    assert by_id["name"] == "bob"
    with pytest.raises(ServerError):
        world.a.get_user("dev", "carol")
    world.owner.remove_user("dev", "bob")
    assert [u.name for u in world.a.get_users("dev")] == ["alice"]


def test_locations_read_back(world: World) -> None:
    for name, lon, lat in (("lab", 18.07, 59.33), ("attic", 11.97, 57.71)):
        location = {"colonyname": "dev", "name": name, "description": f"the {name}"}
        call(
            world.live,
            world.live.colony,
            "addlocationmsg",
            location={**location, "long": lon, "lat": lat},
        )
    listed = call(world.live, world.alpha, "getlocationsmsg", colonyname="dev")
    assert [(loc["name"], loc["description"]) for loc in listed] == [
        ("attic", "the attic"),
        ("lab", "the lab"),
    ]
    lab = call(world.live, world.alice, "getlocationmsg", colonyname="dev", name="lab")
    assert (lab["name"], lab["long"], lab["lat"], lab["colonyname"]) == ("lab", 18.07, 59.33, "dev")
    missing = post(
        world.live,
        rpc.build_request(
            {"msgtype": "getlocationmsg", "colonyname": "dev", "name": "cellar"},
            world.alpha.prvkey,
        ),
    )
    assert missing.status_code == 404
    call(world.live, world.live.colony, "removelocationmsg", colonyname="dev", name="lab")
    listed = call(world.live, world.alpha, "getlocationsmsg", colonyname="dev")
    assert [loc["name"] for loc in listed] == ["attic"]


def test_pause_status_follows_pause_and_resume(world: World) -> None:
    def status() -> Any:
        return call(world.live, world.alpha, "getpausestatusmsg", colonyname="dev")

    expected = {"msgtype": "pausestatusreplymsg", "colonyname": "dev"}
    assert status() == {**expected, "ispaused": False}
    call(world.live, world.live.colony, "pauseassignmentsmsg", colonyname="dev")
    assert status() == {**expected, "ispaused": True}
    call(world.live, world.live.colony, "resumeassignmentsmsg", colonyname="dev")
    assert status() == {**expected, "ispaused": False}


# --- colonies -------------------------------------------------------------------------------


def test_colonies_read_back(world: World) -> None:
    colony = world.u.get_colony("dev")
    assert (colony.name, colony.colonyid) == ("dev", world.live.colony.id)
    unknown = post(
        world.live,
        rpc.build_request({"msgtype": "getcolonymsg", "colonyname": "nope"}, world.alice.prvkey),
    )
    assert unknown.status_code == 403
    world.other_colony()
    with Client(world.live.url, world.live.server.prvkey) as server:
        assert [c.name for c in server.get_colonies()] == ["dev", "other"]


# --- statistics -----------------------------------------------------------------------------


def test_colony_and_server_statistics_count_by_state(world: World) -> None:
    ok = world.run(world.a)
    world.a.close(ok.processid, [])
    bad = world.run(world.a)
    world.a.fail(bad.processid, ["x"])
    world.run(world.a)  # stays RUNNING
    cancelled = world.u.submit(spec())
    world.u.cancel(cancelled.processid)
    world.u.submit(spec())
    world.u.submit(spec())
    add_executor(world.live, "pending", approve=False)
    add_executor(world.live, "gone")
    world.owner.remove_executor("dev", "gone")
    stats = world.u.colony_statistics("dev")
    assert (
        stats.colonies,
        stats.waitingprocesses,
        stats.runningprocesses,
        stats.successfulprocesses,
        stats.failedprocesses,
        stats.cancelledprocesses,
    ) == (1, 2, 1, 1, 1, 1)
    # alpha, beta, pending, gone: two approved (active), one unregistered
    assert (stats.executors, stats.activeexecutors, stats.unregisteredexecutors) == (4, 2, 1)
    # a second colony with one waiting process: the server counts both
    with Client(world.live.url, world.other_colony().prvkey) as member:
        member.submit(
            FunctionSpec(funcname="f", conditions=Conditions(colonyname="other", executortype="t"))
        )
    with Client(world.live.url, world.live.server.prvkey) as server:
        total = server.statistics()
    assert (total.colonies, total.waitingprocesses, total.runningprocesses) == (2, 3, 1)
    assert (total.executors, total.activeexecutors) == (5, 3)
    assert world.u.colony_statistics("dev").waitingprocesses == 2  # unchanged by the other


# --- functions, attributes, executors ------------------------------------------------------


def test_functions_by_colony_and_executor(world: World) -> None:
    world.a.add_function(Function(executorname="alpha", colonyname="dev", funcname="f1"))
    world.a.add_function(Function(executorname="alpha", colonyname="dev", funcname="f2"))
    world.b.add_function(Function(executorname="beta", colonyname="dev", funcname="g"))
    everything = world.u.get_functions("dev")
    assert sorted((f.executorname, f.funcname) for f in everything) == [
        ("alpha", "f1"),
        ("alpha", "f2"),
        ("beta", "g"),
    ]
    assert [f.funcname for f in world.u.get_functions("dev", "beta")] == ["g"]


def test_attributes_read_back(world: World) -> None:
    process = world.run(world.a)
    added = world.a.add_attribute(
        Attribute(
            targetid=process.processid,
            key="result",
            value="42",
            attributetype=AttributeType.OUT,
        )
    )
    got = world.u.get_attribute(added.attributeid)
    assert (got.targetid, got.key, got.value, got.attributetype, got.targetcolonyname) == (
        process.processid,
        "result",
        "42",
        AttributeType.OUT,
        "dev",
    )
    assert [(a.key, a.value) for a in world.u.get_process(process.processid).attributes] == [
        ("result", "42")
    ]


def test_executors_read_back(world: World) -> None:
    add_executor(world.live, "pending", approve=False)
    listed = world.u.get_executors("dev")
    assert [(e.executorname, e.executortype, e.state) for e in listed] == [
        ("alpha", "t", ExecutorState.APPROVED),
        ("beta", "u", ExecutorState.APPROVED),
        ("pending", "test", ExecutorState.PENDING),
    ]
    by_name = world.u.get_executor("dev", "beta")
    assert (by_name.executorid, by_name.colonyname) == (world.beta.id, "dev")
    by_id = world.u.get_executor_by_id("dev", world.alpha.id)
    assert by_id.executorname == "alpha"
