"""Crons and generators across the two servers (issue 10).

- Our SDK (``Client`` and ``AsyncClient``) against the Go server: an interval cron starting
  workflows, ``run_cron``, a 6-field cron expression and its ``nextrun``, generators fired by
  their trigger and by their timeout.
- Our CLI (``colonies cron ...``, ``colonies generator ...``) against the Go server.
- The Go CLI's ``cron`` and ``generator`` commands against our server.
- Differential: ``getcronmsg`` / ``getgeneratormsg`` replies field by field.

The Go server checks crons and generators every ``COLONIES_CRON_CHECKER_PERIOD`` /
``COLONIES_GENERATOR_CHECKER_PERIOD`` ms (1000 in ``goserver``'s settings), and a new cron only
gets its first ``nextrun`` at the first check: bounds below allow a few periods. Each test works
in a colony of its own, so graph counts are its own.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from colonies.client import AsyncClient, Client
from colonies.errors import ServerError
from colonies.model import Cron, Generator, ProcessGraph, ProcessState
from interop.conftest import GoCLI, Server
from interop.test_ours_against_go import invoke
from interop.test_workflows_interop import Place, cli, failed, go_spec_file, make_place, ok
from interop.twin import Twin, close_connections, ours_module, twin

__all__ = ["close_connections", "ours_module", "twin"]  # fixtures used here

AnyClient = Client | AsyncClient
WAITING = ProcessState.WAITING
ZERO = "0001-01-01T00:00:00Z"
CHECKER_PERIOD = 1000  # ms, goserver's COLONIES_CRON/GENERATOR_CHECKER_PERIOD
OUR_SWEEP = 200  # ms, the sweep period of interop.conftest.our_server
CRON_ID = re.compile(r"CronID=([0-9a-f]{64})")
GENERATOR_ID = re.compile(r"GeneratorID=([0-9a-f]{64})")
ID = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture
def place(goserver: Server) -> Place:
    return make_place(goserver)


@pytest.fixture(params=[Client, AsyncClient], ids=["sync", "async"])
async def user(request: pytest.FixtureRequest, place: Place) -> Any:
    client = request.param(place.server.url, place.user)
    yield client
    await invoke(client, "close_transport")


def waiting(server: Server, prvkey: str, colonyname: str) -> list[ProcessGraph]:
    with server.client(prvkey) as client:
        return client.get_processgraphs(colonyname, 100, WAITING)


def until(check: Callable[[], Any], bound: float, step: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy, at most ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)


def next_new_year() -> str:
    now = datetime.now(UTC)
    return f"{now.year + 1}-01-01T00:00:00Z"


# --- our SDK against the Go server -----------------------------------------------------------


async def test_sdk_cron_run_and_remove(place: Place, user: AnyClient) -> None:
    """add/get/getcrons/run/remove, without waiting for the checker."""
    colony = place.colonyname
    spec = place.workflow(place.spec("a"))
    cron = await invoke(
        user, "add_cron", Cron(colonyname=colony, name="hourly", interval=3600), spec
    )
    assert len(cron.cronid) == 64 and cron.initiatorname == "wfuser"
    assert cron.nextrun == cron.lastrun == ZERO and cron.checkerperiod == 0
    got = await invoke(user, "get_cron", cron.cronid)
    assert (got.name, got.interval, got.colonyname) == ("hourly", 3600, colony)
    assert got.checkerperiod == CHECKER_PERIOD
    assert json.loads(got.workflowspec)["functionspecs"][0]["funcname"] == "a"
    assert [c.cronid for c in await invoke(user, "get_crons", colony)] == [cron.cronid]
    await invoke(user, "run_cron", cron.cronid)
    (graph,) = waiting(place.server, place.user, colony)
    assert graph.initiatorname == "wfuser"
    after = await invoke(user, "get_cron", cron.cronid)
    assert after.prevprocessgraphid == graph.processgraphid
    await invoke(user, "remove_cron", cron.cronid)
    with pytest.raises(ServerError) as e:
        await invoke(user, "get_cron", cron.cronid)
    assert e.value.status == 500 and e.value.message.endswith("cron is nil")  # ours: 404
    assert await invoke(user, "get_crons", colony) == []


def test_sdk_interval_cron_starts_workflows(place: Place) -> None:
    colony = place.colonyname
    with place.server.client(place.user) as client:
        cron = client.add_cron(
            Cron(colonyname=colony, name="every-second", interval=1),
            place.workflow(place.spec("a")),
        )
        started = time.monotonic()
        # Go: the first check sets nextrun, each later one fires if due: one graph about
        # every 2 s with a 1 s checker period.
        count = until(lambda: len(waiting(place.server, place.user, colony)) >= 2, 8)
        elapsed = time.monotonic() - started
        assert count, "the cron started fewer than 2 workflows in 8 s"
        assert len(waiting(place.server, place.user, colony)) <= elapsed / 1 + 1
        stored = client.get_cron(cron.cronid)
        assert stored.nextrun != ZERO and stored.lastrun != ZERO
        assert stored.prevprocessgraphid in {
            g.processgraphid for g in waiting(place.server, place.user, colony)
        }
        before = len(waiting(place.server, place.user, colony))
        client.run_cron(cron.cronid)
        assert len(waiting(place.server, place.user, colony)) >= before + 1
        client.remove_cron(cron.cronid)
        settled = len(waiting(place.server, place.user, colony))
        time.sleep(CHECKER_PERIOD / 1000 * 1.5)
        assert len(waiting(place.server, place.user, colony)) == settled  # no more after remove
        graph = waiting(place.server, place.user, colony)[0]
        root = client.get_process(graph.rootprocessids[0])
        assert root.spec.args == ["a"] and root.initiatorname == "wfuser"


def test_sdk_cron_expression_nextrun(place: Place) -> None:
    with place.server.client(place.user) as client:
        cron = client.add_cron(
            Cron(
                colonyname=place.colonyname,
                name="new-year",
                interval=-1,
                cronexpression="0 0 0 1 1 *",
            ),
            place.workflow(place.spec("a")),
        )
        assert cron.cronexpression == "0 0 0 1 1 *" and cron.nextrun == ZERO
        # the first check (within a checker period) schedules it; the server runs in UTC
        scheduled = until(
            lambda: client.get_cron(cron.cronid).nextrun != ZERO, 3 * CHECKER_PERIOD / 1000
        )
        assert scheduled, "Go never set the cron's nextrun"
        assert client.get_cron(cron.cronid).nextrun.startswith(next_new_year().removesuffix("Z"))
        assert waiting(place.server, place.user, place.colonyname) == []
        client.remove_cron(cron.cronid)


def test_sdk_generator_trigger_and_timeout(place: Place) -> None:
    colony = place.colonyname
    with place.server.client(place.user) as client:
        three = client.add_generator(
            Generator(colonyname=colony, name="three", trigger=3, timeout=-1),
            place.workflow(place.spec("a")),
        )
        assert len(three.generatorid) == 64 and three.queuesize == 0
        late = client.add_generator(
            Generator(colonyname=colony, name="late", trigger=3, timeout=1),
            place.workflow(place.spec("b")),
        )
        assert client.resolve_generator(colony, "three").generatorid == three.generatorid
        assert {g.name for g in client.get_generators(colony)} == {"three", "late"}

        for arg in ("1", "two", "3.0"):
            client.pack_generator(three.generatorid, arg)
        packed = time.monotonic()
        client.pack_generator(late.generatorid, "only")
        queued = client.get_generator(three.generatorid)
        assert queued.queuesize in (0, 3) and queued.checkerperiod == CHECKER_PERIOD

        def roots() -> dict[str, list[Any]]:
            found = {}
            for graph in waiting(place.server, place.user, colony):
                root = client.get_process(graph.rootprocessids[0])
                found.setdefault(root.spec.nodename, []).append(root.spec.args)
            return found

        bound = 2 * CHECKER_PERIOD / 1000 + 1 + 2  # two checks after the timeout, and slack
        fired = until(lambda: both if len(both := roots()) == 2 else None, bound, 0.2)
        elapsed = time.monotonic() - packed
        assert fired, f"generators started {roots()} in {elapsed:.1f} s"
        assert fired == {"a": [["1", "two", "3.0"]], "b": [["only"]]}, fired  # args as strings
        assert client.get_generator(three.generatorid).queuesize == 0
        assert client.get_generator(late.generatorid).lastrun != ZERO
        for generator in (three, late):
            client.remove_generator(generator.generatorid)
        with pytest.raises(ServerError) as e:
            client.get_generator(three.generatorid)
        assert e.value.status == 500 and e.value.message.endswith("generator is nil")  # ours 404
        assert client.get_generators(colony) == []


# --- our CLI against the Go server ----------------------------------------------------------


def test_cli_cron_and_generator_against_go(place: Place, tmp_path: Path) -> None:
    spec = str(go_spec_file(place, tmp_path / "wf.json", ("a",)))
    cronid = ok(cli(place, "cron", "add", "--name", "hourly", "--interval", "3600", "--spec", spec))
    cronid = cronid.strip()
    assert len(cronid) == 64
    assert cronid in ok(cli(place, "cron", "ls"))
    assert [c["cronid"] for c in json.loads(ok(cli(place, "cron", "ls", "--json")))] == [cronid]
    shown = ok(cli(place, "cron", "get", "--cronid", cronid))
    assert "hourly" in shown and cronid in shown
    ran = cli(place, "cron", "run", "--cronid", cronid)
    ok(ran)
    assert cronid in ran.stderr
    (graph,) = waiting(place.server, place.user, place.colonyname)
    got = json.loads(ok(cli(place, "cron", "get", "--cronid", cronid, "--json")))
    assert got["prevprocessgraphid"] == graph.processgraphid
    ok(cli(place, "cron", "remove", "--cronid", cronid))
    assert "cron is nil" in failed(cli(place, "cron", "get", "--cronid", cronid))

    added = cli(
        place,
        "generator",
        "add",
        "--name",
        "gen",
        "--trigger",
        "2",
        "--timeout",
        "-1",
        "--spec",
        spec,
    )
    generatorid = ok(added).strip()
    assert len(generatorid) == 64
    listed = ok(cli(place, "generator", "ls"))
    assert generatorid in listed and "gen" in listed
    ok(cli(place, "generator", "pack", "--generatorid", generatorid, "--arg", "hello"))
    got = json.loads(ok(cli(place, "generator", "get", "--generatorid", generatorid, "--json")))
    assert (got["name"], got["trigger"], got["queuesize"]) == ("gen", 2, 1)
    shown = ok(cli(place, "generator", "get", "--generatorid", generatorid))
    assert generatorid in shown and "gen" in shown
    ok(cli(place, "generator", "remove", "--generatorid", generatorid))
    assert "generator is nil" in failed(
        cli(place, "generator", "get", "--generatorid", generatorid)
    )


# --- the Go CLI against our server ----------------------------------------------------------


def go_cli_spec_file(path: Path, executortype: str) -> Path:
    step = {
        "nodename": "a",
        "funcname": "a",
        "args": ["orig"],
        "maxwaittime": -1,
        "maxexectime": -1,
        "conditions": {"executortype": executortype},
    }
    path.write_text(json.dumps([step]))
    return path


def test_go_cli_crons_against_ours(go_cli_ours: GoCLI, ours: Server, tmp_path: Path) -> None:
    spec = str(go_cli_spec_file(tmp_path / "wf.json", "nobody"))
    added = go_cli_ours("cron", "add", "--name", "hourly", "--interval", "3600", "--spec", spec)
    assert added.returncode == 0, added.stderr
    (cronid,) = CRON_ID.findall(added.stderr)
    listed = go_cli_ours("cron", "ls")
    assert listed.returncode == 0 and cronid in listed.stdout and "hourly" in listed.stdout
    shown = go_cli_ours("cron", "get", "--cronid", cronid)
    assert shown.returncode == 0, shown.stderr
    assert cronid in shown.stdout and "hourly" in shown.stdout and "orig" in shown.stdout
    assert "CheckerPeriod" in shown.stdout
    ran = go_cli_ours("cron", "run", "--cronid", cronid)
    assert ran.returncode == 0 and cronid in ran.stderr, ran.stderr
    (graph,) = waiting(ours, ours.user_prvkey, ours.colonyname)
    removed = go_cli_ours("cron", "remove", "--cronid", cronid)
    assert removed.returncode == 0, removed.stderr
    assert cronid not in go_cli_ours("cron", "ls").stdout

    # every second: fires on our server (checked every sweep)
    every = go_cli_ours("cron", "add", "--name", "often", "--interval", "1", "--spec", spec)
    assert every.returncode == 0, every.stderr
    (often,) = CRON_ID.findall(every.stderr)
    fired = until(lambda: len(waiting(ours, ours.user_prvkey, ours.colonyname)) >= 3, 5)
    assert fired, "our server did not fire the Go CLI's cron twice in 5 s"
    with ours.client() as client:
        assert client.get_cron(often).prevprocessgraphid != graph.processgraphid
    assert go_cli_ours("cron", "remove", "--cronid", often).returncode == 0


def test_go_cli_generators_against_ours(go_cli_ours: GoCLI, ours: Server, tmp_path: Path) -> None:
    spec = str(go_cli_spec_file(tmp_path / "wf.json", "nobody"))
    added = go_cli_ours(
        "generator", "add", "--name", "gen", "--trigger", "2", "--timeout", "-1", "--spec", spec
    )
    assert added.returncode == 0, added.stderr
    (generatorid,) = GENERATOR_ID.findall(added.stderr)
    listed = go_cli_ours("generator", "ls")
    assert listed.returncode == 0 and generatorid in listed.stdout and "gen" in listed.stdout
    packed = go_cli_ours("generator", "pack", "--generatorid", generatorid, "--arg", "x1")
    assert packed.returncode == 0, packed.stderr
    shown = go_cli_ours("generator", "get", "--generatorid", generatorid)
    assert shown.returncode == 0, shown.stderr
    assert generatorid in shown.stdout and re.search(r"QueueSize\s*│\s*1\b", shown.stdout)
    assert (
        go_cli_ours("generator", "pack", "--generatorid", generatorid, "--arg", "x2").returncode
        == 0
    )
    fired = until(lambda: waiting(ours, ours.user_prvkey, ours.colonyname), 3)
    assert fired, "the generator did not start its workflow"
    with ours.client() as client:
        assert client.get_process(fired[0].rootprocessids[0]).spec.args == ["x1", "x2"]
    removed = go_cli_ours("generator", "remove", "--generatorid", generatorid)
    assert removed.returncode == 0, removed.stderr
    assert generatorid not in go_cli_ours("generator", "ls").stdout


# --- differential ----------------------------------------------------------------------------


def workflow_json(twin: Twin) -> str:
    step = {
        "nodename": "a",
        "funcname": "a",
        "args": ["orig"],
        "maxwaittime": -1,
        "maxexectime": -1,
        "conditions": {"colonyname": twin.colony, "executortype": twin.executortype},
    }
    return json.dumps({"colonyname": twin.colony, "functionspecs": [step]})


def checked(go: dict[str, Any], ours: dict[str, Any]) -> None:
    """The documented difference: Go's checker period (1000 ms) against our sweep period."""
    assert (go["checkerperiod"], ours["checkerperiod"]) == (CHECKER_PERIOD, OUR_SWEEP)
    ours["checkerperiod"] = go["checkerperiod"]


