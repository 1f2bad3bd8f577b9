"""Channels (spec §4.10) across the two servers.

- Our SDK (``Client`` and ``AsyncClient``) on each server: an executor streams on a declared
  channel, the submitter reads and subscribes; after the close the Go server has deleted the
  channel, ours keeps it readable (README, Differences).
- ``/pubsub`` framing on each server: backlog, live entries, the ``[]`` end frame on an open
  socket, refusals as error frames.
- Differential: ``channelappendmsg`` / ``channelreadmsg`` replies, the successes and every
  refusal (unknown process, non-members, a member who is neither initiator nor assignee, an
  undeclared channel, a closed process), status and text.

No Go CLI command uses channels.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from colonies import crypto, rpc
from colonies.client import AsyncClient, Client
from colonies.errors import ServerError
from colonies.model import ChannelEntry, Conditions, FunctionSpec
from interop.conftest import Server
from interop.test_ours_against_go import invoke
from interop.test_workflows_interop import make_place
from interop.twin import (
    NO_ID,
    TIME,
    ZERO_TIMES,
    Keys,
    Twin,
    add_executor_msg,
    close_connections,
    ours_module,
    submit_msg,
    twin,
)

__all__ = ["close_connections", "ours_module", "twin"]  # fixtures used here

AnyClient = Client | AsyncClient


@pytest.fixture(params=[Client, AsyncClient], ids=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> type[AnyClient]:
    result: type[AnyClient] = request.param
    return result


async def subscribed(client: AnyClient, processid: str, name: str, **kw: Any) -> list[ChannelEntry]:
    """Everything a subscription yields until it ends or an "end" entry comes."""
    got: list[ChannelEntry] = []
    if isinstance(client, AsyncClient):
        async for entry in client.subscribe_channel(processid, name, **kw):
            got.append(entry)
            if entry.type == "end":
                break
        return got

    def listen() -> None:
        for entry in client.subscribe_channel(processid, name, **kw):
            got.append(entry)
            if entry.type == "end":
                return

    await asyncio.to_thread(listen)
    return got


# --- our SDK on each server --------------------------------------------------------------------


async def test_our_sdk_streams_on_either_server(both: Server, kind: type[AnyClient]) -> None:
    place = make_place(both)
    spec = FunctionSpec(
        funcname="stream",
        maxwaittime=-1,
        maxexectime=-1,
        conditions=Conditions(colonyname=place.colonyname, executortype=place.executortype),
        channels=["out", "ctl"],
    )
    submitter, worker = kind(both.url, place.user), kind(both.url, place.worker.prvkey)
    try:
        process = await invoke(submitter, "submit", spec)
        pid = process.processid
        await invoke(submitter, "channel_append", pid, "ctl", 1, "go ahead")
        assigned = await invoke(worker, "assign", place.colonyname, 5)
        assert assigned.processid == pid
        (ctl,) = await invoke(worker, "channel_read", pid, "ctl")
        assert (ctl.payload, ctl.senderid, ctl.type) == (b"go ahead", process.initiatorid, "data")
        await invoke(worker, "channel_append", pid, "out", 1, b"\x00partial")
        listening = asyncio.ensure_future(subscribed(submitter, pid, "out", timeout=20))
        await asyncio.sleep(0.5)
        await invoke(worker, "channel_append", pid, "out", 2, "more", inreplyto=1)
        await invoke(worker, "channel_append", pid, "out", 3, "", payloadtype="end")
        got = await asyncio.wait_for(listening, 20)
        assert [(e.sequence, e.inreplyto, e.payload, e.type) for e in got] == [
            (1, 0, b"\x00partial", "data"),
            (2, 1, b"more", "data"),
            (3, 0, b"", "end"),
        ]
        read = await invoke(submitter, "channel_read", pid, "out", 1, 1)
        assert [e.sequence for e in read] == [2]
        await invoke(worker, "close", pid, ["done"])
        with pytest.raises(ServerError) as e:
            await invoke(worker, "channel_append", pid, "out", 4, "late")
        assert (e.value.status, e.value.message) == (404, "Channel not found")
        if both.kind == "go":  # Go deletes a process's channels when it closes
            with pytest.raises(ServerError) as e:
                await invoke(submitter, "channel_read", pid, "out")
            assert (e.value.status, e.value.message) == (404, "Channel not found")
        else:  # ours keeps them readable (README, Differences)
            assert len(await invoke(submitter, "channel_read", pid, "out")) == 3
    finally:
        await invoke(submitter, "close_transport")
        await invoke(worker, "close_transport")


# --- differential replies ----------------------------------------------------------------------


def append(processid: str, name: str = "out", sequence: int = 1, **fields: Any) -> dict[str, Any]:
    msg = {
        "msgtype": "channelappendmsg",
        "processid": processid,
        "name": name,
        "sequence": sequence,
        "payload": base64.b64encode(b"payload").decode(),
    }
    return msg | fields


def read(processid: str, name: str = "out", afterseq: int = 0, limit: int = 0) -> dict[str, Any]:
    return {
        "msgtype": "channelreadmsg",
        "processid": processid,
        "name": name,
        "afterseq": afterseq,
        "limit": limit,
    }


def same_entries(twin: Twin, role: str, msg: dict[str, Any]) -> tuple[Any, Any]:
    """Both servers' entries, alike but for their own clocks (timestamps: RFC 3339, not zero)."""
    go, ours = twin.both(role, msg)
    assert (go.status, ours.status) == (200, 200), (go, ours)
    for entries in (go.payload, ours.payload):
        for entry in entries or []:
            stamp = entry.pop("timestamp")
            assert TIME.match(stamp) and stamp not in ZERO_TIMES, stamp
    twin.compare(go.payload, ours.payload)
    return go.payload, ours.payload


