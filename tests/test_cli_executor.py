"""``colonies executor add|ls|get|approve|reject|remove`` against a live server."""

from __future__ import annotations

import json

from colonies import crypto
from conftest import CLI, assert_error


def new_id() -> str:
    return crypto.id_from_private_key(crypto.generate_private_key())


def states(cli: CLI, *flags: str) -> dict[str, int]:
    result = cli("executor", "ls", "--json", *flags)
    assert result.exit_code == 0, result.stderr
    return {e["executorname"]: e["state"] for e in json.loads(result.stdout)}


def test_lifecycle(cli: CLI) -> None:
    executorid = new_id()
    added = cli("executor", "add", "--executorid", executorid, "--name", "w1", "--type", "wasm")
    assert added.exit_code == 0, added.stderr
    assert "colonies executor approve --name w1" in added.stderr
    assert states(cli) == {"cli-member": 1, "w1": 0}

    table = cli("executor", "ls")
    assert table.exit_code == 0, table.stderr
    assert "w1" in table.stdout and "PENDING" in table.stdout and executorid in table.stdout

    assert cli("executor", "approve", "--name", "w1").exit_code == 0
    assert states(cli)["w1"] == 1
    assert cli("executor", "reject", "--name", "w1").exit_code == 0
    assert states(cli)["w1"] == 2
    assert cli("executor", "remove", "--name", "w1").exit_code == 0
    assert "w1" not in states(cli)
    assert states(cli, "--all")["w1"] == 3
    assert "UNREGISTERED" in cli("executor", "ls", "--all").stdout


def test_add_approve_and_type_filter(cli: CLI) -> None:
    result = cli("executor", "add", "--executorid", new_id(), "--name", "w2", "--approve")
    assert result.exit_code == 0, result.stderr  # --type from COLONIES_EXECUTOR_TYPE
    assert states(cli, "--type", "wasm") == {"w2": 1}
    assert states(cli, "--type", "cli") == {"cli-member": 1}


def test_get(cli: CLI) -> None:
    table = cli("executor", "get", "--name", "cli-member")
    assert table.exit_code == 0, table.stderr
    assert "APPROVED" in table.stdout and cli.member.id in table.stdout
    got = json.loads(cli("executor", "get", "--name", "cli-member", "--json").stdout)
    assert got["executorid"] == cli.member.id and got["executortype"] == "cli"


def test_approve_needs_the_colony_key(cli: CLI) -> None:
    result = cli(
        "executor", "approve", "--name", "cli-member", COLONIES_COLONY_PRVKEY=cli.member.prvkey
    )
    assert_error(result, "access denied", "colony owner key", "COLONIES_COLONY_PRVKEY")


def test_unknown_executor(cli: CLI) -> None:
    assert_error(cli("executor", "get", "--name", "ghost"), "ghost")


def test_missing_colony_key(cli: CLI) -> None:
    result = cli("executor", "remove", "--name", "cli-member", COLONIES_COLONY_PRVKEY=None)
    assert_error(result, "set COLONIES_COLONY_PRVKEY or pass --colonyprvkey")


def test_ls_tells_online_from_gone(cli: CLI) -> None:
    """An executor that calls is online; one never heard from (a closed tab, a dead host) is
    offline however APPROVED it is, and the table says when each was last heard from."""
    import contextlib

    from colonies.client import Client
    from colonies.errors import NotFoundError
    from colonies.model import Executor

    quiet_key = crypto.generate_private_key()
    quiet = Executor(
        executorid=crypto.id_from_private_key(quiet_key),
        executortype="wasm",
        executorname="closed-tab",
        colonyname=cli.live.colonyname,
    )
    with Client(cli.live.url, cli.live.colony.prvkey) as client:
        client.add_executor(quiet)
        client.approve_executor(cli.live.colonyname, "closed-tab")
    with Client(cli.live.url, cli.member.prvkey) as client, contextlib.suppress(NotFoundError):
        client.assign(cli.live.colonyname, timeout=1)  # a poll: cli-member is heard from now
    rows = {
        line.split("│")[1].strip(): line
        for line in cli("executor", "ls").stdout.splitlines()
        if line.startswith("│")
    }
    assert "online" in rows["cli-member"] and " s ago" in rows["cli-member"]
    assert "offline" in rows["closed-tab"] and "APPROVED" in rows["closed-tab"]


def test_ls_of_nothing_is_a_sentence(cli: CLI) -> None:
    result = cli("executor", "ls", "--type", "nobody")
    assert result.exit_code == 0 and result.stdout == ""
    assert "No executors in colony dev" in result.stderr
