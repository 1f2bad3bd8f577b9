"""ID rotation (``change*idmsg``) and ``getclustermsg``, through the real API.

After a change the old key is refused and the new one accepted at once (the server caches
colonies and executors: the change must drop them), other colonies are out of reach, and every
bad request gets Go's status. With PostgreSQL, the same across two replicas, and the cluster
reply lists both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from colonies import crypto, jointoken, rpc
from colonies.client import AsyncClient, Client
from colonies.errors import NoProcessAvailable, ServerError
from colonies.model import Colony, Conditions, Executor, FunctionSpec, ProcessState, User
from conftest import Identity, LiveServer, add_executor, post


def new_key() -> Identity:
    return Identity(crypto.generate_private_key())


def send(live: LiveServer, msg: dict[str, Any], prvkey: str) -> tuple[int, Any]:
    """The status and decoded payload of a raw request."""
    response = post(live, rpc.build_request(msg, prvkey))
    payload = json.loads(base64.b64decode(response.json()["payload"]))
    return response.status_code, payload


def refused(live: LiveServer, msg: dict[str, Any], prvkey: str, status: int, text: str) -> None:
    got, payload = send(live, msg, prvkey)
    assert (got, payload["status"]) == (status, status), payload
    assert text in payload["message"], payload


def add_user(live: LiveServer, name: str, colony: Identity | None = None) -> Identity:
    key = new_key()
    with Client(live.url, (colony or live.colony).prvkey) as client:
        client.add_user(User(colonyname=live.colonyname, userid=key.id, name=name))
    return key


def other_colony(live: LiveServer) -> tuple[str, Identity, Identity]:
    """A second colony ``other`` with its owner and a user ``bob`` in it."""
    owner, bob = new_key(), new_key()
    with Client(live.url, live.server.prvkey) as client:
        client.add_colony(Colony(colonyid=owner.id, name="other"))
        client.add_user(User(colonyname="other", userid=bob.id, name="bob"), prvkey=owner.prvkey)
    return "other", owner, bob


def spec(executortype: str = "test") -> FunctionSpec:
    return FunctionSpec(
        funcname="f", conditions=Conditions(colonyname="dev", executortype=executortype)
    )


# --- users


def test_a_user_moves_to_a_new_key_and_the_old_one_is_refused(live: LiveServer) -> None:
    alice, new = add_user(live, "alice"), new_key()
    msg = {"msgtype": "changeuseridmsg", "colonyname": "dev", "userid": new.id}
    with Client(live.url, alice.prvkey) as client:
        assert [u.name for u in client.get_users("dev")] == ["alice"]
    status, payload = send(live, msg, alice.prvkey)
    assert (status, payload) == (200, msg)  # Go echoes the request
    refused(
        live, {"msgtype": "getusersmsg", "colonyname": "dev"}, alice.prvkey, 403, "not a member"
    )
    with Client(live.url, new.prvkey) as client:
        assert client.get_user("dev", "alice").userid == new.id
        assert client.get_user_by_id("dev", new.id).name == "alice"
        client.submit(spec())  # a member everywhere, not only for reads


def test_the_sdk_changes_a_user_id(live: LiveServer) -> None:
    bob, new = add_user(live, "bob"), new_key()
    with Client(live.url, bob.prvkey) as client:
        assert client.change_user_id("dev", new.id) is None
        with pytest.raises(ServerError) as e:
            client.get_users("dev")
        assert e.value.status == 403
        assert client.get_users("dev", prvkey=new.prvkey)[0].userid == new.id


@pytest.mark.parametrize(
    ("userid", "status", "text"),
    [
        ("", 400, "user Id is empty"),
        ("abc", 400, "is not 64 characters"),
        ("g" * 64, 400, "64 lowercase hex"),
        ("A" * 64, 400, "64 lowercase hex"),
    ],
)
def test_a_bad_new_user_id_is_refused(
    live: LiveServer, userid: str, status: int, text: str
) -> None:
    alice = add_user(live, "alice")
    msg = {"msgtype": "changeuseridmsg", "colonyname": "dev", "userid": userid}
    refused(live, msg, alice.prvkey, status, text)
    with Client(live.url, alice.prvkey) as client:
        client.get_users("dev")  # unchanged


def test_only_a_user_changes_a_user_id(live: LiveServer) -> None:
    msg = {"msgtype": "changeuseridmsg", "colonyname": "dev", "userid": new_key().id}
    refused(live, msg, live.colony.prvkey, 403, "not a member")  # the owner is no member
    refused(live, msg, new_key().prvkey, 403, "not a member")
    worker = add_executor(live, "worker")
    refused(live, msg, worker.prvkey, 403, "the caller is not a user")
    refused(live, {**msg, "colonyname": "nowhere"}, worker.prvkey, 403, "does not exists")


def test_a_user_cannot_take_another_members_id(live: LiveServer) -> None:
    alice, bob = add_user(live, "alice"), add_user(live, "bob")
    worker = add_executor(live, "worker")
    for taken in (bob.id, worker.id):
        msg = {"msgtype": "changeuseridmsg", "colonyname": "dev", "userid": taken}
        refused(live, msg, alice.prvkey, 400, "already used by a member")
    # the same ID again changes nothing and is fine
    status, _ = send(
        live, {"msgtype": "changeuseridmsg", "colonyname": "dev", "userid": alice.id}, alice.prvkey
    )
    assert status == 200


def test_a_user_cannot_change_ids_in_another_colony(live: LiveServer) -> None:
    alice = add_user(live, "alice")
    other, _, bob = other_colony(live)
    msg = {"msgtype": "changeuseridmsg", "colonyname": other, "userid": new_key().id}
    refused(live, msg, alice.prvkey, 403, "not a member")
    with Client(live.url, bob.prvkey) as client:  # bob is untouched
        assert client.get_user(other, "bob").userid == bob.id


# --- executors


def test_an_executor_moves_to_a_new_key_with_its_running_process(live: LiveServer) -> None:
    worker, new = add_executor(live, "worker"), new_key()
    alice = add_user(live, "alice")
    with Client(live.url, alice.prvkey) as submitter:
        process = submitter.submit(spec())
    with Client(live.url, worker.prvkey) as client:
        assert client.assign("dev", 5).processid == process.processid  # caches the executor
        client.change_executor_id("dev", new.id)
        with pytest.raises(ServerError) as e:
            client.assign("dev", 1)
        assert e.value.status == 403
        with pytest.raises(ServerError):
            client.close(process.processid, ["old key"])
        # the process it runs is its own under the new key
        client.close(process.processid, ["done"], prvkey=new.prvkey)
        executor = client.get_executor("dev", "worker", prvkey=new.prvkey)
        assert executor.executorid == new.id
        assert client.get_executor_by_id("dev", new.id, prvkey=new.prvkey).executorname == "worker"
        with pytest.raises(NoProcessAvailable):
            client.assign("dev", 1, prvkey=new.prvkey)
    with Client(live.url, alice.prvkey) as submitter:
        closed = submitter.get_process(process.processid)
        assert closed.state == ProcessState.SUCCESS
        assert closed.assignedexecutorid == new.id


def test_change_executor_id_echoes_and_refuses_like_go(live: LiveServer) -> None:
    worker, new = add_executor(live, "worker"), new_key()
    pending = add_executor(live, "pending", approve=False)
    alice = add_user(live, "alice")
    msg = {"msgtype": "changeexecutoridmsg", "colonyname": "dev", "executorid": new.id}
    refused(live, {**msg, "executorid": ""}, worker.prvkey, 400, "executor Id is empty")
    refused(live, {**msg, "executorid": "ab"}, worker.prvkey, 400, "is not 64 characters")
    refused(live, {**msg, "executorid": "z" * 64}, worker.prvkey, 400, "64 lowercase hex")
    refused(live, msg, alice.prvkey, 403, "the caller is not an executor")
    refused(live, msg, live.colony.prvkey, 403, "not a member")
    refused(live, {**msg, "executorid": pending.id}, worker.prvkey, 400, "already used")
    assert send(live, msg, worker.prvkey) == (200, msg)
    # an executor not yet approved may move too (Go: membership without approval)
    moved = new_key()
    assert send(live, {**msg, "executorid": moved.id}, pending.prvkey)[0] == 200
    with Client(live.url, live.colony.prvkey) as owner:
        assert owner.get_executor("dev", "pending", prvkey=new.prvkey).executorid == moved.id


def test_an_executor_cannot_change_ids_in_another_colony(live: LiveServer) -> None:
    worker = add_executor(live, "worker")
    other, owner, _ = other_colony(live)
    msg = {"msgtype": "changeexecutoridmsg", "colonyname": other, "executorid": new_key().id}
    refused(live, msg, worker.prvkey, 403, "not a member")
    # the same key registered in both colonies: a change in one leaves the other alone
    with Client(live.url, owner.prvkey) as client:
        client.add_executor(
            Executor(executorid=worker.id, executortype="t", executorname="w2", colonyname=other)
        )
        client.approve_executor(other, "w2")
    new = new_key()
    assert send(live, {**msg, "colonyname": "dev", "executorid": new.id}, worker.prvkey)[0] == 200
    with Client(live.url, worker.prvkey) as client:
        assert client.get_executor(other, "w2").executorid == worker.id
        assert client.get_executor("dev", "worker", prvkey=new.prvkey).executorid == new.id


# --- colonies


def test_a_colony_gets_a_new_owner_key(live: LiveServer) -> None:
    new = new_key()
    with Client(live.url, live.colony.prvkey) as client:
        client.get_executors("dev", prvkey=add_executor(live, "w").prvkey)
        client.change_colony_id("dev", new.id)
        with pytest.raises(ServerError) as e:
            client.approve_executor("dev", "w")  # the old owner key, colony cached before
        assert e.value.status == 403
        client.add_executor(
            Executor(
                executorid=new_key().id, executortype="t", executorname="w2", colonyname="dev"
            ),
            prvkey=new.prvkey,
        )
    with Client(live.url, live.server.prvkey) as server:
        assert server.get_colony("dev", prvkey=add_executor_by(live, new)).colonyid == new.id
        assert {c.name: c.colonyid for c in server.get_colonies()}["dev"] == new.id


def add_executor_by(live: LiveServer, owner: Identity) -> str:
    """An approved executor registered with the (new) owner key; its private key."""
    key = new_key()
    with Client(live.url, owner.prvkey) as client:
        client.add_executor(
            Executor(executorid=key.id, executortype="t", executorname="late", colonyname="dev")
        )
        client.approve_executor("dev", "late")
    return key.prvkey


def test_change_colony_id_needs_the_colony_owner(live: LiveServer) -> None:
    member = add_executor(live, "worker")
    other, other_owner, _ = other_colony(live)
    msg = {"msgtype": "changecolonyidmsg", "colonyname": "dev", "colonyid": new_key().id}
    refused(live, {**msg, "colonyid": ""}, live.colony.prvkey, 400, "colony Id is empty")
    refused(live, msg, member.prvkey, 403, "not colony owner")
    refused(live, msg, live.server.prvkey, 403, "not colony owner")
    refused(live, msg, other_owner.prvkey, 403, "not colony owner")  # another colony's owner
    refused(live, {**msg, "colonyname": ""}, live.colony.prvkey, 403, "Empty Colony name")
    refused(live, {**msg, "colonyname": "nowhere"}, live.colony.prvkey, 403, "does not exists")
    refused(live, {**msg, "colonyid": "12"}, live.colony.prvkey, 400, "is not 64 characters")
    refused(live, {**msg, "colonyname": other}, live.colony.prvkey, 403, "not colony owner")
    assert send(live, msg, live.colony.prvkey) == (200, msg)


# --- server


def test_the_server_gets_a_new_owner_key(live: LiveServer) -> None:
    new = new_key()
    msg = {"msgtype": "changeserveridmsg", "serverid": new.id}
    refused(live, msg, live.colony.prvkey, 403, "not server owner")
    refused(live, {**msg, "serverid": ""}, live.server.prvkey, 400, "server Id is empty")
    refused(live, {**msg, "serverid": "x" * 10}, live.server.prvkey, 400, "not 64 characters")
    refused(live, {**msg, "serverid": "q" * 64}, live.server.prvkey, 400, "64 lowercase hex")
    with Client(live.url, live.server.prvkey) as client:
        client.change_server_id(new.id)
        with pytest.raises(ServerError) as e:
            client.get_colonies()
        assert e.value.status == 403
        assert [c.name for c in client.get_colonies(prvkey=new.prvkey)] == ["dev"]


# --- cluster


def test_cluster_on_sqlite_is_this_server(live: LiveServer) -> None:
    with Client(live.url, live.server.prvkey) as client:
        cluster = client.get_cluster()
        with pytest.raises(ServerError) as e:
            client.get_cluster(prvkey=live.colony.prvkey)
        assert e.value.status == 403
    assert len(cluster.nodes) == 1
    node = cluster.nodes[0]
    # the test server's configured host is 0.0.0.0 (every interface): the machine's name
    assert node.apiport == live.port and node.host == socket.gethostname()
    assert (node.port, node.peerport, node.relayport) == (0, 0, 0)  # no etcd, no relay
    assert cluster.leader == node
    status, payload = send(live, {"msgtype": "getclustermsg"}, live.server.prvkey)
    assert status == 200 and set(payload) == {"nodes", "leader"}
    assert set(payload["leader"]) == {"name", "host", "port", "peerport", "relayport", "apiport"}


# --- replicas on PostgreSQL


@pytest.fixture
def replicas(tmp_path: Path):  # type: ignore[no-untyped-def]
    from pg import fresh_database
    from test_replicas import Cluster

    with fresh_database() as database:
        made = Cluster(database, tmp_path)
        try:
            yield made
        finally:
            made.stop()


def test_cluster_info_lists_both_replicas_and_one_leader(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas.start(2)
    deadline = time.monotonic() + 15
    while True:
        with (
            Client(a.url, replicas.server.prvkey) as on_a,
            Client(b.url, replicas.server.prvkey) as on_b,
        ):
            seen_a, seen_b = on_a.get_cluster(), on_b.get_cluster()
        leaders = {seen_a.leader.name, seen_b.leader.name}
        if len(seen_a.nodes) == len(seen_b.nodes) == 2 and len(leaders) == 1 and "" not in leaders:
            break
        assert time.monotonic() < deadline, (seen_a, seen_b)
        time.sleep(0.2)
    assert {n.name for n in seen_a.nodes} == {n.name for n in seen_b.nodes}
    assert seen_a.leader.name in {n.name for n in seen_a.nodes}
    # each replica knows its own API port
    assert a.port in {n.apiport for n in seen_a.nodes}
    assert b.port in {n.apiport for n in seen_b.nodes}


def test_an_old_executor_key_is_refused_by_the_other_replica_at_once(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas.start(2)
    worker, new = replicas.executor(a.url, "w1"), new_key()
    with Client(b.url, worker.prvkey) as on_b, Client(a.url, worker.prvkey) as on_a:
        with pytest.raises(NoProcessAvailable):
            on_b.assign("dev", 1)  # b now holds the executor's record in its cache
        on_a.change_executor_id("dev", new.id)
        deadline = time.monotonic() + 0.5
        while True:
            try:
                on_b.get_executors("dev")
            except ServerError as e:
                assert e.status == 403
                break
            assert time.monotonic() < deadline, "b still let the old key in"
            time.sleep(0.01)
        with pytest.raises(NoProcessAvailable):
            on_b.assign("dev", 1, prvkey=new.prvkey)


def test_join_tokens_of_the_old_colony_key_stop_working(live: LiveServer) -> None:
    old_token = jointoken.create(live.colony.prvkey, "dev", "wasm", 600)
    new = new_key()
    with Client(live.url, live.colony.prvkey) as client:
        client.change_colony_id("dev", new.id)
    joiner = new_key()
    executor = Executor(
        executorid=joiner.id, executortype="wasm", executorname="j", colonyname="dev"
    )
    with Client(live.url, joiner.prvkey) as client:
        with pytest.raises(ServerError) as e:
            client.add_executor_by_token(executor, old_token)
        assert e.value.status == 403
        token = jointoken.create(new.prvkey, "dev", "wasm", 600)
        assert client.add_executor_by_token(executor, token).executorid == joiner.id


def test_an_old_colony_key_is_refused_by_the_other_replica_at_once(replicas) -> None:  # type: ignore[no-untyped-def]
    a, b = replicas.start(2)
    replicas.executor(a.url, "w1")
    new = new_key()
    with Client(b.url, replicas.colony.prvkey) as on_b:
        on_b.reject_executor("dev", "w1")  # b now holds the colony in its cache
        with Client(a.url, replicas.colony.prvkey) as on_a:
            on_a.change_colony_id("dev", new.id)
        deadline = time.monotonic() + 0.5
        while True:
            try:
                on_b.approve_executor("dev", "w1")
            except ServerError as e:
                assert e.status == 403
                break
            assert time.monotonic() < deadline, "b still took the old colony key"
            time.sleep(0.01)
        on_b.approve_executor("dev", "w1", prvkey=new.prvkey)


async def test_the_async_client_rotates_ids_and_reads_the_cluster(live: LiveServer) -> None:
    alice = await asyncio.to_thread(add_user, live, "alice")
    worker = await asyncio.to_thread(add_executor, live, "worker")
    new_alice, new_worker, new_owner, new_server = new_key(), new_key(), new_key(), new_key()
    async with AsyncClient(live.url, alice.prvkey) as client:
        assert (await client.get_user_by_id("dev", alice.id)).name == "alice"
        await client.change_user_id("dev", new_alice.id)
        assert (await client.get_user_by_id("dev", new_alice.id, prvkey=new_alice.prvkey)).name
        await client.change_executor_id("dev", new_worker.id, prvkey=worker.prvkey)
        moved = await client.get_executor("dev", "worker", prvkey=new_worker.prvkey)
        assert moved.executorid == new_worker.id
        await client.change_colony_id("dev", new_owner.id, prvkey=live.colony.prvkey)
        assert (await client.get_colony("dev", prvkey=new_worker.prvkey)).colonyid == new_owner.id
        cluster = await client.get_cluster(prvkey=live.server.prvkey)
        assert [n.apiport for n in cluster.nodes] == [live.port]
        await client.change_server_id(new_server.id, prvkey=live.server.prvkey)
        with pytest.raises(ServerError):
            await client.get_cluster(prvkey=live.server.prvkey)
        assert (await client.get_cluster(prvkey=new_server.prvkey)).leader.apiport == live.port
