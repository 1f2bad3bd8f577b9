"""Locations, logs, attributes, functions, assign/close and pausing across the two servers.

- The Go CLI's ``location``, ``log``, ``attribute``, ``function register|ls|remove`` and
  ``process assign|close|fail|pause|resume|status`` against our server (effects checked with
  our SDK).
- Our CLI's same commands against the Go server, ``log get --follow`` included.
- Our SDK's new calls on both servers with the same results, and ``colonies monitor start``
  next to the Go monitor on the Go server: the same ``colonies_*`` metrics with the same
  values.

Each test works in a colony of its own (``make_place``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner, Result

from colonies.cli import app
from colonies.cli import log as log_cli
from colonies.client import Client
from colonies.model import Allocations, Capabilities, Location, Process, ProcessState
from conftest import free_port
from interop.conftest import GO_CLI, GoCLI, Server
from interop.test_ours_against_go import Worker, register, spec
from interop.test_workflows_interop import Place, failed, make_place, ok

ID = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture
def go_place(goserver: Server) -> Place:
    return make_place(goserver)


@pytest.fixture
def our_place(ours: Server) -> Place:
    return make_place(ours)


def ours_cli(place: Place, *args: str, **env: str | None) -> Result:
    """Our ``colonies`` in-process, for ``place``; ``env`` overrides (e.g. the worker's key)."""
    full: dict[str, str | None] = {
        **place.server.env,
        **place.env(),
        "COLONIES_SERVER_HTTP_PORT": None,
        "COLONIES_EXECUTOR_TYPE": None,
        **env,
    }
    return CliRunner().invoke(app, list(args), env=full)


def go_cli(place: Place) -> GoCLI:
    return GoCLI(place.server, dict(place.env()))


def submit(place: Place, funcname: str = "job") -> Process:
    with place.server.client(place.user) as client:
        return client.submit(spec(funcname, place.executortype, colonyname=place.colonyname))


def read(place: Place, processid: str) -> Process:
    with place.server.client(place.user) as client:
        return client.get_process(processid)


def go_ok(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, run.stderr
    assert "level=error" not in run.stderr and "level=fatal" not in run.stderr, run.stderr
    return run.stdout + run.stderr


# --- the Go CLI against our server -----------------------------------------------------------


def test_go_cli_locations_on_ours(our_place: Place) -> None:
    go = go_cli(our_place)
    go_ok(
        go("location", "add", "--name", "lab", "--desc", "the lab", "--long", "1.5", "--lat", "2")
    )
    with our_place.server.client(our_place.user) as client:
        (lab,) = client.get_locations(our_place.colonyname)
    assert (lab.name, lab.description, lab.long, lab.lat) == ("lab", "the lab", 1.5, 2.0)
    assert len(lab.locationid) == 64
    listed = go_ok(go("location", "ls"))
    assert "the lab" in listed and "1.5000" in listed
    assert lab.locationid in go_ok(go("location", "get", "--name", "lab"))
    removing = subprocess.run(
        [str(GO_CLI), "location", "remove", "--name", "lab"],
        input="YES\n",
        env={**os.environ, **our_place.server.env, **our_place.env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    go_ok(removing)
    with our_place.server.client(our_place.user) as client:
        assert client.get_locations(our_place.colonyname) == []


def test_go_cli_executor_commands_on_ours(our_place: Place) -> None:
    go, worker = go_cli(our_place), our_place.worker
    as_worker = {"COLONIES_PRVKEY": worker.prvkey}
    registered = go_ok(
        go("function", "register", "--name", worker.name, "--func", "f", **as_worker)
    )
    with our_place.server.client(worker.prvkey) as client:
        (fn,) = client.get_functions(our_place.colonyname)
    assert fn.funcname == "f" and fn.functionid in registered
    assert "Function: f" in go_ok(go("function", "ls"))
    go_ok(go("function", "remove", "--functionid", fn.functionid, **as_worker))
    with our_place.server.client(worker.prvkey) as client:
        assert client.get_functions(our_place.colonyname) == []

    process = submit(our_place)
    assigned = go_ok(go("process", "assign", "--timeout", "5", **as_worker))
    assert process.processid in assigned
    assert read(our_place, process.processid).state == ProcessState.RUNNING
    go_ok(go("log", "add", "-p", process.processid, "-m", "hello from go\n", **as_worker))
    assert go("log", "get", "-p", process.processid).stdout == "hello from go\n"
    found = go_ok(go("log", "search", "-t", "from go"))
    assert process.processid in found
    attribute = go_ok(
        go("attribute", "add", "-p", process.processid, "--key", "k", "--value", "v", **as_worker)
    )
    (attributeid,) = set(ID.findall(attribute))
    assert "│ v" in go_ok(go("attribute", "get", "--attributeid", attributeid))
    go_ok(go("process", "close", "-p", process.processid, "--out", "x", **as_worker))
    done = read(our_place, process.processid)
    assert done.state == ProcessState.SUCCESS and done.output == ["x"]
    assert [(a.key, a.value) for a in done.attributes] == [("k", "v")]

    second = submit(our_place)
    go_ok(go("process", "assign", "--timeout", "5", **as_worker))
    go_ok(go("process", "fail", "-p", second.processid, "--errors", "bad", **as_worker))
    assert read(our_place, second.processid).errors == ["bad"]


def test_go_cli_pausing_on_ours(our_place: Place) -> None:
    go = go_cli(our_place)
    assert "ACTIVE" in go_ok(go("process", "status"))
    go_ok(go("process", "pause"))
    assert "PAUSED" in go_ok(go("process", "status"))
    with our_place.server.client(our_place.user) as client:
        assert client.get_pause_status(our_place.colonyname) is True
    go_ok(go("process", "resume"))
    assert "ACTIVE" in go_ok(go("process", "status"))


# --- our CLI against the Go server -----------------------------------------------------------


def test_our_cli_locations_on_go(go_place: Place) -> None:
    added = ours_cli(go_place, "location", "add", "--name", "lab", "--desc", "d", "--lat", "3")
    locationid = ok(added).strip()
    listed = json.loads(ok(ours_cli(go_place, "location", "ls", "--json")))
    assert [(loc["locationid"], loc["lat"]) for loc in listed] == [(locationid, 3)]
    got = json.loads(ok(ours_cli(go_place, "location", "get", "--name", "lab", "--json")))
    assert got["description"] == "d" and got["colonyname"] == go_place.colonyname
    ok(ours_cli(go_place, "location", "remove", "--name", "lab", "--yes"))
    assert json.loads(ok(ours_cli(go_place, "location", "ls", "--json"))) == []
    assert "location" in failed(ours_cli(go_place, "location", "get", "--name", "lab"))
    denied = ours_cli(
        go_place, "location", "add", "--name", "x", COLONIES_COLONY_PRVKEY=go_place.user
    )
    assert "Error:" in failed(denied)


def test_our_cli_executor_commands_on_go(go_place: Place) -> None:
    worker: Worker = go_place.worker
    as_worker = {"COLONIES_PRVKEY": worker.prvkey}
    functionid = ok(
        ours_cli(
            go_place, "function", "register", "--name", worker.name, "--func", "f", **as_worker
        )
    ).strip()
    listed = json.loads(ok(ours_cli(go_place, "function", "ls", "--json")))
    assert [f["functionid"] for f in listed] == [functionid]
    ok(ours_cli(go_place, "function", "remove", "--functionid", functionid, **as_worker))

    process = submit(go_place)
    assigned = ok(ours_cli(go_place, "process", "assign", "--timeout", "5", **as_worker))
    assert assigned.strip() == process.processid
    ok(ours_cli(go_place, "log", "add", "-p", process.processid, "-m", "needle", **as_worker))
    assert ok(ours_cli(go_place, "log", "get", "-p", process.processid)) == "needle\n"
    found = json.loads(ok(ours_cli(go_place, "log", "search", "-t", "needle", "--json")))
    assert [log["processid"] for log in found] == [process.processid]
    attributeid = ok(
        ours_cli(
            go_place, "attribute", "add", "-p", process.processid, "--key", "k", "--value", "v",
            **as_worker,
        )
    ).strip()  # fmt: skip
    got = json.loads(
        ok(ours_cli(go_place, "attribute", "get", "--attributeid", attributeid, "--json"))
    )
    assert (got["key"], got["value"], got["targetid"]) == ("k", "v", process.processid)
    ok(ours_cli(go_place, "process", "close", "-p", process.processid, "--out", "x", **as_worker))
    assert read(go_place, process.processid).output == ["x"]

    assert "No process available" in failed(
        ours_cli(go_place, "process", "assign", "--timeout", "1", **as_worker)
    )


def test_our_cli_pausing_on_go(go_place: Place) -> None:
    assert ok(ours_cli(go_place, "process", "status")) == "ACTIVE\n"
    ok(ours_cli(go_place, "process", "pause"))
    assert ok(ours_cli(go_place, "process", "status")) == "PAUSED\n"
    ok(ours_cli(go_place, "process", "resume"))
    assert ok(ours_cli(go_place, "process", "status")) == "ACTIVE\n"
    assert "Error:" in failed(
        ours_cli(go_place, "process", "pause", COLONIES_COLONY_PRVKEY=go_place.user)
    )


def test_our_log_follow_on_go(go_place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_cli, "FOLLOW_INTERVAL", 0.1)
    process = submit(go_place)
    worker = go_place.worker

    def run() -> None:
        with go_place.server.client(worker.prvkey) as client:
            client.assign(go_place.colonyname, 5)
            for message in ("one", "two", "three"):
                time.sleep(0.3)
                client.add_log(process.processid, message)
            time.sleep(0.3)
            client.close(process.processid, ["done"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result = ours_cli(go_place, "log", "get", "-p", process.processid, "--follow")
    thread.join(15)
    assert ok(result) == "one\ntwo\nthree\n"


# --- our SDK on both servers -----------------------------------------------------------------


def test_sdk_surface_on_both(both: Server) -> None:
    place = make_place(both)
    lab = Location(locationid="e" * 64, name="lab", colonyname=place.colonyname, long=1.25)
    with Client(both.url, place.owner) as owner:
        added = owner.add_location(lab)
        owner.pause_assignments(place.colonyname)
    assert added == lab
    worker = register(
        both, place.executortype + "x", colony_prvkey=place.owner, colonyname=place.colonyname
    )
    caps = Capabilities.from_dict({"hardware": [{"cores": 8, "mem": "16Gi"}]})
    allocs = Allocations.from_dict({"projects": {"p": {"allocatedcpu": 4}}})
    with Client(both.url, worker.prvkey) as client:
        assert client.get_location(place.colonyname, "lab") == lab
        assert client.get_locations(place.colonyname) == [lab]
        assert client.get_pause_status(place.colonyname) is True
        client.resume_assignments(place.colonyname, prvkey=place.owner)
        assert client.get_pause_status(place.colonyname) is False
        client.update_executor(place.colonyname, worker.name, caps)
        client.report_allocation(place.colonyname, worker.name, allocs)
        stored = client.get_executor(place.colonyname, worker.name)
        assert stored.capabilities.hardware[0].cores == 8
        assert stored.allocations == allocs
        client.submit(spec("f", worker.type, colonyname=place.colonyname))
        running = client.assign(place.colonyname, 5)
        client.add_log(running.processid, "a needle here")
        assert [log.message for log in client.search_logs(place.colonyname, "needle")] == [
            "a needle here"
        ]
        assert [
            log.message for log in client.get_process_log(place.colonyname, running.processid)
        ] == ["a needle here"]
        assert client.stats(place.colonyname).runningprocesses == 1
        client.remove_location(place.colonyname, "lab", prvkey=place.owner)
        assert client.get_locations(place.colonyname) == []


# --- monitoring: ours next to Go's, on the Go server -----------------------------------------


def _monitor(argv: list[str], server: Server, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **server.env,
        "COLONIES_MONITOR_PORT": str(port),
        "COLONIES_MONITOR_INTERVAL": "1",
    }
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )


def _scrape(port: int) -> dict[str, float] | None:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.TransportError:
        return None
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("colonies_")
    }


@pytest.fixture
def monitors(goserver: Server) -> Iterator[tuple[int, int]]:
    go_port, our_port = free_port(), free_port()
    procs = [
        _monitor([str(GO_CLI), "monitor", "start"], goserver, go_port),
        _monitor([sys.executable, "-m", "colonies.cli", "monitor", "start"], goserver, our_port),
    ]
    try:
        yield go_port, our_port
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_monitor_matches_the_go_monitor(goserver: Server, monitors: tuple[int, int]) -> None:
    go_port, our_port = monitors
    deadline = time.monotonic() + 30
    while True:
        go, ours = _scrape(go_port), _scrape(our_port)
        # Both have polled once the colony count is real (not -1, the "no statistics" value).
        if (
            go
            and ours
            and go.get("colonies_server_colonies", -1) > 0
            and ours.get("colonies_server_colonies", -1) > 0
            and go == ours
        ):
            break
        assert time.monotonic() < deadline, (go, ours)
        time.sleep(0.5)
    assert len(ours) == 10 and set(ours) == set(go)
