"""``colonies blueprint`` against a live server: definitions, blueprints, set, reconcile,
history, log and doctor, with tables, ``--json`` and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from colonies import crypto
from colonies.client import Client
from colonies.model import Executor, ProcessState
from conftest import CLI, Identity, assert_error

KIND = "ExecutorDeployment"


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def definition_file(tmp_path: Path) -> str:
    return write(
        tmp_path,
        "def.json",
        {
            "kind": "BlueprintDefinition",
            "metadata": {"name": "deployments"},
            "spec": {
                "group": "colonyos.io",
                "version": "v1",
                "names": {"kind": KIND, "plural": "executordeployments"},
                "scope": "Namespaced",
                "schema": {
                    "type": "object",
                    "properties": {"replicas": {"type": "number"}, "image": {"type": "string"}},
                    "required": ["image"],
                },
                "handler": {"executorType": "docker-reconciler", "functionName": "reconcile"},
            },
        },
    )


def blueprint_file(tmp_path: Path, replicas: int = 2, name: str = "web") -> str:
    return write(
        tmp_path,
        f"{name}-{replicas}.json",
        {
            "kind": KIND,
            "metadata": {"name": name, "locationname": "site"},
            "spec": {"image": "nginx", "replicas": replicas, "env": {"TZ": "UTC"}},
        },
    )


def setup(cli: CLI, tmp_path: Path) -> None:
    result = cli("blueprint", "definition", "add", "--spec", definition_file(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip()) == 64
    result = cli("blueprint", "add", "--spec", blueprint_file(tmp_path))
    assert result.exit_code == 0, result.stderr


def test_definitions(cli: CLI, tmp_path: Path) -> None:
    result = cli("blueprint", "definition", "ls")
    assert result.exit_code == 0 and "No blueprint definitions found" in result.stderr
    setup(cli, tmp_path)
    listed = cli("blueprint", "definition", "ls")
    assert "deployments" in listed.stdout and "docker-reconciler" in listed.stdout
    got = cli("blueprint", "definition", "get", "--name", "deployments", "--json")
    assert json.loads(got.stdout)["spec"]["names"]["kind"] == KIND
    table = cli("blueprint", "definition", "get", "--name", "deployments")
    assert "colonyos.io/v1" in table.stdout
    # the member key cannot add one, a duplicate is refused, one in use cannot go
    member = cli.member.prvkey
    assert_error(
        cli(
            "blueprint",
            "definition",
            "add",
            "--spec",
            definition_file(tmp_path),
            COLONIES_COLONY_PRVKEY=member,
        ),
        "not colony owner",
    )
    assert_error(
        cli("blueprint", "definition", "add", "--spec", definition_file(tmp_path)),
        "already exists",
    )
    assert_error(cli("blueprint", "definition", "remove", "--name", "deployments"), "still exist")
    assert cli("blueprint", "remove", "--name", "web").exit_code == 0
    assert cli("blueprint", "definition", "remove", "--name", "deployments").exit_code == 0
    assert_error(cli("blueprint", "definition", "get", "--name", "deployments"), "not found")


def test_blueprints(cli: CLI, tmp_path: Path) -> None:
    setup(cli, tmp_path)
    listed = cli("blueprint", "ls")
    assert "web" in listed.stdout and KIND in listed.stdout
    assert json.loads(cli("blueprint", "ls", "--kind", "Other", "--json").stdout) == []
    got = json.loads(cli("blueprint", "get", "--name", "web", "--json").stdout)
    assert got["spec"]["replicas"] == 2 and got["metadata"]["locationname"] == "site"
    table = cli("blueprint", "get", "--name", "web")
    assert "nginx" in table.stdout and "Spec" in table.stdout
    updated = cli("blueprint", "update", "--spec", blueprint_file(tmp_path, 3))
    assert updated.exit_code == 0 and "generation 1" in updated.stderr
    # set: one existing field, as JSON, then a reconcile
    result = cli("blueprint", "set", "--name", "web", "--key", "spec.replicas", "--value", "5")
    assert result.exit_code == 0, result.stderr
    assert "Reconciliation triggered" in result.stderr
    result = cli("blueprint", "set", "--name", "web", "--key", "env.TZ", "--value", "CET")
    assert result.exit_code == 0, result.stderr
    spec = json.loads(cli("blueprint", "get", "--name", "web", "--json").stdout)["spec"]
    assert spec == {"image": "nginx", "replicas": 5, "env": {"TZ": "CET"}}
    assert_error(
        cli("blueprint", "set", "--name", "web", "--key", "nope", "--value", "1"),
        "field 'nope' does not exist",
    )
    assert_error(
        cli("blueprint", "set", "--name", "web", "--key", "image.x", "--value", "1"),
        "cannot navigate through non-object",
    )
    # history
    history = json.loads(cli("blueprint", "history", "--name", "web", "--json").stdout)
    assert [h["generation"] for h in history] == [3, 2, 1, 0]
    one = json.loads(cli("blueprint", "history", "--name", "web", "-g", "0", "--json").stdout)
    assert one["changetype"] == "create"
    assert "update" in cli("blueprint", "history", "--name", "web", "-l", "2").stdout
    assert_error(cli("blueprint", "history", "--name", "web", "-g", "9"), "Generation 9 not found")
    # reconcile
    result = cli("blueprint", "reconcile", "--name", "web", "--force")
    assert result.stdout.startswith("Reconciliation process submitted: ")
    processid = result.stdout.split(": ")[1].strip()
    with Client(cli.live.url, cli.member.prvkey) as client:
        process = client.get_process(processid)
    assert process.spec.kwargs == {"blueprintName": "web", "force": True, "kind": KIND}
    # errors
    bad = write(tmp_path, "bad.json", {"kind": KIND, "metadata": {"name": "x"}, "spec": {}})
    assert_error(cli("blueprint", "add", "--spec", bad), "required field 'image' is missing")
    assert_error(cli("blueprint", "get", "--name", "nope"), "Blueprint not found")
    missing = str(tmp_path / "missing.json")
    assert_error(cli("blueprint", "add", "--spec", missing), "cannot read")
    assert cli("blueprint", "remove", "--name", "web").exit_code == 0
    assert_error(cli("blueprint", "remove", "--name", "web"), "Blueprint not found")


def reconciler(cli: CLI, location: str) -> Client:
    key = Identity(crypto.generate_private_key())
    with Client(cli.live.url, cli.live.colony.prvkey) as owner:
        owner.add_executor(
            Executor(
                executorid=key.id,
                executortype="docker-reconciler",
                executorname="rec-1",
                colonyname="dev",
                locationname=location,
            )
        )
        owner.approve_executor("dev", "rec-1")
    return Client(cli.live.url, key.prvkey)


def test_log(cli: CLI, tmp_path: Path) -> None:
    setup(cli, tmp_path)
    assert "No reconciler found" in cli("blueprint", "log", "--name", "web").stderr
    client = reconciler(cli, "site")
    process = client.assign("dev", 5)
    client.add_log(process.processid, "reconciled web\n")
    result = cli("blueprint", "log", "--name", "web")
    assert result.exit_code == 0, result.stderr
    assert "=== rec-1 ===" in result.stdout and "reconciled web" in result.stdout
    assert "reconciled web" in cli("blueprint", "log").stdout  # every reconciler
    client.close_transport()


def test_log_follow(cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--follow`` prints each reconciler's new logs prefixed with its name until Ctrl-C."""
    setup(cli, tmp_path)
    client = reconciler(cli, "site")
    process = client.assign("dev", 5)
    client.add_log(process.processid, "first")
    rounds = iter(["second", None])

    def sleep(_: float) -> None:  # one more log between the polls, then Ctrl-C
        message = next(rounds)
        if message is None:
            raise KeyboardInterrupt
        client.add_log(process.processid, message)

    monkeypatch.setattr("colonies.cli.blueprint.time.sleep", sleep)
    result = cli("blueprint", "log", "--name", "web", "--follow")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["[rec-1] first", "[rec-1] second"]
    assert "Stopped following" in result.stderr
    client.close_transport()


