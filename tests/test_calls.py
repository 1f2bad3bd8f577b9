"""Running a verified request (server/calls.py): replies, refusals, failures and long-polls."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message

from colonies import crypto, rpc
from colonies.model import Colony, Conditions, Executor, ExecutorState, FunctionSpec, ProcessState
from colonies.server import ServerConfig, calls, handlers
from colonies.server.context import ServerContext
from colonies.server.handlers import Msg, Route
from colonies.store.sqlite import SQLiteStore


class World:
    """A server context on a fresh store: colony "dev" and one approved executor."""

    def __init__(self, ctx: ServerContext, key: str) -> None:
        self.ctx, self.key = ctx, key
        self.routes = handlers.load()

    def request(self, msgtype: str, **fields: Any) -> rpc.Request:
        body = rpc.build_request({"msgtype": msgtype, **fields}, self.key)
        return rpc.parse_request(body, self.routes)

    async def answer(self, msgtype: str, hang_up: Any = None, **fields: Any) -> Any:
        body = rpc.build_request({"msgtype": msgtype, **fields}, self.key)
        never = asyncio.Event()
        return await calls.answer(self.ctx, self.routes, body, hang_up or never.wait)

    async def submit(self) -> str:
        spec = FunctionSpec(funcname="f", conditions=Conditions(colonyname="dev", executortype="t"))
        status, body = await self.answer("submitfuncspecmsg", spec=spec.to_dict())
        assert status == 200, body
        return str(rpc.parse_reply(status, body)["processid"])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = SQLiteStore(tmp_path / "c.db")
    key = crypto.generate_private_key()
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    await store.add_executor(
        Executor(
            executorid=crypto.id_from_private_key(key),
            executortype="t",
            executorname="e",
            colonyname="dev",
            state=ExecutorState.APPROVED,
        )
    )
    yield World(ServerContext(store=store, config=ServerConfig()), key)
    await store.close()


async def parked(world: World, poll: asyncio.Task[Any]) -> None:
    """Return once the long-poll waits in the dispatcher; fail if it ended instead."""
    for _ in range(10_000):
        if world.ctx.dispatcher.waiting():
            return
        if poll.done():
            raise AssertionError(f"the poll ended before it waited: {poll.result()}")
        await asyncio.sleep(0)
    raise AssertionError("the poll never waited")


def payload(envelope: str) -> Any:
    return json.loads(base64.b64decode(json.loads(envelope)["payload"]))


async def test_a_reply_carries_the_routes_reply_type(world: World) -> None:
    status, body, result = await calls.dispatch(
        world.ctx, world.request("getpausestatusmsg", colonyname="dev")
    )
    assert status == 200
    assert json.loads(body)["payloadtype"] == "pausestatusreplymsg"  # not the request's type
    assert (
        payload(body)
        == result
        == {
            "msgtype": "pausestatusreplymsg",
            "colonyname": "dev",
            "ispaused": False,
        }
    )


async def test_a_refusal_is_an_error_envelope_with_its_status(world: World) -> None:
    status, body, result = await calls.dispatch(world.ctx, world.request("getcoloniesmsg"))
    assert (status, result) == (403, None)
    envelope = json.loads(body)
    assert envelope["error"] is True and envelope["payloadtype"] == "error"
    assert payload(body) == {"status": 403, "message": "Access denied, not server owner"}


async def test_a_failing_handler_is_a_logged_500(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(ctx: ServerContext, msg: Msg, signer: str) -> Any:
        raise KeyError("boom")

    monkeypatch.setitem(handlers.HANDLERS, "brokenmsg", Route(broken, "brokenmsg"))
    with caplog.at_level(logging.ERROR, logger="colonies.server"):
        status, body, result = await calls.dispatch(world.ctx, world.request("brokenmsg"))
    assert (status, result) == (500, None)
    assert payload(body) == {
        "status": 500,
        "message": "Internal server error in brokenmsg: KeyError",
    }
    assert [r.getMessage() for r in caplog.records] == ["handler for brokenmsg failed"]
    assert caplog.records[0].exc_info is not None


async def test_a_body_that_does_not_parse_is_refused_without_a_handler(world: World) -> None:
    async def hang_up() -> None:
        raise AssertionError("only long-polls watch for a hang-up")

    status, body = await calls.answer(world.ctx, world.routes, b"{nope", hang_up)
    with pytest.raises(rpc.RPCError) as expected:
        rpc.parse_request(b"{nope", world.routes)
    assert status == 400 and json.loads(body)["error"] is True
    assert payload(body) == {"status": 400, "message": expected.value.message}


async def test_only_assign_is_a_long_poll(world: World) -> None:
    assert frozenset({"assignprocessmsg"}) == calls.LONG_POLLS

    def hang_up() -> Any:
        raise AssertionError("only long-polls watch for a hang-up")

    status, _ = await world.answer("getpausestatusmsg", hang_up=hang_up, colonyname="dev")
    assert status == 200


async def test_a_long_poll_answers_when_its_handler_does(world: World) -> None:
    processid = await world.submit()
    status, body = await world.answer("assignprocessmsg", colonyname="dev", timeout=5)
    assert status == 200 and payload(body)["processid"] == processid
    status, body = await world.answer("assignprocessmsg", colonyname="dev", timeout=-1)
    assert status == 404 and payload(body)["message"] == "No process available for assignment"


async def test_a_long_poll_whose_client_leaves_gets_no_reply_and_claims_nothing(
    world: World,
) -> None:
    gone = asyncio.Event()
    poll = asyncio.create_task(
        world.answer("assignprocessmsg", hang_up=gone.wait, colonyname="dev", timeout=30)
    )
    await parked(world, poll)
    gone.set()
    assert await asyncio.wait_for(poll, 5) is None
    assert world.ctx.dispatcher.waiting() == 0  # the waiter left the queue
    processid = await world.submit()
    process = await world.ctx.store.get_process(processid)
    assert process is not None and process.state == ProcessState.WAITING


async def test_a_refused_long_poll_whose_client_leaves_releases_nothing(world: World) -> None:
    """A hang-up at the moment a poll is refused: no reply, and nothing to give back."""
    processid = await world.submit()
    running = await world.answer("assignprocessmsg", colonyname="dev", timeout=5)
    assert running[0] == 200
    done = asyncio.Event()
    done.set()
    assert await world.answer("assignprocessmsg", hang_up=done.wait, colonyname="x", timeout=5) is (
        None
    )
    process = await world.ctx.store.get_process(processid)
    assert process is not None and process.state == ProcessState.RUNNING  # still the first's


async def test_a_long_poll_cancelled_by_the_server_stops_waiting(world: World) -> None:
    poll = asyncio.create_task(world.answer("assignprocessmsg", colonyname="dev", timeout=30))
    await parked(world, poll)
    poll.cancel()  # as on shutdown
    with pytest.raises(asyncio.CancelledError):
        await poll
    for _ in range(10):
        await asyncio.sleep(0)
    assert world.ctx.dispatcher.waiting() == 0


async def test_until_disconnect_reads_up_to_the_hang_up() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"a", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
        {"type": "http.disconnect"},
        {"type": "http.request", "body": b"never read"},
    ]
    read: list[Message] = []

    async def receive() -> Message:
        read.append(messages[len(read)])
        return read[-1]

    await calls.until_disconnect(receive)
    assert [m["type"] for m in read] == ["http.request", "http.request", "http.disconnect"]


# --- request sizes and work moved off the event loop ---------------------------------------


def test_request_size_limits_by_kind_of_message() -> None:
    config = ServerConfig(max_body_bytes=1000, max_record_bytes=100, max_control_bytes=10)
    assert calls.max_request_bytes(config, "submitfuncspecmsg") == 1000  # data
    assert calls.max_request_bytes(config, "addexecutormsg") == 100  # a record
    assert calls.max_request_bytes(config, "getprocessmsg") == 10  # control
    small = ServerConfig(max_body_bytes=50, max_record_bytes=100, max_control_bytes=80)
    assert calls.max_request_bytes(small, "addexecutormsg") == 50  # never above the body limit
    assert calls.max_request_bytes(small, "getprocessmsg") == 50
    known = set(handlers.load())
    assert known >= calls.DATA_TYPES and known >= calls.RECORD_TYPES  # no misspelt type


class ThreadCalls:
    """Records what ``asyncio.to_thread`` is asked to run (and runs it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        real = asyncio.to_thread

        async def to_thread(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            self.names.append(fn.__name__)
            return await real(fn, *args, **kwargs)

        monkeypatch.setattr(asyncio, "to_thread", to_thread)


async def test_a_request_over_its_kinds_limit_is_refused(world: World) -> None:
    status_msg = {"msgtype": "getpausestatusmsg", "colonyname": "dev"}
    body = rpc.build_request(status_msg, world.key)
    spec = FunctionSpec(funcname="f", conditions=Conditions(colonyname="dev", executortype="t"))
    submit = rpc.build_request({"msgtype": "submitfuncspecmsg", "spec": spec.to_dict()}, world.key)
    assert len(submit) > len(body)
    for offload in (10**9, 0):  # parsed on the event loop, and in a worker thread
        world.ctx.config = ServerConfig(max_control_bytes=len(body), offload_bytes=offload)
        never = asyncio.Event()
        status, _ = await calls.answer(world.ctx, world.routes, body, never.wait)
        assert status == 200
        status, _ = await calls.answer(world.ctx, world.routes, submit, never.wait)
        assert status == 200  # a data message may be larger than a control message
        world.ctx.config = ServerConfig(max_control_bytes=len(body) - 1, offload_bytes=offload)
        status, reply = await calls.answer(world.ctx, world.routes, body, never.wait)
        assert (status, payload(reply)) == (
            413,
            {
                "status": 413,
                "message": f"Request body is larger than {len(body) - 1} bytes, the limit for "
                "getpausestatusmsg",
            },
        )


async def test_large_requests_are_parsed_and_answered_in_a_worker_thread(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = ThreadCalls(monkeypatch)
    body = rpc.build_request({"msgtype": "getpausestatusmsg", "colonyname": "dev"}, world.key)
    request = world.request("getpausestatusmsg", colonyname="dev")
    expected = rpc.build_reply(
        "pausestatusreplymsg",
        {"msgtype": "pausestatusreplymsg", "colonyname": "dev", "ispaused": False},
    )
    never = asyncio.Event()
    world.ctx.config = ServerConfig(offload_bytes=len(body) + 1)
    assert await calls.answer(world.ctx, world.routes, body, never.wait) == (200, expected)
    assert threads.names == []  # below offload_bytes: all on the event loop
    world.ctx.config = ServerConfig(offload_bytes=len(body))
    assert (await calls.parse(world.ctx, world.routes, body)).msg == request.msg
    assert threads.names == ["parse_request"]
    threads.names.clear()
    world.ctx.config = ServerConfig(offload_bytes=len(request.payload) + 1)
    assert (await calls.dispatch(world.ctx, request))[:2] == (200, expected)
    assert threads.names == []
    world.ctx.config = ServerConfig(offload_bytes=len(request.payload))
    assert (await calls.dispatch(world.ctx, request))[:2] == (200, expected)
    assert threads.names == ["build_reply"]
