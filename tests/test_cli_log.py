"""``colonies log add|get|search``, including ``get --follow`` on a process that logs and ends."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from colonies.cli import log as log_cli
from colonies.client import Client
from colonies.model import Conditions, FunctionSpec, Process
from conftest import CLI, add_executor, assert_error
from test_cli_location import other_colony


def running(cli: CLI, funcname: str = "job") -> Process:
    """A process assigned to the CLI's member executor (type "cli")."""
    spec = FunctionSpec(
        funcname=funcname, conditions=Conditions(colonyname="dev", executortype="cli")
    )
    with Client(cli.live.url, cli.member.prvkey) as client:
        client.submit(spec)
        return client.assign("dev", 5)


def test_add_and_get(cli: CLI) -> None:
    process = running(cli)
    for message in ("first", "second\n", "third"):
        result = cli("log", "add", "-p", process.processid, "-m", message)
        assert result.exit_code == 0, result.stderr
    got = cli("log", "get", "-p", process.processid)
    assert got.exit_code == 0, got.stderr
    assert got.stdout == "first\nsecond\nthird\n"  # one newline each, never two

    logs = json.loads(cli("log", "get", "-p", process.processid, "--json").stdout)
    assert [log["message"] for log in logs] == ["first", "second\n", "third"]
    assert {log["executorname"] for log in logs} == {"cli-member"}
    assert {log["processid"] for log in logs} == {process.processid}
    # --count takes the latest by default, the first with --first; --since the ones after.
    assert cli("log", "get", "-p", process.processid, "--count", "1").stdout == "third\n"
    first = cli("log", "get", "-p", process.processid, "--count", "1", "--first")
    assert first.stdout == "first\n"
    since = cli("log", "get", "-p", process.processid, "--since", str(logs[0]["timestamp"]))
    assert since.stdout == "second\nthird\n"


def test_executor_logs(cli: CLI) -> None:
    with Client(cli.live.url, cli.member.prvkey) as client:
        client.add_executor_log("dev", "cli-member", "booted")
    result = cli("log", "get", "-e", "cli-member")
    assert result.exit_code == 0 and result.stdout == "booted\n"


def test_get_errors(cli: CLI) -> None:
    assert_error(cli("log", "get"), "exactly one of --processid and --executorname")
    assert_error(cli("log", "get", "-p", "a" * 64, "-e", "x"), "exactly one")
    assert_error(cli("log", "get", "-p", "a" * 64), "process does not exist")
    assert_error(cli("log", "get", "-e", "nobody"), "executor does not exist")
    process = running(cli)
    assert_error(cli("log", "get", "-p", process.processid, "--count", "501"), "Invalid count")


def test_add_errors(cli: CLI) -> None:
    process = running(cli)
    other = add_executor(cli.live, "other", "cli")
    assert_error(
        cli("log", "add", "-p", process.processid, "-m", "x", COLONIES_PRVKEY=other.prvkey)
    )
    with Client(cli.live.url, cli.member.prvkey) as client:
        client.close(process.processid)
    assert_error(cli("log", "add", "-p", process.processid, "-m", "late"), "not running")


def test_colonies_are_isolated(cli: CLI) -> None:
    process = running(cli)
    assert cli("log", "add", "-p", process.processid, "-m", "secret").exit_code == 0
    _, outsider = other_colony(cli.live)
    key = outsider.prvkey
    assert_error(cli("log", "get", "-p", process.processid, COLONIES_PRVKEY=key), "access denied")
    assert_error(cli("log", "search", "-t", "secret", COLONIES_PRVKEY=key), "access denied")
    assert_error(cli("log", "add", "-p", process.processid, "-m", "x", COLONIES_PRVKEY=key))
    found = cli(
        "log", "search", "-t", "secret", "--json", COLONIES_COLONY_NAME="other",
        COLONIES_PRVKEY=key,
    )  # fmt: skip
    assert found.exit_code == 0 and json.loads(found.stdout) == []


