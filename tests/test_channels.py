"""Channels (spec §4.10): a process's message log between its submitter and its executor.

Append and read on ``/api`` and ``/rpc``, subscriptions on ``/pubsub``, who may use a channel,
the limits, and what outlives what: entries survive a restart and the process's close, and go
with the process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from colonies import crypto, rpc
from colonies.client import AsyncClient, Client
from colonies.errors import ServerError
from colonies.executor import Executor
from colonies.functions import ExecutionContext, FunctionSet
from colonies.model import ChannelEntry, Colony, Conditions, FunctionSpec, Process, ProcessState
from colonies.model import Executor as ExecutorRecord
from colonies.server import channels
from colonies.store import open_store
from colonies.timeutil import parse_ns
from conftest import Identity, LiveServer, add_executor, post, restart_server, start_server
from pg import fresh_database
from test_replicas import Cluster
from test_replicas import spec as replica_spec


@dataclass
class Run:
    """A process declaring channels, submitted by ``submitter`` and assigned to ``worker``."""

    live: LiveServer
    submitter: Identity
    worker: Identity
    process: Process

    @property
    def pid(self) -> str:
        return self.process.processid

    def client(self, key: Identity) -> Client:
        return Client(self.live.url, key.prvkey)


def submit(
    live: LiveServer, submitter: Identity, names: list[str], executortype: str = "test"
) -> Process:
    spec = FunctionSpec(
        funcname="stream",
        conditions=Conditions(colonyname=live.colonyname, executortype=executortype),
        channels=names,
    )
    with Client(live.url, submitter.prvkey) as client:
        return client.submit(spec)


def running(live: LiveServer, names: list[str] | None = None) -> Run:
    submitter = add_executor(live, "submitter", "submitter")
    worker = add_executor(live, "worker", "test")
    process = submit(live, submitter, ["out"] if names is None else names)
    with Client(live.url, worker.prvkey) as client:
        assigned = client.assign(live.colonyname, timeout=5)
    assert assigned.processid == process.processid
    return Run(live, submitter, worker, assigned)


def refused(call: Any, status: int, message: str) -> None:
    with pytest.raises(ServerError) as e:
        call()
    assert (e.value.status, e.value.message) == (status, message)


# --- append and read ----------------------------------------------------------------------


def test_executor_streams_to_submitter(live: LiveServer) -> None:
    run = running(live)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 1, b"\x00\xffbinary")
        worker.channel_append(run.pid, "out", 2, "text")
        worker.channel_append(run.pid, "out", 3, b"", payloadtype="end")
    with run.client(run.submitter) as submitter:
        entries = submitter.channel_read(run.pid, "out")
        assert [(e.sequence, e.payload, e.type) for e in entries] == [
            (1, b"\x00\xffbinary", "data"),
            (2, b"text", "data"),
            (3, b"", "end"),
        ]
        assert {e.senderid for e in entries} == {run.worker.id}
        stamps = [parse_ns(e.timestamp) for e in entries]
        assert stamps == sorted(stamps) and abs(stamps[0] / 1e9 - time.time()) < 60
        # afterseq is an index into the log, limit caps the count (0: everything)
        assert [e.sequence for e in submitter.channel_read(run.pid, "out", 1)] == [2, 3]
        assert [e.sequence for e in submitter.channel_read(run.pid, "out", 1, 1)] == [2]
        assert submitter.channel_read(run.pid, "out", 3) == []
        assert [e.sequence for e in submitter.channel_read(run.pid, "out", -5, 0)] == [1, 2, 3]


def test_both_ends_write_and_replies_refer_to_sequences(live: LiveServer) -> None:
    run = running(live, ["chat", "log"])
    with run.client(run.submitter) as submitter, run.client(run.worker) as worker:
        submitter.channel_append(run.pid, "chat", 1, "question")
        worker.channel_append(run.pid, "chat", 1, "answer", inreplyto=1)
        submitter.channel_append(run.pid, "chat", 2, "oops", payloadtype="error")
        chat = worker.channel_read(run.pid, "chat")
        assert [(e.senderid, e.sequence, e.inreplyto, e.payload, e.type) for e in chat] == [
            (run.submitter.id, 1, 0, b"question", "data"),
            (run.worker.id, 1, 1, b"answer", "data"),
            (run.submitter.id, 2, 0, b"oops", "error"),
        ]
        assert worker.channel_read(run.pid, "log") == []  # channels are separate logs


def test_wire_shape_and_payload_encodings(live: LiveServer) -> None:
    """Go's MsgEntry JSON; a payload may come as base64 or (pycolonies) as a list of bytes."""
    run = running(live)
    for payload in ("aGk=", [104, 105]):
        msg = {
            "msgtype": "channelappendmsg",
            "processid": run.pid,
            "name": "out",
            "sequence": 7,
            "payload": payload,
        }
        reply = post(live, rpc.build_request(msg, run.worker.prvkey))
        assert reply.status_code == 200, reply.text
        assert reply.json()["payloadtype"] == "channelappendmsg"
    msg = {"msgtype": "channelreadmsg", "processid": run.pid, "name": "out", "afterseq": 0}
    reply = post(live, rpc.build_request(msg, run.submitter.prvkey))
    entries = json.loads(base64.b64decode(reply.json()["payload"]))
    assert [sorted(e) for e in entries] == [
        ["payload", "senderid", "sequence", "timestamp", "type"]
    ] * 2
    assert [e["payload"] for e in entries] == ["aGk=", "aGk="]
    bad = {**msg, "msgtype": "channelappendmsg", "payload": "not base64!"}
    reply = post(live, rpc.build_request(bad, run.worker.prvkey))
    assert reply.status_code == 400
    bad["payload"] = [1, 256]
    assert post(live, rpc.build_request(bad, run.worker.prvkey)).status_code == 400


