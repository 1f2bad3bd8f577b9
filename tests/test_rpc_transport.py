"""``AsyncSocketTransport``: ``AsyncClient``'s requests as frames on the ``/rpc`` WebSocket
(issue 13), against real servers: with ``/rpc``, without it (the Go server answers 404), one
that restarts, one that is not there."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from colonies import crypto, rpc
from colonies.client import AsyncClient, AsyncHTTPTransport, Client
from colonies.client._transports import AsyncSocketTransport
from colonies.errors import NoProcessAvailable, TransportError
from colonies.model import Colony, Conditions, Executor, FunctionSpec, ProcessState
from colonies.server import ServerConfig, create_app
from colonies.store.sqlite import SQLiteStore
from conftest import (
    Identity,
    LiveServer,
    ServerThread,
    add_executor,
    free_port,
    restart_server,
    start_server,
)
from polling import eventually, pollers_waiting

ECHO = FunctionSpec(funcname="echo", conditions=Conditions(colonyname="dev", executortype="test"))


def transport_of(client: AsyncClient) -> AsyncSocketTransport:
    transport = client._transport
    assert isinstance(transport, AsyncSocketTransport)
    return transport


def state(client: AsyncClient) -> tuple[str, int]:
    return transport_of(client).socket_state(client.url + "/api")


async def rpc_sockets_open(live: LiveServer) -> float:
    """The server's own count of open ``/rpc`` sockets (``GET /metrics``)."""
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(live.url + "/metrics", timeout=10)).text
    gauge = 'colonies_websockets_open{endpoint="rpc"} '
    return float(next(m for m in metrics.splitlines() if m.startswith(gauge)).split()[-1])


class Doorman:
    """ASGI in front of the real server: counts ``POST /api`` and ``/rpc`` upgrades, and
    refuses the upgrade with ``refuse`` (404 as the Go server does, or 403: a close before
    accepting) unless it is 0."""

    def __init__(self, app: ASGIApp, refuse: int) -> None:
        self.app, self.refuse = app, refuse
        self.seen: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api":
            self.seen["post"] += 1
        if scope["type"] == "websocket" and scope["path"] == "/rpc":
            self.seen["upgrade"] += 1
            if self.refuse == 404:
                await send({"type": "websocket.http.response.start", "status": 404, "headers": []})
                await send({"type": "websocket.http.response.body", "body": b"404 page not found"})
                return
            if self.refuse:
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)


@dataclass
class Behind:
    """A real server behind a ``Doorman``: its URL, an approved executor of colony ``dev``,
    the doorman's counts."""

    url: str
    member: Identity
    doorman: Doorman


@pytest.fixture
def behind(tmp_path: Path) -> Iterator[Callable[[int], Behind]]:
    """Start servers (SQLite, colony ``dev``) behind a ``Doorman`` refusing with the given
    status; stopped after the test. Async tests call it through ``asyncio.to_thread``."""
    threads: list[ServerThread] = []

    def make(refuse: int) -> Behind:
        colony = Identity(crypto.generate_private_key())
        store = SQLiteStore(tmp_path / f"behind-{len(threads)}.db")
        asyncio.run(store.add_colony(Colony(colonyid=colony.id, name="dev")))
        port = free_port()
        server_id = Identity(crypto.generate_private_key()).id
        doorman = Doorman(create_app(store, ServerConfig(server_id=server_id, port=port)), refuse)
        threads.append(ServerThread(doorman, port))
        threads[-1].start()
        url, member = f"http://127.0.0.1:{port}", Identity(crypto.generate_private_key())
        with Client(url, colony.prvkey) as owner:
            owner.add_executor(
                Executor(
                    executorid=member.id, executortype="test", executorname="m", colonyname="dev"
                )
            )
            owner.approve_executor("dev", "m")
        doorman.seen.clear()
        return Behind(url, member, doorman)

    yield make
    for thread in threads:
        thread.stop()


