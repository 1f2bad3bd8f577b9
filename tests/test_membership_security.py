"""Membership security (issue 8): executor IDs are per colony, join tokens cannot take a name
held by another key, and processes of an executor that vanished go back to the queue.

Each test drives the real API of a live server, the way the attack or the failure happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from colonies import crypto, jointoken
from colonies.client import AsyncClient, Client
from colonies.errors import AccessDeniedError, NoProcessAvailable
from colonies.executor import Executor as ExecutorLoop
from colonies.functions import FunctionSet
from colonies.model import (
    Colony,
    Conditions,
    Executor,
    ExecutorState,
    FunctionSpec,
    ProcessState,
)
from colonies.server import ServerConfig
from conftest import Identity, LiveServer, add_executor, start_server
from polling import eventually, pollers_waiting

STALE = 2.0  # seconds: the stale-executor duration of the servers in the stale tests


def spec(colonyname: str = "dev", executortype: str = "test") -> FunctionSpec:
    """A process with no execution deadline: only the stale rule can take it back."""
    return FunctionSpec(
        funcname="work",
        maxexectime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname=colonyname, executortype=executortype),
    )


def record(key: Identity, name: str, colonyname: str, executortype: str = "test") -> Executor:
    return Executor(
        executorid=key.id, executorname=name, executortype=executortype, colonyname=colonyname
    )


def state_of(client: Client, colonyname: str, name: str) -> int:
    """An executor's state, read by ``client`` (a member: colony owners are not members)."""
    states = {e.executorname: e.state for e in client.get_executors(colonyname)}
    return states[name]


# --- 1. executor IDs are resolved per colony


@pytest.fixture
def colony_b(live: LiveServer) -> Identity:
    """A second colony, ``b``, whose owner is the attacker."""
    owner = Identity(crypto.generate_private_key())
    with Client(live.url, live.server.prvkey) as client:
        client.add_colony(Colony(colonyid=owner.id, name="b"))
    return owner


@pytest.mark.parametrize("squat_first", [False, True], ids=["squat-after", "squat-before"])
def test_another_colony_cannot_squat_an_executor_id(
    live: LiveServer, colony_b: Identity, squat_first: bool
) -> None:
    victim = Identity(crypto.generate_private_key())
    member = add_executor(live, "submitter", executortype="cli")
    with (
        Client(live.url, live.colony.prvkey) as owner_a,
        Client(live.url, colony_b.prvkey) as owner_b,
        Client(live.url, victim.prvkey) as as_victim,
        Client(live.url, member.prvkey) as submitter,
    ):

        def squat() -> None:  # B registers the victim's public ID and name in its own colony
            owner_b.add_executor(record(victim, "victim", "b"))
            owner_b.approve_executor("b", "victim")

        if squat_first:
            squat()
        owner_a.add_executor(record(victim, "victim", "dev"))
        owner_a.approve_executor("dev", "victim")
        if not squat_first:
            squat()

        # The victim keeps working in its own colony: assign, and a process in RUNNING.
        process = submitter.submit(spec())
        assert as_victim.assign("dev", timeout=5).processid == process.processid
        assert as_victim.get_executor_by_id("dev", victim.id).colonyname == "dev"

        # Nothing B does to its record reaches colony A: reject, remove, register again.
        owner_b.reject_executor("b", "victim")
        assert [e.executorname for e in as_victim.get_executors("dev")]
        owner_b.remove_executor("b", "victim")
        running = submitter.get_process(process.processid)
        assert running.state == ProcessState.RUNNING and running.assignedexecutorid == victim.id
        owner_b.add_executor(record(victim, "victim", "b"))
        owner_b.approve_executor("b", "victim")
        as_victim.close(process.processid, ["done"])
        assert submitter.get_process(process.processid).state == ProcessState.SUCCESS

        # A's owner's decisions apply in A only, and B's in B only: approved in B does not
        # let a key rejected in A take work in A or close the work it holds there.
        assert as_victim.get_executors("b")  # the same key is B's member, as B decided
        held = submitter.submit(spec())
        assert as_victim.assign("dev", timeout=5).processid == held.processid
        owner_a.reject_executor("dev", "victim")
        with pytest.raises(AccessDeniedError, match=r"not a member of Colony with name <?dev\b"):
            as_victim.assign("dev", timeout=1)
        with pytest.raises(AccessDeniedError, match=r"not a member of Colony with name <?dev\b"):
            as_victim.close(held.processid, ["rejected"])
        assert state_of(as_victim, "b", "victim") == ExecutorState.APPROVED
        owner_a.approve_executor("dev", "victim")
        owner_b.reject_executor("b", "victim")
        as_victim.close(held.processid, ["approved again"])
        with pytest.raises(NoProcessAvailable):
            as_victim.assign("dev", timeout=1)
        with pytest.raises(AccessDeniedError, match=r"not a member of Colony with name <?b\b"):
            as_victim.assign("b", timeout=1)
        assert state_of(submitter, "dev", "victim") == ExecutorState.APPROVED