def test_rpc_socket_serves_channels(live: LiveServer) -> None:
    run = running(live)

    async def scenario() -> list[dict[str, Any]]:
        async with connect(live.url.replace("http", "ws") + "/rpc") as ws:
            append = {
                "msgtype": "channelappendmsg",
                "processid": run.pid,
                "name": "out",
                "sequence": 1,
                "payload": base64.b64encode(b"over rpc").decode(),
            }
            body = rpc.build_request(append, run.worker.prvkey)
            await ws.send(json.dumps({"id": 1, "body": body}))
            first = json.loads(await ws.recv())
            assert (first["id"], first["status"]) == (1, 200)
            read = {"msgtype": "channelreadmsg", "processid": run.pid, "name": "out"}
            body = rpc.build_request(read, run.submitter.prvkey)
            await ws.send(json.dumps({"id": 2, "body": body}))
            second = json.loads(await ws.recv())
            assert second["status"] == 200
            result: list[dict[str, Any]] = json.loads(
                base64.b64decode(json.loads(second["body"])["payload"])
            )
            return result

    entries = asyncio.run(scenario())
    assert base64.b64decode(entries[0]["payload"]) == b"over rpc"


# --- subscriptions ------------------------------------------------------------------------


def test_subscription_gets_backlog_then_each_new_entry(live: LiveServer) -> None:
    run = running(live)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 1, "before")
    received: list[ChannelEntry] = []
    started = threading.Event()

    def listen() -> None:
        with run.client(run.submitter) as submitter:
            for entry in submitter.subscribe_channel(run.pid, "out", timeout=20):
                received.append(entry)
                started.set()
                if entry.type == "end":
                    return

    thread = threading.Thread(target=listen)
    thread.start()
    assert started.wait(10)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 2, "live")
        worker.channel_append(run.pid, "out", 3, "", payloadtype="end")
    thread.join(15)
    assert not thread.is_alive()
    assert [(e.sequence, e.payload) for e in received] == [(1, b"before"), (2, b"live"), (3, b"")]


