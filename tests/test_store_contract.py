"""The ``Store`` contract: every storage backend must pass every test here.

Each test runs once per backend through the parametrised ``store`` fixture: ``sqlite`` (a file in
the test's tmp_path) and ``postgres`` (``PostgresStore`` on a database from ``tests/pg.py``, made
once per session and emptied before each test). PostgreSQL is never skipped when it is
reachable; when it is not, its tests are skipped with the reason, except under ``CI=true``,
where that is a failure. The tests talk to a store only through the protocol's methods; they
assert an order where the protocol or its callers rely on one (process lists, ``assign``,
history, logs) and compare other listings as sets. ``tests/test_store.py`` keeps what is
SQLite's own (its file, pragmas, counters' migration).

``test_every_store_method_has_a_contract_test`` reads this file: a method added to ``Store``
without a test calling it here fails the suite.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import itertools
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from colonies.model import (
    Attribute,
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    Capabilities,
    ChannelEntry,
    Colony,
    Conditions,
    Cron,
    Executor,
    ExecutorState,
    Function,
    FunctionArg,
    FunctionSpec,
    Generator,
    Hardware,
    Location,
    Log,
    Process,
    ProcessGraph,
    ProcessState,
    User,
)
from colonies.store.base import (
    AlreadyExists,
    ExecutorCounts,
    NewProcess,
    ProcessCounts,
    ProcessUpdate,
    Store,
)
from colonies.store.sqlite import SQLiteStore
from colonies.timeutil import NS, format_ns, parse_ns
from colonies.units import UNLIMITED
from pg import ADMIN_URL, fresh_database

IN_CI = os.environ.get("CI", "").lower() == "true"
DAY = 86_400 * NS
FREE = {"cpu": UNLIMITED, "memory": UNLIMITED}
WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = (s.value for s in ProcessState)
PROTOCOL = sorted(n for n, f in vars(Store).items() if inspect.iscoroutinefunction(f))

Opener = Callable[[], Store]


# --- backends


def _postgres_unreachable() -> str | None:
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as e:
        return f"PostgreSQL at {ADMIN_URL} is unreachable: {str(e).strip()}"
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One database for the session's PostgreSQL tests: creating, migrating and dropping one
    costs ~0.8 s, emptying it ~30 ms (``emptied``)."""
    unreachable = _postgres_unreachable()
    if unreachable:
        if IN_CI:
            pytest.fail(f"CI=true: {unreachable}", pytrace=False)
        pytest.skip(unreachable)
    with fresh_database() as url:
        yield url


