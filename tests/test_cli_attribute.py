"""``colonies attribute add|get`` against a live server."""

from __future__ import annotations

import json

from colonies.client import Client
from colonies.model import AttributeType
from conftest import CLI, add_executor, assert_error
from test_cli_location import other_colony
from test_cli_log import running


def test_add_and_get(cli: CLI) -> None:
    process = running(cli)
    added = cli("attribute", "add", "-p", process.processid, "--key", "result", "--value", "42")
    assert added.exit_code == 0, added.stderr
    attributeid = added.stdout.strip()
    assert len(attributeid) == 64

    got = cli("attribute", "get", "--attributeid", attributeid, "--json")
    assert got.exit_code == 0, got.stderr
    attribute = json.loads(got.stdout)
    assert attribute["attributeid"] == attributeid
    assert (attribute["key"], attribute["value"]) == ("result", "42")
    assert attribute["targetid"] == process.processid
    assert attribute["targetcolonyname"] == "dev"
    assert attribute["attributetype"] == AttributeType.OUT

    table = cli("attribute", "get", "--attributeid", attributeid)
    assert table.exit_code == 0 and "OUT" in table.stdout and "result" in table.stdout
    # The process shows it too.
    with Client(cli.live.url, cli.member.prvkey) as client:
        out = client.get_process(process.processid).attributes
    assert [(a.key, a.value) for a in out] == [("result", "42")]

    as_json = cli(
        "attribute", "add", "-p", process.processid, "--key", "k", "--value", "v", "--json"
    )
    assert json.loads(as_json.stdout)["key"] == "k"


def test_errors(cli: CLI) -> None:
    assert_error(cli("attribute", "get", "--attributeid", "a" * 64), "attribute not found")
    assert_error(cli("attribute", "add", "-p", "a" * 64, "--key", "k", "--value", "v"), "not found")
    process = running(cli)
    other = add_executor(cli.live, "other", "cli")
    assert_error(
        cli(
            "attribute", "add", "-p", process.processid, "--key", "k", "--value", "v",
            COLONIES_PRVKEY=other.prvkey,
        )
    )  # fmt: skip
    with Client(cli.live.url, cli.member.prvkey) as client:
        client.close(process.processid)
    assert_error(
        cli("attribute", "add", "-p", process.processid, "--key", "k", "--value", "v"),
        "not running",
    )


def test_colonies_are_isolated(cli: CLI) -> None:
    process = running(cli)
    added = cli("attribute", "add", "-p", process.processid, "--key", "k", "--value", "v")
    _, outsider = other_colony(cli.live)
    assert_error(
        cli(
            "attribute",
            "get",
            "--attributeid",
            added.stdout.strip(),
            COLONIES_PRVKEY=outsider.prvkey,
        ),
        "access denied",
    )
    assert_error(
        cli(
            "attribute", "add", "-p", process.processid, "--key", "x", "--value", "y",
            COLONIES_PRVKEY=outsider.prvkey,
        ),
        "access denied",
    )  # fmt: skip