def test_subscription_frames_match_go(live: LiveServer) -> None:
    """First frame: the entries already there after ``afterseq``; then one frame per entry; at
    the timeout a ``[]`` frame, and the socket stays open for further subscriptions."""
    run = running(live)
    with run.client(run.worker) as worker:
        for i in range(1, 4):
            worker.channel_append(run.pid, "out", i, f"m{i}")

    def frame(text: str | bytes) -> tuple[str, list[dict[str, Any]]]:
        envelope = json.loads(text)
        return envelope["payloadtype"], json.loads(base64.b64decode(envelope["payload"]))

    def subscribe(afterseq: int, timeout: int) -> str:
        msg = {
            "msgtype": "subscribechannelmsg",
            "processid": run.pid,
            "name": "out",
            "afterseq": afterseq,
            "timeout": timeout,
        }
        return rpc.build_request(msg, run.submitter.prvkey)

    def append(sequence: int) -> None:
        with run.client(run.worker) as worker:
            worker.channel_append(run.pid, "out", sequence, "x")

    async def scenario() -> None:
        async with connect(live.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send(subscribe(1, 2))
            kind, entries = frame(await ws.recv())
            assert kind == "subscribechannelmsg"
            assert [e["sequence"] for e in entries] == [2, 3]
            await asyncio.to_thread(append, 4)
            assert [e["sequence"] for e in frame(await ws.recv())[1]] == [4]
            started = time.monotonic()
            assert frame(await asyncio.wait_for(ws.recv(), 5)) == ("subscribechannelmsg", [])
            assert time.monotonic() - started < 3
            await ws.send(subscribe(4, -1))  # same socket; a negative timeout ends at once
            assert frame(await asyncio.wait_for(ws.recv(), 5))[1] == []

    asyncio.run(scenario())


def test_subscription_refusals_are_error_frames(live: LiveServer) -> None:
    run = running(live)
    stranger = add_executor(live, "stranger", "test")

    async def refusal(key: Identity, **fields: Any) -> tuple[int, str]:
        msg = {"msgtype": "subscribechannelmsg", "processid": run.pid, "name": "out", **fields}
        async with connect(live.url.replace("http", "ws") + "/pubsub") as ws:
            await ws.send(rpc.build_request(msg, key.prvkey))
            envelope = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert envelope["error"] is True
            failure = json.loads(base64.b64decode(envelope["payload"]))
            return failure["status"], failure["message"]

    assert asyncio.run(refusal(stranger)) == (403, "Not authorized to subscribe to channel")
    assert asyncio.run(refusal(run.submitter, name="nope")) == (404, "Channel not found")
    assert asyncio.run(refusal(run.submitter, processid="0" * 64)) == (404, "Process not found")


def test_async_client_subscribes_and_reads(live: LiveServer) -> None:
    run = running(live)

    async def scenario() -> list[bytes]:
        async with (
            AsyncClient(live.url, run.submitter.prvkey) as submitter,
            AsyncClient(live.url, run.worker.prvkey) as worker,
        ):
            await worker.channel_append(run.pid, "out", 1, "a")

            async def produce() -> None:
                await asyncio.sleep(0.3)
                await worker.channel_append(run.pid, "out", 2, "b", payloadtype="end")

            producer = asyncio.create_task(produce())
            got = []
            async for entry in submitter.subscribe_channel(run.pid, "out", timeout=10):
                got.append(entry.payload)
                if entry.type == "end":
                    break
            await producer
            assert len(await submitter.channel_read(run.pid, "out", limit=1)) == 1
            return got

    assert asyncio.run(scenario()) == [b"a", b"b"]


# --- who may use a channel ----------------------------------------------------------------


def test_only_initiator_and_assigned_executor(live: LiveServer) -> None:
    run = running(live)
    member = add_executor(live, "bystander", "other")  # a member, neither initiator nor assignee
    with run.client(member) as client:
        refused(
            lambda: client.channel_append(run.pid, "out", 1, "x"),
            403,
            "Not authorized to write to channel",
        )
        refused(
            lambda: client.channel_read(run.pid, "out"), 403, "Not authorized to read from channel"
        )
    # another colony's executor is not a member here at all
    other_owner = Identity(crypto.generate_private_key())
    with Client(live.url, live.server.prvkey) as client:
        client.add_colony(Colony(colonyid=other_owner.id, name="other"))
    outsider = Identity(crypto.generate_private_key())
    with Client(live.url, other_owner.prvkey) as client:
        client.add_executor(
            ExecutorRecord(
                executorid=outsider.id, executortype="test", executorname="x", colonyname="other"
            )
        )
        client.approve_executor("other", "x")
    expected = f"Access denied, not a member of Colony with name <{live.colonyname}>"
    with run.client(outsider) as client:
        refused(lambda: client.channel_append(run.pid, "out", 1, "x"), 403, expected)
        refused(lambda: client.channel_read(run.pid, "out"), 403, expected)
    # the colony owner's key is not a member either
    with run.client(Identity(live.colony.prvkey)) as client:
        with pytest.raises(ServerError) as e:
            client.channel_read(run.pid, "out")
        assert e.value.status == 403
    with run.client(run.submitter) as client:
        assert client.channel_read(run.pid, "out") == []


def test_submitter_alone_before_assignment(live: LiveServer) -> None:
    """Before assignment only the submitter may use the channel; the executor gains access
    when the process is assigned to it."""
    submitter = add_executor(live, "submitter", "submitter")
    worker = add_executor(live, "worker", "test")
    process = submit(live, submitter, ["in"])
    with Client(live.url, submitter.prvkey) as client:
        client.channel_append(process.processid, "in", 1, "job input")
    with Client(live.url, worker.prvkey) as client:
        refused(
            lambda: client.channel_read(process.processid, "in"),
            403,
            "Not authorized to read from channel",
        )
        client.assign(live.colonyname, timeout=5)
        assert [e.payload for e in client.channel_read(process.processid, "in")] == [b"job input"]


def test_unknown_process_and_undeclared_channel(live: LiveServer) -> None:
    run = running(live)
    with run.client(run.worker) as client:
        refused(lambda: client.channel_read("f" * 64, "out"), 404, "Process not found")
        refused(
            lambda: client.channel_append(run.pid, "undeclared", 1, "x"), 404, "Channel not found"
        )
        refused(lambda: client.channel_read(run.pid, "undeclared"), 404, "Channel not found")


# --- limits (Go's, with its texts) --------------------------------------------------------


def test_message_size_limit(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "MAX_MESSAGE_BYTES", 1000)
    run = running(live)
    with run.client(run.worker) as client:
        client.channel_append(run.pid, "out", 1, b"x" * 1000)
        refused(
            lambda: client.channel_append(run.pid, "out", 2, b"x" * 1001),
            413,
            "message payload exceeds maximum size",
        )
        assert len(client.channel_read(run.pid, "out")) == 1


def test_entries_per_channel_limit(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "MAX_ENTRIES", 3)
    run = running(live, ["a", "b"])
    with run.client(run.worker) as client:
        for i in range(3):
            client.channel_append(run.pid, "a", i, "x")
        refused(lambda: client.channel_append(run.pid, "a", 9, "x"), 409, "channel log is full")
        client.channel_append(run.pid, "b", 1, "x")  # the cap is per channel
        assert len(client.channel_read(run.pid, "a")) == 3


def test_rate_limit_per_process(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "RATE_BURST", 5.0)
    monkeypatch.setattr(channels, "RATE_PER_SECOND", 0.001)
    run = running(live, ["a", "b"])
    with run.client(run.worker) as client:
        for i in range(5):
            client.channel_append(run.pid, "a" if i % 2 else "b", i, "x")
        refused(lambda: client.channel_append(run.pid, "a", 9, "x"), 429, "rate limit exceeded")


def test_hundred_channels_per_process(live: LiveServer) -> None:
    names = [f"c{i}" for i in range(101)] + ["c0"]  # a repeated name is one channel
    run = running(live, names)
    with run.client(run.worker) as client:
        client.channel_append(run.pid, "c99", 1, "x")
        refused(
            lambda: client.channel_append(run.pid, "c100", 1, "x"),
            400,
            "process has too many channels",
        )


def test_channel_names_are_bounded(live: LiveServer) -> None:
    long = "n" * (channels.MAX_NAME_BYTES + 1)
    run = running(live, [long, "n" * channels.MAX_NAME_BYTES])
    with run.client(run.worker) as client:
        refused(
            lambda: client.channel_append(run.pid, long, 1, "x"),
            400,
            f"Channel name is too long (max {channels.MAX_NAME_BYTES} bytes)",
        )
        client.channel_append(run.pid, "n" * channels.MAX_NAME_BYTES, 1, "x")
        assert len(client.channel_read(run.pid, "n" * channels.MAX_NAME_BYTES)) == 1
        with pytest.raises(ServerError) as e:  # no store can hold a NUL in a name
            client.channel_append(run.pid, "nul\u0000", 1, "x")
        assert e.value.status == 400 and "NUL" in e.value.message


def test_hub_wakes_the_right_subscribers() -> None:
    """One channel's append wakes its subscribers only; a too-long name in a replica's note
    wakes the process's; lost signals wake everyone."""
    hub = channels.ChannelHub()
    a, b, c = hub.watch("p", "a", "k"), hub.watch("p", "b", "k"), hub.watch("q", "a", "j")
    assert (hub.held("k"), hub.held("j")) == (2, 1)
    hub.wake("p", "a")
    assert [w.event.is_set() for w in (a, b, c)] == [True, False, False]
    a.event.clear()
    hub.wake("p", None)
    assert [w.event.is_set() for w in (a, b, c)] == [True, True, False]
    hub.wake_all()
    assert c.event.is_set()
    for watch in (a, b, c, a):  # unwatching twice is harmless
        hub.unwatch(watch)
    assert (hub.held("k"), hub.held("j")) == (0, 0)


# --- what outlives what -------------------------------------------------------------------


def test_readable_after_close_but_closed_to_appends(live: LiveServer) -> None:
    run = running(live)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 1, "result")
        worker.close(run.pid, ["done"])
        refused(lambda: worker.channel_append(run.pid, "out", 2, "late"), 404, "Channel not found")
    with run.client(run.submitter) as submitter:
        assert [e.payload for e in submitter.channel_read(run.pid, "out")] == [b"result"]
        # a subscription after the close gets the log, then ends at once: nothing can follow
        started = time.monotonic()
        streamed = submitter.subscribe_channel(run.pid, "out", timeout=30)
        assert [e.payload for e in streamed] == [b"result"]
        assert time.monotonic() - started < 5


