"""Long-poll assign under load, wake-ups that survive abandoned polls, and deadlines."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import httpx
import pytest

from colonies import crypto, rpc
from colonies.client import AsyncClient, Client
from colonies.errors import NoProcessAvailable
from colonies.model import (
    ZERO_TIME,
    Colony,
    Conditions,
    Executor,
    ExecutorState,
    FunctionSpec,
    ProcessState,
)
from colonies.server import ServerConfig, calls, handlers
from colonies.server.context import ServerContext
from colonies.store.sqlite import SQLiteStore
from conftest import LiveServer, add_executor
from polling import eventually, pollers_waiting


async def back_in_queue(client: AsyncClient, processid: str) -> bool:
    process = await client.get_process(processid)
    return process.state == ProcessState.WAITING and not process.isassigned


def spec(funcname: str = "echo", **kw: object) -> FunctionSpec:
    kw.setdefault("conditions", Conditions(colonyname="dev", executortype="test"))
    return FunctionSpec(funcname=funcname, **kw)  # type: ignore[arg-type]


async def test_many_pollers_each_process_assigned_exactly_once(live: LiveServer) -> None:
    executors = [add_executor(live, f"exec-{i}") for i in range(20)]
    submitter = AsyncClient(live.url, executors[0].prvkey)
    assigned: list[str] = []

    async def poll(prvkey: str) -> None:
        async with AsyncClient(live.url, prvkey) as client:
            while True:
                try:
                    process = await client.assign("dev", timeout=2)
                except NoProcessAvailable:
                    return
                assigned.append(process.processid)
                await client.close(process.processid, ["ok"])

    pollers = [asyncio.create_task(poll(e.prvkey)) for e in executors]
    await eventually(lambda: pollers_waiting(live) == len(executors))
    submitted = [(await submitter.submit(spec())).processid for _ in range(200)]
    await asyncio.gather(*pollers)
    await submitter.close_transport()
    assert sorted(assigned) == sorted(submitted)  # every process, none twice


async def test_abandoned_long_polls_do_not_delay_dispatch(live: LiveServer) -> None:
    """Pollers whose clients hang up must not swallow the wake-ups meant for live pollers."""
    quitters = [add_executor(live, f"quitter-{i}") for i in range(10)]
    stayer = add_executor(live, "stayer")
    # The quitters long-poll first (so they are first in line for wake-ups), then hang up.
    async with httpx.AsyncClient() as http:
        polls = [
            asyncio.create_task(
                http.post(
                    live.url + "/api",
                    content=rpc.build_request(
                        {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 60},
                        q.prvkey,
                    ),
                    timeout=60,
                )
            )
            for q in quitters
        ]
        await eventually(lambda: pollers_waiting(live) == len(quitters))
        async with AsyncClient(live.url, stayer.prvkey) as client:
            stayer_poll = asyncio.create_task(client.assign("dev", timeout=60))
            await eventually(lambda: pollers_waiting(live) == len(quitters) + 1)
            for task in polls:
                task.cancel()  # the quitters' connections close mid-wait
            await asyncio.gather(*polls, return_exceptions=True)
            await eventually(lambda: pollers_waiting(live) == 1)  # only the stayer is left
            submitted = await client.submit(spec())
            # A lost wake-up leaves the stayer waiting out its 60 s poll.
            process = await asyncio.wait_for(stayer_poll, 20)
    assert process.processid == submitted.processid
    assert pollers_waiting(live) == 0


async def test_wakeups_go_to_pollers_that_can_take_the_process(live: LiveServer) -> None:
    other = add_executor(live, "other")
    named = add_executor(live, "named")
    async with AsyncClient(live.url, other.prvkey) as a, AsyncClient(live.url, named.prvkey) as b:
        first = asyncio.create_task(a.assign("dev", timeout=3))
        await eventually(lambda: pollers_waiting(live) == 1)  # "other" waits longest
        second = asyncio.create_task(b.assign("dev", timeout=10))
        await eventually(lambda: pollers_waiting(live) == 2)
        targeted = spec(
            conditions=Conditions(colonyname="dev", executortype="test", executornames=["named"])
        )
        submitted = await a.submit(targeted)
        got = await asyncio.wait_for(second, 5)
        assert got.processid == submitted.processid
        try:
            await first
            raise AssertionError("the other executor must not get the named process")
        except NoProcessAvailable:
            pass


def test_exec_deadline_requeues_then_fails(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        process = client.submit(spec(maxexectime=1, maxretries=1))
        first = client.assign("dev", timeout=5)
        assert first.processid == process.processid
        again = client.assign("dev", timeout=10)  # re-queued after the deadline
        assert again.processid == process.processid and again.retries == 1
        failed = client.wait(process.processid, timeout=10)
        assert failed.state == ProcessState.FAILED
        assert failed.errors == ["Maximum execution time limit exceeded"]


def test_wait_deadline_fails_unassigned_process(live: LiveServer) -> None:
    member = add_executor(live, "exec-1")
    with Client(live.url, member.prvkey) as client:
        process = client.submit(spec(maxwaittime=1))
        failed = client.wait(process.processid, timeout=10)
        assert failed.state == ProcessState.FAILED
        assert failed.errors == ["Maximum waiting time limit exceeded"]


def test_zero_limits_mean_unlimited(live: LiveServer) -> None:
    """Processes with 0 limits outlive one with 1 s limits, so the sweeper has seen them past
    what a 0 s limit would be."""
    executor = add_executor(live, "exec-1")
    unlimited = {"maxexectime": 0, "maxwaittime": 0, "maxretries": 0}
    with Client(live.url, executor.prvkey) as client:
        running = client.submit(spec(**unlimited))
        assert client.assign("dev", timeout=5).processid == running.processid
        waiting = client.submit(
            spec(conditions=Conditions(colonyname="dev", executortype="nobody"), **unlimited)
        )
        limited = client.submit(spec(maxexectime=1, maxretries=0))
        assert client.assign("dev", timeout=5).processid == limited.processid
        later = client.submit(
            spec(conditions=Conditions(colonyname="dev", executortype="nobody"), maxwaittime=1)
        )
        assert client.wait(limited.processid, timeout=20).state == ProcessState.FAILED
        assert client.wait(later.processid, timeout=20).state == ProcessState.FAILED
        assert client.get_process(running.processid).state == ProcessState.RUNNING
        assert client.get_process(waiting.processid).state == ProcessState.WAITING


def test_removed_executor_processes_are_requeued(live: LiveServer) -> None:
    leaving = add_executor(live, "leaving")
    staying = add_executor(live, "staying")
    with Client(live.url, leaving.prvkey) as client:
        process = client.submit(spec())
        client.assign("dev", timeout=5)
        client.remove_executor("dev", "leaving", prvkey=live.colony.prvkey)
    with Client(live.url, staying.prvkey) as client:
        assert client.assign("dev", timeout=5).processid == process.processid


def test_pause_and_resume(live: LiveServer) -> None:
    executor = add_executor(live, "exec-1")
    with Client(live.url, executor.prvkey) as client:
        process = client.submit(spec())
        owner = live.colony.prvkey
        reply = httpx.post(
            live.url + "/api",
            content=rpc.build_request(
                {"msgtype": "pauseassignmentsmsg", "colonyname": "dev"}, owner
            ),
        )
        assert reply.status_code == 200
        paused = httpx.post(
            live.url + "/api",
            content=rpc.build_request(
                {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 1}, executor.prvkey
            ),
            timeout=10,
        )
        assert paused.status_code == 408
        httpx.post(
            live.url + "/api",
            content=rpc.build_request(
                {"msgtype": "resumeassignmentsmsg", "colonyname": "dev"}, owner
            ),
        )
        assert client.assign("dev", timeout=5).processid == process.processid


async def test_a_poller_that_hangs_up_never_keeps_a_process(live: LiveServer) -> None:
    """Hang up a long-poll and submit at once, many times: however the race between the
    hang-up and the wake-up falls, the process must not stay claimed by the client that left."""
    executor = add_executor(live, "quitter")
    async with AsyncClient(live.url, executor.prvkey) as client:
        for _ in range(30):
            body = rpc.build_request(
                {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10},
                executor.prvkey,
            ).encode()
            _, writer = await asyncio.open_connection("127.0.0.1", live.port)
            writer.write(
                b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            await eventually(lambda: pollers_waiting(live) == 1)  # the poll is waiting now
            writer.close()
            # Closed means the FIN has left: the client's socket closes a loop turn after
            # close(), and the submit (a frame on an open /rpc socket) could otherwise go first.
            await writer.wait_closed()
            process = await client.submit(spec())
            await eventually(lambda: pollers_waiting(live) == 0)
            # Claimed in the race, it goes back to the queue just after the poll ends.
            await eventually(functools.partial(back_in_queue, client, process.processid))
            await client.cancel(process.processid)  # so that the next poll cannot take it


class ClaimWatchingStore(SQLiteStore):
    """A store that tells when ``assign`` has claimed a process."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.claimed = asyncio.Event()

    async def assign(self, *args: Any, **kwargs: Any) -> Any:
        process = await super().assign(*args, **kwargs)
        if process is not None:
            self.claimed.set()
        return process


