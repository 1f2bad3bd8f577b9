"""``colonies process ps*|get|cancel|remove|removeall`` against a live server."""

from __future__ import annotations

import json

import pytest

from colonies.client import Client
from colonies.model import Conditions, FunctionSpec, Process, ProcessState
from conftest import CLI, add_executor, assert_error
from test_cli_location import other_colony


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


# --- process assign|close|fail|pause|resume|status ------------------------------------------


def submit_for_member(cli: CLI, funcname: str = "job") -> Process:
    """A waiting process for the CLI's member executor (type "cli")."""
    spec = FunctionSpec(
        funcname=funcname, conditions=Conditions(colonyname="dev", executortype="cli")
    )
    with Client(cli.live.url, cli.member.prvkey) as client:
        return client.submit(spec)


def state_of(cli: CLI, processid: str) -> Process:
    with Client(cli.live.url, cli.member.prvkey) as client:
        return client.get_process(processid)


def test_assign_close_and_fail(cli: CLI) -> None:
    first, second = submit_for_member(cli, "a"), submit_for_member(cli, "b")
    assigned = cli("process", "assign", "--timeout", "5")
    assert assigned.exit_code == 0, assigned.stderr
    assert assigned.stdout.strip() == first.processid
    as_json = cli("process", "assign", "--timeout", "5", "--json")
    assert json.loads(as_json.stdout)["processid"] == second.processid
    assert state_of(cli, first.processid).assignedexecutorid == cli.member.id

    closed = cli("process", "close", "-p", first.processid, "--out", "x,y", "--out", "z")
    assert closed.exit_code == 0, closed.stderr
    done = state_of(cli, first.processid)
    assert done.state == ProcessState.SUCCESS and done.output == ["x,y", "z"]

    failed = cli("process", "fail", "-p", second.processid, "--errors", "bad input")
    assert failed.exit_code == 0, failed.stderr
    gone = state_of(cli, second.processid)
    assert gone.state == ProcessState.FAILED and gone.errors == ["bad input"]


def test_close_without_outputs_and_fail_without_errors(cli: CLI) -> None:
    first, second = submit_for_member(cli), submit_for_member(cli)
    for _ in range(2):
        assert cli("process", "assign", "--timeout", "5").exit_code == 0
    assert cli("process", "close", "-p", first.processid).exit_code == 0
    assert state_of(cli, first.processid).output == []
    assert cli("process", "fail", "-p", second.processid).exit_code == 0
    assert state_of(cli, second.processid).errors == ["No errors specified"]


def test_assign_close_fail_errors(cli: CLI) -> None:
    assert_error(cli("process", "assign", "--timeout", "1"), "No process available")
    process = submit_for_member(cli)
    assert_error(cli("process", "close", "-p", process.processid), "not assigned")
    assert_error(cli("process", "fail", "-p", process.processid), "not assigned")
    assert cli("process", "assign", "--timeout", "5").exit_code == 0
    other = add_executor(cli.live, "other", "cli")
    assert_error(cli("process", "close", "-p", process.processid, COLONIES_PRVKEY=other.prvkey))
    assert_error(cli("process", "close", "-p", "a" * 64), "not found")
    # The colony owner is no executor: it cannot take work.
    assert_error(cli("process", "assign", COLONIES_PRVKEY=cli.live.colony.prvkey))


def test_pause_status_resume(cli: CLI) -> None:
    status = cli("process", "status")
    assert status.exit_code == 0 and status.stdout == "ACTIVE\n"
    paused = cli("process", "pause")
    assert paused.exit_code == 0 and "paused" in paused.stderr
    assert cli("process", "status").stdout == "PAUSED\n"
    assert json.loads(cli("process", "status", "--json").stdout) == {
        "colonyname": "dev",
        "ispaused": True,
    }
    process = submit_for_member(cli)
    assert_error(cli("process", "assign", "--timeout", "1"), "assignments are paused")
    assert cli("process", "resume", "--colonyname", "dev").exit_code == 0
    assert cli("process", "status", "--colonyname", "dev").stdout == "ACTIVE\n"
    assert cli("process", "assign", "--timeout", "5").stdout.strip() == process.processid


def test_pause_errors_and_isolation(cli: CLI) -> None:
    member = cli.member.prvkey
    assert_error(cli("process", "pause", COLONIES_COLONY_PRVKEY=member), "access denied")
    assert_error(cli("process", "resume", COLONIES_COLONY_PRVKEY=member), "access denied")
    assert_error(cli("process", "pause", COLONIES_COLONY_PRVKEY=None), "colony owner key")
    assert_error(cli("process", "status", COLONIES_COLONY_NAME=None), "--colonyname")
    owner, outsider = other_colony(cli.live)
    assert_error(cli("process", "pause", COLONIES_COLONY_PRVKEY=owner.prvkey), "access denied")
    assert_error(cli("process", "status", COLONIES_PRVKEY=outsider.prvkey), "access denied")
    # Pausing the other colony leaves dev alone.
    assert (
        cli(
            "process", "pause", "--colonyname", "other", COLONIES_COLONY_PRVKEY=owner.prvkey
        ).exit_code
        == 0
    )
    assert cli("process", "status").stdout == "ACTIVE\n"
    theirs = cli("process", "status", "--colonyname", "other", COLONIES_PRVKEY=outsider.prvkey)
    assert theirs.stdout == "PAUSED\n"