def test_doctor(cli: CLI, tmp_path: Path) -> None:
    setup(cli, tmp_path)
    with Client(cli.live.url, cli.member.prvkey) as member:
        (cron,) = member.get_crons("dev")
        member.remove_cron(cron.cronid)
    result = cli("blueprint", "doctor")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "=== web ===" in out
    assert "[ERROR] No reconciler found at location 'site'" in out
    assert "[ERROR] No executor of type 'docker-reconciler' found" in out
    assert f"[ERROR] Missing reconciliation cron 'reconcile-{KIND}-site'" in out
    assert "[WARN] Only 0/2 replicas running" in out
    assert "Found 4 issue(s)" in out
    client = reconciler(cli, "site")
    never = cli("blueprint", "doctor", "--name", "web").stdout
    assert "[WARN] Reconciler 'rec-1' was never heard from (may be offline)" in never
    client.assign("dev", 5)  # it polls: heard from now
    fixed = cli("blueprint", "doctor", "--name", "web", "--fix").stdout
    assert "[OK] Reconciler 'rec-1' is active" in fixed
    assert "[OK] Reconciler found at location 'site': rec-1" in fixed
    assert "[OK] Handler type 'docker-reconciler' matches reconciler at location" in fixed
    assert "[WARN] Only 0/2 replicas running" in fixed
    assert "[FIXED] Triggered force reconciliation" in fixed
    assert f"[FIXED] Created cron 'reconcile-{KIND}-site'" in fixed
    assert "Found 2 issue(s), fixed 2" in fixed, fixed
    with Client(cli.live.url, cli.member.prvkey) as member:
        assert [c.name for c in member.get_crons("dev")] == [f"reconcile-{KIND}-site"]
        waiting = member.get_processes("dev", ProcessState.WAITING)
        assert any(p.spec.kwargs.get("force") for p in waiting)
    client.close_transport()
