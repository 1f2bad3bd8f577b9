"""ID rotation, users and cluster info across the two servers.

- Differential: every ``change*idmsg`` refusal Go gives (status and message) and the echoed
  reply, then old key refused / new key accepted on both; ``getclustermsg``'s shape.
- Our SDK and CLI against the Go server: ``change_*_id``, ``get_cluster``, ``user`` commands.
- The Go CLI's ``user``, ``chid``, ``cluster info`` and ``executor create`` against ours.

Where we deliberately differ (README "Differences"): a new ID must be lowercase hex, not just
64 characters long, and may not be another member's; ``changeserveridmsg`` checks the new ID
at all, and its empty-ID message names the server, not the colony; an executor changing a user
ID (or a user an executor ID) is refused with 403, where Go answers 400.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from colonies import crypto
from colonies.cli import app
from colonies.client import Client
from colonies.errors import ServerError
from colonies.model import Colony, User
from interop.conftest import GoCLI, Server, unique
from interop.twin import Keys, Twin, close_connections, ours_module, twin

__all__ = ["close_connections", "ours_module", "twin"]  # fixtures used here


def change_user(userid: str, colony: str = "$COLONY") -> dict[str, Any]:
    return {"msgtype": "changeuseridmsg", "colonyname": colony, "userid": userid}


def change_executor(executorid: str, colony: str = "$COLONY") -> dict[str, Any]:
    return {"msgtype": "changeexecutoridmsg", "colonyname": colony, "executorid": executorid}


def change_colony(colonyid: str, colony: str = "$COLONY") -> dict[str, Any]:
    return {"msgtype": "changecolonyidmsg", "colonyname": colony, "colonyid": colonyid}


def same_error(t: Twin, role: str, msg: dict[str, Any]) -> tuple[int, str]:
    go, ours = t.both(role, msg)
    assert go.error == ours.error, (go, ours)
    return go.error


GETUSERS = {"msgtype": "getusersmsg", "colonyname": "$COLONY"}
GETEXECUTORS = {"msgtype": "getexecutorsmsg", "colonyname": "$COLONY"}


def test_change_user_id_differential(twin: Twin) -> None:
    t, new = twin, Keys()
    assert same_error(t, "user", change_user("")) == (
        400,
        "Failed to change user Id, user Id is empty",
    )
    for role in ("owner", "stranger"):
        assert same_error(t, role, change_user(new.id))[0] == 403
    go, ours = t.both("executor", change_user(new.id))  # Go: 400, ours: 403 (a refusal)
    assert go.error == (400, "Failed to change user Id, user not found")
    assert ours.error[0] == 403 and "the caller is not a user" in ours.error[1]
    assert same_error(t, "user", change_user("abc"))[0] == 400
    assert same_error(t, "user", change_user(new.id, colony=unique("nope")))[0] == 403
    assert "not 64 characters" in same_error(t, "user", change_user("abc"))[1]
    go, _ = t.same("user", {**change_user(new.id), "extra": 1})  # echoed as sent
    assert go["userid"] == new.id and go["extra"] == 1
    assert same_error(t, "user", GETUSERS)[0] == 403  # the old key
    t.user = new
    go_users, _ = t.same("user", GETUSERS)
    assert [u["userid"] for u in go_users] == [new.id]


def test_change_executor_id_differential(twin: Twin) -> None:
    t, new = twin, Keys()
    assert same_error(t, "executor", change_executor("")) == (
        400,
        "Failed to change executor Id, executor Id is empty",
    )
    go, ours = t.both("user", change_executor(new.id))  # Go: 400, ours: 403 (a refusal)
    assert go.error == (400, "Failed to change executor Id, executor not found")
    assert ours.error[0] == 403 and "the caller is not an executor" in ours.error[1]
    assert same_error(t, "owner", change_executor(new.id))[0] == 403
    assert same_error(t, "executor", change_executor("ab")) == (
        400,
        "Failed to change executor Id, new executor Id is not 64 characters",
    )
    t.same("pending", change_executor(Keys().id))  # approval is not needed
    t.same("executor", change_executor(new.id))
    assert same_error(t, "executor", GETEXECUTORS)[0] == 403
    t.executor = new
    go, ours = t.both("executor", GETEXECUTORS)
    assert go.status == ours.status == 200
    by_name = sorted(go.payload, key=lambda e: e["executorname"])  # Go's SELECT has no order
    t.compare(by_name, sorted(ours.payload, key=lambda e: e["executorname"]))


def test_change_colony_id_differential(twin: Twin) -> None:
    t, new = twin, Keys()
    assert same_error(t, "user", change_colony(new.id)) == (403, "Access denied, not colony owner")
    assert same_error(t, "owner", change_colony("")) == (
        400,
        "Failed to change colony Id, colony Id is empty",
    )
    assert same_error(t, "owner", change_colony("ab")) == (
        400,
        "Failed to change colony Id, new colony Id is not 64 characters",
    )
    assert same_error(t, "owner", change_colony(new.id, colony="")) == (403, "Empty Colony name")
    assert same_error(t, "owner", change_colony(new.id, colony=unique("nope")))[0] == 403
    t.same("owner", change_colony(new.id))
    approve = {"msgtype": "approveexecutormsg", "colonyname": "$COLONY", "executorname": "newcomer"}
    assert same_error(t, "owner", approve) == (403, "Access denied, not colony owner")
    t.owner = new
    t.same("owner", approve)


def test_change_server_id_refusals_differential(twin: Twin) -> None:
    t = twin
    msg = {"msgtype": "changeserveridmsg", "serverid": Keys().id}
    assert same_error(t, "owner", msg) == (403, "Access denied, not server owner")
    go, ours = t.both("server", {**msg, "serverid": ""})
    assert go.status == ours.status == 400  # Go's message names the colony here, ours the server


def test_change_server_id_both_ways_on_both_servers(twin: Twin) -> None:
    """The server key moves to a new one and back (the Go server is shared by the session)."""
    t, new = twin, Keys()
    for server in (t.go, t.ours):
        old_id = crypto.id_from_private_key(server.server_prvkey)
        with Client(server.url, server.server_prvkey) as client:
            client.change_server_id(new.id)
            try:
                with pytest.raises(ServerError) as refused:
                    client.get_colonies()
                assert refused.value.status == 403
                assert t.colony in [c.name for c in client.get_colonies(prvkey=new.prvkey)]
            finally:
                client.change_server_id(old_id, prvkey=new.prvkey)
            client.get_colonies()


def test_get_cluster_shape_differential(twin: Twin) -> None:
    t = twin
    assert same_error(t, "owner", {"msgtype": "getclustermsg"}) == (
        403,
        "Access denied, not server owner",
    )
    go, ours = t.both("server", {"msgtype": "getclustermsg"})
    assert go.status == ours.status == 200
    assert set(go.payload) == set(ours.payload) == {"nodes", "leader"}
    node_keys = {"name", "host", "port", "peerport", "relayport", "apiport"}
    for reply in (go, ours):
        assert set(reply.payload["leader"]) == node_keys
        assert all(set(n) == node_keys for n in reply.payload["nodes"])
        assert reply.payload["leader"] in reply.payload["nodes"]
    assert [n["apiport"] for n in go.payload["nodes"]] == [t.go.port]
    assert [n["apiport"] for n in ours.payload["nodes"]] == [t.ours.port]


# --- our SDK and CLI against the Go server


def fresh_colony(server: Server) -> tuple[str, str, str]:
    """A colony of its own on ``server``: its name, owner key and a user's key."""
    name, owner, user = (
        unique("admin"),
        crypto.generate_private_key(),
        crypto.generate_private_key(),
    )
    with Client(server.url, server.server_prvkey) as admin:
        admin.add_colony(Colony(colonyid=crypto.id_from_private_key(owner), name=name))
        admin.add_user(
            User(colonyname=name, userid=crypto.id_from_private_key(user), name="admin"),
            prvkey=owner,
        )
    return name, owner, user