def test_differential_get_cron(twin: Twin) -> None:
    cron = {
        "colonyname": twin.colony,
        "name": "yearly",
        "cronexpression": "0 0 0 1 1 *",
        "interval": -1,
        "random": False,
        "workflowspec": workflow_json(twin),
        "waitforprevprocessgraph": False,
    }
    go, ours = twin.same("user", {"msgtype": "addcronmsg", "cron": cron})
    assert go["nextrun"] == ours["nextrun"] == ZERO and go["checkerperiod"] == 0
    get = {"msgtype": "getcronmsg", "cronid": go["cronid"]}
    go_got, our_got = twin.both("user", get)
    assert go_got.status == our_got.status == 200
    checked(go_got.payload, our_got.payload)
    new_year = next_new_year().removesuffix("Z")
    for reply in (go_got.payload, our_got.payload):  # a checker may have run already
        for name in ("nextrun", "lastrun"):
            assert reply[name] == ZERO or reply[name].startswith(new_year), reply
            reply[name] = ZERO
    twin.compare(go_got.payload, our_got.payload)

    # once checked, both have scheduled it for the next new year (UTC)
    def scheduled() -> tuple[Any, Any] | None:
        replies = twin.both("user", get)
        if all(r.payload["nextrun"] != ZERO for r in replies):
            return replies[0].payload, replies[1].payload
        return None

    found = until(scheduled, 3 * CHECKER_PERIOD / 1000)
    assert found, "a cron was never scheduled"
    go_cron, our_cron = found
    assert go_cron["nextrun"].startswith(new_year) and our_cron["nextrun"].startswith(new_year)
    checked(go_cron, our_cron)
    twin.compare(go_cron, our_cron)

    go_run, our_run = twin.both("user", {"msgtype": "runcronmsg", "cronid": go["cronid"]})
    assert go_run.status == our_run.status == 200
    # Go replies with the cron as read before the run, ours with it after (README)
    assert go_run.payload["prevprocessgraphid"] == ""
    assert ID.fullmatch(our_run.payload["prevprocessgraphid"])
    go_after, our_after = (r.payload for r in twin.both("user", get))
    checked(go_after, our_after)
    twin.compare(go_after, our_after)
    go_list, _ = twin.same("user", {"msgtype": "getcronsmsg", "colonyname": "$COLONY", "count": 10})
    assert len(go_list) == 1
    twin.ok("user", {"msgtype": "removecronmsg", "cronid": go["cronid"], "all": False})
    go_gone, our_gone = twin.both("user", get)
    assert go_gone.status == 500 and our_gone.status == 404  # README
    assert go_gone.payload["message"] == our_gone.payload["message"]


