"""The SQLite store on its own: every method's contract, and the statistics counters."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from colonies.model import (
    Attribute,
    Colony,
    Conditions,
    Executor,
    ExecutorState,
    Function,
    FunctionSpec,
    Location,
    Log,
    Process,
    ProcessState,
    User,
)
from colonies.store.base import AlreadyExists, ExecutorCounts, ProcessCounts, ProcessUpdate
from colonies.store.sqlite import SQLiteStore
from colonies.timeutil import format_ns, now_ns
from colonies.units import UNLIMITED


def process(i: int, colony: str = "dev") -> Process:
    return Process(
        processid=f"{i:064x}",
        prioritytime=i,
        spec=FunctionSpec(funcname="f", conditions=Conditions(colonyname=colony, executortype="t")),
    )


def counted(db: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(db) as raw:
        return sorted(
            raw.execute(
                "SELECT colonyname, state, count(*) FROM processes GROUP BY 1, 2"
            ).fetchall()
        )


async def test_counters_follow_every_change(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store = SQLiteStore(db)
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    for i in range(6):
        await store.add_process(process(i), cpu=0, memory=0)
    await store.add_process(process(99, "other"), cpu=0, memory=0)
    executor = Executor(
        executorid="b" * 64,
        executorname="e",
        executortype="t",
        colonyname="dev",
        state=ExecutorState.APPROVED,
    )
    await store.add_executor(executor)  # assign claims only for an approved executor
    first = await store.assign(executor, now_ns(), cpu=10**9, memory=10**12)
    second = await store.assign(executor, now_ns(), cpu=10**9, memory=10**12)
    assert first and second
    await store.update_process(first.processid, ProcessUpdate(state=2), states=[1])
    await store.remove_process(f"{5:064x}")
    counts = await store.count_processes("dev")
    assert (counts.waiting, counts.running, counts.successful) == (3, 1, 1)
    assert (await store.count_processes(None)).waiting == 4
    await store.remove_processes("dev", -1)
    assert (await store.count_processes("dev")).waiting == 0
    assert (await store.count_processes(None)).waiting == 1
    await store.close()


async def test_counters_are_built_for_an_older_database(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = SQLiteStore(db)
    for i in range(4):
        await store.add_process(process(i), cpu=0, memory=0)
    await store.close()
    with sqlite3.connect(db) as raw:  # as a database made before the counters existed
        raw.executescript(
            "DROP TABLE process_counts; DROP TRIGGER process_counts_insert;"
            "DROP TRIGGER process_counts_delete; DROP TRIGGER process_counts_update;"
        )
    reopened = SQLiteStore(db)
    assert (await reopened.count_processes("dev")).waiting == 4 == counted(db)[0][2]
    await reopened.close()


# --- the store's contracts, one statement at a time (fast: these kill most store mutants) ---

NS = 10**9


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "s.db")
    await s.add_colony(Colony(colonyid="a" * 64, name="dev"))
    yield s
    await s.close()


def pid(i: int) -> str:
    return f"{i:064x}"


def make(
    i: int,
    *,
    colony: str = "dev",
    executortype: str = "t",
    names: list[str] | None = None,
    location: str = "",
    maxexectime: int = 0,
    state: int = ProcessState.WAITING,
    waitforparents: bool = False,
    graph: str = "",
    **fields: Any,
) -> Process:
    return Process(
        processid=pid(i),
        prioritytime=i,
        state=state,
        waitforparents=waitforparents,
        processgraphid=graph,
        spec=FunctionSpec(
            funcname=f"f{i}",
            maxexectime=maxexectime,
            conditions=Conditions(
                colonyname=colony,
                executortype=executortype,
                executornames=names or [],
                locationname=location,
            ),
        ),
        **fields,
    )


async def approved(
    store: SQLiteStore, name: str = "e", executortype: str = "t", location: str = ""
) -> Executor:
    executor = Executor(
        executorid=name.encode().hex().ljust(64, "0"),
        executorname=name,
        executortype=executortype,
        colonyname="dev",
        locationname=location,
        state=ExecutorState.APPROVED,
    )
    await store.add_executor(executor)
    return executor


async def claim(store: SQLiteStore, executor: Executor, now: int = 5 * NS) -> str | None:
    process = await store.assign(executor, now, cpu=UNLIMITED, memory=UNLIMITED)
    return process.processid if process else None


async def test_server_id_is_set_and_replaced(store: SQLiteStore) -> None:
    assert await store.get_server_id() == ""
    await store.set_server_id("first")
    await store.set_server_id("second")
    assert await store.get_server_id() == "second"


async def test_colonies_are_unique_and_paused_per_colony(store: SQLiteStore) -> None:
    with pytest.raises(AlreadyExists, match=r"^A Colony with name dev already exists$"):
        await store.add_colony(Colony(colonyid="b" * 64, name="dev"))
    await store.add_colony(Colony(colonyid="c" * 64, name="alpha"))
    assert await store.get_colony("dev") == Colony(colonyid="a" * 64, name="dev")
    assert await store.get_colony("nope") is None
    assert {(c.name, c.colonyid) for c in await store.get_colonies()} == {
        ("dev", "a" * 64),
        ("alpha", "c" * 64),
    }
    assert await store.is_paused("dev") is False
    await store.set_paused("dev", True)
    assert (await store.is_paused("dev"), await store.is_paused("alpha")) == (True, False)
    await store.set_paused("dev", False)
    assert await store.is_paused("dev") is False
    assert await store.is_paused("nope") is False


async def test_removing_a_colony_removes_everything_in_it(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for colony in ("dev", "other"):
        process = make(1 if colony == "dev" else 2, colony=colony)
        process.attributes = [
            Attribute(attributeid=f"attr-{colony}", targetid=process.processid, key="k")
        ]
        await store.add_process(process, cpu=0, memory=0)
        await store.add_executor(
            Executor(executorid=colony[0] * 64, executorname="e", colonyname=colony)
        )
        await store.add_user(User(colonyname=colony, userid=colony[0] * 64, name="u"))
        await store.add_location(Location(colonyname=colony, name="here"))
        await store.add_function(
            Function(functionid=f"fn-{colony}", colonyname=colony, executorname="e", funcname="f")
        )
        await store.add_log(
            Log(processid=process.processid, colonyname=colony, message="m", timestamp=1)
        )
    await store.remove_colony("dev")
    assert await store.get_colony("dev") is None
    assert await store.get_executors("dev") == []
    assert await store.get_users("dev") == []
    assert await store.get_locations("dev") == []
    assert await store.get_process(pid(1)) is None
    assert await store.get_attribute("attr-dev") is None
    assert await store.get_function("fn-dev") is None
    assert await store.get_logs("dev", processid=pid(1), count=10) == []
    # the other colony keeps all of it
    assert await store.get_process(pid(2)) is not None
    assert await store.get_attribute("attr-other") is not None
    assert [e.executorname for e in await store.get_executors("other")] == ["e"]
    assert [u.name for u in await store.get_users("other")] == ["u"]
    assert [loc.name for loc in await store.get_locations("other")] == ["here"]
    assert await store.get_function("fn-other") is not None
    assert len(await store.get_logs("other", processid=pid(2), count=10)) == 1


async def test_executors_are_unique_by_name_unless_replaced(store: SQLiteStore) -> None:
    first = Executor(executorid="1" * 64, executorname="e", executortype="t", colonyname="dev")
    await store.add_executor(first)
    with pytest.raises(AlreadyExists, match=r"^Executor with name e in Colony dev already exists$"):
        await store.add_executor(Executor(executorid="2" * 64, executorname="e", colonyname="dev"))
    second = Executor(executorid="2" * 64, executorname="e", executortype="u", colonyname="dev")
    await store.add_executor(second, replace=True)
    stored = await store.get_executor("dev", "e")
    assert stored is not None and (stored.executorid, stored.executortype) == ("2" * 64, "u")
    assert await store.get_executor("dev", "nope") is None
    await store.set_executor_state("dev", "e", ExecutorState.REJECTED)
    stored = await store.get_executor("dev", "e")
    assert stored is not None and stored.state == ExecutorState.REJECTED


async def test_executor_counts(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for i, (colony, state) in enumerate(
        [
            ("dev", ExecutorState.APPROVED),
            ("dev", ExecutorState.APPROVED),
            ("dev", ExecutorState.PENDING),
            ("dev", ExecutorState.UNREGISTERED),
            ("other", ExecutorState.APPROVED),
        ]
    ):
        await store.add_executor(
            Executor(executorid=f"{i:064x}", executorname=f"e{i}", colonyname=colony, state=state)
        )
    assert await store.count_executors("dev") == ExecutorCounts(4, 2, 1)
    assert await store.count_executors(None) == ExecutorCounts(5, 3, 1)
    assert await store.count_executors("empty") == ExecutorCounts(0, 0, 0)


async def test_users_and_locations(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    await store.add_user(User(colonyname="dev", userid="1" * 64, name="bob", email="b@x"))
    await store.add_user(User(colonyname="other", userid="2" * 64, name="bob"))
    with pytest.raises(AlreadyExists, match=r"^User with name bob in Colony dev already exists$"):
        await store.add_user(User(colonyname="dev", userid="3" * 64, name="bob"))
    bob = await store.get_user("dev", "bob")
    assert bob is not None and (bob.userid, bob.email) == ("1" * 64, "b@x")
    assert await store.get_user("dev", "alice") is None
    by_id = await store.get_user_by_id("dev", "1" * 64)
    assert by_id is not None and by_id.name == "bob"
    assert await store.get_user_by_id("dev", "2" * 64) is None  # that one is in "other"
    await store.remove_user("dev", "bob")
    assert await store.get_users("dev") == []
    assert [u.userid for u in await store.get_users("other")] == ["2" * 64]
    await store.add_location(Location(colonyname="dev", name="lab", description="d"))
    await store.add_location(Location(colonyname="other", name="lab"))
    with pytest.raises(AlreadyExists, match=r"^Location with name lab already exists$"):
        await store.add_location(Location(colonyname="dev", name="lab"))
    lab = await store.get_location("dev", "lab")
    assert lab is not None and lab.description == "d"
    assert await store.get_location("dev", "attic") is None
    await store.remove_location("dev", "lab")
    assert await store.get_locations("dev") == []
    assert len(await store.get_locations("other")) == 1


async def test_a_process_reads_back_as_stored(store: SQLiteStore) -> None:
    process = make(
        7,
        names=["a", "b"],
        location="Lab",
        maxexectime=30,
        waitforparents=True,
        graph="g" * 64,
        starttime=format_ns(4 * NS),
        endtime=format_ns(6 * NS),
        execdeadline=format_ns(8 * NS),
        initiatorid="i" * 64,
        initiatorname="alice",
        submissiontime=format_ns(3 * NS),
        waitdeadline=format_ns(9 * NS),
        retries=2,
        parents=["p"],
        children=["c"],
        input=[1, "x"],
        output=[{"k": "v"}],
        errors=["e"],
    )
    process.spec.label = "lbl"
    process.attributes = [Attribute(attributeid="x1", targetid=pid(7), key="k", value="v")]
    await store.add_process(process, cpu=0, memory=0)
    got = await store.get_process(pid(7))
    assert got is not None
    assert got.to_dict() == process.to_dict()
    assert await store.get_process(pid(8)) is None


async def test_assign_claims_the_oldest_matching_process(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(3), cpu=0, memory=0)
    await store.add_process(make(1), cpu=0, memory=0)
    await store.add_process(make(2), cpu=0, memory=0)
    assert [await claim(store, e) for _ in range(4)] == [pid(1), pid(2), pid(3), None]


async def test_assign_sets_the_running_fields(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1, maxexectime=7), cpu=0, memory=0)
    await store.add_process(make(2), cpu=0, memory=0)
    first = await store.assign(e, 5 * NS, cpu=UNLIMITED, memory=UNLIMITED)
    assert first is not None
    assert (first.state, first.isassigned, first.assignedexecutorid) == (
        ProcessState.RUNNING,
        True,
        e.executorid,
    )
    assert first.starttime == format_ns(5 * NS)
    assert first.execdeadline == format_ns(12 * NS)  # now + maxexectime
    second = await store.assign(e, 6 * NS, cpu=UNLIMITED, memory=UNLIMITED)
    assert second is not None and second.execdeadline == format_ns(0)  # no limit
    stored = await store.get_process(pid(1))
    assert stored is not None and stored.to_dict() == first.to_dict()


async def test_assign_skips_what_the_executor_may_not_take(store: SQLiteStore) -> None:
    e = await approved(store, "e", location="lab")
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for process in (
        make(1, colony="other"),
        make(2, executortype="u"),
        make(3, state=ProcessState.RUNNING),
        make(4, waitforparents=True),
        make(5, names=["someone"]),
        make(6, location="attic"),
    ):
        await store.add_process(process, cpu=0, memory=0)
    assigned = make(7, isassigned=True)
    await store.add_process(assigned, cpu=0, memory=0)
    assert await claim(store, e) is None
    await store.add_process(make(8, names=["someone", "e"], location="LAB"), cpu=0, memory=0)
    assert await claim(store, e) == pid(8)


async def test_assign_respects_free_cpu_and_memory(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1), cpu=1000, memory=2048)
    assert await store.assign(e, NS, cpu=999, memory=4096) is None
    assert await store.assign(e, NS, cpu=2000, memory=2047) is None
    got = await store.assign(e, NS, cpu=1000, memory=2048)
    assert got is not None and got.processid == pid(1)


async def test_update_process_is_a_compare_and_set(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1), cpu=0, memory=0)
    await claim(store, e)
    done = ProcessUpdate(state=ProcessState.SUCCESS, endtime=9 * NS, output=[{"a": [1]}])
    assert await store.update_process(pid(1), done, states=[ProcessState.WAITING]) is None
    assert await store.update_process(pid(1), done, executorid="x" * 64) is None
    updated = await store.update_process(
        pid(1), done, states=[ProcessState.WAITING, ProcessState.RUNNING], executorid=e.executorid
    )
    assert updated is not None
    assert (updated.state, updated.endtime, updated.output) == (
        ProcessState.SUCCESS,
        format_ns(9 * NS),
        [{"a": [1]}],
    )
    failed = await store.update_process(pid(1), ProcessUpdate(errors=["x", "y"]))
    assert failed is not None and failed.errors == ["x", "y"] and failed.output == [{"a": [1]}]
    back = await store.update_process(
        pid(1), ProcessUpdate(isassigned=False, assignedexecutorid="", retries=3)
    )
    assert back is not None and (back.isassigned, back.assignedexecutorid, back.retries) == (
        False,
        "",
        3,
    )
    same = await store.update_process(pid(1), ProcessUpdate())  # nothing to change: a read
    assert same is not None and same.to_dict() == back.to_dict()
    assert await store.update_process(pid(2), ProcessUpdate(state=1)) is None
    stored = await store.get_process(pid(1))
    assert stored is not None and stored.to_dict() == back.to_dict()


async def test_removing_processes(store: SQLiteStore) -> None:
    p = make(1)
    p.attributes = [Attribute(attributeid="a1", targetid=pid(1), key="k")]
    await store.add_process(p, cpu=0, memory=0)
    await store.add_process(make(2), cpu=0, memory=0)
    await store.remove_process(pid(1))
    assert await store.get_process(pid(1)) is None and await store.get_attribute("a1") is None
    assert await store.get_process(pid(2)) is not None
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for process in (
        make(3, state=ProcessState.SUCCESS),
        make(4, state=ProcessState.FAILED),
        make(5, state=ProcessState.SUCCESS, graph="g"),  # a workflow's: kept
        make(6, state=ProcessState.SUCCESS, colony="other"),
    ):
        process.attributes = [Attribute(attributeid=f"a{process.prioritytime}", targetid=pid(3))]
        process.attributes[0].targetid = process.processid
        await store.add_process(process, cpu=0, memory=0)
    await store.remove_processes("dev", ProcessState.SUCCESS)
    left = {i for i in range(2, 7) if await store.get_process(pid(i)) is not None}
    assert left == {2, 4, 5, 6}
    assert await store.get_attribute("a3") is None and await store.get_attribute("a4") is not None
    await store.remove_processes("dev", -1)
    left = {i for i in range(2, 7) if await store.get_process(pid(i)) is not None}
    assert left == {5, 6}
    assert await store.get_attribute("a4") is None and await store.get_attribute("a5") is not None


async def test_expired_processes(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1, maxexectime=1), cpu=0, memory=0)  # RUNNING, due at 2 s
    await store.add_process(make(2, maxexectime=0), cpu=0, memory=0)  # RUNNING, no limit
    await claim(store, e, now=NS)
    await claim(store, e, now=NS)
    for i, deadline in ((4, 3 * NS), (3, 3 * NS), (5, 0)):  # WAITING; 5 has no limit
        await store.add_process(make(i, waitdeadline=format_ns(deadline)), cpu=0, memory=0)
    assert await store.expired_processes(2 * NS, 10) == []  # deadlines are strict
    assert [p.processid for p in await store.expired_processes(2 * NS + 1, 10)] == [pid(1)]
    expired = await store.expired_processes(10 * NS, 10)
    assert [p.processid for p in expired] == [pid(1), pid(3), pid(4)]  # waiting by priority
    assert [p.processid for p in await store.expired_processes(10 * NS, 2)] == [pid(1), pid(3)]


async def test_process_lists(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for process in (
        make(1),
        make(2, executortype="u", initiatorid="i" * 64),
        make(3, initiatorid="i" * 64),
        make(4, colony="other"),
    ):
        process.spec.label = "x" if process.prioritytime in (1, 3) else ""
        await store.add_process(process, cpu=0, memory=0)
    got = await store.get_processes("dev", ProcessState.WAITING, 10)
    assert [p.processid for p in got] == [pid(1), pid(2), pid(3)]
    assert [p.processid for p in await store.get_processes("dev", 0, 2)] == [pid(1), pid(2)]
    assert [p.processid for p in await store.get_processes("dev", 0, 10, executortype="u")] == [
        pid(2)
    ]
    assert [p.processid for p in await store.get_processes("dev", 0, 10, label="x")] == [
        pid(1),
        pid(3),
    ]
    by_initiator = await store.get_processes("dev", 0, 10, initiatorid="i" * 64)
    assert [p.processid for p in by_initiator] == [pid(2), pid(3)]
    both = await store.get_processes("dev", 0, 10, label="x", initiatorid="i" * 64)
    assert [p.processid for p in both] == [pid(3)]
    await claim(store, e, now=9 * NS)  # 1 starts at 9 s
    await claim(store, e, now=8 * NS)  # 3 starts at 8 s
    assert [p.processid for p in await store.get_processes("dev", 1, 10)] == [pid(3), pid(1)]
    for i, end in ((1, 20), (3, 30)):
        await store.update_process(pid(i), ProcessUpdate(state=2, endtime=end * NS))
    assert [p.processid for p in await store.get_processes("dev", 2, 10)] == [pid(3), pid(1)]


async def test_process_history(store: SQLiteStore) -> None:
    e = await approved(store)
    for i, submitted in ((1, 30), (2, 10), (3, 20)):
        await store.add_process(make(i, submissiontime=format_ns(submitted * NS)), cpu=0, memory=0)
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    await store.add_process(
        make(4, colony="other", submissiontime=format_ns(25 * NS)), cpu=0, memory=0
    )
    history = await store.process_history("dev", ProcessState.WAITING, 10 * NS)
    assert [p.processid for p in history] == [pid(2), pid(3), pid(1)]  # by submission
    assert [p.processid for p in await store.process_history("dev", 0, 11 * NS)] == [
        pid(3),
        pid(1),
    ]
    await claim(store, e)  # 1 (lowest priority time)
    assert [p.processid for p in await store.process_history("dev", 1, 0, e.executorid)] == [pid(1)]
    assert await store.process_history("dev", 1, 0, "x" * 64) == []


async def test_attributes_and_functions(store: SQLiteStore) -> None:
    attribute = Attribute(attributeid="a1", targetid=pid(1), key="k", value="v")
    await store.add_attribute(attribute)
    await store.add_attribute(Attribute(attributeid="a1", targetid=pid(1), key="k", value="w"))
    got = await store.get_attribute("a1")
    assert got is not None and got.value == "w"
    assert await store.get_attribute("a2") is None
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for fid, colony, executor, funcname in (
        ("1", "dev", "e1", "f"),
        ("2", "dev", "e2", "g"),
        ("3", "other", "e1", "f"),
    ):
        await store.add_function(
            Function(functionid=fid, colonyname=colony, executorname=executor, funcname=funcname)
        )
    assert {f.functionid for f in await store.get_functions("dev")} == {"1", "2"}
    assert [f.functionid for f in await store.get_functions("dev", "e2")] == ["2"]
    found = await store.find_function("dev", "e1", "f")
    assert found is not None and found.functionid == "1"
    assert await store.find_function("dev", "e1", "g") is None
    assert await store.find_function("dev", "e2", "f") is None
    updated = Function(functionid="1", colonyname="dev", executorname="e1", funcname="f")
    updated.counter = 5
    await store.update_function(updated)
    again = await store.get_function("1")
    assert again is not None and again.counter == 5
    await store.remove_function("1")
    assert await store.get_function("1") is None and await store.get_function("2") is not None


async def test_logs(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    entries = [
        (pid(1), "dev", "e1", 10, "one"),
        (pid(1), "dev", "e1", 10, "two"),  # same time: kept in insertion order
        (pid(1), "dev", "e1", 30, "three"),
        (pid(2), "dev", "e1", 20, "elsewhere"),
        ("", "dev", "e1", 40, "executor says"),
        ("", "dev", "e2", 50, "e2 says"),
        ("", "other", "e1", 60, "other colony says"),
    ]
    for processid, colony, executor, ts, message in entries:
        await store.add_log(
            Log(
                processid=processid,
                colonyname=colony,
                executorname=executor,
                timestamp=ts,
                message=message,
            )
        )

    async def messages(**kw: Any) -> list[str]:
        return [log.message for log in await store.get_logs("dev", **kw)]

    assert await messages(processid=pid(1), count=10) == ["one", "two", "three"]
    assert await messages(processid=pid(1), count=2) == ["one", "two"]
    assert await messages(processid=pid(1), count=2, latest=True) == ["two", "three"]
    assert await messages(processid=pid(1), count=10, since=10) == ["three"]
    assert await messages(executorname="e1", count=10) == [
        "one",
        "two",
        "elsewhere",
        "three",
        "executor says",
    ]
    assert await messages(executorname="e1", count=10, since=30) == ["executor says"]
    one = (await store.get_logs("dev", processid=pid(1), count=1))[0]
    assert one == Log(
        processid=pid(1), colonyname="dev", executorname="e1", message="one", timestamp=10
    )
    found = await store.search_logs("dev", "says", 0, 10)
    assert [log.message for log in found] == ["executor says", "e2 says"]
    assert [log.message for log in await store.search_logs("dev", "says", 40, 10)] == ["e2 says"]
    assert [log.message for log in await store.search_logs("dev", "says", 0, 1)] == [
        "executor says"
    ]
    assert await store.search_logs("dev", "SAYS", 0, 10) == []


async def test_settings_of_the_connection(store: SQLiteStore) -> None:
    """WAL with synchronous=NORMAL (a commit survives a killed server), and usable from another
    thread than the one that opened it (the tests' and uvicorn's threads both use one store)."""
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    colony = await asyncio.to_thread(lambda: asyncio.run(store.get_colony("dev")))
    assert colony is not None and colony.name == "dev"


async def test_a_colony_without_processes_counts_zero(store: SQLiteStore) -> None:
    assert await store.count_processes("dev") == ProcessCounts(0, 0, 0, 0, 0)
    assert await store.count_processes(None) == ProcessCounts(0, 0, 0, 0, 0)


async def test_any_executor_name_means_any_executor(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1, names=["*"]), cpu=0, memory=0)
    assert await claim(store, e) == pid(1)


async def test_removing_only_waiting_processes(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1), cpu=0, memory=0)
    await claim(store, e)  # RUNNING
    await store.add_process(make(2), cpu=0, memory=0)  # WAITING
    await store.add_process(make(3, state=ProcessState.CANCELLED), cpu=0, memory=0)
    await store.remove_processes("dev", ProcessState.WAITING)
    assert [i for i in (1, 2, 3) if await store.get_process(pid(i)) is not None] == [1, 3]


async def test_update_can_require_an_approved_assignee(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.add_process(make(1), cpu=0, memory=0)
    await store.add_process(make(2), cpu=0, memory=0)
    await claim(store, e)
    await claim(store, e)
    output = ProcessUpdate(output=["x"])
    updated = await store.update_process(pid(1), output, executorid=e.executorid, approved=True)
    assert updated is not None and updated.output == ["x"]
    await store.set_executor_state("dev", e.executorname, ExecutorState.REJECTED)
    assert (
        await store.update_process(pid(1), output, executorid=e.executorid, approved=True) is None
    )
    # without approved=True only the assignee is compared
    assert await store.update_process(pid(2), output, executorid=e.executorid) is not None
    assert await store.update_process(pid(2), output, executorid="x" * 64) is None


async def test_executors_by_id_per_colony(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    key = "1" * 64
    for colony, name, state in (
        ("dev", "old", ExecutorState.UNREGISTERED),
        ("dev", "new", ExecutorState.PENDING),
        ("other", "there", ExecutorState.APPROVED),
    ):
        await store.add_executor(
            Executor(
                executorid=key,
                executorname=name,
                colonyname=colony,
                state=state,
                lastheardfromtime=format_ns(7 * NS),
            )
        )
    here = await store.get_executor_by_id("dev", key)
    assert here is not None and here.executorname == "new"  # a live one before an old one
    assert here.lastheardfromtime == format_ns(7 * NS)
    there = await store.get_executor_by_id("other", key)
    assert there is not None and there.executorname == "there"
    assert await store.get_executor_by_id("dev", "2" * 64) is None
    assert await store.get_executor_by_id("empty", key) is None


async def lastheard(store: SQLiteStore, colony: str, name: str) -> str:
    executor = await store.get_executor(colony, name)
    assert executor is not None
    return executor.lastheardfromtime


async def test_mark_alive(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    for colony, name, state in (
        ("dev", "a", ExecutorState.APPROVED),
        ("dev", "gone", ExecutorState.UNREGISTERED),
        ("other", "a", ExecutorState.APPROVED),
    ):
        executorid = ("1" if name == "a" else "2") * 64
        await store.add_executor(
            Executor(executorid=executorid, executorname=name, colonyname=colony, state=state)
        )
    await store.mark_alive("dev", "2" * 64, 5 * NS)  # unregistered: not heard
    assert await lastheard(store, "dev", "gone") == format_ns(0)
    await store.mark_alive("dev", "1" * 64, 5 * NS, refresh=True)  # never polled: no refresh
    assert await lastheard(store, "dev", "a") == format_ns(0)
    await store.mark_alive("dev", "1" * 64, 5 * NS)
    assert await lastheard(store, "dev", "a") == format_ns(5 * NS)
    assert await lastheard(store, "other", "a") == format_ns(0)  # same ID, other colony
    await store.mark_alive("dev", "1" * 64, 6 * NS, refresh=True)
    assert await lastheard(store, "dev", "a") == format_ns(6 * NS)


async def test_stale_executors(store: SQLiteStore) -> None:
    for i, (heard, state) in enumerate(
        [
            (30, ExecutorState.APPROVED),
            (10, ExecutorState.PENDING),
            (0, ExecutorState.APPROVED),  # never heard: not stale
            (5, ExecutorState.UNREGISTERED),  # removed already
            (20, ExecutorState.APPROVED),
            (50, ExecutorState.APPROVED),  # heard recently
        ]
    ):
        await store.add_executor(
            Executor(
                executorid=f"{i:064x}",
                executorname=f"e{i}",
                colonyname="dev",
                state=state,
                lastheardfromtime=format_ns(heard * NS),
            )
        )
    stale = await store.stale_executors(40 * NS, 10)
    assert [e.executorname for e in stale] == ["e1", "e4", "e0"]  # longest silent first
    assert [e.executorname for e in await store.stale_executors(40 * NS, 2)] == ["e1", "e4"]
    assert await store.stale_executors(10 * NS, 10) == []  # strictly before


async def test_unregistering_an_executor(store: SQLiteStore) -> None:
    await store.add_colony(Colony(colonyid="c" * 64, name="other"))
    e = await approved(store)
    twin = Executor(
        executorid=e.executorid,
        executorname="twin",
        executortype="t",
        colonyname="other",
        state=ExecutorState.APPROVED,
    )
    await store.add_executor(twin)
    await store.add_process(make(1), cpu=0, memory=0)
    await store.add_process(make(2), cpu=0, memory=0)
    await store.add_process(make(3), cpu=0, memory=0)
    await store.add_process(make(4, colony="other"), cpu=0, memory=0)
    await claim(store, e)
    await claim(store, e)
    await store.update_process(pid(2), ProcessUpdate(state=ProcessState.SUCCESS))
    await claim(store, twin)
    for colony, name in (("dev", "e"), ("dev", "keep"), ("other", "e")):
        await store.add_function(
            Function(functionid=f"{colony}-{name}", colonyname=colony, executorname=name)
        )
    assert await store.unregister_executor("dev", "e", 9 * NS) == [pid(1)]
    gone = await store.get_executor("dev", "e")
    assert gone is not None and gone.state == ExecutorState.UNREGISTERED
    back = await store.get_process(pid(1))
    assert back is not None
    assert (back.state, back.isassigned, back.assignedexecutorid) == (0, False, "")
    assert (back.starttime, back.execdeadline) == (format_ns(0), format_ns(0))
    done = await store.get_process(pid(2))
    assert done is not None and done.state == ProcessState.SUCCESS  # not re-queued
    there = await store.get_process(pid(4))
    assert there is not None and there.state == ProcessState.RUNNING  # the other colony's
    assert await store.get_function("dev-e") is None
    assert await store.get_function("dev-keep") is not None
    assert await store.get_function("other-e") is not None
    assert await store.unregister_executor("dev", "nobody", 9 * NS) is None


async def test_unregistering_a_stale_executor_is_a_compare_and_set(store: SQLiteStore) -> None:
    e = await approved(store)
    await store.mark_alive("dev", e.executorid, 10 * NS)
    assert await store.unregister_executor("dev", "e", 0, heard_before=10 * NS) is None
    assert await store.unregister_executor("dev", "e", 0, heard_before=11 * NS) == []
    again = await store.unregister_executor("dev", "e", 0, heard_before=11 * NS)
    assert again is None  # removed once
    never = await approved(store, "n")  # never heard from: not stale
    assert await store.unregister_executor("dev", never.executorname, 0, heard_before=NS) is None
