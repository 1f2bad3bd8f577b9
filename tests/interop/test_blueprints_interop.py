"""Blueprints across the two servers (spec §4.11).

- Differential: the twelve blueprint messages sent byte for byte to the Go server and to ours,
  replies compared field by field (successes, validation errors, refusals of members, of the
  colony owner and of strangers), and the reconcile/cleanup processes and the reconciliation
  cron each server made.
- Our SDK and CLI (``colonies blueprint ...``) against the Go server.
- The Go CLI's ``blueprint`` commands against our server.

Documented differences (README): a duplicate definition is 409 on ours (Go: 500 with the SQL
error; both say "duplicate key"), and Go's ``null`` for an empty list is ``[]`` here.
History entries carry a random ``historyid`` (a UUID) and a time: compared by form only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from colonies import rpc
from colonies.client import Client
from colonies.errors import ServerError
from colonies.model import ProcessState
from interop.conftest import GoCLI, Server
from interop.test_workflows_interop import Place, cli, failed, make_place, ok
from interop.twin import Twin, close_connections, ours_module, send_raw, twin

__all__ = ["close_connections", "ours_module", "twin"]  # fixtures used here

KIND = "WebServer"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def definition(colony: str, reconciler: str) -> dict[str, Any]:
    return {
        "kind": "BlueprintDefinition",
        "metadata": {"name": "webservers", "colonyname": colony},
        "spec": {
            "group": "example.io",
            "version": "v1",
            "names": {"kind": KIND, "plural": "webservers", "shortNames": ["ws"]},
            "scope": "Namespaced",
            "schema": {
                "type": "object",
                "properties": {
                    "image": {"type": "string", "description": "container image"},
                    "replicas": {"type": "number", "default": 1},
                    "debug": {"type": "boolean", "default": False},
                    "protocol": {"type": "string", "enum": ["http", "https"]},
                    "level": {"enum": [1, 2.5, "x", True]},
                    "ports": {"type": "array", "items": {"type": "number"}},
                    "resources": {
                        "type": "object",
                        "properties": {"cpu": {"type": "string"}},
                    },
                },
                "required": ["image"],
            },
            "handler": {"executorType": reconciler, "functionName": "reconcile"},
        },
    }


def blueprint(name: str = "web1", location: str = "site-a", **spec: Any) -> dict[str, Any]:
    return {
        "kind": KIND,
        "metadata": {
            "name": name,
            "colonyname": "$COLONY",
            "locationname": location,
            "labels": {"team": "a"},
        },
        "spec": {"image": "nginx", "replicas": 2, **spec},
    }


def history_forms(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History entries with their random ID and time checked for form, then left out."""
    for entry in entries:
        assert UUID.match(entry.pop("historyid")), entry
        assert TIME.match(entry.pop("timestamp")), entry
    return entries


def same_error(twin: Twin, role: str, msg: dict[str, Any], status: int, text: str) -> None:
    go, ours = twin.both(role, msg)
    assert go.status == ours.status == status, (go, ours)
    assert go.error[1] == ours.error[1], (go, ours)
    assert text in ours.error[1], ours


def waiting(twin: Twin) -> tuple[list[Any], list[Any]]:
    msg = {
        "msgtype": "getprocessesmsg",
        "colonyname": "$COLONY",
        "count": 100,
        "state": ProcessState.WAITING,
        "executortype": twin.executortype,
    }
    go, ours = twin.both("user", msg)
    assert go.status == ours.status == 200
    by_time = sorted(go.payload or [], key=lambda p: p["submissiontime"])
    return by_time, sorted(ours.payload, key=lambda p: p["submissiontime"])


