"""``colonies workflow submit|ps*|get|cancel|remove|removeall`` against a live server; the
workflow's steps are run by an executor in the test (assign and close through the SDK)."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from colonies.cli.workflow import format_duration, run_time, steps_tree
from colonies.client import Client
from colonies.model import (
    Conditions,
    FunctionSpec,
    Process,
    ProcessGraph,
    ProcessState,
    WorkflowSpec,
)
from conftest import CLI, add_executor, assert_error
from polling import until


def step(name: str, funcname: str, *after: str) -> dict[str, Any]:
    return {
        "nodename": name,
        "funcname": funcname,
        "args": [name],
        "maxwaittime": -1,
        "maxexectime": -1,
        "maxretries": 0,
        "conditions": {"executortype": "wasm", "dependencies": list(after)},
    }


# a -> b, c -> d, in the Go CLI's spec file format: a list of function specs.
DIAMOND = [step("a", "gen"), step("b", "double", "a"), step("c", "triple", "a"),
           step("d", "sum", "b", "c")]  # fmt: skip


def spec_file(tmp_path: Path, content: Any = DIAMOND, name: str = "diamond.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def submit(cli: CLI, path: Path, *flags: str, **env: str | None) -> str:
    result = cli("workflow", "submit", "--spec", str(path), *flags, **env)
    assert result.exit_code == 0, result.stderr
    graphid = result.stdout.strip()
    assert len(graphid) == 64 and result.stdout == graphid + "\n"
    return graphid


def listed(cli: CLI, command: str, *flags: str, **env: str | None) -> list[str]:
    result = cli("workflow", command, "--json", *flags, **env)
    assert result.exit_code == 0, result.stderr
    return [g["processgraphid"] for g in json.loads(result.stdout)]


def graph_json(cli: CLI, graphid: str) -> dict[str, Any]:
    result = cli("workflow", "get", "--workflowid", graphid, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture
def worker(cli: CLI) -> Client:
    key = add_executor(cli.live, "worker", "wasm")
    return Client(cli.live.url, key.prvkey)


def run_step(worker: Client, fail: str = "") -> Process:
    """Take the next runnable step and close it (output: its nodename) or fail it."""
    process = worker.assign("dev", timeout=5)
    if fail and process.spec.nodename == fail:
        worker.fail(process.processid, [f"{fail} broke"])
    else:
        worker.close(process.processid, [process.spec.nodename])
    return process


def run_in_thread(worker: Client, last: str, fail: str = "") -> threading.Thread:
    """Run steps until step ``last`` has run; step ``fail`` fails."""

    def run() -> None:
        with worker:
            while run_step(worker, fail).spec.nodename != last:
                pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_diamond_step_by_step(cli: CLI, worker: Client, tmp_path: Path) -> None:
    graphid = submit(cli, spec_file(tmp_path))
    assert listed(cli, "psw") == [graphid]
    assert listed(cli, "ps") == []

    with worker:
        assert run_step(worker).spec.nodename == "a"
        assert listed(cli, "ps") == [graphid] and listed(cli, "psw") == []

        shown = cli("workflow", "get", "--workflowid", graphid)
        assert shown.exit_code == 0, shown.stderr
        out = shown.stdout
        assert graphid in out and "RUNNING" in out and "Steps" in out
        lines = out.splitlines()
        a_line = next(line for line in lines if "gen" in line)
        assert "a" in a_line and "on wasm" in a_line and "SUCCESS" in a_line
        assert a_line.rstrip().endswith("s")  # its run time
        d_line = next(line for line in lines if " sum " in line)
        assert "WAITING" in d_line and "after: b, c" in d_line
        # b and c hang under a, d once (under c, the later of its parents)
        a, b, c, d = (next(i for i, line in enumerate(lines) if f" {fn} " in line)
                      for fn in ("gen", "double", "triple", "sum"))  # fmt: skip
        assert a < min(b, c) and d > max(b, c)
        assert sum(" sum " in line for line in lines) == 1

        middle = {run_step(worker).spec.nodename, run_step(worker).spec.nodename}
        assert middle == {"b", "c"}
        last = run_step(worker)
        assert last.spec.nodename == "d"
        assert sorted(last.input) == ["b", "c"]  # the parents' outputs

    assert listed(cli, "pss") == [graphid] and listed(cli, "ps") == []
    got = graph_json(cli, graphid)
    assert got["processgraphid"] == graphid and got["state"] == ProcessState.SUCCESS
    assert len(got["processids"]) == 4 and got["colonyname"] == "dev"
    done_tree = cli("workflow", "get", "--processgraphid", graphid).stdout
    assert done_tree.count("SUCCESS") == 5  # the graph and its four steps
    for funcname in ("gen", "double", "triple", "sum"):
        assert f" {funcname} on wasm  SUCCESS" in done_tree


def test_wait_until_success(cli: CLI, worker: Client, tmp_path: Path) -> None:
    thread = run_in_thread(worker, "d")
    result = cli("workflow", "submit", "--spec", str(spec_file(tmp_path)), "--wait")
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    graphid = result.stdout.strip()
    assert result.stdout == graphid + "\n" and "succeeded" in result.stderr
    assert graph_json(cli, graphid)["state"] == ProcessState.SUCCESS


def test_wait_json_prints_the_final_graph(cli: CLI, worker: Client, tmp_path: Path) -> None:
    thread = run_in_thread(worker, "d")
    result = cli("workflow", "submit", "--spec", str(spec_file(tmp_path)), "--wait", "--json")
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["state"] == ProcessState.SUCCESS


def test_wait_on_a_failing_step(cli: CLI, worker: Client, tmp_path: Path) -> None:
    thread = run_in_thread(worker, "b", fail="b")  # a (and maybe c) succeed, then b fails
    result = cli("workflow", "submit", "--spec", str(spec_file(tmp_path)), "--wait")
    thread.join(10)
    line = assert_error(result, "failed", "b: b broke")
    assert result.exit_code == 1, line
    graphid = result.stdout.strip()
    assert listed(cli, "psf") == [graphid]
    tree = cli("workflow", "get", "--workflowid", graphid).stdout
    assert "FAILED" in tree and "error: b broke" in tree


def test_wait_on_a_cancelled_workflow(cli: CLI, tmp_path: Path) -> None:
    def cancel() -> None:
        with Client(cli.live.url, cli.member.prvkey) as client:
            graphs: list[ProcessGraph] = []

            def submitted() -> bool:
                graphs[:] = client.get_processgraphs("dev", 10, ProcessState.WAITING)
                return bool(graphs)

            until(submitted, what="the submitted workflow")
            client.cancel_processgraph(graphs[0].processgraphid)

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    result = cli("workflow", "submit", "--spec", str(spec_file(tmp_path)), "--wait")
    thread.join(10)
    assert_error(result, "was cancelled")
    assert result.exit_code == 1


def test_submit_json_and_workflowspec_object(cli: CLI, tmp_path: Path) -> None:
    obj = {"colonyname": "dev", "functionspecs": DIAMOND}
    result = cli("workflow", "submit", "--spec", str(spec_file(tmp_path, obj)), "--json")
    assert result.exit_code == 0, result.stderr
    graph = json.loads(result.stdout)
    assert len(graph["processids"]) == 4 and graph["colonyname"] == "dev"
    assert listed(cli, "psw") == [graph["processgraphid"]]


def test_colony_from_the_environment_or_the_flag(cli: CLI, tmp_path: Path) -> None:
    path = spec_file(tmp_path)
    assert_error(
        cli("workflow", "submit", "--spec", str(path), COLONIES_COLONY_NAME=None),
        "COLONIES_COLONY_NAME",
    )
    graphid = submit(cli, path, "--colonyid", "dev", COLONIES_COLONY_NAME=None)
    assert listed(cli, "psw", "--colonyname", "dev", COLONIES_COLONY_NAME=None) == [graphid]
    assert_error(cli("workflow", "submit", "--spec", str(path), "--colonyname", "nope"), "nope")


def test_bad_spec_files(cli: CLI, tmp_path: Path) -> None:
    def rejected(content: Any, *fragments: str) -> None:
        path = spec_file(tmp_path, content, "bad.json")
        result = cli("workflow", "submit", "--spec", str(path))
        assert_error(result, *fragments)
        assert result.exit_code == 1 and result.stdout == ""

    missing = cli("workflow", "submit", "--spec", str(tmp_path / "nothere.json"))
    assert_error(missing, "cannot read the workflow spec", "nothere.json")
    assert missing.exit_code == 1
    rejected("{not json", "cannot read the workflow spec")
    rejected(step("a", "gen"), "one function spec", "colonies function submit")
    rejected({"x": 1}, "expected a list of function specs")
    rejected([], "no function specs")
    rejected([1], "cannot read the workflow spec")
    rejected([{"nodename": "a", "args": "notalist"}], "cannot read the workflow spec")
    # what only the server checks comes back as one line too
    rejected([step("a", "gen"), step("a", "gen")], "nodename")
    rejected([step("a", "gen", "nobody")])
    assert listed(cli, "psw") == []


def test_lists_count_and_table(cli: CLI, tmp_path: Path) -> None:
    first, second = submit(cli, spec_file(tmp_path)), submit(cli, spec_file(tmp_path))
    assert set(listed(cli, "psw")) == {first, second}
    assert len(listed(cli, "psw", "--count", "1")) == 1
    table = cli("workflow", "psw")
    assert table.exit_code == 0, table.stderr
    assert first in table.stdout and "Submitted" in table.stdout and "cli-member" in table.stdout
    nothing = cli("workflow", "pss")
    assert nothing.exit_code == 0 and nothing.stdout == ""
    assert "No successful workflows in colony dev" in nothing.stderr
    assert_error(cli("workflow", "psw", "--count", "101"))


def test_cancel_and_remove(cli: CLI, tmp_path: Path) -> None:
    graphid = submit(cli, spec_file(tmp_path))
    cancelled = cli("workflow", "cancel", "--workflowid", graphid)
    assert cancelled.exit_code == 0, cancelled.stderr
    assert "cancelled" in cancelled.stderr
    assert listed(cli, "psc") == [graphid] and listed(cli, "psw") == []
    assert cli("workflow", "get", "--workflowid", graphid).stdout.count("CANCELLED") == 5

    removed = cli("workflow", "remove", "--workflowid", graphid)
    assert removed.exit_code == 0, removed.stderr
    assert listed(cli, "psc") == []
    assert_error(cli("workflow", "get", "--workflowid", graphid))
    with Client(cli.live.url, cli.member.prvkey) as client:  # its processes went too
        assert client.get_processes("dev", ProcessState.CANCELLED) == []


def test_unknown_workflow(cli: CLI) -> None:
    for command in ("get", "cancel", "remove"):
        result = cli("workflow", command, "--workflowid", "0" * 64)
        assert_error(result)
        assert result.exit_code == 1


def test_removeall(cli: CLI, tmp_path: Path) -> None:
    waiting, cancelled = submit(cli, spec_file(tmp_path)), submit(cli, spec_file(tmp_path))
    assert cli("workflow", "cancel", "--workflowid", cancelled).exit_code == 0
    result = cli("workflow", "removeall", "--cancelled", "--yes")
    assert result.exit_code == 0, result.stderr
    assert listed(cli, "psc") == [] and listed(cli, "psw") == [waiting]
    assert cli("workflow", "removeall", "--yes").exit_code == 0
    assert listed(cli, "psw") == []


def test_removeall_asks_on_a_terminal(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graphid = submit(cli, spec_file(tmp_path))
    monkeypatch.setattr("colonies.cli.removal.stdin_is_terminal", lambda: True)
    refused = cli("workflow", "removeall", "--waiting", input="yes\n")
    assert refused.exit_code == 1 and "Error: aborted, nothing removed" in refused.stderr
    assert listed(cli, "psw") == [graphid]
    result = cli("workflow", "removeall", "--waiting", input="YES\n")
    assert result.exit_code == 0, result.stderr
    assert "Type YES to confirm" in result.stderr
    assert listed(cli, "psw") == []


def test_removeall_errors(cli: CLI, tmp_path: Path) -> None:
    graphid = submit(cli, spec_file(tmp_path))
    assert_error(cli("workflow", "removeall"), "pass --yes")
    assert_error(cli("workflow", "removeall", "--waiting", "--failed", "--yes"), "at most one")
    assert_error(
        cli("workflow", "removeall", "--yes", COLONIES_COLONY_PRVKEY=cli.member.prvkey),
        "access denied",
        "COLONIES_COLONY_PRVKEY",
    )
    assert listed(cli, "psw") == [graphid]


# --- rendering, without a server -----------------------------------------------------------


def _process(pid: str, name: str, parents: list[str], state: int = 0, **times: str) -> Process:
    return Process(
        processid=pid * 64,
        state=state,
        parents=[p * 64 for p in parents],
        spec=FunctionSpec(
            nodename=name, funcname=f"f{name}", conditions=Conditions(executortype="t")
        ),
        **times,
    )


def _render(graph: ProcessGraph, steps: list[Process]) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(
        steps_tree(graph, {p.processid: p for p in steps})
    )
    return out.getvalue()


def test_tree_of_a_dag() -> None:
    steps = [
        _process("a", "a", []),
        _process("b", "b", ["a"]),
        _process("c", "c", ["a"]),
        _process("d", "d", ["c", "b"]),
        _process("e", "e", []),
        _process("f", "f", ["d", "e"]),
    ]
    # the graph lists its processes in any order
    graph = ProcessGraph(processids=[s.processid for s in reversed(steps)])
    lines = [line for line in _render(graph, steps).splitlines() if " on t " in line]
    assert len(lines) == 6
    text = "\n".join(lines)
    assert "after: c, b" in text and "after: d, e" in text
    # every step once, each after all of its parents, children indented under a parent
    order = [next(i for i, line in enumerate(lines) if f" f{n} " in line) for n in "abcdef"]
    assert order[0] < order[1] < order[3] < order[5] and order[2] < order[3]
    assert order[4] < order[5]
    # d hangs under one of b, c (the later in dependency order), f under d
    indent = {n: len(lines[order[i]]) - len(lines[order[i]].lstrip(" │├└─")) for i, n in
              enumerate("abcdef")}  # fmt: skip
    assert indent["a"] == indent["e"] < indent["b"] == indent["c"] < indent["d"] < indent["f"]


def test_tree_survives_a_cycle_and_unknown_parents() -> None:
    steps = [_process("a", "a", ["b"]), _process("b", "b", ["a"]), _process("c", "c", ["x"])]
    graph = ProcessGraph(processids=[s.processid for s in steps])
    text = _render(graph, steps)
    for name in "abc":
        assert f" f{name} " in text


def test_run_times() -> None:
    assert format_duration(0.4213) == "0.42s"
    assert format_duration(12.34) == "12.3s"
    assert format_duration(125) == "2m 05s"
    assert format_duration(3725) == "1h 02m"
    start, end = "2026-01-01T10:00:00Z", "2026-01-01T10:00:01.5Z"
    assert run_time(start, end, ProcessState.SUCCESS) == "1.50s"
    zero = "0001-01-01T00:00:00Z"
    assert run_time(zero, zero, ProcessState.WAITING) == ""
    assert run_time(start, zero, ProcessState.RUNNING).startswith("running for ")
    assert run_time("garbage", end, ProcessState.SUCCESS) == ""


def test_workflowspec_model_reads_the_go_list() -> None:
    spec = WorkflowSpec.from_dict({"functionspecs": DIAMOND})
    assert [s.nodename for s in spec.functionspecs] == ["a", "b", "c", "d"]
    assert spec.functionspecs[3].conditions.dependencies == ["b", "c"]
