"""``/pubsub``: who may subscribe, which events a subscription gets, and what floods cost."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from colonies import crypto, rpc
from colonies.client import Client
from colonies.model import Colony, Conditions, Executor, FunctionSpec, Process, ProcessState
from colonies.server.events import QUEUE_LIMIT, ProcessEvents
from conftest import Identity, LiveServer, add_executor
from polling import eventually, subscriptions

POLICY_VIOLATION = 1008


def pubsub(live: LiveServer) -> Any:
    return connect(live.url.replace("http", "ws") + "/pubsub", max_size=None)


def subscribe_process(key: Identity, processid: str, state: int, timeout: int = 60) -> str:
    msg = {
        "msgtype": "subscribeprocessmsg",
        "colonyname": "dev",
        "processid": processid,
        "executortype": "test",
        "state": state,
        "timeout": timeout,
    }
    return rpc.build_request(msg, key.prvkey)


def subscribe_processes(
    key: Identity, colonyname: str, executortype: str, state: int, timeout: int = 60
) -> str:
    msg = {
        "msgtype": "subscribeprocessesmsg",
        "colonyname": colonyname,
        "executortype": executortype,
        "state": state,
        "timeout": timeout,
    }
    return rpc.build_request(msg, key.prvkey)


def decode(frame: str | bytes) -> tuple[str, Any]:
    envelope = json.loads(frame)
    return envelope["payloadtype"], json.loads(base64.b64decode(envelope["payload"]))


async def closed_with(ws: ClientConnection, timeout: float = 10) -> tuple[int | None, list[str]]:
    """Read until the server closes the socket: its close code and the frames before it."""
    frames: list[str] = []
    with contextlib.suppress(ConnectionClosed):
        while True:
            frames.append(str(await asyncio.wait_for(ws.recv(), timeout)))
    return ws.close_code, frames


def submit(live: LiveServer, key: Identity, colonyname: str, executortype: str) -> Process:
    with Client(live.url, key.prvkey) as client:
        return client.submit(
            FunctionSpec(
                funcname="f",
                conditions=Conditions(colonyname=colonyname, executortype=executortype),
            )
        )


def other_colony(live: LiveServer) -> Identity:
    """A second colony ``other`` with an approved executor of type ``test``; its key."""
    colony, executor = (
        Identity(crypto.generate_private_key()),
        Identity(crypto.generate_private_key()),
    )
    with Client(live.url, live.server.prvkey) as client:
        client.add_colony(Colony(colonyid=colony.id, name="other"))
    with Client(live.url, colony.prvkey) as client:
        client.add_executor(
            Executor(
                executorid=executor.id, executortype="test", executorname="o", colonyname="other"
            )
        )
        client.approve_executor("other", "o")
    return executor


async def test_subscribe_processes_gets_its_colony_and_executor_type_only(
    live: LiveServer,
) -> None:
    member = add_executor(live, "sub", "test")
    outsider = other_colony(live)
    async with pubsub(live) as ws:
        await ws.send(subscribe_processes(member, "dev", "test", ProcessState.WAITING))
        await eventually(lambda: subscriptions(live) == 1, what="the subscription")
        submit(live, outsider, "other", "test")  # same type, other colony
        submit(live, member, "dev", "elsewhere")  # same colony, other type
        wanted = submit(live, member, "dev", "test")
        payloadtype, process = decode(await asyncio.wait_for(ws.recv(), 10))
        # events go out in order, so the two earlier processes were never sent
        assert payloadtype == "subscribeprocessmsg" and process["processid"] == wanted.processid
        assert process["spec"]["conditions"]["colonyname"] == "dev"
    await eventually(
        lambda: subscriptions(live) == 0, what="the subscription to end with the socket"
    )


async def test_subscribe_processes_defaults_to_the_executors_own_type(live: LiveServer) -> None:
    member = add_executor(live, "sub", "test")
    async with pubsub(live) as ws:
        await ws.send(subscribe_processes(member, "dev", "", ProcessState.WAITING))
        await eventually(lambda: subscriptions(live) == 1, what="the subscription")
        submit(live, member, "dev", "elsewhere")
        wanted = submit(live, member, "dev", "test")
        assert decode(await asyncio.wait_for(ws.recv(), 10))[1]["processid"] == wanted.processid


async def test_flood_of_refused_subscriptions_leaves_nothing(
    configured: Callable[..., LiveServer],
) -> None:
    """Thousands of signed but unauthorised frames on one socket: each gets its 403, none
    registers anything, and the server keeps serving others meanwhile."""
    frames = 2000
    live = await asyncio.to_thread(configured, max_bad_frames_per_socket=frames + 1)
    member = add_executor(live, "member", "test")
    process = submit(live, member, "dev", "test")
    stranger = Identity(crypto.generate_private_key())
    flood = [
        subscribe_process(stranger, process.processid, ProcessState.WAITING),
        subscribe_processes(stranger, "dev", "test", ProcessState.WAITING),
    ]

    def others_are_served() -> None:
        assert httpx.get(live.url + "/health", timeout=10).status_code == 200
        with Client(live.url, member.prvkey) as client:
            assert client.get_process(process.processid).state == ProcessState.WAITING

    async with pubsub(live) as ws:

        async def send_all() -> None:
            for i in range(frames):
                await ws.send(flood[i % 2])

        sender = asyncio.create_task(send_all())
        replies = [decode(await asyncio.wait_for(ws.recv(), 10))]
        await asyncio.to_thread(others_are_served)  # while the flood is being read
        replies += [decode(await asyncio.wait_for(ws.recv(), 10)) for _ in range(frames - 1)]
        await sender
        assert {(t, p["status"]) for t, p in replies} == {("error", 403)}
        assert subscriptions(live) == 0
        # the socket is still open (Go keeps it open after an error frame) and still serves
        await ws.send(subscribe_process(member, process.processid, ProcessState.WAITING))
        assert decode(await asyncio.wait_for(ws.recv(), 10))[1]["processid"] == process.processid
    await eventually(lambda: subscriptions(live) == 0, what="the member's subscription to end")


async def test_a_socket_that_keeps_being_refused_is_closed(live: LiveServer) -> None:
    stranger = Identity(crypto.generate_private_key())
    limit = live.ctx.config.max_bad_frames_per_socket
    async with pubsub(live) as ws:
        frame = subscribe_processes(stranger, "dev", "test", ProcessState.WAITING)

        async def flood() -> None:
            with contextlib.suppress(ConnectionClosed):
                for _ in range(limit * 10):
                    await ws.send(frame)

        sender = asyncio.create_task(flood())
        code, frames = await closed_with(ws)
        await sender
    assert code == POLICY_VIOLATION
    assert len(frames) == limit and all(decode(f)[0] == "error" for f in frames)


async def test_an_unverifiable_frame_closes_the_socket_without_a_reply(live: LiveServer) -> None:
    member = add_executor(live, "member", "test")
    envelope = json.loads(subscribe_processes(member, "dev", "test", ProcessState.WAITING))
    envelope["signature"] = "00" * 65
    for frame in ("not json", json.dumps(envelope)):
        async with pubsub(live) as ws:
            await ws.send(frame)
            code, frames = await closed_with(ws)
        assert (code, frames) == (POLICY_VIOLATION, [])
    assert subscriptions(live) == 0


async def test_subscriptions_are_capped_per_socket_and_per_key(
    configured: Callable[..., LiveServer],
) -> None:
    live = await asyncio.to_thread(
        configured, max_subscriptions_per_socket=2, max_subscriptions_per_key=3
    )
    member = add_executor(live, "member", "test")
    other = add_executor(live, "other", "test")
    process = submit(live, member, "dev", "test")
    frame = subscribe_process(member, process.processid, ProcessState.SUCCESS)

    async def refused(ws: ClientConnection) -> str:
        payloadtype, failure = decode(await asyncio.wait_for(ws.recv(), 10))
        assert payloadtype == "error" and failure["status"] == 429
        return str(failure["message"])

    async with pubsub(live) as first, pubsub(live) as second:
        for _ in range(3):
            await first.send(frame)
        assert "on this socket" in await refused(first)
        await eventually(lambda: live.ctx.events.held(member.id) == 2, what="two subscriptions")
        await second.send(frame)
        await second.send(frame)
        assert "for this key" in await refused(second)
        async with pubsub(live) as third:
            await third.send(subscribe_process(other, process.processid, ProcessState.SUCCESS))
            await eventually(lambda: subscriptions(live) == 4, what="another key's subscription")
        await first.close()
        await eventually(
            lambda: live.ctx.events.held(member.id) == 1, what="the first socket's end"
        )
        await second.send(frame)  # room again for this key
        await eventually(lambda: live.ctx.events.held(member.id) == 2, what="a new subscription")
    await eventually(lambda: subscriptions(live) == 0, what="every subscription to end")


async def test_subscription_timeout_closes_the_socket(live: LiveServer) -> None:
    member = add_executor(live, "member", "test")
    process = submit(live, member, "dev", "test")
    async with pubsub(live) as ws:
        await ws.send(subscribe_process(member, process.processid, ProcessState.WAITING, 0))
        code, frames = await closed_with(ws)
    # already in the state: the event is sent before the (immediate) timeout closes the socket
    assert code == 1000 and [decode(f)[1]["processid"] for f in frames] == [process.processid]
    await eventually(lambda: subscriptions(live) == 0, what="the subscription to end")


def test_a_subscriber_that_falls_behind_stalls_instead_of_growing() -> None:
    events = ProcessEvents()
    sub = events.subscribe_type("key", "dev", "test", ProcessState.WAITING)
    process = Process.from_dict(
        {"processid": "p", "spec": {"conditions": {"colonyname": "dev", "executortype": "test"}}}
    )
    for _ in range(QUEUE_LIMIT):
        events.publish(process)
    assert not sub.stalled and events.held("key") == 1
    events.publish(process)
    assert sub.stalled and sub.queue.qsize() == QUEUE_LIMIT
    sub.close()
    sub.close()
    assert len(events) == 0 and events.held("key") == 0


def test_socket_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from colonies.server import ServerConfig

    names = (
        "max_subscriptions_per_socket",
        "max_subscriptions_per_key",
        "max_rpc_in_flight_per_socket",
        "max_rpc_in_flight_per_key",
        "max_bad_frames_per_socket",
    )
    assert {getattr(ServerConfig.from_env(), n) for n in names} != {7}
    for name in names:
        monkeypatch.setenv(f"COLONIES_{name.upper()}", "7")
    assert {getattr(ServerConfig.from_env(), n) for n in names} == {7}
