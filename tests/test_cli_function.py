"""``colonies function exec|submit``, with a background thread playing the executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from colonies.cli.output import format_outputs, go_sprint
from colonies.client import Client
from colonies.client import _requests as requests
from colonies.model import Function, Process, ProcessState
from conftest import CLI, LiveServer, add_executor, assert_error, free_port
from polling import until
from test_cli_location import other_colony

Action = Callable[[Client, Process], None]


def executor(live: LiveServer, action: Action, executortype: str = "wasm") -> threading.Thread:
    """An executor in a thread: takes one process and hands it to ``action`` (close or fail)."""
    key = add_executor(live, f"worker-{uuid.uuid4().hex[:8]}", executortype)

    def run() -> None:
        with Client(live.url, key.prvkey) as client:
            action(client, client.assign(live.colonyname, timeout=30))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def close_with(*out: Any, after: Callable[[], object] = lambda: None) -> Action:
    """Close with ``out``, once ``after()`` has returned."""

    def action(client: Client, process: Process) -> None:
        after()
        client.close(process.processid, list(out))

    return action


def member(cli: CLI) -> Client:
    return Client(cli.live.url, cli.member.prvkey)


def test_exec_without_wait_prints_the_process_id(cli: CLI) -> None:
    result = cli(
        "function", "exec", "--func", "echo", "--args", "a,b", "--args", "c",
        "--kwargs", "x:1", "--kwargs", "y:a:b", "--env", "K=v=w", "--priority", "5",
        "--label", "lbl",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    processid = result.stdout.strip()
    with member(cli) as client:
        process = client.get_process(processid)
    spec = process.spec
    assert process.state == ProcessState.WAITING
    assert spec.funcname == "echo" and spec.args == ["a,b", "c"]  # commas are not split
    assert spec.kwargs == {"x": "1", "y": "a:b"} and spec.env == {"K": "v=w"}
    assert (spec.priority, spec.label) == (5, "lbl")
    assert (spec.maxwaittime, spec.maxexectime, spec.maxretries) == (-1, -1, -1)
    assert spec.conditions.colonyname == "dev" and spec.conditions.executortype == "wasm"


def test_exec_to_a_named_executor(cli: CLI) -> None:
    result = cli(
        "function", "exec", "--func", "f", "--executorname", "w", COLONIES_EXECUTOR_TYPE=None
    )
    assert result.exit_code == 0, result.stderr
    with member(cli) as client:
        conditions = client.get_process(result.stdout.strip()).spec.conditions
    assert conditions.executornames == ["w"] and conditions.executortype == ""


def test_exec_wait_out_prints_the_output(cli: CLI) -> None:
    seen: list[Process] = []

    def add(client: Client, process: Process) -> None:
        seen.append(process)
        client.close(process.processid, ["8"])

    thread = executor(cli.live, add)
    result = cli("function", "exec", "--func", "add", "--args", "5", "--args", "3", "--targettype",
                 "wasm", "--wait", "--out")  # fmt: skip
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "8\n"
    assert seen[0].spec.args == ["5", "3"]
    assert "Waiting for process" in result.stderr


def test_exec_wait_out_formats_values_like_go(cli: CLI) -> None:
    thread = executor(cli.live, close_with(8.0, 3.5, True, None, "x y", [1, 2], {"b": 1, "a": "z"}))
    result = cli("function", "exec", "--func", "f", "--wait", "--out")
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "8 3.5 true <nil> x y [1 2] map[a:z b:1]\n"


def test_exec_wait_prints_the_id_and_json(cli: CLI) -> None:
    thread = executor(cli.live, close_with("done"))
    result = cli("function", "exec", "--func", "f", "--wait")
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    processid = result.stdout.strip()
    assert len(processid) == 64

    thread = executor(cli.live, close_with("done"))
    result = cli("function", "exec", "--func", "f", "--wait", "--json")
    thread.join(10)
    process = json.loads(result.stdout)
    assert process["state"] == ProcessState.SUCCESS and process["out"] == ["done"]


def test_exec_wait_on_a_failed_process(cli: CLI) -> None:
    def fail(client: Client, process: Process) -> None:
        client.fail(process.processid, ["boom: division by zero"])

    thread = executor(cli.live, fail)
    result = cli("function", "exec", "--func", "div", "--wait", "--out")
    thread.join(10)
    line = assert_error(result, "failed: boom: division by zero")
    assert line.startswith("Error: Process ") and result.stdout == ""


def test_exec_wait_on_a_cancelled_process(cli: CLI) -> None:
    def cancel() -> None:
        with member(cli) as client:

            def waiting() -> list[Process]:
                return client.get_processes("dev", ProcessState.WAITING)

            until(lambda: bool(waiting()), what="the submitted process")
            client.cancel(waiting()[0].processid)

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    result = cli("function", "exec", "--func", "f", "--wait")
    thread.join(10)
    assert_error(result, "was cancelled")


def test_wait_outlives_the_server_side_subscription(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process runs longer than one server-side subscription (1 s here): the wait
    subscribes again, and the close is still seen."""
    monkeypatch.setattr("colonies.client._requests.MAX_SUBSCRIPTION", 1)
    subscribed: list[int] = []  # the subscription lengths the wait asked for, one per state
    subscribe = requests.subscribe_process

    def counting(processid: str, state: int, seconds: int, **kw: str) -> Any:
        subscribed.append(seconds)
        return subscribe(processid, state, seconds, **kw)

    monkeypatch.setattr(requests, "subscribe_process", counting)
    rounds = len(requests.FINAL_STATES)
    thread = executor(
        cli.live, close_with("8", after=lambda: until(lambda: len(subscribed) > rounds))
    )
    result = cli("function", "exec", "--func", "slow", "--wait", "--out")
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "8\n"
    assert len(subscribed) > rounds and set(subscribed) == {1}  # subscribed again, 1 s each