async def test_the_default_transport_sends_frames_on_one_socket(live: LiveServer) -> None:
    executor = add_executor(live, "rpc-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        assert state(client) == ("none", 0)
        assert (await client.get_colony("dev")).name == "dev"
        process = await client.submit(ECHO)
        assert (await client.assign("dev", 1)).processid == process.processid
        await client.close(process.processid, ["done"])
        assert (await client.get_process(process.processid)).state == ProcessState.SUCCESS
        assert state(client) == ("socket", 1)
        assert await rpc_sockets_open(live) == 1

    async def closed() -> bool:
        return await rpc_sockets_open(live) == 0

    await eventually(closed, what="the socket closed with the client")


async def test_requests_go_as_frames_and_large_bodies_by_post(
    behind: Callable[[int], Behind],
) -> None:
    server = await asyncio.to_thread(behind, 0)
    seen = server.doorman.seen
    async with AsyncClient(server.url, server.member.prvkey) as client:
        small = await client.submit(ECHO)
        assert (seen["upgrade"], seen["post"]) == (1, 0)
        big = ECHO.to_dict() | {"args": ["x" * 70_000]}
        large = await client.submit(FunctionSpec.from_dict(big))
        assert (seen["upgrade"], seen["post"]) == (1, 1)
        assert (await client.get_process(large.processid)).spec.args == big["args"]
        assert (await client.get_process(small.processid)).state == ProcessState.WAITING
        assert (seen["upgrade"], seen["post"]) == (1, 1)


@pytest.mark.parametrize("refusal", [404, 403])
async def test_a_server_without_rpc_gets_post(
    behind: Callable[[int], Behind], refusal: int
) -> None:
    """The Go server answers 404 to ``GET /rpc``: asked once, then ``POST /api`` for good."""
    server = await asyncio.to_thread(behind, refusal)
    seen = server.doorman.seen
    async with AsyncClient(server.url, server.member.prvkey) as client:
        names = await asyncio.gather(*(client.get_colony("dev") for _ in range(20)))
        assert {c.name for c in names} == {"dev"}
        for _ in range(5):
            await client.get_colony("dev")
        assert state(client) == ("post", 0)
        assert (seen["upgrade"], seen["post"]) == (1, 25)


async def test_opting_out_keeps_post(monkeypatch: pytest.MonkeyPatch, live: LiveServer) -> None:
    executor = add_executor(live, "rpc-1")
    monkeypatch.setenv("COLONIES_RPC_SOCKET", "false")
    async with AsyncClient(live.url, executor.prvkey) as client:
        assert type(client._transport) is AsyncHTTPTransport
        assert (await client.get_colony("dev")).name == "dev"
        assert await rpc_sockets_open(live) == 0
    monkeypatch.setenv("COLONIES_RPC_SOCKET", "true")
    assert isinstance(AsyncClient(live.url)._transport, AsyncSocketTransport)


async def test_many_concurrent_calls_share_one_socket_within_its_cap(live: LiveServer) -> None:
    """200 calls at once: one socket opened, at most 64 in flight (the server's cap; more
    would be answered 429), every call answered."""
    executor = add_executor(live, "rpc-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        colonies = await asyncio.wait_for(
            asyncio.gather(*(client.get_colony("dev") for _ in range(200))), 60
        )
        assert len(colonies) == 200 and {c.name for c in colonies} == {"dev"}
        assert state(client) == ("socket", 1)


async def test_an_unreachable_server_is_named_as_for_post() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with AsyncClient(url) as client:
        for _ in range(2):
            with pytest.raises(TransportError) as failure:
                await client.server_info()
            assert failure.value.reason == "connection refused"
            assert str(failure.value) == f"POST {url}/api failed: connection refused"
        assert state(client) == ("none", 0)  # not taken for a server without /rpc


async def test_a_restarted_server_gets_a_new_socket(tmp_path: Path) -> None:
    live, first = await asyncio.to_thread(start_server, tmp_path / "c.db")
    executor = add_executor(live, "rpc-1")
    threads = [first]  # (``first`` stays referenced: on PostgreSQL its database goes with it)
    try:
        async with AsyncClient(live.url, executor.prvkey) as client:
            await client.get_colony("dev")
            poll = asyncio.create_task(client.assign("dev", 20))
            await eventually(lambda: pollers_waiting(live) == 1, what="the poll registered")
            await asyncio.to_thread(first.stop, keep_data=True)
            with pytest.raises(TransportError) as failure:
                await asyncio.wait_for(poll, 10)
            assert failure.value.reason == "connection closed"
            threads.append(await asyncio.to_thread(restart_server, live))
            assert (await client.get_colony("dev")).name == "dev"
            assert state(client) == ("socket", 2)
    finally:
        await asyncio.to_thread(threads[-1].stop)


async def test_a_request_that_times_out_gives_up_its_socket(live: LiveServer) -> None:
    """The timed-out long-poll cannot be called off on its own: its socket closes, which ends
    the poll on the server, and the next call opens another."""
    executor = add_executor(live, "rpc-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        transport = transport_of(client)
        await client.get_colony("dev")  # the socket is open: the poll alone can time out
        poll = rpc.build_request(
            {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10}, executor.prvkey
        )
        with pytest.raises(TransportError) as failure:
            await transport.apost(client.url + "/api", poll, 0.3)
        assert failure.value.reason == "timed out"
        await eventually(lambda: pollers_waiting(live) == 0, what="the poll ended")
        assert (await client.get_colony("dev")).name == "dev"
        assert state(client) == ("socket", 2)


async def test_closing_the_client_puts_a_polled_process_back(live: LiveServer) -> None:
    """A long-poll cut by closing the client leaves nothing claimed: the next process goes to
    whoever asks next."""
    first, second = add_executor(live, "rpc-1"), add_executor(live, "rpc-2")
    client = AsyncClient(live.url, first.prvkey)
    poll = asyncio.create_task(client.assign("dev", 20))
    await eventually(lambda: pollers_waiting(live) == 1, what="the poll registered")
    await client.close_transport()
    with pytest.raises(TransportError):
        await asyncio.wait_for(poll, 10)
    await eventually(lambda: pollers_waiting(live) == 0, what="the poll ended")
    async with AsyncClient(live.url, second.prvkey) as other:
        process = await other.submit(ECHO)
        assert (await other.get_process(process.processid)).state == ProcessState.WAITING
        assert (await other.assign("dev", 5)).processid == process.processid


async def test_a_cancelled_poll_ends_on_the_server_after_the_others(live: LiveServer) -> None:
    """Cancelling one of two polls: the socket takes no new requests (they get a new one),
    stays open for the other poll, then closes, ending the cancelled poll on the server."""
    executor = add_executor(live, "rpc-1")
    async with AsyncClient(live.url, executor.prvkey) as client:
        short = asyncio.create_task(client.assign("dev", 1))
        long = asyncio.create_task(client.assign("dev", 20))
        await eventually(lambda: pollers_waiting(live) == 2, what="both polls registered")
        long.cancel()
        await asyncio.wait({long})
        assert (await client.get_colony("dev")).name == "dev"
        assert state(client) == ("socket", 2)
        assert pollers_waiting(live) >= 1  # the first socket is still open for `short`
        with pytest.raises(NoProcessAvailable):
            await asyncio.wait_for(short, 10)
        await eventually(lambda: pollers_waiting(live) == 0, what="the cancelled poll ended")
        process = await client.submit(ECHO)
        assert (await client.get_process(process.processid)).state == ProcessState.WAITING
