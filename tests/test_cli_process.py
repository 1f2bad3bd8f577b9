"""``colonies process ps*|get|cancel|remove|removeall`` against a live server."""

from __future__ import annotations

import json

import pytest

from colonies.client import Client
from colonies.model import Conditions, FunctionSpec, Process
from conftest import CLI, add_executor, assert_error


def submit(cli: CLI, funcname: str = "f", label: str = "") -> Process:
    spec = FunctionSpec(
        funcname=funcname,
        args=["a", 1],
        label=label,
        conditions=Conditions(colonyname="dev", executortype="wasm"),
    )
    with Client(cli.live.url, cli.member.prvkey) as client:
        return client.submit(spec)


def listed(cli: CLI, command: str, *flags: str) -> list[str]:
    result = cli("process", command, "--json", *flags)
    assert result.exit_code == 0, result.stderr
    return [p["processid"] for p in json.loads(result.stdout)]


@pytest.fixture
def worker(cli: CLI) -> Client:
    key = add_executor(cli.live, "worker", "wasm")
    return Client(cli.live.url, key.prvkey)


def test_lists_by_state(cli: CLI, worker: Client) -> None:
    running, succeeded, failed, cancelled, waiting = (submit(cli, f"f{i}") for i in range(5))
    with worker:
        for process, close in ((running, None), (succeeded, "close"), (failed, "fail")):
            assert worker.assign("dev", timeout=5).processid == process.processid
            if close == "close":
                worker.close(process.processid, ["ok"])
            elif close == "fail":
                worker.fail(process.processid, ["bad"])
        worker.cancel(cancelled.processid)

    assert listed(cli, "ps") == [running.processid]
    assert listed(cli, "pss") == [succeeded.processid]
    assert listed(cli, "psf") == [failed.processid]
    assert listed(cli, "psc") == [cancelled.processid]
    assert listed(cli, "psw") == [waiting.processid]

    table = cli("process", "psw")
    assert table.exit_code == 0, table.stderr
    assert waiting.processid in table.stdout and "f4" in table.stdout
    assert '["a", 1]' in table.stdout and "Submitted" in table.stdout
    assert "Started" in cli("process", "ps").stdout


def test_list_filters_and_count(cli: CLI) -> None:
    first, labelled = submit(cli), submit(cli, label="batch")
    assert listed(cli, "psw", "--label", "batch") == [labelled.processid]
    assert listed(cli, "psw", "--executortype", "wasm") == [first.processid, labelled.processid]
    assert listed(cli, "psw", "--executortype", "other") == []
    assert listed(cli, "psw", "--count", "1") == [first.processid]


def test_list_errors(cli: CLI) -> None:
    assert_error(cli("process", "psw", "--count", "101"), "MaxCount limit <100>")
    assert_error(cli("process", "ps", "--initiator", "nobody"), "nobody")


def test_get(cli: CLI, worker: Client) -> None:
    process = submit(cli, "echo")
    with worker:
        worker.assign("dev", timeout=5)
        worker.close(process.processid, ["8", 2.0])

    table = cli("process", "get", "-p", process.processid)
    assert table.exit_code == 0, table.stderr
    assert "SUCCESS" in table.stdout and "echo" in table.stdout and '["8", 2.0]' in table.stdout
    got = json.loads(cli("process", "get", "--processid", process.processid, "--json").stdout)
    assert got["processid"] == process.processid and got["out"] == ["8", 2.0]
    assert cli("process", "get", "-p", process.processid, "--out").stdout == "8 2\n"


def test_get_unknown(cli: CLI) -> None:
    assert_error(cli("process", "get", "-p", "0" * 64), "process not found")


def test_cancel_and_remove(cli: CLI) -> None:
    process = submit(cli)
    cancelled = cli("process", "cancel", "-p", process.processid)
    assert cancelled.exit_code == 0, cancelled.stderr
    assert listed(cli, "psc") == [process.processid]
    assert_error(cli("process", "cancel", "-p", process.processid))  # already cancelled
    removed = cli("process", "remove", "-p", process.processid)
    assert removed.exit_code == 0, removed.stderr
    assert listed(cli, "psc") == []


def test_removeall(cli: CLI) -> None:
    waiting, cancelled = submit(cli), submit(cli)
    assert cli("process", "cancel", "-p", cancelled.processid).exit_code == 0
    result = cli("process", "removeall", "--cancelled", "--yes")
    assert result.exit_code == 0, result.stderr
    assert listed(cli, "psc") == [] and listed(cli, "psw") == [waiting.processid]
    assert cli("process", "removeall", "--yes").exit_code == 0
    assert listed(cli, "psw") == []


def test_removeall_asks_on_a_terminal(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    process = submit(cli)
    monkeypatch.setattr("colonies.cli.removal.stdin_is_terminal", lambda: True)
    refused = cli("process", "removeall", "--waiting", input="yes\n")
    # CliRunner does not echo the typed answer, so the error follows the prompt on one line.
    assert refused.exit_code == 1 and "Error: aborted, nothing removed" in refused.stderr
    assert listed(cli, "psw") == [process.processid]
    result = cli("process", "removeall", "--waiting", input="YES\n")
    assert result.exit_code == 0, result.stderr
    assert "Type YES to confirm" in result.stderr
    assert listed(cli, "psw") == []


def test_removeall_refuses_without_a_terminal(cli: CLI) -> None:
    process = submit(cli)
    assert_error(cli("process", "removeall"), "pass --yes")
    assert listed(cli, "psw") == [process.processid]


def test_removeall_errors(cli: CLI) -> None:
    assert_error(cli("process", "removeall", "--waiting", "--failed", "--yes"), "at most one")
    assert_error(
        cli("process", "removeall", "--yes", COLONIES_COLONY_PRVKEY=cli.member.prvkey),
        "access denied",
        "COLONIES_COLONY_PRVKEY",
    )