def test_entries_go_with_their_process(live: LiveServer) -> None:
    """Removing a process (or its colony) removes its channels' entries from the store."""
    run = running(live)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 1, "x")
        worker.fail(run.pid, ["no"])
    assert len(asyncio.run(stored(live, run.pid))) == 1
    with run.client(run.submitter) as submitter:
        submitter.remove_process(run.pid)
    assert asyncio.run(stored(live, run.pid)) == []


async def stored(live: LiveServer, processid: str) -> list[ChannelEntry]:
    """What the server's store holds for channel ``out``, read on a connection of our own."""
    store = open_store(live.database)
    try:
        return await store.read_channel(processid, "out", 0, 0)
    finally:
        await store.close()


def test_entries_survive_a_restart(tmp_path: Any) -> None:
    live, first = start_server(tmp_path / "colonies.db")
    run = running(live)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 1, "kept")
    first.stop(keep_data=True)
    again = restart_server(live)  # (``first`` stays referenced: its database goes with it)
    try:
        with run.client(run.worker) as worker:
            worker.channel_append(run.pid, "out", 2, "after")
        with run.client(run.submitter) as submitter:
            entries = submitter.channel_read(run.pid, "out")
        assert [(e.sequence, e.payload) for e in entries] == [(1, b"kept"), (2, b"after")]
    finally:
        again.stop()


