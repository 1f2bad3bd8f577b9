"""``/rpc``: the RPCs over one WebSocket (our extension, used by the browser executor)."""

from __future__ import annotations

import asyncio
import base64
import json

from websockets.asyncio.client import connect

from colonies import rpc
from colonies.client import AsyncClient
from colonies.model import Conditions, FunctionSpec, ProcessState
from conftest import LiveServer, add_executor


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


async def test_closing_the_socket_gives_back_a_claimed_process(live: LiveServer) -> None:
    executor = add_executor(live, "ws-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        for _ in range(10):
            async with connect(live.url.replace("http", "ws") + "/rpc") as ws:
                poll = {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10}
                await ws.send(
                    json.dumps({"id": 1, "body": rpc.build_request(poll, executor.prvkey)})
                )
                await asyncio.sleep(0.02)
            process = await client.submit(
                FunctionSpec(
                    funcname="echo", conditions=Conditions(colonyname="dev", executortype="test")
                )
            )
            await asyncio.sleep(0.05)
            assert (await client.get_process(process.processid)).state == ProcessState.WAITING
            await client.cancel(process.processid)