@pytest.fixture
def fast_follow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_cli, "FOLLOW_INTERVAL", 0.05)


def logs_then(cli: CLI, process: Process, *messages: str, end: str = "close") -> threading.Thread:
    """The executor in a thread: logs each message a little apart, then closes or fails."""

    def run() -> None:
        with Client(cli.live.url, cli.member.prvkey) as client:
            for message in messages:
                time.sleep(0.2)
                client.add_log(process.processid, message)
            time.sleep(0.2)
            if end == "close":
                client.close(process.processid, ["done"])
            else:
                client.fail(process.processid, ["boom"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_follow_prints_logs_until_the_process_ends(cli: CLI, fast_follow: None) -> None:
    process = running(cli)
    worker = logs_then(cli, process, "one", "two", "three")
    result = cli("log", "get", "-p", process.processid, "--follow")
    worker.join(10)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "one\ntwo\nthree\n"
    assert "finished successfully" in result.stderr


def test_follow_json_lines(cli: CLI, fast_follow: None) -> None:
    process = running(cli)
    worker = logs_then(cli, process, "a", "b")
    result = cli("log", "get", "-p", process.processid, "--follow", "--json")
    worker.join(10)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in lines] == ["a", "b"]


def test_follow_a_failing_process(cli: CLI, fast_follow: None) -> None:
    process = running(cli)
    worker = logs_then(cli, process, "trying", end="fail")
    result = cli("log", "get", "-p", process.processid, "--follow")
    worker.join(10)
    assert result.stdout == "trying\n"
    assert_error(result, f"Process {process.processid} failed: boom")


def test_follow_an_ended_process_prints_everything_and_returns(cli: CLI) -> None:
    process = running(cli)
    with Client(cli.live.url, cli.member.prvkey) as client:
        for i in range(150):  # more than one page of --count
            client.add_log(process.processid, f"line {i}")
        client.close(process.processid)
    result = cli("log", "get", "-p", process.processid, "--follow")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [f"line {i}" for i in range(150)]


def test_search(cli: CLI) -> None:
    process = running(cli)
    with Client(cli.live.url, cli.member.prvkey) as client:
        for message in ("starting", "error: disk full", "retrying", "error: disk full again"):
            client.add_log(process.processid, message)
    found = cli("log", "search", "-t", "disk full", "--json")
    assert found.exit_code == 0, found.stderr
    assert sorted(log["message"] for log in json.loads(found.stdout)) == [
        "error: disk full",
        "error: disk full again",
    ]
    table = cli("log", "search", "--text", "disk full", "--days", "2", "--count", "1")
    assert table.exit_code == 0 and process.processid in table.stdout
    assert table.stdout.count("disk full") == 1

    printed = cli("log", "search", "-t", "again", "--print")
    assert printed.exit_code == 0, printed.stderr
    assert f"Process ID: {process.processid}" in printed.stdout
    assert "error: disk full again" in printed.stdout and "LOGS" in printed.stdout

    nothing = cli("log", "search", "-t", "no such text")
    assert nothing.exit_code == 0 and nothing.stdout == "" and "No logs" in nothing.stderr


def test_search_errors(cli: CLI) -> None:
    assert_error(cli("log", "search"), "--text is required")
    assert_error(cli("log", "search", "-t", "x", "--count", "101"), "Invalid search")
    assert_error(cli("log", "search", "-t", "x", "--days", "31"), "Invalid search")


def test_follow_an_executor_until_interrupted(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executor's log has no end: it is followed until Ctrl-C, which ends it quietly."""
    with Client(cli.live.url, cli.member.prvkey) as client:
        client.add_executor_log("dev", "cli-member", "up")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(log_cli, "time", SimpleNamespace(sleep=interrupted))
    result = cli("log", "get", "-e", "cli-member", "--follow")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "up\n" and "Stopped following" in result.stderr