def test_differential_definitions(twin: Twin) -> None:
    add = {
        "msgtype": "addblueprintdefinitionmsg",
        "blueprintdefinition": definition(twin.colony, twin.executortype),
    }
    same_error(twin, "user", add, 403, "Access denied, not colony owner")
    same_error(twin, "executor", add, 403, "Access denied, not colony owner")
    twin.same("owner", add)
    go, ours = twin.both("owner", add)  # duplicate: Go 500 with the SQL error, ours 409
    assert (go.status, ours.status) == (500, 409)
    assert "duplicate key" in go.error[1] and "duplicate key" in ours.error[1]
    get = {"msgtype": "getblueprintdefinitionmsg", "colonyname": "$COLONY", "name": "webservers"}
    for role in ("user", "executor", "owner"):
        twin.same(role, get)
    twin.same("user", {"msgtype": "getblueprintdefinitionsmsg", "colonyname": "$COLONY"})
    missing = get | {"name": "nope"}
    same_error(twin, "user", missing, 404, "Blueprint definition not found")
    same_error(twin, "stranger", get, 403, "Access denied, not colony owner")
    remove = {"msgtype": "removeblueprintdefinitionmsg", "namespace": "$COLONY", "name": "nope"}
    same_error(twin, "owner", remove, 404, "BlueprintDefinition 'nope' not found in namespace")
    same_error(twin, "user", remove, 403, "Access denied, not colony owner")
    twin.same("owner", remove | {"name": "webservers"})
    twin.same("user", {"msgtype": "getblueprintdefinitionsmsg", "colonyname": "$COLONY"})