# --- the executor side --------------------------------------------------------------------


def test_function_streams_through_its_context(live: LiveServer) -> None:
    """A function appends with automatic sequence numbers; the submitter subscribes."""
    functions = FunctionSet()

    @functions
    async def count(n: int, ctx: ExecutionContext) -> int:
        for i in range(n):
            await ctx.channel_append("progress", f"step {i}")
        await ctx.channel_end("progress")
        return len(await ctx.channel_read("progress"))

    worker_key = add_executor(live, "worker", "test")
    submitter = add_executor(live, "submitter", "submitter")
    spec = FunctionSpec(
        funcname="count",
        args=[3],
        conditions=Conditions(colonyname=live.colonyname, executortype="test"),
        channels=["progress"],
    )

    async def scenario() -> tuple[list[ChannelEntry], Process]:
        client = AsyncClient(live.url, worker_key.prvkey)
        executor = Executor(
            client,
            functions,
            colonyname=live.colonyname,
            executorname="worker",
            executortype="test",
            prvkey=worker_key.prvkey,
        )
        runner = asyncio.create_task(executor.run())
        try:
            async with AsyncClient(live.url, submitter.prvkey) as sub:
                process = await sub.submit(spec)
                got = []
                async for entry in sub.subscribe_channel(process.processid, "progress", timeout=20):
                    got.append(entry)
                    if entry.type == "end":
                        break
                done = await sub.wait(process.processid, 20)
                return got, done
        finally:
            executor.stop()
            await asyncio.wait_for(runner, 10)
            await client.close_transport()

    got, done = asyncio.run(scenario())
    assert [(e.sequence, e.payload, e.type) for e in got] == [
        (1, b"step 0", "data"),
        (2, b"step 1", "data"),
        (3, b"step 2", "data"),
        (4, b"", "end"),
    ]
    assert done.state == ProcessState.SUCCESS and done.output == [4]


