"""``/rpc``: the RPCs over one WebSocket (our extension, used by the browser executor)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from colonies import crypto, rpc
from colonies.client import AsyncClient, Client
from colonies.model import Conditions, FunctionSpec, ProcessState
from conftest import Identity, LiveServer, add_executor
from polling import eventually, pollers_waiting

POLL = {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 30}
COLONY = {"msgtype": "getcolonymsg", "colonyname": "dev"}


def reply_payload(frame: dict[str, object]) -> object:
    return json.loads(base64.b64decode(json.loads(str(frame["body"]))["payload"]))


async def test_requests_and_concurrent_long_polls(live: LiveServer) -> None:
    executor = add_executor(live, "ws-1")
    async with connect(live.url.replace("http", "ws") + "/rpc") as ws:
        poll = {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10}
        await ws.send(json.dumps({"id": 1, "body": rpc.build_request(poll, executor.prvkey)}))
        submit = {
            "msgtype": "submitfuncspecmsg",
            "spec": FunctionSpec(
                funcname="echo", conditions=Conditions(colonyname="dev", executortype="test")
            ).to_dict(),
        }
        await ws.send(json.dumps({"id": 2, "body": rpc.build_request(submit, executor.prvkey)}))
        first, second = [json.loads(await ws.recv()) for _ in range(2)]
        assert (first["id"], first["status"]) == (2, 200)  # the poll did not block the submit
        assert (second["id"], second["status"]) == (1, 200)
        assert reply_payload(second)["processid"] == reply_payload(first)["processid"]  # type: ignore[index]


async def test_bad_frames_and_refusals(live: LiveServer) -> None:
    executor = add_executor(live, "ws-1")
    async with connect(live.url.replace("http", "ws") + "/rpc") as ws:
        await ws.send("not json")
        assert json.loads(await ws.recv())["status"] == 400
        await ws.send(
            json.dumps(
                {"id": 7, "body": rpc.build_request({"msgtype": "getcoloniesmsg"}, executor.prvkey)}
            )
        )
        refused = json.loads(await ws.recv())
        assert (refused["id"], refused["status"]) == (7, 403)
        assert "not server owner" in reply_payload(refused)["message"]  # type: ignore[index]


async def test_a_long_poll_on_a_closed_socket_takes_no_work(live: LiveServer) -> None:
    """A socket that closes while its long-poll waits leaves no poller behind: the next process
    stays WAITING and goes to the next executor that asks. (A process claimed in the same moment
    as a hang-up goes back to the queue: tests/test_scheduling.py, the code path is shared.)"""
    executor = add_executor(live, "ws-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        for _ in range(10):
            async with connect(live.url.replace("http", "ws") + "/rpc") as ws:
                poll = {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10}
                await ws.send(
                    json.dumps({"id": 1, "body": rpc.build_request(poll, executor.prvkey)})
                )
                await eventually(lambda: pollers_waiting(live) == 1, what="the poll registered")
            await eventually(lambda: pollers_waiting(live) == 0, what="the poll ended")
            process = await client.submit(
                FunctionSpec(
                    funcname="echo", conditions=Conditions(colonyname="dev", executortype="test")
                )
            )
            assert (await client.get_process(process.processid)).state == ProcessState.WAITING
            assigned = await client.assign("dev", 5)
            assert assigned.processid == process.processid
            await client.close(process.processid, [])


def rpc_socket(live: LiveServer) -> Any:
    return connect(live.url.replace("http", "ws") + "/rpc")


async def call(ws: ClientConnection, frame_id: int, msg: dict[str, Any], key: Identity) -> None:
    await ws.send(json.dumps({"id": frame_id, "body": rpc.build_request(msg, key.prvkey)}))


async def reply(ws: ClientConnection) -> tuple[int, int, object]:
    frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return frame["id"], frame["status"], reply_payload(frame)


def submit(live: LiveServer, key: Identity) -> str:
    with Client(live.url, key.prvkey) as client:
        spec = FunctionSpec(
            funcname="f", conditions=Conditions(colonyname="dev", executortype="test")
        )
        return client.submit(spec).processid


async def test_in_flight_limit_per_socket_answers_429_and_the_socket_keeps_working(
    configured: Callable[..., LiveServer],
) -> None:
    live = await asyncio.to_thread(configured, max_rpc_in_flight_per_socket=2)
    executor = add_executor(live, "ws-1")
    async with rpc_socket(live) as ws:
        await call(ws, 1, POLL, executor)
        await call(ws, 2, POLL, executor)
        await call(ws, 3, COLONY, executor)  # frames are read in order: both polls are running
        frame_id, status, failure = await reply(ws)
        assert (frame_id, status) == (3, 429)
        assert "on this socket (max 2)" in failure["message"]  # type: ignore[index]
        processid = submit(live, executor)
        frame_id, status, process = await reply(ws)
        assert frame_id in (1, 2) and status == 200
        assert process["processid"] == processid  # type: ignore[index]
        await call(ws, 4, COLONY, executor)  # one poll finished: room again
        assert (await reply(ws))[:2] == (4, 200)


async def test_in_flight_limit_per_key_spans_sockets(
    configured: Callable[..., LiveServer],
) -> None:
    live = await asyncio.to_thread(configured, max_rpc_in_flight_per_key=2)
    executor, other = add_executor(live, "ws-1"), add_executor(live, "ws-2")
    async with rpc_socket(live) as second:
        async with rpc_socket(live) as first:
            await call(first, 1, POLL, executor)
            await call(first, 2, POLL, executor)
            await call(first, 3, COLONY, executor)
            assert (await reply(first))[:2] == (3, 429)  # both polls are in flight
            await call(second, 4, COLONY, executor)
            frame_id, status, failure = await reply(second)
            assert (frame_id, status) == (4, 429)
            assert "for this key (max 2)" in failure["message"]  # type: ignore[index]
            await call(second, 5, COLONY, other)  # another key is not held up
            assert (await reply(second))[:2] == (5, 200)

        async def answered() -> bool:  # once the first socket's polls have ended
            await call(second, 6, COLONY, executor)
            return (await reply(second))[1] == 200

        await eventually(answered, what="the key to get its slots back")


async def test_a_socket_that_keeps_sending_bad_frames_is_closed(live: LiveServer) -> None:
    limit = live.ctx.config.max_bad_frames_per_socket
    unknown = Identity(crypto.generate_private_key())
    unsigned = json.dumps({"id": 1, "body": rpc.build_request(COLONY, None)})
    bad = ["not json", json.dumps({"id": 1, "body": "{}"}), unsigned]
    statuses = []
    async with rpc_socket(live) as ws:
        await call(ws, 0, COLONY, unknown)  # refused by a handler: not a bad frame
        assert (await reply(ws))[:2] == (0, 403)

        async def flood() -> None:
            with contextlib.suppress(ConnectionClosed):
                for i in range(limit * 10):
                    await ws.send(bad[i % len(bad)])

        sender = asyncio.create_task(flood())
        with contextlib.suppress(ConnectionClosed):
            while True:
                statuses.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["status"])
        await sender
    assert ws.close_code == 1008
    assert len(statuses) == limit and set(statuses) == {400, 403}