def test_differential_blueprints(twin: Twin) -> None:
    add_def = {
        "msgtype": "addblueprintdefinitionmsg",
        "blueprintdefinition": definition(twin.colony, twin.executortype),
    }
    twin.same("owner", add_def)
    add = {"msgtype": "addblueprintmsg", "blueprint": blueprint()}
    twin.same("executor", add)
    same_error(twin, "executor", add, 409, "blueprint with name 'web1' already exists in colony")
    # schema validation, field by field
    bad = [
        ({"kind": ""} | {"metadata": {"name": "b", "colonyname": "$COLONY"}}, "kind is required"),
        ({"kind": "Nope", "metadata": {"name": "b", "colonyname": "$COLONY"}}, "not found"),
        (blueprint("b") | {"spec": {}}, "required field 'image' is missing"),
        (blueprint("b", replicas="two"), "must be a number, got string"),
        (blueprint("b", debug=1), "must be a boolean, got float64"),
        (blueprint("b", protocol="ftp"), "must be one of [http https], got ftp"),
        (blueprint("b", level=3), "field 'level' must be one of [1 2.5 x true], got 3"),
        (blueprint("b", level=1e21), "got 1e+21"),
        (blueprint("b", ports=[1, "x"]), "field 'ports[1]' must be a number, got string"),
        (blueprint("b", ports="x"), "must be an array, got string"),
        (blueprint("b", resources={"cpu": True}), "field 'resources.cpu' must be a string"),
        (blueprint("b", resources=[]), "must be an object, got []interface {}"),
    ]
    for body, text in bad:
        same_error(twin, "executor", {"msgtype": "addblueprintmsg", "blueprint": body}, 400, text)
    # reads
    get = {"msgtype": "getblueprintmsg", "namespace": "$COLONY", "name": "web1"}
    for role in ("user", "executor", "owner"):
        twin.same(role, get)
    same_error(twin, "user", get | {"name": "nope"}, 404, "Blueprint not found")
    same_error(twin, "stranger", get, 403, "Access denied, not colony owner")
    twin.same("user", add | {"blueprint": blueprint("web2", location="")})
    lists = {"msgtype": "getblueprintsmsg", "namespace": "$COLONY", "kind": "", "locationname": ""}
    for filters in ({}, {"kind": KIND}, {"kind": KIND, "locationname": "SITE-A"}, {"kind": "X"}):
        twin.same("user", lists | filters)
    # updates: a spec change bumps the generation, an equal spec does not, force does
    update = {"msgtype": "updateblueprintmsg", "forcegeneration": False}
    twin.same("user", update | {"blueprint": blueprint(replicas=3)})
    twin.same("user", update | {"blueprint": blueprint(replicas=3.0)})
    twin.same("user", update | {"blueprint": blueprint(replicas=3), "forcegeneration": True})
    same_error(
        twin,
        "user",
        update | {"blueprint": blueprint("nope")},
        404,
        "blueprint 'nope' not found in namespace",
    )
    same_error(twin, "user", update | {"blueprint": blueprint(replicas="x")}, 400, "number")
    # status reports: members only
    status = {
        "msgtype": "updateblueprintstatusmsg",
        "colonyname": "$COLONY",
        "blueprintname": "web1",
        "status": {"ready": 2, "phase": "Running"},
    }
    twin.same("executor", status)
    same_error(twin, "owner", status, 403, "Access denied, not a member of Colony")
    same_error(twin, "executor", status | {"blueprintname": "x"}, 404, "Blueprint not found")
    go_bp, _ = twin.same("user", get)
    # history (the Go blueprint ID is replaced by ours on the way)
    history = {"msgtype": "getblueprinthistorymsg", "blueprintid": go_bp["blueprintid"]}
    for extra in ({}, {"limit": 1}):
        go, ours = twin.both("user", history | extra)
        assert go.status == ours.status == 200
        twin.compare(history_forms(go.payload), history_forms(ours.payload))
    same_error(twin, "stranger", history, 403, "Access denied, not colony owner")
    same_error(twin, "user", history | {"blueprintid": "0" * 64}, 404, "Blueprint not found")
    # the processes both submitted: reconcile on add, on the spec change and on the force
    go_procs, our_procs = waiting(twin)
    assert [p["spec"]["kwargs"] for p in go_procs] == [p["spec"]["kwargs"] for p in our_procs]
    twin.compare(go_procs, our_procs)
    # reconcile on demand: members only
    reconcile = {"msgtype": "reconcileblueprintmsg", "namespace": "$COLONY", "name": "web1"}
    twin.same("executor", reconcile | {"force": False})
    twin.same("user", reconcile | {"force": True})
    twin.same("user", get)  # generation bumped by the force
    same_error(twin, "owner", reconcile, 403, "Access denied, not a member of Colony")
    same_error(twin, "user", reconcile | {"name": "nope"}, 404, "Blueprint not found")
    # the reconciliation crons
    crons = {"msgtype": "getcronsmsg", "colonyname": "$COLONY", "count": 10}
    go, ours = twin.both("user", crons)
    shape = [
        (c["name"], c["interval"], c["waitforprevprocessgraph"], json.loads(c["workflowspec"]))
        for c in go.payload
    ]
    ours_shape = [
        (c["name"], c["interval"], c["waitforprevprocessgraph"], json.loads(c["workflowspec"]))
        for c in ours.payload
    ]
    assert (
        sorted(n for n, *_ in shape)
        == sorted(n for n, *_ in ours_shape)
        == [
            f"reconcile-{KIND}",
            f"reconcile-{KIND}-site-a",
        ]
    )
    for (_, interval, wait, go_wf), (_, our_interval, our_wait, our_wf) in zip(
        sorted(shape, key=lambda c: c[0]), sorted(ours_shape, key=lambda c: c[0]), strict=True
    ):
        assert (interval, wait) == (our_interval, our_wait) == (60, True)
        for go_step, our_step in zip(go_wf["functionspecs"], our_wf["functionspecs"], strict=True):
            for key in ("nodename", "funcname", "kwargs", "maxexectime", "maxretries"):
                assert go_step[key] == our_step[key], key
            for key in ("colonyname", "executortype", "locationname"):
                go_cond, our_cond = go_step["conditions"], our_step["conditions"]
                assert go_cond.get(key, "") == our_cond.get(key, ""), key
    # removal: a cleanup process; the definition cannot go while blueprints are left
    remove_def = {"msgtype": "removeblueprintdefinitionmsg", "namespace": "$COLONY"}
    same_error(twin, "owner", remove_def | {"name": "webservers"}, 409, "still exist")
    remove = {"msgtype": "removeblueprintmsg", "namespace": "$COLONY", "name": "web1"}
    same_error(twin, "stranger", remove, 403, "Access denied, not colony owner")
    twin.same("user", remove)
    same_error(twin, "user", remove, 404, "Blueprint not found")
    twin.same("user", remove | {"name": "web2"})
    go_procs, our_procs = waiting(twin)
    twin.compare(go_procs, our_procs)
    assert [p["spec"]["funcname"] for p in our_procs][-2:] == ["cleanup", "cleanup"]
    go, ours = twin.both("user", crons)
    assert go.payload in (None, []) and ours.payload == []  # the last ones took their crons
    twin.same("owner", remove_def | {"name": "webservers"})