def test_sdk_against_go(goserver: Server) -> None:
    name, owner, user = fresh_colony(goserver)
    new_user, new_owner = crypto.generate_private_key(), crypto.generate_private_key()
    with Client(goserver.url, user) as client:
        userid = crypto.id_from_private_key(user)
        assert client.get_user_by_id(name, userid).name == "admin"
        client.change_user_id(name, crypto.id_from_private_key(new_user))
        with pytest.raises(ServerError):
            client.get_users(name)
        assert client.get_users(name, prvkey=new_user)[0].name == "admin"
        client.change_colony_id(name, crypto.id_from_private_key(new_owner), prvkey=owner)
        client.add_user(User(colonyname=name, userid=Keys().id, name="second"), prvkey=new_owner)
        cluster = client.get_cluster(prvkey=goserver.server_prvkey)
    assert cluster.leader.apiport == goserver.port and len(cluster.nodes) == 1


def our_cli(server: Server, colonyname: str, *args: str, **env: str) -> Any:
    full: dict[str, str | None] = {
        **server.env,
        "COLONIES_COLONY_NAME": colonyname,
        "COLONIES_SERVER_HTTP_PORT": None,
        **env,
    }
    return CliRunner().invoke(app, list(args), env=full)


def test_our_cli_against_go(goserver: Server) -> None:
    name, owner, user = fresh_colony(goserver)
    alice = Keys()
    env = {"COLONIES_COLONY_PRVKEY": owner, "COLONIES_PRVKEY": user}
    added = our_cli(goserver, name, "user", "add", "--name", "alice", "--userid", alice.id, **env)
    assert added.exit_code == 0, added.stderr
    listed = json.loads(our_cli(goserver, name, "user", "ls", "--json", **env).stdout)
    assert {u["name"] for u in listed} == {"admin", "alice"}
    new = Keys()
    moved = our_cli(
        goserver,
        name,
        "user",
        "chid",
        "--userid",
        new.id,
        **{**env, "COLONIES_PRVKEY": alice.prvkey},
    )
    assert moved.exit_code == 0, moved.stderr
    got = json.loads(
        our_cli(goserver, name, "user", "get", "--name", "alice", "--json", **env).stdout
    )
    assert got["userid"] == new.id
    removed = our_cli(goserver, name, "user", "remove", "--name", "alice", "--yes", **env)
    assert removed.exit_code == 0, removed.stderr
    info = json.loads(our_cli(goserver, name, "cluster", "info", "--json", **env).stdout)
    assert info["leader"]["apiport"] == goserver.port
    assert our_cli(goserver, name, "server", "alive").exit_code == 0
    version = json.loads(our_cli(goserver, name, "version", "--json").stdout)
    assert version["server"]["buildversion"]