def emptied(url: str) -> str:
    """Delete every row of every table but the migrations' record (the counters last: deleting
    processes writes them), so that the database is as a migrated fresh one."""
    with psycopg.connect(url) as db:
        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'schema_migrations' ORDER BY tablename = 'process_counts'"
        ).fetchall()
        for (table,) in tables:
            db.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a store on this test's (empty) database; each call is one more instance, as a
    server replica would open it."""
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / "store.db")
    from colonies.store.postgres import PostgresStore

    url = emptied(request.getfixturevalue("postgres_database"))
    return lambda: PostgresStore(url)


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[Store]:
    """A store holding one colony, ``dev``."""
    store = open_store()
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    yield store
    await store.close()


# --- model helpers


def pid(i: int) -> str:
    return f"{i:064x}"


def ids(processes: Iterable[Process]) -> list[str]:
    return [p.processid for p in processes]


def make(
    i: int,
    *,
    colony: str = "dev",
    executortype: str = "t",
    names: list[str] | None = None,
    location: str = "",
    maxexectime: int = 0,
    waitforparents: bool = False,
    graph: str = "",
    **fields: Any,
) -> Process:
    """A WAITING process ``pid(i)`` with prioritytime ``i``."""
    spec = FunctionSpec(
        funcname=f"f{i}",
        maxexectime=maxexectime,
        conditions=Conditions(
            colonyname=colony,
            executortype=executortype,
            executornames=names or [],
            locationname=location,
        ),
    )
    fields.setdefault("prioritytime", i)
    return Process(
        processid=pid(i), waitforparents=waitforparents, processgraphid=graph, spec=spec, **fields
    )


def executor(
    name: str = "e",
    *,
    colony: str = "dev",
    state: int = ExecutorState.APPROVED,
    key: str = "",
    heard: int = 0,
    **fields: Any,
) -> Executor:
    return Executor(
        executorid=key or name.encode().hex().ljust(64, "0"),
        executorname=name,
        executortype=fields.pop("executortype", "t"),
        colonyname=colony,
        state=state,
        lastheardfromtime=format_ns(heard),
        **fields,
    )


async def approved(store: Store, name: str = "e", **fields: Any) -> Executor:
    e = executor(name, **fields)
    await store.add_executor(e)
    return e


async def add_colony(store: Store, name: str) -> None:
    await store.add_colony(Colony(colonyid=name.encode().hex().ljust(64, "0"), name=name))


async def add(store: Store, *processes: Process, cpu: int = 0, memory: int = 0) -> None:
    for p in processes:
        await store.add_process(p, cpu=cpu, memory=memory)


async def add_many(store: Store, processes: Iterable[Process], parallel: int = 25) -> None:
    """Insert concurrently (over a pool, in parallel) with at most ``parallel`` in flight."""
    gate = asyncio.Semaphore(parallel)

    async def one(p: Process) -> None:
        async with gate:
            await store.add_process(p, cpu=0, memory=0)

    await asyncio.gather(*(one(p) for p in processes))


async def claim(store: Store, e: Executor, now: int = 5 * NS) -> str | None:
    process = await store.assign(e, now, **FREE)
    return process.processid if process else None


async def set_state(store: Store, i: int, state: int, endtime: int = 0) -> None:
    assert await store.update_process(pid(i), ProcessUpdate(state=state, endtime=endtime))


async def present(store: Store, numbers: Iterable[int]) -> set[int]:
    return {i for i in numbers if await store.get_process(pid(i)) is not None}


# --- the protocol itself


def _names_called_on_a_store() -> set[str]:
    tree = ast.parse(Path(__file__).read_text())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("store", "replica")
    }


def test_every_store_method_has_a_contract_test() -> None:
    assert len(PROTOCOL) > 40  # the introspection finds the protocol's methods
    called = _names_called_on_a_store()
    assert [name for name in PROTOCOL if name not in called] == []


async def test_the_backend_implements_every_method_of_the_protocol(store: Store) -> None:
    def shape(function: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
        parameters = inspect.signature(function).parameters.values()
        return [(p.name, p.kind, p.default) for p in parameters]

    wrong = []
    for name in PROTOCOL:
        method = getattr(type(store), name, None)
        if not inspect.iscoroutinefunction(method):
            wrong.append(f"{name}: missing or not async")
        elif shape(method) != shape(getattr(Store, name)):
            wrong.append(f"{name}: {inspect.signature(method)}")
    assert wrong == []


# --- server identity and colonies


async def test_server_id_is_empty_until_set_then_replaced(store: Store) -> None:
    assert await store.get_server_id() == ""
    await store.set_server_id("first")
    assert await store.get_server_id() == "first"
    await store.set_server_id("second")
    assert await store.get_server_id() == "second"


async def test_colonies_are_unique_by_name(store: Store) -> None:
    with pytest.raises(AlreadyExists, match=r"^A Colony with name dev already exists$"):
        await store.add_colony(Colony(colonyid="b" * 64, name="dev"))
    await store.add_colony(Colony(colonyid="c" * 64, name="alpha"))
    assert await store.get_colony("dev") == Colony(colonyid="a" * 64, name="dev")
    assert await store.get_colony("alpha") == Colony(colonyid="c" * 64, name="alpha")
    assert await store.get_colony("nope") is None
    assert {(c.name, c.colonyid) for c in await store.get_colonies()} == {
        ("dev", "a" * 64),
        ("alpha", "c" * 64),
    }


async def test_pause_flags_are_per_colony(store: Store) -> None:
    await add_colony(store, "alpha")
    assert await store.is_paused("dev") is False
    await store.set_paused("dev", True)
    assert (await store.is_paused("dev"), await store.is_paused("alpha")) == (True, False)
    await store.set_paused("dev", True)  # idempotent
    assert await store.is_paused("dev") is True
    await store.set_paused("dev", False)
    assert await store.is_paused("dev") is False
    assert await store.is_paused("nope") is False
    await store.set_paused("nope", True)  # no such colony: nothing to pause
    assert await store.is_paused("nope") is False


async def test_removing_a_colony_removes_everything_in_it(store: Store) -> None:
    await add_colony(store, "other")
    for n, colony in ((1, "dev"), (2, "other")):
        process = make(n, colony=colony)
        process.attributes = [Attribute(attributeid=f"in-{colony}", targetid=pid(n), key="k")]
        await add(store, process)
        await store.add_attribute(Attribute(attributeid=f"later-{colony}", targetid=pid(n)))
        await store.add_executor(executor(colony=colony, key=colony[0] * 64))
        await store.add_user(User(colonyname=colony, userid=colony[0] * 64, name="u"))
        await store.add_location(Location(colonyname=colony, name="here"))
        await store.add_function(
            Function(functionid=f"fn-{colony}", colonyname=colony, executorname="e", funcname="f")
        )
        await store.add_log(
            Log(processid=pid(n), colonyname=colony, executorname="e", message="m", timestamp=1)
        )
    await store.set_paused("dev", True)
    await store.remove_colony("nope")  # a no-op
    await store.remove_colony("dev")
    assert await store.get_colony("dev") is None
    assert [c.name for c in await store.get_colonies()] == ["other"]
    assert await store.get_executors("dev") == []
    assert await store.get_executor_by_id("dev", "d" * 64) is None
    assert await store.get_users("dev") == []
    assert await store.get_locations("dev") == []
    assert await store.get_process(pid(1)) is None
    assert await store.get_attribute("in-dev") is None
    assert await store.get_attribute("later-dev") is None
    assert await store.get_function("fn-dev") is None
    assert await store.get_functions("dev") == []
    assert await store.get_logs("dev", processid=pid(1), count=10) == []
    assert await store.get_logs("dev", executorname="e", count=10) == []
    assert await store.count_processes("dev") == ProcessCounts()
    assert await store.count_processes(None) == ProcessCounts(waiting=1)
    assert await store.count_executors(None) == ExecutorCounts(total=1, active=1)
    # the other colony keeps all of it
    kept = await store.get_process(pid(2))
    assert kept is not None and {a.attributeid for a in kept.attributes} == {
        "in-other",
        "later-other",
    }
    assert [e.executorname for e in await store.get_executors("other")] == ["e"]
    assert [u.name for u in await store.get_users("other")] == ["u"]
    assert [loc.name for loc in await store.get_locations("other")] == ["here"]
    assert await store.get_function("fn-other") is not None
    assert len(await store.get_logs("other", processid=pid(2), count=10)) == 1
    # a colony made again under that name starts empty and running
    await store.add_colony(Colony(colonyid="b" * 64, name="dev"))
    assert await store.is_paused("dev") is False
    assert await store.get_executors("dev") == []


# --- executors


async def test_an_executor_reads_back_as_stored(store: Store) -> None:
    e = executor(
        "full",
        heard=7 * NS,
        locationname="lab",
        requirefuncreg=True,
        commissiontime=format_ns(3 * NS),
        capabilities=Capabilities(hardware=[Hardware(model="m", cores=4, mem="1Gi")]),
        blueprintid="bp",
        blueprintgen=2,
    )
    await store.add_executor(e)
    assert (got := await store.get_executor("dev", "full")) is not None
    assert got.to_dict() == e.to_dict()
    assert (by_id := await store.get_executor_by_id("dev", e.executorid)) is not None
    assert by_id.to_dict() == e.to_dict()
    assert [x.to_dict() for x in await store.get_executors("dev")] == [e.to_dict()]


async def test_executors_are_unique_by_name_unless_replaced(store: Store) -> None:
    await add_colony(store, "other")
    await store.add_executor(executor(key="1" * 64, state=ExecutorState.PENDING))
    with pytest.raises(AlreadyExists, match=r"^Executor with name e in Colony dev already exists$"):
        await store.add_executor(executor(key="2" * 64))
    await store.add_executor(executor(colony="other", key="2" * 64))  # same name elsewhere
    await store.add_executor(executor(key="3" * 64, executortype="u"), replace=True)
    stored = await store.get_executor("dev", "e")
    assert stored is not None
    assert (stored.executorid, stored.executortype, stored.state) == (
        "3" * 64,
        "u",
        ExecutorState.APPROVED,
    )
    assert await store.get_executor_by_id("dev", "1" * 64) is None  # the old ID is gone
    assert len(await store.get_executors("dev")) == 1
    await store.add_executor(executor("fresh"), replace=True)  # replacing nothing: an insert
    assert {x.executorname for x in await store.get_executors("dev")} == {"e", "fresh"}
    assert await store.get_executor("dev", "nope") is None
    assert await store.get_executors("empty") == []
    await store.set_executor_state("dev", "e", ExecutorState.REJECTED)
    stored = await store.get_executor("dev", "e")
    assert stored is not None and stored.state == ExecutorState.REJECTED
    there = await store.get_executor("other", "e")
    assert there is not None and there.state == ExecutorState.APPROVED
    await store.set_executor_state("dev", "nobody", ExecutorState.APPROVED)  # a no-op
    assert await store.get_executor("dev", "nobody") is None


async def test_executors_by_id_are_per_colony(store: Store) -> None:
    await add_colony(store, "other")
    key = "1" * 64
    for colony, name, state in (
        ("dev", "old", ExecutorState.UNREGISTERED),
        ("dev", "new", ExecutorState.PENDING),
        ("other", "there", ExecutorState.APPROVED),
    ):
        await store.add_executor(executor(name, colony=colony, key=key, state=state, heard=7 * NS))
    here = await store.get_executor_by_id("dev", key)
    assert here is not None and here.executorname == "new"  # a live one before an old one
    assert here.lastheardfromtime == format_ns(7 * NS)
    there = await store.get_executor_by_id("other", key)
    assert there is not None and there.executorname == "there"
    assert await store.get_executor_by_id("dev", "2" * 64) is None
    assert await store.get_executor_by_id("empty", key) is None
    await store.set_executor_state("dev", "new", ExecutorState.UNREGISTERED)
    gone = await store.get_executor_by_id("dev", key)  # only unregistered ones left: one of them
    assert gone is not None and gone.state == ExecutorState.UNREGISTERED


async def lastheard(store: Store, colony: str, name: str) -> int:
    e = await store.get_executor(colony, name)
    assert e is not None
    return parse_ns(e.lastheardfromtime)


async def test_mark_alive_and_its_refresh(store: Store) -> None:
    await add_colony(store, "other")
    await store.add_executor(executor("a", key="1" * 64))
    await store.add_executor(executor("gone", key="2" * 64, state=ExecutorState.UNREGISTERED))
    await store.add_executor(executor("a", colony="other", key="1" * 64))
    await store.add_executor(executor("p", key="3" * 64, state=ExecutorState.PENDING))
    await store.mark_alive("dev", "2" * 64, 5 * NS)  # unregistered: not heard
    assert await lastheard(store, "dev", "gone") == 0
    await store.mark_alive("dev", "1" * 64, 5 * NS, refresh=True)  # never heard: no refresh
    assert await lastheard(store, "dev", "a") == 0
    await store.mark_alive("dev", "1" * 64, 5 * NS)
    assert await lastheard(store, "dev", "a") == 5 * NS
    assert await lastheard(store, "other", "a") == 0  # same ID, other colony
    await store.mark_alive("dev", "1" * 64, 6 * NS, refresh=True)
    assert await lastheard(store, "dev", "a") == 6 * NS
    await store.mark_alive("dev", "3" * 64, 4 * NS)  # any live state, not only approved
    assert await lastheard(store, "dev", "p") == 4 * NS
    await store.mark_alive("dev", "9" * 64, 4 * NS)  # nobody: a no-op
    await store.mark_alive("dev", "1" * 64, 1_700_000_000 * NS, refresh=True)
    assert await lastheard(store, "dev", "a") == 1_700_000_000 * NS
    await store.mark_alive("other", "1" * 64, 8 * NS, refresh=True)
    assert await lastheard(store, "other", "a") == 0


async def test_stale_executors(store: Store) -> None:
    await add_colony(store, "other")
    for i, (colony, heard, state) in enumerate(
        [
            ("dev", 30, ExecutorState.APPROVED),
            ("dev", 10, ExecutorState.PENDING),
            ("dev", 0, ExecutorState.APPROVED),  # never heard: not stale
            ("dev", 5, ExecutorState.UNREGISTERED),  # removed already
            ("other", 20, ExecutorState.REJECTED),
            ("dev", 50, ExecutorState.APPROVED),  # heard recently
        ]
    ):
        await store.add_executor(
            executor(f"e{i}", colony=colony, key=pid(i), state=state, heard=heard * NS)
        )

    async def stale(before: int, limit: int) -> set[str]:
        return {e.executorname for e in await store.stale_executors(before * NS, limit)}

    assert await stale(40, 10) == {"e0", "e1", "e4"}  # every colony's
    assert len(limited := await stale(40, 2)) == 2 and limited < {"e0", "e1", "e4"}
    assert await stale(10, 10) == set()  # strictly before
    assert await stale(11, 10) == {"e1"}
    found = (await store.stale_executors(11 * NS, 10))[0]
    assert (found.colonyname, found.executorid, found.state) == ("dev", pid(1), 0)


async def test_unregistering_an_executor(store: Store) -> None:
    await add_colony(store, "other")
    e = await approved(store)
    twin = executor("twin", colony="other", key=e.executorid)
    await store.add_executor(twin)
    await add(store, make(1), make(2), make(3), make(4, colony="other"))
    assert [await claim(store, e), await claim(store, e)] == [pid(1), pid(2)]
    await set_state(store, 2, SUCCESS)
    assert await claim(store, twin) == pid(4)
    for colony, name in (("dev", "e"), ("dev", "keep"), ("other", "e")):
        await store.add_function(
            Function(functionid=f"{colony}-{name}", colonyname=colony, executorname=name)
        )
    assert await store.unregister_executor("dev", "e", 9 * NS) == [pid(1)]
    gone = await store.get_executor("dev", "e")
    assert gone is not None and gone.state == ExecutorState.UNREGISTERED
    back = await store.get_process(pid(1))
    assert back is not None
    assert (back.state, back.isassigned, back.assignedexecutorid) == (WAITING, False, "")
    assert (back.starttime, back.execdeadline) == (format_ns(0), format_ns(0))
    done = await store.get_process(pid(2))
    assert done is not None and done.state == SUCCESS  # not re-queued
    there = await store.get_process(pid(4))
    assert there is not None and there.state == RUNNING  # the other colony's
    assert await store.get_function("dev-e") is None
    assert await store.get_function("dev-keep") is not None
    assert await store.get_function("other-e") is not None
    assert await claim(store, e) is None  # a removed executor is handed nothing
    assert await store.count_processes("dev") == ProcessCounts(waiting=2, successful=1)
    assert await store.unregister_executor("dev", "nobody", 9 * NS) is None


async def test_unregistering_a_stale_executor_is_a_compare_and_set(store: Store) -> None:
    e = await approved(store)
    await store.mark_alive("dev", e.executorid, 10 * NS)
    assert await store.unregister_executor("dev", "e", 0, heard_before=10 * NS) is None
    await store.mark_alive("dev", e.executorid, 20 * NS)  # heard again: no longer stale
    assert await store.unregister_executor("dev", "e", 0, heard_before=11 * NS) is None
    assert (still := await store.get_executor("dev", "e")) is not None
    assert still.state == ExecutorState.APPROVED
    assert await store.unregister_executor("dev", "e", 0, heard_before=21 * NS) == []
    assert await store.unregister_executor("dev", "e", 0, heard_before=21 * NS) is None  # once
    never = await approved(store, "n")  # never heard from: not stale
    assert await store.unregister_executor("dev", never.executorname, 0, heard_before=NS) is None
    assert await store.unregister_executor("dev", "nobody", 0, heard_before=NS) is None


async def test_executor_counts(store: Store) -> None:
    await add_colony(store, "other")
    for i, (colony, state) in enumerate(
        [
            ("dev", ExecutorState.APPROVED),
            ("dev", ExecutorState.APPROVED),
            ("dev", ExecutorState.PENDING),
            ("dev", ExecutorState.REJECTED),
            ("dev", ExecutorState.UNREGISTERED),
            ("other", ExecutorState.APPROVED),
        ]
    ):
        await store.add_executor(executor(f"e{i}", colony=colony, key=pid(i), state=state))
    assert await store.count_executors("dev") == ExecutorCounts(5, 2, 1)
    assert await store.count_executors(None) == ExecutorCounts(6, 3, 1)
    assert await store.count_executors("empty") == ExecutorCounts(0, 0, 0)
    await store.unregister_executor("dev", "e0", NS)
    assert await store.count_executors("dev") == ExecutorCounts(5, 1, 2)
    await store.set_executor_state("dev", "e2", ExecutorState.APPROVED)
    assert await store.count_executors(None) == ExecutorCounts(6, 3, 2)


# --- users and locations


async def test_users_by_name_and_by_id(store: Store) -> None:
    await add_colony(store, "other")
    bob = User(colonyname="dev", userid="1" * 64, name="bob", email="b@x", phone="1")
    await store.add_user(bob)
    await store.add_user(User(colonyname="other", userid="2" * 64, name="bob"))
    await store.add_user(User(colonyname="dev", userid="3" * 64, name="carol"))
    with pytest.raises(AlreadyExists, match=r"^User with name bob in Colony dev already exists$"):
        await store.add_user(User(colonyname="dev", userid="4" * 64, name="bob"))
    assert (got := await store.get_user("dev", "bob")) is not None
    assert got.to_dict() == bob.to_dict()
    assert await store.get_user("dev", "alice") is None
    assert await store.get_user("empty", "bob") is None
    by_id = await store.get_user_by_id("dev", "1" * 64)
    assert by_id is not None and by_id.to_dict() == bob.to_dict()
    assert await store.get_user_by_id("dev", "2" * 64) is None  # that one is in "other"
    assert await store.get_user_by_id("dev", "9" * 64) is None
    assert {u.name for u in await store.get_users("dev")} == {"bob", "carol"}
    await store.remove_user("dev", "bob")
    assert [u.name for u in await store.get_users("dev")] == ["carol"]
    assert await store.get_user_by_id("dev", "1" * 64) is None
    assert [u.userid for u in await store.get_users("other")] == ["2" * 64]
    await store.remove_user("dev", "nobody")  # a no-op
    await store.add_user(User(colonyname="dev", userid="4" * 64, name="bob"))  # the name is free
    assert (again := await store.get_user("dev", "bob")) is not None and again.userid == "4" * 64


async def test_locations_by_name(store: Store) -> None:
    await add_colony(store, "other")
    lab = Location(locationid="l1", colonyname="dev", name="lab", description="d", long=1.5, lat=-2)
    await store.add_location(lab)
    await store.add_location(Location(colonyname="other", name="lab"))
    await store.add_location(Location(colonyname="dev", name="attic"))
    with pytest.raises(AlreadyExists, match=r"^Location with name lab already exists$"):
        await store.add_location(Location(colonyname="dev", name="lab"))
    assert (got := await store.get_location("dev", "lab")) is not None
    assert got.to_dict() == lab.to_dict()
    assert await store.get_location("dev", "cellar") is None
    assert await store.get_location("empty", "lab") is None
    assert {loc.name for loc in await store.get_locations("dev")} == {"lab", "attic"}
    await store.remove_location("dev", "lab")
    assert [loc.name for loc in await store.get_locations("dev")] == ["attic"]
    assert len(await store.get_locations("other")) == 1
    await store.remove_location("dev", "nowhere")  # a no-op


# --- processes: storing, listing, removing


async def test_a_process_reads_back_as_stored(store: Store) -> None:
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
        submissiontime=format_ns(1_700_000_000 * NS + 123),  # a time of today's size
        waitdeadline=format_ns(9 * NS),
        retries=2,
        parents=["p"],
        children=["c"],
        input=[1, "x", {"é": None}],
        output=[{"k": "v"}],
        errors=["e"],
    )
    process.spec.label = "lbl"
    process.spec.kwargs = {"n": 1.5}
    process.attributes = [
        Attribute(attributeid="x1", targetid=pid(7), key="k", value="v"),
        Attribute(attributeid="x2", targetid=pid(7), key="k2", value="w", attributetype=1),
    ]
    await store.add_process(process, cpu=0, memory=0)
    got = await store.get_process(pid(7))
    assert got is not None
    assert got.to_dict() == process.to_dict()
    assert await store.get_process(pid(8)) is None


async def test_a_process_id_is_stored_once(store: Store) -> None:
    await add(store, make(1))
    with pytest.raises(AlreadyExists):
        await add(store, make(1, colony="dev", executortype="other"))
    got = await store.get_process(pid(1))
    assert got is not None and got.spec.conditions.executortype == "t"
    assert await store.count_processes("dev") == ProcessCounts(waiting=1)


async def test_process_lists_filter_by_type_label_and_initiator(store: Store) -> None:
    await add_colony(store, "other")
    for process in (
        make(1),
        make(2, executortype="u", initiatorid="i" * 64),
        make(3, initiatorid="i" * 64),
        make(4, colony="other"),
    ):
        process.spec.label = "x" if process.prioritytime in (1, 3) else ""
        await add(store, process)
    assert ids(await store.get_processes("dev", WAITING, 10)) == [pid(1), pid(2), pid(3)]
    assert ids(await store.get_processes("dev", WAITING, 2)) == [pid(1), pid(2)]
    assert ids(await store.get_processes("dev", WAITING, 10, executortype="u")) == [pid(2)]
    assert ids(await store.get_processes("dev", WAITING, 10, label="x")) == [pid(1), pid(3)]
    by_initiator = await store.get_processes("dev", WAITING, 10, initiatorid="i" * 64)
    assert ids(by_initiator) == [pid(2), pid(3)]
    both = await store.get_processes("dev", WAITING, 10, label="x", initiatorid="i" * 64)
    assert ids(both) == [pid(3)]
    assert await store.get_processes("dev", WAITING, 10, executortype="t", label="y") == []
    assert await store.get_processes("dev", RUNNING, 10) == []
    assert ids(await store.get_processes("other", WAITING, 10)) == [pid(4)]


async def test_process_lists_order_by_state(store: Store) -> None:
    e = await approved(store)
    await add(store, make(3), make(1), make(2), make(4))
    assert ids(await store.get_processes("dev", WAITING, 10)) == [pid(1), pid(2), pid(3), pid(4)]
    for now in (9, 8, 7):  # 1 starts at 9 s, 2 at 8 s, 3 at 7 s
        await claim(store, e, now=now * NS)
    assert ids(await store.get_processes("dev", RUNNING, 10)) == [pid(3), pid(2), pid(1)]
    assert ids(await store.get_processes("dev", RUNNING, 2)) == [pid(3), pid(2)]
    for i, state, end in ((1, SUCCESS, 20), (2, SUCCESS, 30), (3, SUCCESS, 10), (4, FAILED, 5)):
        await set_state(store, i, state, end * NS)
    assert ids(await store.get_processes("dev", SUCCESS, 10)) == [pid(2), pid(1), pid(3)]
    assert ids(await store.get_processes("dev", SUCCESS, 1)) == [pid(2)]
    assert ids(await store.get_processes("dev", FAILED, 10)) == [pid(4)]


_example = itertools.count()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    jobs=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), min_size=1, max_size=10),
    shuffle=st.randoms(use_true_random=False),
)
async def test_lists_and_assign_follow_priority_then_submission(
    store: Store, jobs: list[tuple[int, int]], shuffle: random.Random
) -> None:
    """Priority first, then submission (the handler's prioritytime); started oldest first, closed
    newest first; each in its own colony, as examples share the test's store."""
    colony = f"h{next(_example)}"
    await add_colony(store, colony)
    e = await approved(store, colony=colony)
    base = 1_000 * DAY
    for priority, submitted in jobs:
        process = make(0, colony=colony, prioritytime=base + submitted * NS - priority * DAY)
        process.processid = uuid.uuid4().hex * 2
        process.spec.priority = priority
        process.submissiontime = format_ns(base + submitted * NS)
        await add(store, process)

    def rank(p: Process) -> tuple[int, int]:
        return (-p.spec.priority, parse_ns(p.submissiontime))

    n = len(jobs)
    expected = sorted((-priority, base + submitted * NS) for priority, submitted in jobs)
    waiting = await store.get_processes(colony, WAITING, n + 1)
    assert [rank(p) for p in waiting] == expected
    assert [rank(p) for p in await store.get_processes(colony, WAITING, 2)] == expected[:2]
    starts = shuffle.sample(range(1, 10_000), n)
    claimed = [await store.assign(e, start * NS, **FREE) for start in starts]
    assert [rank(p) for p in claimed if p] == expected
    running = await store.get_processes(colony, RUNNING, n)
    assert [parse_ns(p.starttime) for p in running] == sorted(s * NS for s in starts)
    ends = shuffle.sample(range(1, 10_000), n)
    for process, end in zip(running, ends, strict=True):
        update = ProcessUpdate(state=shuffle.choice([SUCCESS, FAILED, CANCELLED]), endtime=end * NS)
        assert await store.update_process(process.processid, update)
    counts = await store.count_processes(colony)
    for state, counted in (
        (SUCCESS, counts.successful),
        (FAILED, counts.failed),
        (CANCELLED, counts.cancelled),
    ):
        closed = [parse_ns(p.endtime) for p in await store.get_processes(colony, state, n)]
        assert closed == sorted(closed, reverse=True) and len(closed) == counted
    assert counts.successful + counts.failed + counts.cancelled == n


async def test_process_history(store: Store) -> None:
    e = await approved(store)
    for i, submitted in ((1, 30), (2, 10), (3, 20)):
        await add(store, make(i, submissiontime=format_ns(submitted * NS)))
    await add_colony(store, "other")
    await add(store, make(4, colony="other", submissiontime=format_ns(25 * NS)))
    history = await store.process_history("dev", WAITING, 10 * NS)
    assert ids(history) == [pid(2), pid(3), pid(1)]  # by submission
    assert ids(await store.process_history("dev", WAITING, 11 * NS)) == [pid(3), pid(1)]
    assert await store.process_history("dev", WAITING, 31 * NS) == []
    assert await claim(store, e) == pid(1)
    assert await claim(store, e) == pid(2)
    assert ids(await store.process_history("dev", RUNNING, 0, e.executorid)) == [pid(2), pid(1)]
    assert ids(await store.process_history("dev", RUNNING, 0)) == [pid(2), pid(1)]
    assert await store.process_history("dev", RUNNING, 0, "x" * 64) == []
    await set_state(store, 1, SUCCESS, 40 * NS)
    assert ids(await store.process_history("dev", SUCCESS, 0, e.executorid)) == [pid(1)]
    assert ids(await store.process_history("other", WAITING, 0)) == [pid(4)]


async def test_removing_processes(store: Store) -> None:
    p = make(1)
    p.attributes = [Attribute(attributeid="a1", targetid=pid(1), key="k")]
    await add(store, p, make(2))
    await store.remove_process(pid(1))
    assert await store.get_process(pid(1)) is None and await store.get_attribute("a1") is None
    assert await store.get_process(pid(2)) is not None
    await store.remove_process(pid(99))  # a no-op
    await add_colony(store, "other")
    for process in (make(3), make(4), make(5, graph="g"), make(6, colony="other"), make(7)):
        process.attributes = [Attribute(attributeid=f"a{process.prioritytime}", targetid=pid(0))]
        process.attributes[0].targetid = process.processid
        await add(store, process)
    for i in (3, 5, 6):
        await set_state(store, i, SUCCESS)
    await set_state(store, 4, FAILED)
    e = await approved(store)
    assert await claim(store, e) == pid(2)  # RUNNING
    await store.remove_processes("dev", SUCCESS)
    assert await present(store, range(2, 8)) == {2, 4, 5, 6, 7}  # a workflow's are kept
    assert await store.get_attribute("a3") is None and await store.get_attribute("a4") is not None
    await store.remove_processes("dev", WAITING)
    assert await present(store, range(2, 8)) == {2, 4, 5, 6}
    await store.remove_processes("dev", -1)  # every state
    assert await present(store, range(2, 8)) == {5, 6}
    assert await store.get_attribute("a4") is None and await store.get_attribute("a5") is not None
    assert await store.count_processes("dev") == ProcessCounts(successful=1)


async def test_expired_processes(store: Store) -> None:
    e = await approved(store)
    await add(store, make(1, maxexectime=1), make(2), make(6, maxexectime=1))
    assert [await claim(store, e, now=NS) for _ in range(3)] == [pid(1), pid(2), pid(6)]
    await set_state(store, 6, SUCCESS)  # closed in time: its deadline no longer counts
    for i, deadline in ((4, 3 * NS), (3, 3 * NS), (5, 0)):  # WAITING; 5 has no limit
        await add(store, make(i, waitdeadline=format_ns(deadline)))
    await add(store, make(7, waitdeadline=format_ns(NS)))
    await set_state(store, 7, CANCELLED)
    await add_colony(store, "other")
    await add(store, make(8, colony="other", waitdeadline=format_ns(4 * NS)))
    assert await store.expired_processes(2 * NS, 10) == []  # deadlines are strict
    assert ids(await store.expired_processes(2 * NS + 1, 10)) == [pid(1)]
    expired = await store.expired_processes(10 * NS, 10)
    assert sorted(ids(expired)) == [pid(1), pid(3), pid(4), pid(8)]  # every colony's
    assert len(limited := ids(await store.expired_processes(10 * NS, 2))) == 2
    assert set(limited) < {pid(1), pid(3), pid(4), pid(8)}


async def test_process_counts_follow_every_change(store: Store) -> None:
    await add_colony(store, "other")
    e = await approved(store)
    await add(store, *(make(i) for i in range(1, 8)), make(99, colony="other"))
    assert await store.count_processes("dev") == ProcessCounts(waiting=7)
    assert await store.count_processes(None) == ProcessCounts(waiting=8)
    assert [await claim(store, e) for _ in range(4)] == [pid(1), pid(2), pid(3), pid(4)]
    assert await store.count_processes("dev") == ProcessCounts(waiting=3, running=4)
    closed = ProcessUpdate(state=SUCCESS, endtime=NS)
    assert await store.update_process(pid(1), closed, states=[RUNNING], executorid=e.executorid)
    failed = ProcessUpdate(state=FAILED, endtime=NS, errors=["x"])
    assert await store.update_process(pid(2), failed, states=[RUNNING])
    cancelled = ProcessUpdate(state=CANCELLED, endtime=NS)
    assert await store.update_process(pid(5), cancelled, states=[WAITING, RUNNING])
    requeued = ProcessUpdate(state=WAITING, isassigned=False, assignedexecutorid="", retries=1)
    assert await store.update_process(pid(3), requeued, states=[RUNNING])
    assert await store.update_process(pid(1), ProcessUpdate(output=["o"]))  # state unchanged
    assert await store.count_processes("dev") == ProcessCounts(3, 1, 1, 1, 1)
    await store.remove_process(pid(6))
    assert await store.unregister_executor("dev", "e", NS) == [pid(4)]  # re-queued
    assert await store.count_processes("dev") == ProcessCounts(3, 0, 1, 1, 1)
    assert await store.count_processes(None) == ProcessCounts(4, 0, 1, 1, 1)
    await store.remove_processes("dev", SUCCESS)
    assert await store.count_processes("dev") == ProcessCounts(3, 0, 0, 1, 1)
    await store.remove_processes("dev", -1)
    assert await store.count_processes("dev") == ProcessCounts()
    assert await store.count_processes(None) == ProcessCounts(waiting=1)
    assert await store.count_processes("empty") == ProcessCounts()


# --- assign


async def test_assign_claims_the_lowest_prioritytime(store: Store) -> None:
    e = await approved(store)
    await add(store, make(3), make(1), make(2, prioritytime=-5 * DAY), make(4))
    assert [await claim(store, e) for _ in range(5)] == [pid(2), pid(1), pid(3), pid(4), None]


async def test_assign_sets_the_running_fields(store: Store) -> None:
    e = await approved(store)
    await add(store, make(1, maxexectime=7), make(2), make(3, maxexectime=-1))
    first = await store.assign(e, 5 * NS, **FREE)
    assert first is not None
    assert (first.state, first.isassigned, first.assignedexecutorid) == (
        RUNNING,
        True,
        e.executorid,
    )
    assert first.starttime == format_ns(5 * NS)
    assert first.execdeadline == format_ns(12 * NS)  # now + maxexectime
    second = await store.assign(e, 6 * NS, **FREE)
    assert second is not None and second.execdeadline == format_ns(0)  # no limit
    third = await store.assign(e, 6 * NS, **FREE)
    assert third is not None and third.execdeadline == format_ns(0)
    stored = await store.get_process(pid(1))
    assert stored is not None and stored.to_dict() == first.to_dict()


async def test_assign_matches_type_names_location_and_colony(store: Store) -> None:
    e = await approved(store, "e", locationname="lab")
    await add_colony(store, "other")
    await add(
        store,
        make(1, colony="other"),
        make(2, executortype="u"),
        make(3, waitforparents=True),
        make(4, names=["someone"]),
        make(5, location="attic"),
        make(6, isassigned=True),
        make(7),
    )
    await set_state(store, 7, CANCELLED)
    assert await claim(store, e) is None
    await add(store, make(8, names=["someone", "e"], location="LAB"), make(9, location="lab"))
    await add(store, make(10, names=["*"]), make(11, location=""))
    assert [await claim(store, e) for _ in range(5)] == [pid(8), pid(9), pid(10), pid(11), None]
    nowhere = await approved(store, "n")  # no location: only processes without one
    await add(store, make(12, location="lab"), make(13))
    assert [await claim(store, nowhere), await claim(store, nowhere)] == [pid(13), None]
    there = await approved(store, "e", colony="other")
    assert await claim(store, there) == pid(1)


async def test_assign_respects_free_cpu_and_memory(store: Store) -> None:
    e = await approved(store)
    await add(store, make(1), cpu=1000, memory=2048)
    await add(store, make(2), cpu=3000, memory=0)
    assert await store.assign(e, NS, cpu=999, memory=4096) is None
    assert await store.assign(e, NS, cpu=2000, memory=2047) is None
    got = await store.assign(e, NS, cpu=1000, memory=2048)  # needs equal to what is free fit
    assert got is not None and got.processid == pid(1)
    got = await store.assign(e, NS, cpu=UNLIMITED, memory=0)
    assert got is not None and got.processid == pid(2)
    await add(store, make(3), cpu=UNLIMITED, memory=UNLIMITED)  # the largest needs are stored
    assert await store.assign(e, NS, cpu=UNLIMITED, memory=UNLIMITED - 1) is None
    assert await claim(store, e) == pid(3)


async def test_assign_only_for_an_approved_executor_of_the_colony(store: Store) -> None:
    await add_colony(store, "other")
    await add(store, make(1))
    for state in (ExecutorState.PENDING, ExecutorState.REJECTED, ExecutorState.UNREGISTERED):
        e = executor(f"s{state}")
        await store.add_executor(executor(f"s{state}", state=state))
        assert await store.assign(e, NS, **FREE) is None  # stored state counts, not the object's
    assert await claim(store, executor("unknown")) is None
    elsewhere = await approved(store, "x", colony="other")  # approved in another colony only
    assert await claim(store, executor("x", key=elsewhere.executorid)) is None
    await store.add_executor(executor("late", state=ExecutorState.PENDING))
    await store.set_executor_state("dev", "late", ExecutorState.APPROVED)
    assert await claim(store, executor("late")) == pid(1)
    assert await store.count_processes("dev") == ProcessCounts(running=1)


# --- update_process


async def test_update_process_is_a_compare_and_set(store: Store) -> None:
    e = await approved(store)
    await add(store, make(1))
    await claim(store, e)
    done = ProcessUpdate(state=SUCCESS, endtime=9 * NS, output=[{"a": [1]}])
    assert await store.update_process(pid(1), done, states=[WAITING]) is None
    assert await store.update_process(pid(1), done, executorid="x" * 64) is None
    assert (
        await store.update_process(pid(1), done, states=[WAITING], executorid=e.executorid) is None
    )
    unchanged = await store.get_process(pid(1))
    assert unchanged is not None and (unchanged.state, unchanged.output) == (RUNNING, [])
    updated = await store.update_process(
        pid(1), done, states=[WAITING, RUNNING], executorid=e.executorid
    )
    assert updated is not None
    assert (updated.state, updated.endtime, updated.output) == (
        SUCCESS,
        format_ns(9 * NS),
        [{"a": [1]}],
    )
    assert await store.update_process(pid(1), done, states=[RUNNING]) is None  # closed once
    failed = await store.update_process(pid(1), ProcessUpdate(errors=["x", "y"]))
    assert failed is not None and failed.errors == ["x", "y"] and failed.output == [{"a": [1]}]
    back = await store.update_process(
        pid(1),
        ProcessUpdate(
            isassigned=False,
            assignedexecutorid="",
            retries=3,
            starttime=2 * NS,
            waitdeadline=4 * NS,
            execdeadline=5 * NS,
        ),
    )
    assert back is not None
    assert (back.isassigned, back.assignedexecutorid, back.retries) == (False, "", 3)
    assert (back.starttime, back.waitdeadline, back.execdeadline) == (
        format_ns(2 * NS),
        format_ns(4 * NS),
        format_ns(5 * NS),
    )
    same = await store.update_process(pid(1), ProcessUpdate())  # nothing to change: a read
    assert same is not None and same.to_dict() == back.to_dict()
    assert await store.update_process(pid(2), ProcessUpdate(state=RUNNING)) is None
    stored = await store.get_process(pid(1))
    assert stored is not None and stored.to_dict() == back.to_dict()
    cleared = await store.update_process(pid(1), ProcessUpdate(output=[], errors=[]))
    assert cleared is not None and (cleared.output, cleared.errors) == ([], [])


async def test_update_can_require_an_approved_assignee(store: Store) -> None:
    await add_colony(store, "other")
    e = await approved(store)
    await add(store, make(1), make(2))
    await claim(store, e)
    await claim(store, e)
    output = ProcessUpdate(output=["x"])
    updated = await store.update_process(pid(1), output, executorid=e.executorid, approved=True)
    assert updated is not None and updated.output == ["x"]
    await store.add_executor(executor("e", colony="other", key=e.executorid))  # approved there
    await store.set_executor_state("dev", e.executorname, ExecutorState.REJECTED)
    assert (
        await store.update_process(pid(1), output, executorid=e.executorid, approved=True) is None
    )
    # without approved=True only the assignee is compared
    assert await store.update_process(pid(2), output, executorid=e.executorid) is not None
    assert await store.update_process(pid(2), output, executorid="x" * 64) is None
    await store.set_executor_state("dev", e.executorname, ExecutorState.APPROVED)
    closed = ProcessUpdate(state=SUCCESS)
    assert await store.update_process(
        pid(1), closed, states=[RUNNING], executorid=e.executorid, approved=True
    )


# --- process graphs (workflows)


def gid(i: int) -> str:
    return f"9{i:063x}"


def workflow(
    g: int,
    *members: int,
    roots: Iterable[int] = (),
    colony: str = "dev",
    state: int = WAITING,
    submitted: int = 0,
) -> tuple[ProcessGraph, list[NewProcess]]:
    """Graph ``gid(g)`` over processes ``pid(i)`` for ``members`` (inserted in that order); the
    ``roots`` run first, the others wait for their parents (each the root before it)."""
    root_set = set(roots)
    processes = []
    for i in members:
        process = make(i, colony=colony, graph=gid(g), waitforparents=i not in root_set)
        process.submissiontime = format_ns(submitted)
        processes.append(NewProcess(process=process, cpu=0, memory=0))
    graph = ProcessGraph(
        processgraphid=gid(g),
        initiatorid="i" * 64,
        initiatorname="alice",
        colonyname=colony,
        rootprocessids=[pid(i) for i in members if i in root_set],
        state=state,
        submissiontime=format_ns(submitted),
        processids=[pid(i) for i in members],
    )
    return graph, processes


async def add_workflow(store: Store, g: int, *members: int, **fields: Any) -> ProcessGraph:
    graph, processes = workflow(g, *members, **fields)
    await store.add_processgraph(graph, processes)
    return graph


async def graph_ids(store: Store, colony: str, state: int, count: int = 100) -> list[str]:
    return [g.processgraphid for g in await store.get_processgraphs(colony, state, count)]


async def test_a_processgraph_reads_back_with_its_processes_in_insertion_order(
    store: Store,
) -> None:
    graph, processes = workflow(1, 5, 2, 9, roots=[5], submitted=3 * NS)
    processes[0].process.attributes = [Attribute(attributeid="a5", targetid=pid(5), key="k")]
    await store.add_processgraph(graph, processes)
    got = await store.get_processgraph(gid(1))
    assert got is not None and got.to_dict() == graph.to_dict()
    assert (got.nodes, got.edges) == ([], [])  # drawn by the handler, not stored
    members = await store.graph_processes(gid(1))
    assert ids(members) == [pid(5), pid(2), pid(9)]  # insertion, not ID or priority order
    assert [p.to_dict() for p in members] == [new.process.to_dict() for new in processes]
    assert [p.waitforparents for p in members] == [False, True, True]
    assert await store.count_processes("dev") == ProcessCounts(waiting=3)
    assert await store.get_processgraph(gid(2)) is None
    assert await store.graph_processes(gid(2)) == []
    await add(store, make(1))  # outside any graph (processgraphid ""): no graph's member
    assert await store.graph_processes("") == []


async def test_a_processgraph_is_inserted_with_all_its_processes_or_nothing(store: Store) -> None:
    await add(store, make(3))
    with pytest.raises(AlreadyExists):  # its second process's ID is taken
        await add_workflow(store, 1, 1, 3, 2, roots=[1])
    assert await store.get_processgraph(gid(1)) is None
    assert await present(store, range(1, 4)) == {3}
    assert await store.count_processes("dev") == ProcessCounts(waiting=1)
    await add_workflow(store, 1, 1, 2, roots=[1])
    with pytest.raises(AlreadyExists):  # the graph's ID is taken
        await add_workflow(store, 1, 4, roots=[4])
    assert await present(store, range(1, 5)) == {1, 2, 3}
    assert await store.count_processgraphs("dev") == ProcessCounts(waiting=1)


async def test_processgraph_lists_by_state_newest_first(store: Store) -> None:
    await add_colony(store, "other")
    for g, submitted, state in ((1, 20, WAITING), (2, 30, WAITING), (3, 10, WAITING)):
        await add_workflow(store, g, 10 * g, roots=[10 * g], submitted=submitted * NS, state=state)
    await add_workflow(store, 4, 40, roots=[40], submitted=40 * NS, state=RUNNING)
    await add_workflow(store, 5, 50, roots=[50], submitted=50 * NS, colony="other")
    assert await graph_ids(store, "dev", WAITING) == [gid(2), gid(1), gid(3)]
    assert await graph_ids(store, "dev", WAITING, 2) == [gid(2), gid(1)]
    assert await graph_ids(store, "dev", RUNNING) == [gid(4)]
    assert await graph_ids(store, "dev", SUCCESS) == []
    assert await graph_ids(store, "other", WAITING) == [gid(5)]
    assert await graph_ids(store, "nope", WAITING) == []
    listed = await store.get_processgraphs("dev", RUNNING, 1)
    stored = await store.get_processgraph(gid(4))
    assert stored is not None and [g.to_dict() for g in listed] == [stored.to_dict()]


async def test_updating_a_processgraph(store: Store) -> None:
    await add_workflow(store, 1, 1, 2, roots=[1], submitted=NS)
    await add_workflow(store, 2, 3, roots=[3])
    running = await store.update_processgraph(gid(1), state=RUNNING, starttime=5 * NS)
    assert running is not None
    assert (running.state, running.starttime, running.endtime) == (
        RUNNING,
        format_ns(5 * NS),
        format_ns(0),
    )
    assert running.processids == [pid(1), pid(2)]  # unchanged when not given
    grown = await store.update_processgraph(
        gid(1), state=RUNNING, processids=[pid(1), pid(4), pid(2)]
    )
    assert grown is not None and grown.processids == [pid(1), pid(4), pid(2)]
    assert grown.starttime == format_ns(5 * NS)  # times not given are kept
    done = await store.update_processgraph(gid(1), state=SUCCESS, endtime=9 * NS)
    assert done is not None
    assert (done.state, done.starttime, done.endtime) == (
        SUCCESS,
        format_ns(5 * NS),
        format_ns(9 * NS),
    )
    assert (done.submissiontime, done.rootprocessids) == (format_ns(NS), [pid(1)])
    stored = await store.get_processgraph(gid(1))
    assert stored is not None and stored.to_dict() == done.to_dict()
    assert await graph_ids(store, "dev", SUCCESS) == [gid(1)]
    assert await graph_ids(store, "dev", WAITING) == [gid(2)]
    assert await store.update_processgraph(gid(9), state=FAILED) is None
    untouched = await store.get_processgraph(gid(2))
    assert untouched is not None and untouched.state == WAITING


async def test_a_processgraph_update_is_a_compare_and_set_on_its_state(store: Store) -> None:
    """Replicas reacting to one graph at once: only the one that read the current state
    writes, so an older state never lands over a newer one."""
    await add_workflow(store, 1, 1, roots=[1])
    assert await store.update_processgraph(gid(1), state=RUNNING, states=[WAITING]) is not None
    assert await store.update_processgraph(gid(1), state=RUNNING, states=[WAITING]) is None
    done = await store.update_processgraph(gid(1), state=SUCCESS, endtime=NS, states=[RUNNING])
    assert done is not None and done.state == SUCCESS
    late = await store.update_processgraph(gid(1), state=FAILED, states=[WAITING, RUNNING])
    assert late is None
    stored = await store.get_processgraph(gid(1))
    assert stored is not None and (stored.state, stored.endtime) == (SUCCESS, format_ns(NS))


async def test_removing_a_processgraph_removes_its_processes(store: Store) -> None:
    graph, processes = workflow(1, 1, 2, roots=[1])
    processes[1].process.attributes = [Attribute(attributeid="a2", targetid=pid(2), key="k")]
    await store.add_processgraph(graph, processes)
    await add_workflow(store, 2, 3, 4, roots=[3])
    await add(store, make(5))
    await store.remove_processgraph(gid(1))
    assert await store.get_processgraph(gid(1)) is None
    assert await store.graph_processes(gid(1)) == []
    assert await present(store, range(1, 6)) == {3, 4, 5}
    assert await store.get_attribute("a2") is None
    assert await store.get_processgraph(gid(2)) is not None
    assert await store.count_processes("dev") == ProcessCounts(waiting=3)
    assert await store.count_processgraphs("dev") == ProcessCounts(waiting=1)
    await store.remove_processgraph(gid(9))  # a no-op
    assert await present(store, range(1, 6)) == {3, 4, 5}


async def test_removing_processgraphs_by_state(store: Store) -> None:
    await add_colony(store, "other")
    await add_workflow(store, 1, 1, roots=[1], state=SUCCESS)
    await add_workflow(store, 2, 2, 3, roots=[2], state=SUCCESS)
    await add_workflow(store, 3, 4, roots=[4], state=FAILED)
    await add_workflow(store, 4, 5, roots=[5])
    await add_workflow(store, 5, 6, roots=[6], state=SUCCESS, colony="other")
    await add(store, make(7))
    await set_state(store, 7, SUCCESS)  # outside workflows: not removed with graphs
    await store.remove_processgraphs("dev", SUCCESS)
    assert await store.get_processgraph(gid(1)) is None
    assert await store.get_processgraph(gid(2)) is None
    assert await present(store, range(1, 8)) == {4, 5, 6, 7}
    assert await store.count_processgraphs("dev") == ProcessCounts(waiting=1, failed=1)
    await store.remove_processgraphs("dev", -1)  # every state
    assert await store.count_processgraphs("dev") == ProcessCounts()
    assert await present(store, range(1, 8)) == {6, 7}
    assert await graph_ids(store, "other", SUCCESS) == [gid(5)]
    assert await store.count_processes("dev") == ProcessCounts(successful=1)


async def test_removing_a_colony_removes_its_processgraphs(store: Store) -> None:
    await add_colony(store, "other")
    await add_workflow(store, 1, 1, 2, roots=[1])
    await add_workflow(store, 2, 3, roots=[3], colony="other")
    await store.remove_colony("dev")
    assert await store.get_processgraph(gid(1)) is None
    assert await present(store, range(1, 4)) == {3}
    assert await store.count_processgraphs("dev") == ProcessCounts()
    assert await store.count_processgraphs(None) == ProcessCounts(waiting=1)
    await add_colony(store, "dev")  # made again: no graph of the old one comes back
    assert await graph_ids(store, "dev", WAITING) == []


async def test_processgraph_counts_per_colony_and_overall(store: Store) -> None:
    await add_colony(store, "other")
    for g, state in enumerate((WAITING, WAITING, RUNNING, SUCCESS, FAILED, CANCELLED), 1):
        await add_workflow(store, g, g, roots=[g], state=state)
    await add_workflow(store, 7, 7, roots=[7], colony="other", state=SUCCESS)
    assert await store.count_processgraphs("dev") == ProcessCounts(2, 1, 1, 1, 1)
    assert await store.count_processgraphs("other") == ProcessCounts(successful=1)
    assert await store.count_processgraphs(None) == ProcessCounts(2, 1, 2, 1, 1)
    assert await store.count_processgraphs("empty") == ProcessCounts()
    await store.update_processgraph(gid(1), state=RUNNING)
    assert await store.count_processgraphs("dev") == ProcessCounts(1, 2, 1, 1, 1)


async def test_a_process_waiting_for_its_parents_is_never_assigned_until_released(
    store: Store,
) -> None:
    e = await approved(store)
    await add_workflow(store, 1, 1, 2, 3, roots=[1])
    assert await store.count_processes("dev") == ProcessCounts(waiting=3)  # waiting ones too
    assert await claim(store, e) == pid(1)
    assert await claim(store, e) is None  # 2 and 3 wait for their parents
    done = ProcessUpdate(state=SUCCESS, endtime=6 * NS, output=["out1"])
    assert await store.update_process(pid(1), done, states=[RUNNING])
    assert await claim(store, e) is None  # closing a parent releases nothing by itself
    release = ProcessUpdate(waitforparents=False, input=["out1", {"n": 1}])
    assert await store.update_process(pid(2), release, states=[RUNNING]) is None  # guarded
    assert await store.update_process(pid(2), release, executorid=e.executorid) is None
    kept = await store.get_process(pid(2))
    assert kept is not None and (kept.waitforparents, kept.input) == (True, [])
    released = await store.update_process(pid(2), release, states=[WAITING])
    assert released is not None
    assert (released.waitforparents, released.input, released.state) == (
        False,
        ["out1", {"n": 1}],
        WAITING,
    )
    assert await store.count_processes("dev") == ProcessCounts(waiting=2, successful=1)
    claimed = await store.assign(e, 7 * NS, **FREE)
    assert claimed is not None and claimed.processid == pid(2)
    assert claimed.input == ["out1", {"n": 1}] and claimed.to_dict()["in"] == ["out1", {"n": 1}]
    assert await claim(store, e) is None  # 3 still waits
    # the flag flips both ways (as addchildmsg holds back a released process)
    assert await store.update_process(pid(3), ProcessUpdate(waitforparents=False))
    held = await store.update_process(pid(3), ProcessUpdate(waitforparents=True), states=[WAITING])
    assert held is not None and held.waitforparents is True
    assert await claim(store, e) is None


async def test_update_process_sets_parents_and_children(store: Store) -> None:
    e = await approved(store)
    await add_workflow(store, 1, 1, 2, roots=[1])
    assert await claim(store, e) == pid(1)
    # a child spliced in after 1: 1's children and 2's parents change, guarded as any update
    spliced = ProcessUpdate(children=[pid(3)])
    assert await store.update_process(pid(1), spliced, states=[WAITING]) is None
    parent = await store.update_process(pid(1), spliced, states=[RUNNING], executorid=e.executorid)
    assert parent is not None and (parent.parents, parent.children) == ([], [pid(3)])
    child = await store.update_process(
        pid(2), ProcessUpdate(parents=[pid(3)], children=[]), states=[WAITING]
    )
    assert child is not None and (child.parents, child.children) == ([pid(3)], [])
    stored = await store.get_process(pid(2))
    assert stored is not None and stored.to_dict() == child.to_dict()
    assert stored.waitforparents is True and stored.processgraphid == gid(1)
    assert await store.update_process(pid(2), ProcessUpdate(parents=[]), states=[RUNNING]) is None
    unchanged = await store.get_process(pid(2))
    assert unchanged is not None and unchanged.parents == [pid(3)]


# --- attributes, functions, logs


async def test_attributes(store: Store) -> None:
    await add(store, make(1))
    attribute = Attribute(
        attributeid="a1",
        targetid=pid(1),
        targetcolonyname="dev",
        targetprocessgraphid="g",
        state=1,
        attributetype=2,
        key="k",
        value="v",
    )
    await store.add_attribute(attribute)
    assert (got := await store.get_attribute("a1")) is not None
    assert got.to_dict() == attribute.to_dict()
    process = await store.get_process(pid(1))
    assert process is not None and [a.to_dict() for a in process.attributes] == [got.to_dict()]
    await store.add_attribute(Attribute(attributeid="a1", targetid=pid(1), key="k", value="w"))
    got = await store.get_attribute("a1")  # the same ID again: replaced
    assert got is not None and got.value == "w"
    assert await store.get_attribute("a2") is None


async def test_functions(store: Store) -> None:
    await add_colony(store, "other")
    full = Function(
        functionid="1",
        colonyname="dev",
        executorname="e1",
        executortype="t",
        funcname="f",
        description="d",
        args=[FunctionArg(name="x", type="int", required=True)],
        minwaittime=0.5,
    )
    await store.add_function(full)
    for fid, colony, executorname, funcname in (
        ("2", "dev", "e2", "g"),
        ("3", "other", "e1", "f"),
        ("4", "dev", "e2", "f"),
    ):
        await store.add_function(
            Function(
                functionid=fid, colonyname=colony, executorname=executorname, funcname=funcname
            )
        )
    assert (got := await store.get_function("1")) is not None and got.to_dict() == full.to_dict()
    assert await store.get_function("9") is None
    assert {f.functionid for f in await store.get_functions("dev")} == {"1", "2", "4"}
    assert {f.functionid for f in await store.get_functions("dev", "e2")} == {"2", "4"}
    assert await store.get_functions("dev", "nobody") == []
    found = await store.find_function("dev", "e1", "f")
    assert found is not None and found.to_dict() == full.to_dict()
    assert (other := await store.find_function("other", "e1", "f")) and other.functionid == "3"
    assert await store.find_function("dev", "e1", "g") is None
    assert await store.find_function("dev", "e3", "f") is None
    assert await store.find_function("empty", "e1", "f") is None
    full.counter, full.avgexectime, full.maxwaittime = 5, 1.25, 3.5
    await store.update_function(full)
    again = await store.get_function("1")
    assert again is not None and again.to_dict() == full.to_dict()
    assert len(await store.get_functions("dev", "e1")) == 1  # updated, not added
    await store.remove_function("1")
    assert await store.get_function("1") is None and await store.get_function("2") is not None
    assert await store.find_function("dev", "e1", "f") is None
    await store.remove_function("1")  # a no-op


async def test_logs_by_process_and_by_executor(store: Store) -> None:
    await add_colony(store, "other")
    entries = [
        (pid(1), "dev", "e1", 10, "one"),
        (pid(1), "dev", "e1", 10, "two"),  # same time: kept in insertion order
        (pid(1), "dev", "e1", 30, "three"),
        (pid(2), "dev", "e1", 20, "elsewhere"),
        ("", "dev", "e1", 40, "executor says"),
        ("", "dev", "e2", 50, "e2 says"),
        ("", "other", "e1", 60, "other colony says"),
    ]
    for processid, colony, executorname, ts, message in entries:
        await store.add_log(
            Log(
                processid=processid,
                colonyname=colony,
                executorname=executorname,
                timestamp=ts,
                message=message,
            )
        )

    async def messages(**kw: Any) -> list[str]:
        return [log.message for log in await store.get_logs("dev", **kw)]

    assert await messages(processid=pid(1), count=10) == ["one", "two", "three"]
    assert await messages(processid=pid(1), count=2) == ["one", "two"]
    assert await messages(processid=pid(1), count=2, latest=True) == ["two", "three"]
    assert await messages(processid=pid(1), count=10, latest=True) == ["one", "two", "three"]
    assert await messages(processid=pid(1), count=10, since=10) == ["three"]  # strictly after
    assert await messages(processid=pid(1), count=1, since=5, latest=True) == ["three"]
    assert await messages(processid=pid(3), count=10) == []
    assert await messages(executorname="e1", count=10) == [
        "one",
        "two",
        "elsewhere",
        "three",
        "executor says",
    ]
    assert await messages(executorname="e1", count=3, since=10) == [
        "elsewhere",
        "three",
        "executor says",
    ]
    assert await messages(executorname="e1", count=2, latest=True) == ["three", "executor says"]
    assert await messages(executorname="e1", count=10, since=30) == ["executor says"]
    assert [log.message for log in await store.get_logs("other", executorname="e1", count=9)] == [
        "other colony says"
    ]
    one = (await store.get_logs("dev", processid=pid(1), count=1))[0]
    assert one == Log(
        processid=pid(1), colonyname="dev", executorname="e1", message="one", timestamp=10
    )


async def test_searching_logs(store: Store) -> None:
    await add_colony(store, "other")
    for ts, colony, message in (
        (10, "dev", "executor says"),
        (20, "dev", "e2 says"),
        (30, "other", "other colony says"),
        (40, "dev", "100% done"),
        (50, "dev", "1000 done"),
        (60, "dev", "a_b"),
        (70, "dev", "axb"),
        (1_700_000_000 * NS, "dev", "today says"),
    ):
        await store.add_log(Log(colonyname=colony, executorname="e", timestamp=ts, message=message))

    async def search(text: str, since: int = 0, count: int = 10) -> list[str]:
        return [log.message for log in await store.search_logs("dev", text, since, count)]

    assert await search("says") == ["executor says", "e2 says", "today says"]
    assert await search("says", since=10) == ["e2 says", "today says"]  # strictly after
    assert await search("says", since=70) == ["today says"]
    assert await search("says", count=1) == ["executor says"]
    assert await search("SAYS") == []  # case matters
    assert await search("100%") == ["100% done"]  # no wildcards: the text as it is
    assert await search("a_b") == ["a_b"]
    assert await search("nothing") == []


# --- replicas and reopening


async def test_replicas_on_one_database_share_everything(store: Store, open_store: Opener) -> None:
    replica = open_store()
    try:
        e = await approved(store)
        await add(store, make(1), make(2))
        await store.set_paused("dev", True)
        assert await replica.is_paused("dev") is True
        assert await claim(replica, e) == pid(1)
        got = await store.get_process(pid(1))
        assert got is not None and got.state == RUNNING
        assert await claim(store, e) == pid(2)
        assert await claim(replica, e) is None
        assert await replica.count_processes("dev") == ProcessCounts(running=2)
    finally:
        await replica.close()


async def test_everything_survives_closing_and_reopening(store: Store, open_store: Opener) -> None:
    first = open_store()
    await first.set_server_id("sid")
    await approved(first)
    await add(first, make(1))
    await first.close()
    second = open_store()
    try:
        assert await second.get_server_id() == "sid"
        assert (e := await second.get_executor("dev", "e")) is not None
        assert await claim(second, e) == pid(1)
        assert await second.count_processes("dev") == ProcessCounts(running=1)
    finally:
        await second.close()


# --- concurrency


async def test_concurrent_claimers_take_every_process_exactly_once(store: Store) -> None:
    n, claimers = 5000, 50
    executors = [await approved(store, f"c{i}") for i in range(claimers)]
    await add_many(store, (make(i) for i in range(n)))
    taken: dict[str, list[str]] = {e.executorid: [] for e in executors}

    async def claimer(e: Executor) -> None:
        while (p := await store.assign(e, NS, **FREE)) is not None:
            taken[e.executorid].append(p.processid)
            await asyncio.sleep(0)  # let the others in (a store may never suspend)

    await asyncio.gather(*(claimer(e) for e in executors))
    everything = [p for claimed in taken.values() for p in claimed]
    assert len(everything) == n and set(everything) == {pid(i) for i in range(n)}
    assert sum(1 for claimed in taken.values() if claimed) > 1
    assert await store.count_processes("dev") == ProcessCounts(running=n)
    running = await store.get_processes("dev", RUNNING, n + 1)
    assert {p.processid: p.assignedexecutorid for p in running} == {
        processid: executorid for executorid, claimed in taken.items() for processid in claimed
    }


async def test_concurrent_closes_of_one_process_have_one_winner(store: Store) -> None:
    n, closers = 20, 10
    e = await approved(store)
    await add_many(store, (make(i) for i in range(n)))
    assert len({await claim(store, e) for _ in range(n)}) == n

    async def close(i: int, k: int) -> Process | None:
        update = ProcessUpdate(state=(SUCCESS, FAILED)[k % 2], endtime=(k + 1) * NS)
        return await store.update_process(
            pid(i), update, states=[RUNNING], executorid=e.executorid, approved=True
        )

    results = await asyncio.gather(*(close(i, k) for i in range(n) for k in range(closers)))
    for i in range(n):
        wins = [r for r in results[i * closers : (i + 1) * closers] if r is not None]
        assert len(wins) == 1
        stored = await store.get_process(pid(i))
        assert stored is not None and stored.to_dict() == wins[0].to_dict()
    counts = await store.count_processes("dev")
    assert (counts.running, counts.successful + counts.failed) == (0, n)


async def test_concurrent_sweeps_remove_a_stale_executor_once(store: Store) -> None:
    e = await approved(store)
    await add(store, make(1))
    await claim(store, e)
    await store.mark_alive("dev", e.executorid, NS)
    results = await asyncio.gather(
        *(store.unregister_executor("dev", "e", 5 * NS, heard_before=2 * NS) for _ in range(10))
    )
    assert sorted(results, key=lambda r: r is not None) == [None] * 9 + [[pid(1)]]
    assert await store.count_processes("dev") == ProcessCounts(waiting=1)


async def test_an_unregistered_executor_keeps_no_process(store: Store) -> None:
    """``assign`` racing ``unregister_executor``: whatever a removed executor claimed before its
    removal is re-queued, and it claims nothing after."""
    n = 500
    executors = [await approved(store, f"c{i}") for i in range(10)]
    await add_many(store, (make(i) for i in range(n)))

    async def claimer(e: Executor) -> None:
        while await store.assign(e, NS, **FREE) is not None:
            await asyncio.sleep(0)

    async def remove(e: Executor, after: int) -> list[str] | None:
        for _ in range(after):
            await asyncio.sleep(0)
        return await store.unregister_executor("dev", e.executorname, 2 * NS)

    removed = executors[:5]
    results = await asyncio.gather(
        *(claimer(e) for e in executors), *(remove(e, 3 * k) for k, e in enumerate(removed))
    )
    assert all(isinstance(requeued, list) for requeued in results[len(executors) :])
    gone = {e.executorid for e in removed}
    running = await store.get_processes("dev", RUNNING, n)
    assert [p.processid for p in running if p.assignedexecutorid in gone] == []
    counts = await store.count_processes("dev")
    assert counts.waiting + counts.running == n and counts.running == len(running)


# --- crons and generators


def cron(i: int, *, colony: str = "dev", nextrun: int = 0, **fields: Any) -> Cron:
    return Cron(
        cronid=f"c{i:063x}",
        colonyname=colony,
        name=fields.pop("name", f"cron{i}"),
        interval=fields.pop("interval", 10),
        nextrun=format_ns(nextrun),
        workflowspec='{"colonyname":"dev","functionspecs":[]}',
        initiatorid="b" * 64,
        initiatorname="u",
        **fields,
    )


def generator(i: int, *, colony: str = "dev", **fields: Any) -> Generator:
    return Generator(
        generatorid=f"9{i:063x}",
        colonyname=colony,
        name=fields.pop("name", f"gen{i}"),
        workflowspec='{"colonyname":"dev","functionspecs":[]}',
        trigger=fields.pop("trigger", 3),
        timeout=fields.pop("timeout", -1),
        initiatorid="b" * 64,
        initiatorname="u",
        **fields,
    )


async def test_a_cron_reads_back_as_stored_and_is_unique_by_name(store: Store) -> None:
    c = cron(1, cronexpression="0/5 * * * * *", interval=-1, waitforprevprocessgraph=True)
    await store.add_cron(c)
    got = await store.get_cron(c.cronid)
    assert got is not None and got.to_dict() == c.to_dict()
    with pytest.raises(AlreadyExists, match="Cron with name <cron1> in Colony <dev> already"):
        await store.add_cron(cron(2, name="cron1"))
    await add_colony(store, "other")
    await store.add_cron(cron(3, name="cron1", colony="other"))  # names are per colony
    assert await store.get_cron("nope") is None


async def test_crons_list_per_colony_in_insertion_order(store: Store) -> None:
    await add_colony(store, "other")
    for i in (5, 2, 9):
        await store.add_cron(cron(i))
    await store.add_cron(cron(7, colony="other"))
    assert [c.name for c in await store.get_crons("dev", 10)] == ["cron5", "cron2", "cron9"]
    assert [c.name for c in await store.get_crons("dev", 2)] == ["cron5", "cron2"]
    assert [c.name for c in await store.get_crons("other", 10)] == ["cron7"]
    assert await store.get_crons("nope", 10) == []
    await store.remove_cron(cron(2).cronid)
    assert await store.get_cron(cron(2).cronid) is None
    assert [c.name for c in await store.get_crons("dev", 10)] == ["cron5", "cron9"]


async def test_advance_cron_is_a_compare_and_set_on_nextrun(store: Store) -> None:
    c = cron(1)
    await store.add_cron(c)
    assert await store.advance_cron(c.cronid, expected_nextrun=5, nextrun=9) is False
    assert await store.advance_cron(c.cronid, expected_nextrun=0, nextrun=10 * NS) is True
    got = await store.get_cron(c.cronid)
    assert got is not None and parse_ns(got.nextrun) == 10 * NS
    assert parse_ns(got.lastrun) == 0 and got.prevprocessgraphid == ""
    assert await store.advance_cron(
        c.cronid, expected_nextrun=10 * NS, nextrun=20 * NS, lastrun=11 * NS
    )
    assert await store.advance_cron(
        c.cronid, expected_nextrun=20 * NS, nextrun=20 * NS, prevprocessgraphid="g1"
    )
    got = await store.get_cron(c.cronid)
    assert got is not None
    assert (parse_ns(got.nextrun), parse_ns(got.lastrun), got.prevprocessgraphid) == (
        20 * NS,
        11 * NS,
        "g1",
    )
    assert await store.advance_cron("nope", expected_nextrun=0, nextrun=1) is False


async def test_due_crons_are_the_new_and_the_past_ones_earliest_first(store: Store) -> None:
    await store.add_cron(cron(1, nextrun=30 * NS))
    await store.add_cron(cron(2, nextrun=10 * NS))
    await store.add_cron(cron(3))  # never evaluated
    await store.add_cron(cron(4, nextrun=20 * NS))
    due = await store.due_crons(25 * NS, 10)
    assert [c.name for c in due] == ["cron3", "cron2", "cron4"]
    assert [c.name for c in await store.due_crons(25 * NS, 1)] == ["cron3"]
    assert [c.name for c in await store.due_crons(10 * NS, 10)] == ["cron3"]  # strictly past


async def test_concurrent_advances_of_one_cron_have_one_winner(
    store: Store, open_store: Opener
) -> None:
    """Two replicas (and many tasks in each) fire one due cron: exactly one wins."""
    await store.add_cron(cron(1, nextrun=5 * NS))
    replica = open_store()
    try:
        results = await asyncio.gather(
            *(
                (store, replica)[k % 2].advance_cron(
                    cron(1).cronid, expected_nextrun=5 * NS, nextrun=(10 + k) * NS, lastrun=6 * NS
                )
                for k in range(20)
            )
        )
        assert results.count(True) == 1
        got = await replica.get_cron(cron(1).cronid)
        assert got is not None and parse_ns(got.nextrun) == (10 + results.index(True)) * NS
    finally:
        await replica.close()


async def test_a_generator_reads_back_and_is_unique_by_name(store: Store) -> None:
    g = generator(1, trigger=5, timeout=2)
    await store.add_generator(g)
    got = await store.get_generator(g.generatorid)
    assert got is not None and got.to_dict() == g.to_dict()
    by_name = await store.get_generator_by_name("dev", "gen1")
    assert by_name is not None and by_name.generatorid == g.generatorid
    assert await store.get_generator_by_name("dev", "nope") is None
    assert await store.get_generator("nope") is None
    with pytest.raises(AlreadyExists, match="Generator with name <gen1> in Colony <dev>"):
        await store.add_generator(generator(2, name="gen1"))


async def test_generators_list_per_colony_and_removal_drops_their_args(store: Store) -> None:
    await add_colony(store, "other")
    for i in (4, 1):
        await store.add_generator(generator(i))
    await store.add_generator(generator(8, colony="other"))
    assert [g.name for g in await store.get_generators("dev", 10)] == ["gen4", "gen1"]
    assert [g.name for g in await store.get_generators("dev", 1)] == ["gen4"]
    assert await store.pack_generator_arg(generator(4).generatorid, "x", 1 * NS)
    await store.remove_generator(generator(4).generatorid)
    assert await store.get_generator(generator(4).generatorid) is None
    assert await store.count_generator_args(generator(4).generatorid) == 0
    assert [g.name for g in await store.get_generators("dev", 10)] == ["gen1"]


async def test_packing_queues_args_in_order_and_sets_firstpack_once(store: Store) -> None:
    g = generator(1)
    await store.add_generator(g)
    assert await store.pack_generator_arg("nope", "x", 1 * NS) is False
    assert await store.pending_generators(10) == []
    for k, arg in enumerate(["a", "b", "", "c"]):
        assert await store.pack_generator_arg(g.generatorid, arg, (k + 1) * NS)
    got = await store.get_generator(g.generatorid)
    assert got is not None and parse_ns(got.firstpack) == 1 * NS
    assert await store.count_generator_args(g.generatorid) == 4
    args = await store.generator_args(g.generatorid, 10)
    assert [a for _, a in args] == ["a", "b", "", "c"]
    assert len({argid for argid, _ in args}) == 4
    assert [a for _, a in await store.generator_args(g.generatorid, 2)] == ["a", "b"]
    await store.add_generator(generator(2))
    assert [x.name for x in await store.pending_generators(10)] == ["gen1"]


async def test_consuming_args_is_a_compare_and_set_with_lastrun(store: Store) -> None:
    g = generator(1)
    await store.add_generator(g)
    for arg in "abcde":
        await store.pack_generator_arg(g.generatorid, arg, 1 * NS)
    args = await store.generator_args(g.generatorid, 10)
    first = [argid for argid, _ in args[:3]]
    assert await store.consume_generator_args(g.generatorid, first, 7 * NS) == ["a", "b", "c"]
    got = await store.get_generator(g.generatorid)
    assert got is not None and parse_ns(got.lastrun) == 7 * NS
    assert parse_ns(got.firstpack) == 1 * NS
    # consumed already (one of them): nothing changes, not even the others or lastrun
    rest = [argid for argid, _ in args[2:]]
    assert await store.consume_generator_args(g.generatorid, rest, 9 * NS) == []
    assert [a for _, a in await store.generator_args(g.generatorid, 10)] == ["d", "e"]
    got = await store.get_generator(g.generatorid)
    assert got is not None and parse_ns(got.lastrun) == 7 * NS
    assert await store.consume_generator_args(g.generatorid, [], 9 * NS) == []
    assert await store.consume_generator_args(g.generatorid, rest[1:], 9 * NS) == ["d", "e"]
    assert await store.count_generator_args(g.generatorid) == 0
    assert await store.pending_generators(10) == []


async def test_concurrent_consumers_of_the_same_args_have_one_winner(
    store: Store, open_store: Opener
) -> None:
    g = generator(1)
    await store.add_generator(g)
    for arg in "abc":
        await store.pack_generator_arg(g.generatorid, arg, 1 * NS)
    argids = [argid for argid, _ in await store.generator_args(g.generatorid, 10)]
    replica = open_store()
    try:
        results = await asyncio.gather(
            *(
                (store, replica)[k % 2].consume_generator_args(g.generatorid, argids, k * NS)
                for k in range(10)
            )
        )
        assert [r for r in results if r] == [["a", "b", "c"]]
    finally:
        await replica.close()


async def test_removing_a_colony_removes_its_crons_and_generators(store: Store) -> None:
    await add_colony(store, "other")
    await store.add_cron(cron(1))
    await store.add_generator(generator(1))
    await store.pack_generator_arg(generator(1).generatorid, "x", 1 * NS)
    await store.add_cron(cron(2, colony="other"))
    await store.add_generator(generator(2, colony="other"))
    await store.pack_generator_arg(generator(2).generatorid, "y", 1 * NS)
    await store.remove_colony("dev")
    assert await store.get_cron(cron(1).cronid) is None
    assert await store.get_generator(generator(1).generatorid) is None
    assert await store.count_generator_args(generator(1).generatorid) == 0
    assert await store.get_cron(cron(2).cronid) is not None
    assert await store.count_generator_args(generator(2).generatorid) == 1


# --- ID rotation (spec §4.12) ---


async def test_change_user_id_moves_the_user_within_its_colony_only(store: Store) -> None:
    await add_colony(store, "other")
    old, new = "1" * 64, "2" * 64
    await store.add_user(User(colonyname="dev", userid=old, name="alice", email="a@b"))
    await store.add_user(User(colonyname="other", userid=old, name="alice"))
    await store.change_user_id("dev", old, new)
    assert await store.get_user_by_id("dev", old) is None
    moved = await store.get_user_by_id("dev", new)
    assert moved == User(colonyname="dev", userid=new, name="alice", email="a@b")
    assert await store.get_user("dev", "alice") == moved
    assert [u.userid for u in await store.get_users("dev")] == [new]
    assert (await store.get_user("other", "alice")) == User(
        colonyname="other", userid=old, name="alice"
    )


async def test_change_executor_id_moves_the_executor_and_its_processes(store: Store) -> None:
    await add_colony(store, "other")
    old, new = "3" * 64, "4" * 64
    worker = await approved(store, "w", key=old)
    await approved(store, "w", key=old, colony="other")
    await add(store, make(1), make(2, colony="other"))
    assert await claim(store, worker) == pid(1)
    await store.change_executor_id("dev", old, new)
    assert await store.get_executor_by_id("dev", old) is None
    got = await store.get_executor("dev", "w")
    assert got is not None and got.executorid == new and got.state == ExecutorState.APPROVED
    assert await store.get_executor_by_id("dev", new) == got
    process = await store.get_process(pid(1))
    assert process is not None and process.assignedexecutorid == new
    # the other colony's registration of the same key is untouched
    other = await store.get_executor("other", "w")
    assert other is not None and other.executorid == old
    # the old ID claims nothing, the new one does
    await add(store, make(3))
    assert await claim(store, worker) is None
    assert await claim(store, executor("w", key=new)) == pid(3)


async def test_change_colony_id_is_a_compare_and_set(store: Store) -> None:
    await store.change_colony_id("dev", "b" * 64, "c" * 64)  # not the current ID: no change
    assert await store.get_colony("dev") == Colony(colonyid="a" * 64, name="dev")
    await store.change_colony_id("dev", "a" * 64, "c" * 64)
    assert await store.get_colony("dev") == Colony(colonyid="c" * 64, name="dev")


# --- channels (spec §4.10) ---


def entry(sequence: int, payload: bytes = b"", **fields: Any) -> ChannelEntry:
    return ChannelEntry(
        sequence=sequence, senderid="s" * 64, payload=payload, type="data", **fields
    )


async def test_channel_entries_are_numbered_and_read_in_order(store: Store) -> None:
    await add(store, make(1))
    stamp = 1_700_000_000 * NS + 123
    first = entry(5, bytes(range(256)), inreplyto=3)
    assert await store.append_channel_entry(pid(1), "out", first, stamp, 10) == 0
    assert await store.append_channel_entry(pid(1), "out", entry(6, b"b"), stamp + 1, 10) == 1
    assert await store.append_channel_entry(pid(1), "other", entry(1), stamp, 10) == 0
    got = await store.read_channel(pid(1), "out", 0, 0)
    assert got == [
        ChannelEntry(
            sequence=5,
            inreplyto=3,
            timestamp=format_ns(stamp),
            senderid="s" * 64,
            payload=bytes(range(256)),
            type="data",
        ),
        ChannelEntry(
            sequence=6, timestamp=format_ns(stamp + 1), senderid="s" * 64, payload=b"b", type="data"
        ),
    ]
    assert [e.sequence for e in await store.read_channel(pid(1), "out", 1, 0)] == [6]
    assert [e.sequence for e in await store.read_channel(pid(1), "out", 0, 1)] == [5]
    assert [e.sequence for e in await store.read_channel(pid(1), "out", -3, -1)] == [5, 6]
    assert await store.read_channel(pid(1), "out", 2, 0) == []
    assert await store.read_channel(pid(1), "never", 0, 0) == []
    assert await store.read_channel(pid(2), "out", 0, 0) == []


async def test_a_channel_holds_at_most_max_entries(store: Store) -> None:
    await add(store, make(1))
    for i in range(3):
        assert await store.append_channel_entry(pid(1), "a", entry(i), NS, 3) == i
    assert await store.append_channel_entry(pid(1), "a", entry(9), NS, 3) is None
    assert await store.append_channel_entry(pid(1), "b", entry(1), NS, 3) == 0
    assert len(await store.read_channel(pid(1), "a", 0, 0)) == 3


async def test_appends_need_a_waiting_or_running_process(store: Store) -> None:
    with pytest.raises(LookupError):
        await store.append_channel_entry(pid(1), "a", entry(1), NS, 10)
    await add(store, make(1), make(2))
    await store.append_channel_entry(pid(1), "a", entry(1), NS, 10)
    await set_state(store, 1, ProcessState.RUNNING)
    await store.append_channel_entry(pid(1), "a", entry(2), NS, 10)
    for i, state in ((1, ProcessState.SUCCESS), (2, ProcessState.CANCELLED)):
        await set_state(store, i, state)
        with pytest.raises(LookupError):
            await store.append_channel_entry(pid(i), "a", entry(3), NS, 10)
    assert len(await store.read_channel(pid(1), "a", 0, 0)) == 2  # still readable


async def test_channel_entries_go_with_their_process(store: Store) -> None:
    await add_colony(store, "other")
    await add(store, make(1), make(2), make(3), make(4, colony="other"))
    for i in (1, 2, 3, 4):
        await store.append_channel_entry(pid(i), "a", entry(i), NS, 10)
    await store.remove_process(pid(1))
    await set_state(store, 2, ProcessState.FAILED)
    await store.remove_processes("dev", ProcessState.FAILED)
    await store.remove_colony("other")
    left = {i for i in (1, 2, 3, 4) if await store.read_channel(pid(i), "a", 0, 0)}
    assert left == {3}
    await add(store, make(1))  # a process ID used again starts with empty channels
    assert await store.read_channel(pid(1), "a", 0, 0) == []
    assert await store.append_channel_entry(pid(1), "a", entry(1), NS, 10) == 0


async def test_concurrent_appends_from_two_replicas_get_dense_indices(open_store: Opener) -> None:
    first, second = open_store(), open_store()
    try:
        await first.add_colony(Colony(colonyid="a" * 64, name="dev"))
        await first.add_process(make(1), cpu=0, memory=0)

        async def append(replica: Store, n: int) -> list[int | None]:
            return [
                await replica.append_channel_entry(pid(1), "a", entry(n * 100 + i), NS, 1000)
                for i in range(20)
            ]

        results = await asyncio.gather(append(first, 1), append(second, 2), append(first, 3))
        indices = sorted(i for got in results for i in got if i is not None)
        assert indices == list(range(60))
        read = await second.read_channel(pid(1), "a", 0, 0)
        assert len(read) == 60 and len({e.sequence for e in read}) == 60
    finally:
        await first.close()
        await second.close()


# --- blueprints (spec §4.11) ---


def _bp_definition(name: str, kind: str, colony: str = "dev") -> BlueprintDefinition:
    d = BlueprintDefinition(blueprintdefinitionid=(name + colony).ljust(64, "d"))
    d.kind = "BlueprintDefinition"
    d.metadata.name, d.metadata.colonyname = name, colony
    d.spec.names.kind, d.spec.handler.executortype = kind, "rec"
    return d


def _bp(name: str, kind: str = "Web", colony: str = "dev", location: str = "") -> Blueprint:
    b = Blueprint(blueprintid=(name + colony).ljust(64, "b"), kind=kind, spec={"n": 1})
    b.metadata.name, b.metadata.colonyname, b.metadata.locationname = name, colony, location
    return b


def _bp_history(b: Blueprint, changetype: str) -> BlueprintHistory:
    return BlueprintHistory(
        historyid=str(uuid.uuid4()),
        blueprintid=b.blueprintid,
        kind=b.kind,
        namespace=b.metadata.colonyname,
        name=b.metadata.name,
        generation=b.metadata.generation,
        spec=dict(b.spec),
        changetype=changetype,
    )


async def test_blueprint_definitions_per_colony(store: Store) -> None:
    await add_colony(store, "other")
    web, db = _bp_definition("webs", "Web"), _bp_definition("dbs", "Db")
    for d in (web, db, _bp_definition("webs", "Web", "other")):
        await store.add_blueprint_definition(d)
    with pytest.raises(AlreadyExists, match="duplicate key"):
        await store.add_blueprint_definition(_bp_definition("webs", "Other"))
    assert await store.get_blueprint_definition("dev", "webs") == web
    assert await store.get_blueprint_definition("dev", "nope") is None
    assert await store.get_blueprint_definitions("dev") == [db, web]  # by name
    assert await store.get_blueprint_definition_by_kind("dev", "Web") == web
    assert await store.get_blueprint_definition_by_kind("dev", "Nope") is None
    await store.remove_blueprint_definition("dev", "webs")
    assert await store.get_blueprint_definitions("dev") == [db]
    assert len(await store.get_blueprint_definitions("other")) == 1


async def test_blueprints_read_back_filter_update_and_remove(store: Store) -> None:
    await add_colony(store, "other")
    a, b, c = _bp("a", location="Lab"), _bp("b", location="lab"), _bp("c", kind="Db")
    for x in (c, b, a, _bp("a", colony="other")):
        await store.add_blueprint(x, _bp_history(x, "create"))
    with pytest.raises(AlreadyExists):
        await store.add_blueprint(_bp("a"), _bp_history(a, "create"))
    assert await store.get_blueprint("dev", "a") == a
    assert await store.get_blueprint_by_id(a.blueprintid) == a
    assert await store.get_blueprint("dev", "zz") is None
    names = [x.metadata.name for x in await store.get_blueprints("dev")]
    assert names == ["a", "b", "c"]
    assert [x.metadata.name for x in await store.get_blueprints("dev", "Web")] == ["a", "b"]
    assert len(await store.get_blueprints("dev", "Web", "LAB")) == 2  # case-insensitive
    assert await store.get_blueprints("dev", "Web", "elsewhere") == []
    # an update replaces the document and may add history; status is replaced alone
    a.spec, a.metadata.generation = {"n": 2}, 1
    assert await store.update_blueprint(a, _bp_history(a, "update"))
    assert await store.update_blueprint_status(a.blueprintid, {"ready": True})
    got = await store.get_blueprint("dev", "a")
    assert got is not None and got.spec == {"n": 2} and got.status == {"ready": True}
    assert not await store.update_blueprint(_bp("ghost"))
    assert not await store.update_blueprint_status("ghost", {})
    history = await store.get_blueprint_history(a.blueprintid, 0)
    assert [(h.changetype, h.generation) for h in history] == [("update", 1), ("create", 0)]
    assert [h.changetype for h in await store.get_blueprint_history(a.blueprintid, 1)] == ["update"]
    await store.remove_blueprint("dev", "a")
    assert await store.get_blueprint_by_id(a.blueprintid) is None
    assert await store.get_blueprint_history(a.blueprintid, 0) == []
    assert await store.get_blueprint("other", "a") is not None


async def test_removing_a_colony_removes_its_blueprints(store: Store) -> None:
    x = _bp("a")
    await store.add_blueprint_definition(_bp_definition("webs", "Web"))
    await store.add_blueprint(x, _bp_history(x, "create"))
    await store.remove_colony("dev")
    assert await store.get_blueprint_definitions("dev") == []
    assert await store.get_blueprints("dev") == []
    assert await store.get_blueprint_history(x.blueprintid, 0) == []


# --- files and snapshots (ColonyFS, spec §4.9) ---------------------------------------------


def _file(name: str, label: str = "/data", colony: str = "dev", checksum: str = "c") -> Any:
    from colonies.model import File, Reference, S3Object

    return File(
        fileid=uuid.uuid4().hex,
        colonyname=colony,
        label=label,
        name=name,
        size=len(name),
        checksum=checksum,
        checksumalg="SHA256",
        ref=Reference("s3", S3Object(server="h", port=9000, bucket="b", object="o-" + name)),
        added=format_ns(1_700_000_000 * NS),
    )


async def test_file_revisions_data_and_labels(store: Store) -> None:
    await add_colony(store, "other")
    a1 = await store.add_file(_file("a.txt", checksum="1"))
    a2 = await store.add_file(_file("a.txt", checksum="2"))
    b = await store.add_file(_file("b.txt"))
    sub = await store.add_file(_file("c.txt", "/data/sub"))
    await store.add_file(_file("d.txt", "/database"))
    await store.add_file(_file("a.txt", colony="other"))
    assert 0 < a1.sequencenr < a2.sequencenr < b.sequencenr < sub.sequencenr
    assert a1.added == format_ns(1_700_000_000 * NS) and a1.ref.s3object.object == "o-a.txt"
    assert await store.get_file("dev", a1.fileid) == a1
    assert await store.get_file("other", a1.fileid) is None  # never across colonies
    assert await store.get_files_by_name("dev", "/data", "a.txt") == [a2, a1]
    assert await store.get_files_by_name("dev", "/data", "a.txt", latest=True) == [a2]
    assert await store.get_files_by_name("dev", "/data", "zz") == []
    data = await store.get_file_data("dev", "/data")
    assert [(d.name, d.checksum, d.s3filename) for d in data] == [
        ("a.txt", "2", "o-a.txt"),
        ("b.txt", "c", "o-b.txt"),
    ]
    every = [(x.name, x.files) for x in await store.get_file_labels("dev")]
    assert every == [("/data", 3), ("/data/sub", 1), ("/database", 1)]
    below = [x.name for x in await store.get_file_labels("dev", "/data", exact=True)]
    assert below == ["/data", "/data/sub"]  # "/database" is not below "/data"
    prefix = [x.name for x in await store.get_file_labels("dev", "/data", exact=False)]
    assert prefix == ["/data", "/data/sub", "/database"]
    assert await store.get_file_labels("dev", "/da_a") == []  # no SQL wildcards
    only_sub = [x.name for x in await store.get_file_labels("dev", "/data/sub/", exact=True)]
    assert only_sub == ["/data/sub"]
    await store.remove_file("dev", a2.fileid)
    assert await store.get_files_by_name("dev", "/data", "a.txt") == [a1]
    await store.remove_file("other", b.fileid)  # another colony's: nothing happens
    assert await store.get_file("dev", b.fileid) == b
    await store.remove_files_by_name("dev", "/data", "a.txt")
    assert await store.get_files_by_name("dev", "/data", "a.txt") == []
    assert len(await store.get_files_by_name("other", "/data", "a.txt")) == 1


async def test_snapshots_freeze_the_newest_revisions_below_a_label(store: Store) -> None:
    from colonies.model import Snapshot

    await add_colony(store, "other")
    await store.add_file(_file("a.txt", checksum="1"))
    a2 = await store.add_file(_file("a.txt", checksum="2"))
    sub = await store.add_file(_file("c.txt", "/data/sub"))
    await store.add_file(_file("d.txt", "/database"))

    def snap(name: str, label: str = "/data", colony: str = "dev", at: int = 1) -> Snapshot:
        added = format_ns(at * NS)
        return Snapshot(uuid.uuid4().hex, colony, label, name, [], added)

    first = await store.create_snapshot(snap("s1"))
    assert first.fileids == [a2.fileid, sub.fileid]
    with pytest.raises(AlreadyExists, match="Snapshot with name <s1> in Colony <dev>"):
        await store.create_snapshot(snap("s1"))
    other = await store.create_snapshot(snap("s1", colony="other"))  # names are per colony
    assert other.fileids == []
    second = await store.create_snapshot(snap("s2", "/data/sub", at=2))
    assert second.fileids == [sub.fileid]
    assert await store.get_snapshot("dev", first.snapshotid) == first
    assert await store.get_snapshot("other", first.snapshotid) is None
    assert await store.get_snapshot_by_name("dev", "s2") == second
    assert await store.get_snapshot_by_name("dev", "nope") is None
    assert await store.get_snapshots("dev") == [second, first]  # newest first
    await store.remove_snapshot("other", first.snapshotid)  # not its own: nothing happens
    await store.remove_snapshot("dev", first.snapshotid)
    assert await store.get_snapshots("dev") == [second]
    await store.remove_snapshot_by_name("dev", "s2")
    assert await store.get_snapshots("dev") == []
    await store.create_snapshot(snap("s3"))
    await store.remove_snapshots("dev")
    assert await store.get_snapshots("dev") == []
    assert await store.get_snapshots("other") == [other]


async def test_removing_a_colony_removes_its_files_and_snapshots(store: Store) -> None:
    from colonies.model import Snapshot

    await add_colony(store, "other")
    f = await store.add_file(_file("a.txt"))
    kept = await store.add_file(_file("a.txt", colony="other"))
    s = Snapshot(uuid.uuid4().hex, "dev", "/data", "s", [], format_ns(NS))
    await store.create_snapshot(s)
    await store.remove_colony("dev")
    assert await store.get_file("dev", f.fileid) is None
    assert await store.get_file_labels("dev") == []
    assert await store.get_snapshots("dev") == []
    assert await store.get_file("other", kept.fileid) == kept