def test_differential_another_colony(twin: Twin, goserver: Server, ours_module: Server) -> None:
    """A member of another colony (the servers' own ``dev``) is refused every message."""
    twin.ok(
        "owner",
        {
            "msgtype": "addblueprintdefinitionmsg",
            "blueprintdefinition": definition(twin.colony, twin.executortype),
        },
    )
    twin.ok("executor", {"msgtype": "addblueprintmsg", "blueprint": blueprint()})
    go_bp, _ = twin.same(
        "user", {"msgtype": "getblueprintmsg", "namespace": "$COLONY", "name": "web1"}
    )
    messages = [
        {"msgtype": "getblueprintdefinitionmsg", "colonyname": "$COLONY", "name": "webservers"},
        {"msgtype": "getblueprintdefinitionsmsg", "colonyname": "$COLONY"},
        {"msgtype": "removeblueprintdefinitionmsg", "namespace": "$COLONY", "name": "webservers"},
        {"msgtype": "getblueprintmsg", "namespace": "$COLONY", "name": "web1"},
        {"msgtype": "getblueprintsmsg", "namespace": "$COLONY"},
        {"msgtype": "updateblueprintmsg", "blueprint": blueprint(replicas=9)},
        {"msgtype": "removeblueprintmsg", "namespace": "$COLONY", "name": "web1"},
        {"msgtype": "getblueprinthistorymsg", "blueprintid": go_bp["blueprintid"]},
        {"msgtype": "addblueprintmsg", "blueprint": blueprint("mine")},
        {
            "msgtype": "updateblueprintstatusmsg",
            "colonyname": "$COLONY",
            "blueprintname": "web1",
            "status": {},
        },
        {"msgtype": "reconcileblueprintmsg", "namespace": "$COLONY", "name": "web1"},
    ]
    for server in (goserver, ours_module):
        twin_user = server.user_prvkey  # myuser of the server's own colony "dev"
        for msg in messages:
            text = json.dumps(msg).replace("$COLONY", twin.colony)
            if server is ours_module:
                text = text.replace(
                    go_bp["blueprintid"], twin.compare.go_to_ours[go_bp["blueprintid"]]
                )
            reply = send_raw(server, rpc.build_request(json.loads(text), twin_user))
            assert reply.status == 403, (server.kind, msg, reply)


# --- our SDK and CLI against the Go server


@pytest.fixture
def place(goserver: Server) -> Place:
    return make_place(goserver)


def test_sdk_against_go(place: Place) -> None:
    reconciler = place.executortype
    with (
        Client(place.server.url, place.owner) as owner,
        Client(place.server.url, place.user) as user,
    ):
        added = owner.add_blueprint_definition(definition(place.colonyname, reconciler))
        assert added.spec.handler.executortype == reconciler
        assert user.get_blueprint_definitions(place.colonyname) == [added]
        body = blueprint() | {}
        body["metadata"] = body["metadata"] | {"colonyname": place.colonyname}
        created = user.add_blueprint(body)
        assert created.metadata.labels == {"team": "a"}
        body["spec"] = {"image": "nginx", "replicas": 5}
        assert user.update_blueprint(body).metadata.generation == 1
        user.update_blueprint_status(place.colonyname, "web1", {"ok": True})
        got = user.get_blueprint(place.colonyname, "web1")
        assert got.status == {"ok": True}
        assert [b.metadata.name for b in user.get_blueprints(place.colonyname, KIND)] == ["web1"]
        history = user.get_blueprint_history(got.blueprintid)
        assert [h.changetype for h in history] == ["update", "create"]
        process = user.reconcile_blueprint(place.colonyname, "web1", force=True)
        assert process.spec.kwargs == {"blueprintName": "web1", "force": True, "kind": KIND}
        with pytest.raises(ServerError) as info:
            user.add_blueprint(body)
        assert info.value.status == 409
        user.remove_blueprint(place.colonyname, "web1")
        assert user.get_blueprints(place.colonyname) == []
        owner.remove_blueprint_definition(place.colonyname, "webservers")