def test_entries_go_with_their_colony(live: LiveServer) -> None:
    run = running(live)
    with run.client(run.worker) as worker:
        worker.channel_append(run.pid, "out", 1, "x")
    with Client(live.url, live.server.prvkey) as owner:
        owner.remove_colony(live.colonyname)
    assert asyncio.run(stored(live, run.pid)) == []


# --- across replicas (PostgreSQL) ---------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Replicas (``colonies server start`` subprocesses) on a fresh PostgreSQL database."""
    with fresh_database() as database:
        made = Cluster(database, tmp_path)
        try:
            yield made
        finally:
            made.stop()


def test_an_append_on_one_replica_reaches_a_subscriber_on_another(cluster: Cluster) -> None:
    """Replicas share the log (the store) and wake each other's subscribers (signals)."""
    a, b = cluster.start(2)
    worker = cluster.executor(a.url, "w1")
    member = cluster.member

    async def scenario() -> None:
        async with (
            AsyncClient(a.url, member.prvkey) as on_a,
            AsyncClient(b.url, member.prvkey) as on_b,
        ):
            process = await on_a.submit(replica_spec(channels=["out"]))
            pid = process.processid
            await on_a.assign("dev", 5, prvkey=worker.prvkey)
            await on_a.channel_append(pid, "out", 1, "from a", prvkey=worker.prvkey)
            stream = on_b.subscribe_channel(pid, "out", timeout=20)
            first = await asyncio.wait_for(anext(stream), 10)
            assert first.payload == b"from a"  # the backlog, read on b
            await asyncio.sleep(0.3)  # subscribed on b, now waiting
            start = time.monotonic()
            await on_a.channel_append(pid, "out", 2, "live from a", prvkey=worker.prvkey)
            second = await asyncio.wait_for(anext(stream), 10)
            assert (second.sequence, second.payload) == (2, b"live from a")
            assert time.monotonic() - start < 1.0
            await stream.aclose()
            read = await on_b.channel_read(pid, "out")
            assert [e.sequence for e in read] == [1, 2]

    asyncio.run(scenario())