@pytest.mark.parametrize("turns", [0, 1, 2, 5])
async def test_a_process_claimed_as_the_client_hangs_up_goes_back_to_the_queue(
    tmp_path: Path, turns: int
) -> None:
    """The hang-up is seen in the same loop pass as the claim, or up to two turns of the event
    loop later (the long-poll looks once more before it replies): no reply can reach the client,
    so the claim is undone (``release``) and the process can be assigned again. A hang-up
    later than that comes after the reply was sent: the process stays with the client."""
    colony, key = crypto.generate_private_key(), crypto.generate_private_key()
    store = ClaimWatchingStore(tmp_path / "c.db")
    await store.add_colony(Colony(colonyid=crypto.id_from_private_key(colony), name="dev"))
    await store.add_executor(
        Executor(
            executorid=crypto.id_from_private_key(key),
            executortype="test",
            executorname="quitter",
            colonyname="dev",
            state=ExecutorState.APPROVED,
        )
    )
    ctx = ServerContext(store=store, config=ServerConfig())
    routes = handlers.load()
    never = asyncio.Event()

    async def call(msg: dict[str, Any], hang_up: Any = never.wait) -> Any:
        return await calls.answer(ctx, routes, rpc.build_request(msg, key), hang_up)

    submit = {"msgtype": "submitfuncspecmsg", "spec": spec().to_dict()}
    status, body = await call(submit)
    assert status == 200, body
    processid = rpc.parse_reply(status, body)["processid"]
    poll = {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10}

    async def hang_up() -> None:
        await store.claimed.wait()
        for _ in range(turns):
            await asyncio.sleep(0)

    reply = await call(poll, hang_up=hang_up)
    if turns > 2:
        assert reply is not None and rpc.parse_reply(*reply)["processid"] == processid
        process = await store.get_process(processid)
        assert process is not None and process.state == ProcessState.RUNNING
        await store.close()
        return
    assert reply is None  # nothing sent to a closed client
    process = await store.get_process(processid)
    assert process is not None and process.state == ProcessState.WAITING
    assert (process.isassigned, process.assignedexecutorid) == (False, "")
    assert (process.starttime, process.execdeadline) == (ZERO_TIME, ZERO_TIME)
    status, body = await call(poll)  # and it can be assigned again
    assert status == 200 and rpc.parse_reply(status, body)["processid"] == processid
    await store.close()
