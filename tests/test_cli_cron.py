"""``colonies cron add|ls|get|run|remove`` and ``colonies generator add|pack|ls|get|remove``
against a live server (the Go CLI's commands and flags)."""

from __future__ import annotations

import json
from pathlib import Path

from colonies.client import Client
from colonies.model import ProcessState
from conftest import CLI, assert_error
from polling import until

STEPS = [
    {"nodename": "a", "funcname": "echo", "args": ["x"], "conditions": {"executortype": "cli"}}
]


def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(STEPS))  # the Go CLI's format: a list of function specs
    return path


def waiting_graphs(cli: CLI) -> int:
    with Client(cli.live.url, cli.member.prvkey) as client:
        return len(client.get_processgraphs("dev", 100, ProcessState.WAITING))


def test_cron_commands(cli: CLI, tmp_path: Path) -> None:
    added = cli(
        "cron", "add", "--name", "hourly", "--interval", "3600", "--spec", str(spec_file(tmp_path))
    )
    assert added.exit_code == 0, added.stderr
    cronid = added.stdout.strip()
    assert len(cronid) == 64
    expr = cli(
        "cron",
        "add",
        "--name",
        "expr",
        "--cron",
        "0 0 0 1 1 *",
        "--spec",
        str(spec_file(tmp_path)),
        "--json",
    )
    assert expr.exit_code == 0, expr.stderr
    assert json.loads(expr.stdout)["cronexpression"] == "0 0 0 1 1 *"
    listed = cli("cron", "ls")
    assert listed.exit_code == 0 and cronid in listed.stdout and "every 3600s" in listed.stdout
    as_json = json.loads(cli("cron", "ls", "--json").stdout)
    assert [c["name"] for c in as_json] == ["hourly", "expr"]
    shown = cli("cron", "get", "--cronid", cronid)
    assert shown.exit_code == 0 and "hourly" in shown.stdout and "echo" in shown.stdout
    ran = cli("cron", "run", "--cronid", cronid)
    assert ran.exit_code == 0, ran.stderr
    assert waiting_graphs(cli) == 1
    got = json.loads(cli("cron", "get", "--cronid", cronid, "--json").stdout)
    assert got["prevprocessgraphid"] in ran.stderr
    removed = cli("cron", "remove", "--cronid", cronid)
    assert removed.exit_code == 0 and "removed" in removed.stderr
    assert_error(cli("cron", "get", "--cronid", cronid), "Failed to get cron, cron is nil")
    assert_error(
        cli("cron", "add", "--name", "bad", "--interval", "0", "--spec", str(spec_file(tmp_path))),
        "Cron interval must be -1 (disabled) or larger than 0",
    )
    assert_error(
        cli("cron", "add", "--name", "bad", "--spec", str(spec_file(tmp_path))),
        "pass --interval or --cron",
    )


def test_generator_commands(cli: CLI, tmp_path: Path) -> None:
    added = cli(
        "generator", "add", "--name", "pairs", "--trigger", "2", "--spec", str(spec_file(tmp_path))
    )
    assert added.exit_code == 0, added.stderr
    generatorid = added.stdout.strip()
    assert len(generatorid) == 64
    listed = cli("generator", "ls")
    assert listed.exit_code == 0 and generatorid in listed.stdout
    assert cli("generator", "pack", "--generatorid", generatorid, "--arg", "one").exit_code == 0
    shown = cli("generator", "get", "--generatorid", generatorid)
    assert shown.exit_code == 0 and "pairs" in shown.stdout
    assert (
        json.loads(cli("generator", "get", "--generatorid", generatorid, "--json").stdout)[
            "queuesize"
        ]
        == 1
    )
    assert cli("generator", "pack", "--generatorid", generatorid, "--arg", "two").exit_code == 0
    until(lambda: waiting_graphs(cli) == 1, what="the generator's workflow")
    removed = cli("generator", "remove", "--generatorid", generatorid)
    assert removed.exit_code == 0 and "removed" in removed.stderr
    assert_error(
        cli("generator", "get", "--generatorid", generatorid),
        "Failed to get generator, generator is nil",
    )
    assert_error(
        cli(
            "generator", "add", "--name", "z", "--trigger", "0", "--spec", str(spec_file(tmp_path))
        ),
        "Generator trigger must be larger than 0",
    )