# --- the Go CLI against ours


def test_go_cli_users_and_chid_against_ours(go_cli_ours: GoCLI, ours: Server) -> None:
    alice, new = Keys(), Keys()
    added = go_cli_ours("user", "add", "--name", "alice", "--userid", alice.id)
    assert added.returncode == 0, added.stderr
    listed = go_cli_ours("user", "ls")
    assert listed.returncode == 0 and "alice" in listed.stdout and "myuser" in listed.stdout
    shown = go_cli_ours("user", "get", "--name", "alice")
    assert shown.returncode == 0 and alice.id in shown.stdout
    moved = go_cli_ours("user", "chid", "--userid", new.id, COLONIES_PRVKEY=alice.prvkey)
    assert moved.returncode == 0, moved.stderr
    assert go_cli_ours("user", "ls", COLONIES_PRVKEY=alice.prvkey).returncode != 0
    assert go_cli_ours("user", "ls", COLONIES_PRVKEY=new.prvkey).returncode == 0

    owner = Keys()
    chid = go_cli_ours("colony", "chid", "--colonyid", owner.id)
    assert chid.returncode == 0, chid.stderr
    with Client(ours.url, owner.prvkey) as client:
        assert client.get_colony(ours.colonyname, prvkey=new.prvkey).colonyid == owner.id

    server = Keys()
    moved_server = go_cli_ours("server", "chid", "--serverid", server.id)
    assert moved_server.returncode == 0, moved_server.stderr
    stats = go_cli_ours("server", "stats", COLONIES_SERVER_PRVKEY=server.prvkey)
    assert stats.returncode == 0, stats.stderr
    assert go_cli_ours("server", "stats").returncode != 0


def test_go_cli_executor_create_and_chid_against_ours(
    go_cli_ours: GoCLI, ours: Server, tmp_path: Path
) -> None:
    keypath, idpath = tmp_path / "key", tmp_path / "id"
    created = go_cli_ours(
        "executor", "create", "--name", "made", "--type", "t", "--approve",
        "--keypath", str(keypath), "--idpath", str(idpath),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    prvkey = keypath.read_text()
    assert crypto.id_from_private_key(prvkey) == idpath.read_text()
    new = Keys()
    moved = go_cli_ours("executor", "chid", "--executorid", new.id, COLONIES_PRVKEY=prvkey)
    assert moved.returncode == 0, moved.stderr
    with Client(ours.url, new.prvkey) as client:
        assert client.get_executor(ours.colonyname, "made").executorid == new.id


def test_go_cli_cluster_info_against_ours(go_cli_ours: GoCLI, ours: Server) -> None:
    shown = go_cli_ours("cluster", "info")
    assert shown.returncode == 0, shown.stderr
    assert str(ours.port) in shown.stdout and "True" in shown.stdout