def same_error(twin: Twin, role: str, msg: dict[str, Any]) -> tuple[int, str]:
    go, ours = twin.both(role, msg)
    assert go.status != 200 and go.error == ours.error, (go, ours)
    return go.error


def running(twin: Twin) -> str:
    """A process submitted by the user with channels ``out`` and ``in``, assigned to the
    executor, on both servers; its Go ID (``twin.send`` maps it to ours)."""
    go, _ = twin.same("user", submit_msg(twin.executortype, channels=["out", "in"]))
    assign = {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 1}
    twin.same("executor", assign)
    processid: str = go["processid"]
    return processid


def test_appends_and_reads_reply_alike(twin: Twin) -> None:
    pid = running(twin)
    twin.same("executor", append(pid, sequence=1))
    twin.same("executor", append(pid, sequence=2, inreplyto=1, payloadtype="end"))
    twin.same("user", append(pid, "in", 1, payload=[1, 2, 3]))  # pycolonies' byte list
    go, ours = same_entries(twin, "user", read(pid))
    assert [e["sequence"] for e in go] == [1, 2] and [e["type"] for e in ours] == ["data", "end"]
    same_entries(twin, "executor", read(pid, "in"))
    same_entries(twin, "user", read(pid, afterseq=1, limit=5))
    same_entries(twin, "user", read(pid, afterseq=7))


def test_refusals_reply_alike(twin: Twin) -> None:
    pid = running(twin)
    other = Keys()
    twin.ok("owner", add_executor_msg(other, "bystander", twin.executortype))
    approve = {
        "msgtype": "approveexecutormsg",
        "colonyname": "$COLONY",
        "executorname": "bystander",
    }
    twin.ok("owner", approve)
    twin.bystander = other  # type: ignore[attr-defined]  # Twin.key looks roles up by name
    refusals = {
        ("user", "unknown process append"): append(NO_ID),
        ("user", "unknown process read"): read(NO_ID),
        ("stranger", "not a member append"): append(pid),
        ("stranger", "not a member read"): read(pid),
        ("pending", "unapproved append"): append(pid),
        ("owner", "colony owner read"): read(pid),
        ("bystander", "neither initiator nor assignee append"): append(pid),
        ("bystander", "neither initiator nor assignee read"): read(pid),
        ("user", "undeclared append"): append(pid, "nope"),
        ("executor", "undeclared read"): read(pid, "nope"),
    }
    seen = {what: same_error(twin, role, msg) for (role, what), msg in refusals.items()}
    assert seen["neither initiator nor assignee append"] == (
        403,
        "Not authorized to write to channel",
    )
    assert seen["undeclared read"] == (404, "Channel not found")
    twin.ok("executor", {"msgtype": "closesuccessfulmsg", "processid": pid, "out": []})
    assert same_error(twin, "executor", append(pid)) == (404, "Channel not found")
    go, ours = twin.both("user", read(pid))  # Go deleted the channel at close; ours keeps it
    assert go.error == (404, "Channel not found") and ours.status == 200


# --- /pubsub framing on either server ----------------------------------------------------------


async def test_subscription_frames_on_either_server(both: Server) -> None:
    """The backlog in one frame, each new entry in a frame of its own, ``[]`` at the timeout
    with the socket left open, and refusals as error frames on the same socket."""
    place = make_place(both)
    spec = FunctionSpec(
        funcname="stream",
        maxwaittime=-1,
        maxexectime=-1,
        conditions=Conditions(colonyname=place.colonyname, executortype=place.executortype),
        channels=["out"],
    )
    with both.client(place.user) as submitter, both.client(place.worker.prvkey) as worker:
        pid = submitter.submit(spec).processid
        worker.assign(place.colonyname, 5)
        for sequence in (1, 2):
            worker.channel_append(pid, "out", sequence, f"m{sequence}")

    def subscribe(prvkey: str, timeout: int, name: str = "out") -> str:
        msg = {
            "msgtype": "subscribechannelmsg",
            "processid": pid,
            "name": name,
            "afterseq": 0,
            "timeout": timeout,
        }
        return rpc.build_request(msg, prvkey)

    def frame(text: str | bytes) -> tuple[str, bool, Any]:
        envelope = json.loads(text)
        payload = json.loads(base64.b64decode(envelope["payload"]))
        return envelope["payloadtype"], bool(envelope.get("error")), payload

    async with connect(both.url.replace("http", "ws") + "/pubsub") as ws:
        await ws.send(subscribe(place.user, 2))
        kind, error, entries = frame(await asyncio.wait_for(ws.recv(), 10))
        assert (kind, error) == ("subscribechannelmsg", False)
        assert [(e["sequence"], base64.b64decode(e["payload"])) for e in entries] == [
            (1, b"m1"),
            (2, b"m2"),
        ]
        with both.client(place.worker.prvkey) as worker:
            await asyncio.to_thread(worker.channel_append, pid, "out", 3, "m3")
        assert [e["sequence"] for e in frame(await asyncio.wait_for(ws.recv(), 10))[2]] == [3]
        assert frame(await asyncio.wait_for(ws.recv(), 10)) == ("subscribechannelmsg", False, [])
        # the socket is still open: a refusal comes back on it as an error frame
        await ws.send(subscribe(crypto.generate_private_key(), 1))
        kind, error, failure = frame(await asyncio.wait_for(ws.recv(), 10))
        assert (kind, error, failure["status"]) == ("error", True, 403)
        await ws.send(subscribe(place.user, 1, "nope"))
        kind, error, failure = frame(await asyncio.wait_for(ws.recv(), 10))
        assert (error, failure["status"], failure["message"]) == (True, 404, "Channel not found")
