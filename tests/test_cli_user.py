"""``colonies user add|ls|get|remove|chid`` against a live server."""

from __future__ import annotations

import json

from colonies import crypto
from conftest import CLI, Identity, assert_error


def new_key() -> Identity:
    return Identity(crypto.generate_private_key())


def test_add_ls_get_remove(cli: CLI) -> None:
    alice = new_key()
    added = cli(
        "user", "add", "--name", "alice", "--userid", alice.id,
        "--email", "alice@example.com", "--phone", "123",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert "User alice added to colony dev" in added.stderr

    table = cli("user", "ls")
    assert table.exit_code == 0, table.stderr
    assert "alice" in table.stdout and "alice@example.com" in table.stdout
    assert alice.id in table.stdout
    listed = json.loads(cli("user", "ls", "--json").stdout)
    assert listed == [
        {
            "colonyname": "dev",
            "userid": alice.id,
            "name": "alice",
            "email": "alice@example.com",
            "phone": "123",
        }
    ]

    got = cli("user", "get", "--name", "alice")
    assert got.exit_code == 0, got.stderr
    assert alice.id in got.stdout and "123" in got.stdout
    assert json.loads(cli("user", "get", "--name", "alice", "--json").stdout) == listed[0]

    removed = cli("user", "remove", "--name", "alice", "--yes")
    assert removed.exit_code == 0, removed.stderr
    assert json.loads(cli("user", "ls", "--json").stdout) == []


def test_remove_asks_for_yes(cli: CLI) -> None:
    alice = new_key()
    assert cli("user", "add", "--name", "alice", "--userid", alice.id).exit_code == 0
    # no terminal to ask on: refused, nothing removed
    assert_error(cli("user", "remove", "--name", "alice"), "pass --yes")
    assert [u["name"] for u in json.loads(cli("user", "ls", "--json").stdout)] == ["alice"]
    assert_error(cli("user", "remove", "--name", "nobody", "--yes"), "not found")


def test_chid_moves_the_user_to_a_new_key(cli: CLI) -> None:
    alice, new = new_key(), new_key()
    assert cli("user", "add", "--name", "alice", "--userid", alice.id).exit_code == 0
    changed = cli("user", "chid", "--userid", new.id, COLONIES_PRVKEY=alice.prvkey)
    assert changed.exit_code == 0, changed.stderr
    assert "sign with the new key" in changed.stderr
    assert_error(cli("user", "ls", COLONIES_PRVKEY=alice.prvkey), "access denied", "not a member")
    got = json.loads(cli("user", "get", "--name", "alice", "--json", "--prvkey", new.prvkey).stdout)
    assert got["userid"] == new.id


def test_chid_refuses_a_malformed_id_before_sending(cli: CLI) -> None:
    alice = new_key()
    assert cli("user", "add", "--name", "alice", "--userid", alice.id).exit_code == 0
    for bad in ("abc", "G" * 64, alice.id.upper()):
        assert_error(
            cli("user", "chid", "--userid", bad, COLONIES_PRVKEY=alice.prvkey),
            "invalid ID for --userid",
        )
    # an executor's key is no user: the server says so
    assert_error(cli("user", "chid", "--userid", new_key().id), "the caller is not a user")


def test_add_needs_the_colony_key_and_a_valid_id(cli: CLI) -> None:
    assert_error(cli("user", "add", "--name", "x", "--userid", "short"), "invalid ID for --userid")
    result = cli(
        "user", "add", "--name", "x", "--userid", new_key().id,
        COLONIES_COLONY_PRVKEY=cli.member.prvkey,
    )  # fmt: skip
    assert_error(result, "access denied", "COLONIES_COLONY_PRVKEY", "not colony owner")
    missing = cli(
        "user", "add", "--name", "x", "--userid", new_key().id, COLONIES_COLONY_PRVKEY=None
    )
    assert_error(missing, "no colony owner key", "COLONIES_COLONY_PRVKEY")


def test_get_unknown_user_and_unknown_colony(cli: CLI) -> None:
    assert_error(cli("user", "get", "--name", "ghost"), "ghost not found")
    assert_error(cli("user", "ls", COLONIES_COLONY_NAME="nope"), "colony nope does not exist")
