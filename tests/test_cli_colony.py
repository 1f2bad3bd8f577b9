"""``colonies colony add|ls|get|check|remove|stats`` against a live server."""

from __future__ import annotations

import json

from colonies import crypto
from conftest import CLI, assert_error


def test_add_ls_remove(cli: CLI) -> None:
    colonyid = crypto.id_from_private_key(crypto.generate_private_key())
    added = cli("colony", "add", "--name", "other", "--colonyid", colonyid)
    assert added.exit_code == 0, added.stderr
    assert "Colony other added" in added.stderr

    table = cli("colony", "ls")
    assert table.exit_code == 0, table.stderr
    assert "other" in table.stdout and colonyid in table.stdout
    listed = json.loads(cli("colony", "ls", "--json").stdout)
    assert {c["name"]: c["colonyid"] for c in listed} == {
        "dev": cli.live.colony.id,
        "other": colonyid,
    }

    removed = cli("colony", "remove", "--name", "other")
    assert removed.exit_code == 0, removed.stderr
    names = [c["name"] for c in json.loads(cli("colony", "ls", "--json").stdout)]
    assert names == ["dev"]


def test_get_and_check(cli: CLI) -> None:
    for command in ("get", "check"):
        table = cli("colony", command)
        assert table.exit_code == 0, table.stderr
        assert "dev" in table.stdout and cli.live.colony.id in table.stdout
    got = json.loads(cli("colony", "get", "--name", "dev", "--json").stdout)
    assert got == {"colonyid": cli.live.colony.id, "name": "dev"}


def test_stats(cli: CLI) -> None:
    table = cli("colony", "stats")
    assert table.exit_code == 0, table.stderr
    assert "Executors" in table.stdout
    stats = json.loads(cli("colony", "stats", "--name", "dev", "--json").stdout)
    assert stats["colonies"] == 1 and stats["executors"] == 1


def test_add_needs_the_server_key(cli: CLI) -> None:
    colonyid = crypto.id_from_private_key(crypto.generate_private_key())
    result = cli(
        "colony", "add", "--name", "x", "--colonyid", colonyid,
        COLONIES_SERVER_PRVKEY=cli.live.colony.prvkey,
    )  # fmt: skip
    assert_error(result, "access denied", "COLONIES_SERVER_PRVKEY", "not server owner")


def test_unknown_colony(cli: CLI) -> None:
    assert_error(cli("colony", "get", "--name", "nope"), "colony nope does not exist")
    assert_error(cli("colony", "stats", COLONIES_COLONY_NAME="nope"), "colony nope does not exist")
    assert_error(cli("colony", "remove", "--name", "nope"), "colony nope does not exist")


def test_no_colony_configured(cli: CLI) -> None:
    result = cli("colony", "get", COLONIES_COLONY_NAME=None)
    assert_error(result, "pass --name or set COLONIES_COLONY_NAME")


def test_bad_key(cli: CLI) -> None:
    result = cli("colony", "get", COLONIES_PRVKEY="not-a-key")
    assert_error(result, "Invalid private key", "COLONIES_PRVKEY")