def test_submit_a_spec_file(cli: CLI, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"funcname": "echo", "args": ["hi"], "conditions": {"executortype": "wasm"}})
    )
    thread = executor(cli.live, lambda c, p: c.close(p.processid, p.spec.args))
    result = cli("function", "submit", "--spec", str(spec), "--wait", "--out")
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "hi\n"


def test_submit_a_broken_spec_file(cli: CLI, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"funcname": 3}')
    assert_error(cli("function", "submit", "--spec", str(spec)), "spec.json", "funcname")
    spec.write_text("{not json")
    assert_error(cli("function", "submit", "--spec", str(spec)), "cannot read the function spec")


def test_a_spec_with_unknown_keys_is_refused_and_nothing_is_queued(
    cli: CLI, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"func": "echo", "conditions": {"executortype": "wasm"}}))
    assert_error(cli("function", "submit", "--spec", str(spec)), "unknown key func")
    spec.write_text(
        json.dumps({"funcname": "echo", "conditions": {"executortype": "wasm", "type": "x"}})
    )
    assert_error(cli("function", "submit", "--spec", str(spec)), "unknown key conditions.type")
    spec.write_text(json.dumps({"args": ["a"], "conditions": {"executortype": "wasm"}}))
    assert_error(cli("function", "submit", "--spec", str(spec)), "no funcname")
    with Client(cli.live.url, cli.member.prvkey) as client:
        assert client.get_processes(cli.live.colonyname, ProcessState.WAITING) == []


def test_exec_errors(cli: CLI) -> None:
    assert_error(
        cli("function", "exec", "--func", "f", COLONIES_EXECUTOR_TYPE=None),
        "pass --targettype or set COLONIES_EXECUTOR_TYPE",
    )
    assert_error(
        cli("function", "exec", "--func", "f", "--kwargs", "novalue"), "--kwargs expects KEY:VALUE"
    )
    assert_error(
        cli("function", "exec", "--func", "f", COLONIES_COLONY_NAME=None),
        "set COLONIES_COLONY_NAME",
    )
    assert_error(
        cli("function", "exec", "--func", "f", COLONIES_PRVKEY=cli.live.colony.prvkey),
        "access denied", "COLONIES_PRVKEY", "not a member",
    )  # fmt: skip


def test_exec_when_the_server_is_down(cli: CLI) -> None:
    port = free_port()
    result = cli("function", "exec", "--func", "f", "--wait", COLONIES_SERVER_PORT=str(port))
    assert_error(result, f"cannot reach the ColonyOS server at http://127.0.0.1:{port}")


def test_the_installed_command(cli: CLI) -> None:
    """``python -m colonies.cli`` in a subprocess, as the tutorial runs it."""
    thread = executor(cli.live, close_with("8"))
    env = {**os.environ, **cli.env}
    env.pop("COLONIES_SERVER_HTTP_PORT")
    result = subprocess.run(
        [sys.executable, "-m", "colonies.cli", "function", "exec", "--func", "add",
         "--args", "5", "--args", "3", "--targettype", "wasm", "--wait", "--out"],
        env={k: v for k, v in env.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    thread.join(10)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "8\n"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x y", "x y"),
        (8, "8"),
        (8.0, "8"),
        (3.5, "3.5"),
        (-2.25, "-2.25"),
        (0.30000000000000004, "0.30000000000000004"),
        (100.0, "100"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.0, "0"),
        (True, "true"),
        (False, "false"),
        (None, "<nil>"),
        ([1, "a", None], "[1 a <nil>]"),
        ({"b": [1.5], "a": {}}, "map[a:map[] b:[1.5]]"),
    ],
)
def test_go_sprint(value: Any, text: str) -> None:
    assert go_sprint(value) == text