def test_differential_get_generator(twin: Twin) -> None:
    generator = {
        "colonyname": twin.colony,
        "name": "gen",
        "workflowspec": workflow_json(twin),
        "trigger": 5,
        "timeout": -1,
    }
    go, _ = twin.same("user", {"msgtype": "addgeneratormsg", "generator": generator})
    get = {"msgtype": "getgeneratormsg", "generatorid": go["generatorid"]}
    go_got, our_got = (r.payload for r in twin.both("user", get))
    checked(go_got, our_got)
    twin.compare(go_got, our_got)
    pack = {"msgtype": "packgeneratormsg", "generatorid": go["generatorid"], "arg": "p1"}
    twin.ok("user", pack)
    twin.ok("user", pack | {"arg": "p2"})
    go_got, our_got = (r.payload for r in twin.both("user", get))
    assert go_got["queuesize"] == our_got["queuesize"] == 2
    assert go_got["firstpack"] != ZERO
    checked(go_got, our_got)
    twin.compare(go_got, our_got)
    resolve = {"msgtype": "resolvegeneratormsg", "colonyname": "$COLONY", "generatorname": "gen"}
    go_res, _ = twin.same("user", resolve)  # both leave resolve's checkerperiod 0
    assert go_res["checkerperiod"] == 0 and go_res["generatorid"] == go["generatorid"]
    twin.ok(
        "user", {"msgtype": "removegeneratormsg", "generatorid": go["generatorid"], "all": False}
    )
    go_gone, our_gone = twin.both("user", get)
    assert go_gone.status == 500 and our_gone.status == 404  # README
    assert go_gone.payload["message"] == our_gone.payload["message"]