def test_cli_against_go(place: Place, tmp_path: Path) -> None:
    spec = definition("", place.executortype)
    (tmp_path / "def.json").write_text(json.dumps(spec))
    bp = blueprint()
    bp["metadata"]["colonyname"] = ""
    (tmp_path / "bp.json").write_text(json.dumps(bp))
    assert (
        len(
            ok(
                cli(place, "blueprint", "definition", "add", "--spec", str(tmp_path / "def.json"))
            ).strip()
        )
        == 64
    )
    assert "webservers" in ok(cli(place, "blueprint", "definition", "ls"))
    ok(cli(place, "blueprint", "add", "--spec", str(tmp_path / "bp.json")))
    assert "web1" in ok(cli(place, "blueprint", "ls"))
    ok(cli(place, "blueprint", "set", "--name", "web1", "--key", "replicas", "--value", "4"))
    got = json.loads(ok(cli(place, "blueprint", "get", "--name", "web1", "--json")))
    assert got["spec"]["replicas"] == 4 and got["metadata"]["generation"] == 1
    history = json.loads(ok(cli(place, "blueprint", "history", "--name", "web1", "--json")))
    assert [h["generation"] for h in history] == [1, 0]
    out = ok(cli(place, "blueprint", "reconcile", "--name", "web1"))
    assert out.startswith("Reconciliation process submitted: ")
    assert "Missing reconciliation cron" not in ok(cli(place, "blueprint", "doctor"))
    assert "Blueprint not found" in failed(cli(place, "blueprint", "get", "--name", "nope"))
    ok(cli(place, "blueprint", "remove", "--name", "web1"))
    ok(cli(place, "blueprint", "definition", "remove", "--name", "webservers"))


# --- the Go CLI against ours


def test_go_cli_blueprints_against_ours(go_cli_ours: GoCLI, ours: Server, tmp_path: Path) -> None:
    spec = definition("", "docker-reconciler")
    (tmp_path / "def.json").write_text(json.dumps(spec))
    bp = blueprint()
    bp["metadata"]["colonyname"] = ""
    (tmp_path / "bp.json").write_text(json.dumps(bp))
    bp["spec"]["replicas"] = 7
    (tmp_path / "bp2.json").write_text(json.dumps(bp))

    def run(*args: str) -> str:
        result = go_cli_ours(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout + result.stderr

    assert "BlueprintDefinition added" in run(
        "blueprint", "definition", "add", "--spec", str(tmp_path / "def.json")
    )
    duplicate = go_cli_ours("blueprint", "definition", "add", "--spec", str(tmp_path / "def.json"))
    assert duplicate.returncode != 0
    assert (
        "BlueprintDefinition with name 'webservers' already exists"
        in duplicate.stderr + duplicate.stdout
    )
    assert "webservers" in run("blueprint", "definition", "ls")
    assert KIND in run("blueprint", "definition", "get", "--name", "webservers")
    assert "Blueprint added" in run("blueprint", "add", "--spec", str(tmp_path / "bp.json"))
    assert "web1" in run("blueprint", "ls")
    assert "web1" in run("blueprint", "get", "--name", "web1")
    assert "Blueprint updated" in run("blueprint", "update", "--spec", str(tmp_path / "bp2.json"))
    assert "Reconciliation triggered" in run(
        "blueprint", "set", "--name", "web1", "--key", "replicas", "--value", "3"
    )
    assert "Reconciliation process submitted" in run(
        "blueprint", "reconcile", "--name", "web1", "--force"
    )
    history = run("blueprint", "history", "--name", "web1")
    assert "update" in history and "create" in history
    assert "reconcile" in run("blueprint", "doctor", "--name", "web1")
    with ours.client() as member:
        got = member.get_blueprint("dev", "web1")
        assert got.spec["replicas"] == 3 and got.metadata.generation == 3
        waiting = member.get_processes(
            "dev", ProcessState.WAITING, executortype="docker-reconciler"
        )
        # add, update, set (its update and its reconcile), reconcile --force
        assert len(waiting) == 5
    assert "Blueprint removed" in run("blueprint", "remove", "--name", "web1")
    assert "BlueprintDefinition removed" in run(
        "blueprint", "definition", "remove", "--name", "webservers"
    )