def test_format_outputs() -> None:
    assert format_outputs(["8"]) == "8"
    assert format_outputs([]) == ""
    assert format_outputs(["a", 2.0, False]) == "a 2 false"


# --- function register|ls|remove ----------------------------------------------------------


def test_register_list_and_remove(cli: CLI) -> None:
    registered = cli("function", "register", "--name", "cli-member", "--func", "resize")
    assert registered.exit_code == 0, registered.stderr
    functionid = registered.stdout.strip()
    other = add_executor(cli.live, "other", "cli")
    again = cli(
        "function", "register", "--name", "other", "--func", "resize", "--json",
        COLONIES_PRVKEY=other.prvkey,
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["executorname"] == "other"
    assert cli("function", "register", "--name", "cli-member", "--func", "crop").exit_code == 0

    listed = json.loads(cli("function", "ls", "--json").stdout)
    assert sorted((f["executorname"], f["funcname"]) for f in listed) == [
        ("cli-member", "crop"),
        ("cli-member", "resize"),
        ("other", "resize"),
    ]
    mine = json.loads(cli("function", "ls", "--executorname", "other", "--json").stdout)
    assert [f["funcname"] for f in mine] == ["resize"]
    table = cli("function", "ls")
    assert table.exit_code == 0
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if "│" in line}
    assert rows["resize"].split("│")[3].strip() == "2"  # two executors offer it
    assert rows["crop"].split("│")[3].strip() == "1"

    removed = cli("function", "remove", "--functionid", functionid)
    assert removed.exit_code == 0, removed.stderr
    left = json.loads(cli("function", "ls", "--json").stdout)
    assert functionid not in {f["functionid"] for f in left} and len(left) == 2


def test_function_ls_counts_calls(cli: CLI) -> None:
    worker = add_executor(cli.live, "counter", "wasm")
    with Client(cli.live.url, worker.prvkey) as client:
        client.add_function(Function(executorname="counter", colonyname="dev", funcname="inc"))
    thread = executor_with_key(cli.live, worker.prvkey, close_with("1"))
    assert cli("function", "exec", "--func", "inc", "--wait").exit_code == 0
    thread.join(10)

    def calls() -> str:  # counters are written in batches, within a second
        table = cli("function", "ls").stdout
        row = next(line for line in table.splitlines() if "inc" in line)
        return row.split("│")[4].strip()

    until(lambda: calls() == "1", what="the call to be counted")


def executor_with_key(live: LiveServer, prvkey: str, action: Action) -> threading.Thread:
    def run() -> None:
        with Client(live.url, prvkey) as client:
            action(client, client.assign(live.colonyname, timeout=30))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_register_and_remove_errors(cli: CLI) -> None:
    assert_error(
        cli("function", "register", "--name", "someone-else", "--func", "f"), "Not allowed"
    )
    assert_error(cli("function", "register", "--name", "cli-member", "--func", ""), "funcname")
    assert_error(cli("function", "remove", "--functionid", "a" * 64), "does not exist")
    functionid = cli("function", "register", "--name", "cli-member", "--func", "f").stdout.strip()
    other = add_executor(cli.live, "other", "cli")
    assert_error(
        cli("function", "remove", "--functionid", functionid, COLONIES_PRVKEY=other.prvkey),
        "its own executor",
    )
    empty = cli("function", "ls", COLONIES_PRVKEY=other.prvkey, COLONIES_COLONY_NAME="dev")
    assert empty.exit_code == 0


def test_function_ls_is_per_colony(cli: CLI) -> None:
    assert cli("function", "register", "--name", "cli-member", "--func", "f").exit_code == 0
    _, outsider = other_colony(cli.live)
    assert_error(cli("function", "ls", COLONIES_PRVKEY=outsider.prvkey), "access denied")
    theirs = cli(
        "function", "ls", "--json", COLONIES_COLONY_NAME="other", COLONIES_PRVKEY=outsider.prvkey
    )
    assert theirs.exit_code == 0 and json.loads(theirs.stdout) == []
    nothing = cli("function", "ls", COLONIES_COLONY_NAME="other", COLONIES_PRVKEY=outsider.prvkey)
    assert "No functions" in nothing.stderr