def test_a_key_in_two_colonies_acts_in_each_under_that_colonys_record(
    live: LiveServer, colony_b: Identity
) -> None:
    """B's record of the ID makes the key B's member too (B's decision), and nothing more: in
    each colony the key gets work from that colony's queue only."""
    victim = add_executor(live, "victim")
    with (
        Client(live.url, colony_b.prvkey) as owner_b,
        Client(live.url, victim.prvkey) as as_victim,
    ):
        owner_b.add_executor(record(victim, "victim", "b"))
        owner_b.approve_executor("b", "victim")
        a_process = as_victim.submit(spec())
        with pytest.raises(NoProcessAvailable):
            as_victim.assign("b", timeout=1)
        assert as_victim.get_process(a_process.processid).state == ProcessState.WAITING
        assert as_victim.assign("dev", timeout=5).processid == a_process.processid


# --- 2. a join token never takes over a name held by another key


def test_join_token_cannot_take_over_another_keys_executor(live: LiveServer) -> None:
    token = jointoken.create(live.colony.prvkey, "dev", "wasm", 600)
    holder, intruder = (
        Identity(crypto.generate_private_key()),
        Identity(crypto.generate_private_key()),
    )
    member = add_executor(live, "submitter", executortype="cli")
    with (
        Client(live.url, holder.prvkey) as as_holder,
        Client(live.url, intruder.prvkey) as as_intruder,
        Client(live.url, member.prvkey) as submitter,
    ):
        as_holder.add_executor_by_token(record(holder, "tab-1", "dev", "wasm"), token)
        process = submitter.submit(spec(executortype="wasm"))
        assert as_holder.assign("dev", timeout=5).processid == process.processid

        with pytest.raises(AccessDeniedError, match="held by another executor's key"):
            as_intruder.add_executor_by_token(record(intruder, "tab-1", "dev", "wasm"), token)

        # the holder is untouched: still approved under its name, and its process is its own
        names = {e.executorname: e for e in submitter.get_executors("dev")}
        assert names["tab-1"].executorid == holder.id
        assert names["tab-1"].state == ExecutorState.APPROVED
        running = submitter.get_process(process.processid)
        assert running.state == ProcessState.RUNNING and running.assignedexecutorid == holder.id
        as_holder.close(process.processid, ["mine"])

        # what a token may do: a new name, the signer's own executor again, or a rename of it
        as_intruder.add_executor_by_token(record(intruder, "tab-2", "dev", "wasm"), token)
        as_holder.add_executor_by_token(record(holder, "tab-1", "dev", "wasm"), token)
        as_holder.add_executor_by_token(record(holder, "tab-9", "dev", "wasm"), token)
        names = {e.executorname: e for e in submitter.get_executors("dev")}
        assert names["tab-9"].executorid == holder.id
        assert names["tab-9"].state == ExecutorState.APPROVED
        assert names["tab-1"].state == ExecutorState.UNREGISTERED
        assert names["tab-2"].executorid == intruder.id
        # a name given up (UNREGISTERED) may be taken by a new key
        as_intruder.add_executor_by_token(record(intruder, "tab-1", "dev", "wasm"), token)


# --- 3. stale executors: processes never stay RUNNING for an executor that is gone


@pytest.fixture
def stale_live(tmp_path: Path) -> Iterator[LiveServer]:
    server, thread = start_server(
        tmp_path / "colonies.db", sweep_interval=0.2, stale_executor_duration=STALE
    )
    yield server
    thread.stop()


