"""``colony chid``, ``executor chid|create``, ``server chid|alive``, ``cluster info``,
``version`` and ``config`` against a live server."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from colonies import __version__, crypto
from colonies.client import Client
from colonies.model import ExecutorState
from conftest import CLI, Identity, assert_error, free_port


def new_key() -> Identity:
    return Identity(crypto.generate_private_key())


# --- chid


def test_colony_chid(cli: CLI) -> None:
    new = new_key()
    changed = cli("colony", "chid", "--colonyid", new.id)
    assert changed.exit_code == 0, changed.stderr
    assert new.id in changed.stderr
    # the old owner key is refused, the new one owns the colony
    assert_error(cli("executor", "approve", "--name", "cli-member"), "not colony owner")
    approved = cli("executor", "approve", "--name", "cli-member", "--colonyprvkey", new.prvkey)
    assert approved.exit_code == 0, approved.stderr
    assert_error(cli("colony", "chid", "--colonyid", "0" * 63), "invalid ID for --colonyid")
    assert_error(
        cli("colony", "chid", "--colonyid", new_key().id, COLONIES_COLONY_PRVKEY=cli.member.prvkey),
        "access denied",
        "not colony owner",
    )


def test_executor_chid(cli: CLI) -> None:
    new = new_key()
    changed = cli("executor", "chid", "--executorid", new.id)
    assert changed.exit_code == 0, changed.stderr
    assert_error(cli("executor", "ls"), "access denied", "not a member")
    got = json.loads(
        cli("executor", "get", "--name", "cli-member", "--json", "--prvkey", new.prvkey).stdout
    )
    assert got["executorid"] == new.id
    assert_error(
        cli("executor", "chid", "--executorid", "x" * 64, COLONIES_PRVKEY=new.prvkey),
        "invalid ID for --executorid",
    )


def test_server_chid(cli: CLI) -> None:
    new = new_key()
    changed = cli("server", "chid", "--serverid", new.id)
    assert changed.exit_code == 0, changed.stderr
    assert_error(cli("server", "stats"), "access denied", "not server owner")
    assert cli("server", "stats", "--serverprvkey", new.prvkey).exit_code == 0
    assert_error(cli("server", "chid", "--serverid", "abc"), "invalid ID for --serverid")


# --- executor create


def test_executor_create_writes_key_and_id_and_registers(cli: CLI, tmp_path: Path) -> None:
    keypath, idpath = tmp_path / "key", tmp_path / "id"
    created = cli(
        "executor", "create", "--name", "fresh", "--type", "t",
        "--keypath", str(keypath), "--idpath", str(idpath), "--approve",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    prvkey, executorid = keypath.read_text(), idpath.read_text()
    assert crypto.id_from_private_key(prvkey) == executorid
    assert stat.S_IMODE(os.stat(keypath).st_mode) == 0o600
    with Client(cli.live.url, prvkey) as client:  # the new key is an approved member
        executor = client.get_executor("dev", "fresh")
    assert executor.executorid == executorid and executor.state == ExecutorState.APPROVED
    assert executor.executortype == "t"
    # never overwrites a key file
    again = cli(
        "executor", "create", "--name", "other", "--type", "t",
        "--keypath", str(keypath), "--idpath", str(tmp_path / "id2"),
    )  # fmt: skip
    assert_error(again, "already exists")
    assert keypath.read_text() == prvkey and not (tmp_path / "id2").exists()


def test_executor_create_from_a_spec_file(cli: CLI, tmp_path: Path) -> None:
    spec = tmp_path / "executor.json"
    spec.write_text(json.dumps({"executorname": "specced", "executortype": "gpu"}))
    created = cli(
        "executor", "create", "--spec", str(spec),
        "--keypath", str(tmp_path / "k"), "--idpath", str(tmp_path / "i"),
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    got = json.loads(cli("executor", "get", "--name", "specced", "--json").stdout)
    assert got["executortype"] == "gpu" and got["state"] == ExecutorState.PENDING
    assert got["executorid"] == (tmp_path / "i").read_text()
    spec.write_text("not json")
    bad = cli(
        "executor", "create", "--spec", str(spec),
        "--keypath", str(tmp_path / "k2"), "--idpath", str(tmp_path / "i2"),
    )  # fmt: skip
    assert_error(bad, "is not an executor in JSON")


def test_a_failed_create_leaves_no_files(cli: CLI, tmp_path: Path) -> None:
    keypath, idpath = tmp_path / "key", tmp_path / "id"
    refused = cli(
        "executor", "create", "--name", "cli-member", "--type", "t",
        "--keypath", str(keypath), "--idpath", str(idpath),
        COLONIES_COLONY_PRVKEY=cli.member.prvkey,
    )  # fmt: skip
    assert_error(refused, "not colony owner")
    assert not keypath.exists() and not idpath.exists()
    unnamed = cli(
        "executor", "create", "--type", "t", "--keypath", str(keypath), "--idpath", str(idpath)
    )
    assert_error(unnamed, "--name and --type")
    assert not keypath.exists()


# --- server alive, cluster info


def test_server_alive(cli: CLI) -> None:
    alive = cli("server", "alive")
    assert alive.exit_code == 0, alive.stderr
    assert alive.stdout == ""
    dead = cli("server", "alive", "--port", str(free_port()))
    assert_error(dead, "cannot reach")


def test_cluster_info(cli: CLI) -> None:
    table = cli("cluster", "info")
    assert table.exit_code == 0, table.stderr
    assert str(cli.live.port) in table.stdout and "yes" in table.stdout
    cluster = json.loads(cli("cluster", "info", "--json").stdout)
    assert [n["apiport"] for n in cluster["nodes"]] == [cluster["leader"]["apiport"]]
    assert cluster["leader"]["apiport"] == cli.live.port
    assert_error(
        cli("cluster", "info", COLONIES_SERVER_PRVKEY=cli.live.colony.prvkey), "not server owner"
    )


# --- version, config


def test_version_shows_ours_and_the_servers(cli: CLI) -> None:
    table = cli("version")
    assert table.exit_code == 0, table.stderr
    assert __version__ in table.stdout
    shown = json.loads(cli("version", "--json").stdout)
    assert shown["cli"] == {"version": __version__}
    assert shown["server"]["url"] == cli.live.url
    assert shown["server"]["buildversion"]
    assert_error(cli("version", "--port", str(free_port())), "cannot reach")


def test_config_shows_ids_never_keys(cli: CLI) -> None:
    table = cli("config")
    assert table.exit_code == 0, table.stderr
    shown = json.loads(cli("config", "--json").stdout)
    for key in (cli.member.prvkey, cli.live.colony.prvkey, cli.live.server.prvkey):
        assert key not in table.stdout + table.stderr
        assert key not in json.dumps(shown)
    assert shown["server"] == cli.live.url and shown["tls"] is False
    assert shown["colonyname"] == "dev" and shown["executortype"] == "wasm"
    assert shown["keys"]["COLONIES_PRVKEY"] == {"set": True, "id": cli.member.id}
    assert shown["keys"]["COLONIES_COLONY_PRVKEY"]["id"] == cli.live.colony.id
    assert cli.live.server.id in table.stdout


def test_config_flags_unset_invalid_and_mismatched_keys(cli: CLI) -> None:
    shown = json.loads(
        cli(
            "config", "--json",
            COLONIES_SERVER_PRVKEY=None,
            COLONIES_COLONY_PRVKEY="nothex",
            COLONIES_ID="0" * 64,
        ).stdout
    )  # fmt: skip
    assert shown["keys"]["COLONIES_SERVER_PRVKEY"] == {"set": False}
    assert "invalid key" in shown["keys"]["COLONIES_COLONY_PRVKEY"]["error"]
    assert shown["keys"]["COLONIES_PRVKEY"]["error"] == "COLONIES_ID is not this key's ID"
    table = cli("config", COLONIES_SERVER_PRVKEY=None, COLONIES_TLS="true")
    assert "not set" in table.stdout and "https://" in table.stdout