def test_process_of_a_vanished_executor_goes_to_another(stale_live: LiveServer) -> None:
    live = stale_live
    vanished, survivor = add_executor(live, "vanished"), add_executor(live, "survivor")
    add_executor(live, "silent")  # registered, never heard from: never stale
    client_only = add_executor(live, "client-only", executortype="cli")  # submits, never polls
    with (
        Client(live.url, vanished.prvkey) as as_vanished,
        Client(live.url, survivor.prvkey) as as_survivor,
        Client(live.url, client_only.prvkey) as submitter,
    ):
        process = submitter.submit(spec())
        # the assign commits, then the executor is gone (as when its reply is lost for good)
        assert as_vanished.assign("dev", timeout=5).processid == process.processid
        # the survivor long-polls for longer than the stale duration, and gets the process
        taken = as_survivor.assign("dev", timeout=int(STALE * 10))
        assert taken.processid == process.processid
        assert taken.assignedexecutorid == survivor.id
        assert state_of(as_survivor, "dev", "vanished") == ExecutorState.UNREGISTERED
        assert state_of(as_survivor, "dev", "survivor") == ExecutorState.APPROVED
        assert state_of(as_survivor, "dev", "silent") == ExecutorState.APPROVED
        assert state_of(as_survivor, "dev", "client-only") == ExecutorState.APPROVED
        with pytest.raises(AccessDeniedError):
            as_vanished.close(process.processid, ["late"])
        as_survivor.close(process.processid, ["done"])


async def test_executor_removed_during_its_long_poll_is_handed_nothing(
    stale_live: LiveServer,
) -> None:
    """The claim checks the executor is still approved in the same statement: a poll that
    outlives its executor's removal must not take a process that nothing would re-queue."""
    live = stale_live
    leaving = add_executor(live, "leaving")
    member = add_executor(live, "submitter", executortype="cli")
    async with (
        AsyncClient(live.url, leaving.prvkey) as as_leaving,
        AsyncClient(live.url, member.prvkey) as submitter,
        AsyncClient(live.url, live.colony.prvkey) as owner,
    ):
        poll = asyncio.create_task(as_leaving.assign("dev", timeout=int(STALE * 2)))
        await eventually(lambda: pollers_waiting(live) == 1, what="the long-poll to wait")
        await owner.remove_executor("dev", "leaving")
        process = await submitter.submit(spec())
        with pytest.raises((NoProcessAvailable, AccessDeniedError)):
            await poll
        current = await submitter.get_process(process.processid)
        assert current.state == ProcessState.WAITING and not current.assignedexecutorid


async def test_busy_executor_that_heartbeats_keeps_its_process(stale_live: LiveServer) -> None:
    live = stale_live
    release = asyncio.Event()
    functions = FunctionSet()

    @functions
    async def work() -> str:
        await release.wait()
        return "finished"

    witness = add_executor(live, "witness", executortype="other")
    member = add_executor(live, "submitter", executortype="cli")
    loop_client = AsyncClient(live.url)
    busy = ExecutorLoop(
        loop_client,
        functions,
        colonyname="dev",
        executorname="busy",
        executortype="test",
        colony_prvkey=live.colony.prvkey,
        poll_timeout=1,
        heartbeat=STALE / 8,
    )
    task = asyncio.create_task(busy.run())
    try:
        async with (
            AsyncClient(live.url, member.prvkey) as submitter,
            AsyncClient(live.url, witness.prvkey) as as_witness,
        ):
            process = await submitter.submit(spec())

            async def running() -> bool:
                current = await submitter.get_process(process.processid)
                return current.state == ProcessState.RUNNING

            await eventually(running, what="the busy executor to start the process")
            # The witness is heard from once, after the busy executor's last poll; when the
            # sweeper has removed it, the busy executor too has been silent on the assign path
            # for longer than the stale duration.
            with pytest.raises(NoProcessAvailable):
                await as_witness.assign("dev", timeout=1)

            async def witness_removed() -> bool:
                executors = await submitter.get_executors("dev")
                states = {e.executorname: e.state for e in executors}
                return states["witness"] == ExecutorState.UNREGISTERED

            await eventually(witness_removed, timeout=STALE * 10, what="the witness to go stale")
            current = await submitter.get_process(process.processid)
            assert current.state == ProcessState.RUNNING
            assert current.assignedexecutorid == busy.executorid
            states = {e.executorname: e.state for e in await submitter.get_executors("dev")}
            assert states["busy"] == ExecutorState.APPROVED

            release.set()
            done = await submitter.wait(process.processid, 10)
            assert done.state == ProcessState.SUCCESS and done.output == ["finished"]
            assert busy.completed == 1
    finally:
        busy.stop()
        await asyncio.wait_for(task, 20)
        await loop_client.close_transport()


def test_stale_duration_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLONIES_STALE_EXECUTOR_DURATION", "42")
    assert ServerConfig.from_env().stale_executor_duration == 42
    monkeypatch.delenv("COLONIES_STALE_EXECUTOR_DURATION")
    assert ServerConfig.from_env().stale_executor_duration == 600
