"""Blueprints on our server (spec §4.11), through the SDK: definitions, blueprints, schema
validation, generations and history, status reports, reconcile and cleanup processes that a
reconciler executor then assigns, the per-kind reconciliation crons, authorization (members,
the colony owner, another colony) and the colony removal cascade."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from colonies import crypto, rpc
from colonies.client import AsyncClient, Client
from colonies.errors import ServerError
from colonies.model import (
    Blueprint,
    BlueprintDefinition,
    BlueprintMetadata,
    Colony,
    Executor,
    Process,
    ProcessState,
    User,
    WorkflowSpec,
)
from conftest import Identity, LiveServer, add_executor, post

KIND = "WebServer"
RECONCILER = "web-reconciler"


def definition(colonyname: str = "dev", *, handler: bool = True, name: str = "webservers") -> Any:
    """A definition as pycolonies users write it (a dict): image required, replicas a number,
    protocol one of two, ports an array of numbers, resources an object with a string cpu."""
    spec: dict[str, Any] = {
        "group": "example.io",
        "version": "v1",
        "names": {"kind": KIND, "plural": "webservers", "singular": "webserver"},
        "scope": "Namespaced",
        "schema": {
            "type": "object",
            "properties": {
                "image": {"type": "string"},
                "replicas": {"type": "number", "default": 1},
                "protocol": {"type": "string", "enum": ["http", "https"]},
                "ports": {"type": "array", "items": {"type": "number"}},
                "resources": {"type": "object", "properties": {"cpu": {"type": "string"}}},
            },
            "required": ["image"],
        },
    }
    if handler:
        spec["handler"] = {"executorType": RECONCILER, "functionName": "reconcile"}
    return {
        "kind": "BlueprintDefinition",
        "metadata": {"name": name, "colonyname": colonyname},
        "spec": spec,
    }


def blueprint(name: str = "web1", location: str = "", colonyname: str = "dev", **spec: Any) -> Any:
    return Blueprint(
        kind=KIND,
        metadata=BlueprintMetadata(name=name, colonyname=colonyname, locationname=location),
        spec={"image": "nginx:1", "replicas": 2, **spec},
    )


def refused(status: int, fragment: str, call: Any, *args: Any, **kwargs: Any) -> ServerError:
    with pytest.raises(ServerError) as info:
        call(*args, **kwargs)
    assert info.value.status == status, info.value
    assert fragment in info.value.message, info.value.message
    return info.value


@dataclass
class Setup:
    live: LiveServer
    owner: Client  # colony owner key
    member: Client  # an approved executor of the colony (not a reconciler)
    member_id: Identity
    user: Client  # a user of the colony
    other: Client  # an approved executor of another colony, "other"
    other_owner: Client

    def reconciler(self, location: str = "", name: str = "rec") -> Client:
        """An approved executor of the handler's type at ``location``."""
        key = Identity(crypto.generate_private_key())
        self.owner.add_executor(
            Executor(
                executorid=key.id,
                executortype=RECONCILER,
                executorname=name,
                colonyname="dev",
                locationname=location,
            )
        )
        self.owner.approve_executor("dev", name)
        return Client(self.live.url, key.prvkey)

    def waiting(self) -> list[Process]:
        return self.member.get_processes("dev", ProcessState.WAITING, executortype=RECONCILER)


@pytest.fixture
def s(live: LiveServer) -> Iterator[Setup]:
    member = add_executor(live, "member", "worker")
    user_key = Identity(crypto.generate_private_key())
    owner = Client(live.url, live.colony.prvkey)
    owner.add_user(User(colonyname="dev", userid=user_key.id, name="alice"))
    other_colony = Identity(crypto.generate_private_key())
    with Client(live.url, live.server.prvkey) as server:
        server.add_colony(Colony(colonyid=other_colony.id, name="other"))
    other_owner = Client(live.url, other_colony.prvkey)
    other_key = Identity(crypto.generate_private_key())
    other_owner.add_executor(
        Executor(
            executorid=other_key.id, executortype="worker", executorname="x", colonyname="other"
        )
    )
    other_owner.approve_executor("other", "x")
    setup = Setup(
        live,
        owner,
        Client(live.url, member.prvkey),
        member,
        Client(live.url, user_key.prvkey),
        Client(live.url, other_key.prvkey),
        other_owner,
    )
    yield setup
    for client in (setup.owner, setup.member, setup.user, setup.other, setup.other_owner):
        client.close_transport()


# --- definitions


def test_definitions_are_the_colony_owners(s: Setup) -> None:
    added = s.owner.add_blueprint_definition(definition())
    assert len(added.blueprintdefinitionid) == 64
    assert added.spec.names.kind == KIND
    assert added.spec.handler.executortype == RECONCILER
    assert added.spec.schema is not None and added.spec.schema.required == ["image"]
    # members and users read them, the owner too
    for client in (s.member, s.user, s.owner):
        assert client.get_blueprint_definition("dev", "webservers") == added
        assert client.get_blueprint_definitions("dev") == [added]
    # only the owner adds or removes
    refused(403, "Access denied, not colony owner", s.member.add_blueprint_definition, definition())
    refused(403, "not colony owner", s.member.remove_blueprint_definition, "dev", "webservers")
    refused(409, "already exists", s.owner.add_blueprint_definition, definition())
    refused(404, "Blueprint definition not found", s.member.get_blueprint_definition, "dev", "no")
    refused(
        404,
        "BlueprintDefinition 'no' not found in namespace 'dev'",
        s.owner.remove_blueprint_definition,
        "dev",
        "no",
    )
    s.owner.remove_blueprint_definition("dev", "webservers")
    assert s.member.get_blueprint_definitions("dev") == []


def test_definition_wire_format_is_gos(s: Setup) -> None:
    """camelCase where Go has it, zero times written, omitempty fields left out, a schema
    default of ``false`` kept."""
    raw = definition()
    raw["spec"]["schema"]["properties"]["debug"] = {"type": "boolean", "default": False}
    added = s.owner.add_blueprint_definition(raw).to_dict()
    assert added["metadata"] == {
        "name": "webservers",
        "colonyname": "dev",
        "createdAt": "0001-01-01T00:00:00Z",
        "updatedAt": "0001-01-01T00:00:00Z",
        "lastReconciliationTime": "0001-01-01T00:00:00Z",
    }
    assert added["spec"]["names"] == {
        "kind": KIND,
        "listKind": "",
        "singular": "webserver",
        "plural": "webservers",
    }
    assert added["spec"]["handler"] == {"executorType": RECONCILER, "functionName": "reconcile"}
    assert added["spec"]["schema"]["properties"]["debug"] == {"type": "boolean", "default": False}
    assert "shortNames" not in added["spec"]["names"]


def test_bad_definitions_are_refused(s: Setup) -> None:
    nameless = definition(name="")
    refused(400, "metadata.name is required", s.owner.add_blueprint_definition, nameless)
    kindless = definition()
    kindless["spec"]["names"]["kind"] = ""
    refused(400, "spec.names.kind is required", s.owner.add_blueprint_definition, kindless)
    refused(403, "does not exists", s.owner.add_blueprint_definition, definition(colonyname="nope"))


def test_definition_in_use_cannot_be_removed(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    s.member.add_blueprint(blueprint())
    refused(
        409,
        f"cannot remove BlueprintDefinition 'webservers': 1 blueprint(s) of kind '{KIND}' still",
        s.owner.remove_blueprint_definition,
        "dev",
        "webservers",
    )
    s.member.remove_blueprint("dev", "web1")
    s.owner.remove_blueprint_definition("dev", "webservers")


# --- blueprints


def test_add_validates_against_the_schema(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    cases = [
        (Blueprint(kind="", metadata=BlueprintMetadata(name="b", colonyname="dev")), "kind is"),
        (
            Blueprint(kind="Nope", metadata=BlueprintMetadata(name="b", colonyname="dev")),
            "BlueprintDefinition for kind 'Nope' not found in namespace 'dev'",
        ),
        (
            Blueprint(kind=KIND, metadata=BlueprintMetadata(name="b", colonyname="dev")),
            "blueprint validation failed: required field 'image' is missing",
        ),
        (blueprint("b", replicas="two"), "field 'replicas' must be a number, got string"),
        (blueprint("b", replicas=True), "field 'replicas' must be a number, got bool"),
        (blueprint("b", image=3), "field 'image' must be a string, got float64"),
        (blueprint("b", protocol="ftp"), "field 'protocol' must be one of [http https], got ftp"),
        (blueprint("b", ports=[80, "x"]), "field 'ports[1]' must be a number, got string"),
        (blueprint("b", ports={}), "must be an array, got map[string]interface {}"),
        (blueprint("b", resources={"cpu": 1}), "field 'resources.cpu' must be a string"),
        (blueprint("", ports=[]), "metadata.name is required"),
    ]
    for bad, fragment in cases:
        refused(400, fragment, s.member.add_blueprint, bad)
    assert s.member.get_blueprints("dev") == []
    # undeclared fields and the declared ones right: accepted
    s.member.add_blueprint(blueprint("b", ports=[80, 443], protocol="https", extra={"a": 1}))


def test_add_get_list(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    added = s.member.add_blueprint(blueprint("web1", location="site-a", labels={"x": 1}))
    assert len(added.blueprintid) == 64
    assert added.metadata.generation == 0  # kept as sent, as Go does
    assert added.spec == {"image": "nginx:1", "replicas": 2, "labels": {"x": 1}}
    for client in (s.member, s.user, s.owner):
        assert client.get_blueprint("dev", "web1") == added
    s.user.add_blueprint(blueprint("web2"))
    assert [b.metadata.name for b in s.member.get_blueprints("dev")] == ["web1", "web2"]
    assert [b.metadata.name for b in s.member.get_blueprints("dev", KIND)] == ["web1", "web2"]
    assert [b.metadata.name for b in s.member.get_blueprints("dev", KIND, "SITE-A")] == ["web1"]
    assert s.member.get_blueprints("dev", "Other") == []
    refused(
        409,
        "blueprint with name 'web1' already exists in colony 'dev'",
        s.member.add_blueprint,
        blueprint("web1"),
    )
    refused(404, "Blueprint not found", s.member.get_blueprint, "dev", "nope")
    # the location was created for the blueprint
    location = s.member.get_location("dev", "site-a")
    assert location.description == "Auto-created from blueprint web1"


def test_add_submits_a_reconcile_process_a_reconciler_assigns(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    reconciler = s.reconciler("site-a")
    elsewhere = s.reconciler("site-b", name="rec-b")
    s.member.add_blueprint(blueprint("web1", location="site-a"))
    (process,) = s.waiting()
    spec = process.spec
    assert spec.funcname == "reconcile"
    assert spec.nodename == f"{RECONCILER}-reconcile"
    assert spec.kwargs == {"blueprintName": "web1", "kind": KIND}
    assert spec.conditions.executortype == RECONCILER
    assert spec.conditions.locationname == "site-a"
    assert (spec.maxexectime, spec.maxretries) == (-1, -1)
    assert process.initiatorid == s.member_id.id
    assert process.initiatorname == "member"
    with pytest.raises(ServerError):  # another location's reconciler does not get it
        elsewhere.assign("dev", 1)
    assigned = reconciler.assign("dev", 5)
    assert assigned.processid == process.processid
    # the reconciler reports back
    reconciler.update_blueprint_status("dev", "web1", {"ready": 2, "phase": "Running"})
    reconciler.close(assigned.processid, ["ok"])
    got = s.member.get_blueprint("dev", "web1")
    assert got.status == {"ready": 2, "phase": "Running"}
    reconciler.close_transport()
    elsewhere.close_transport()


def test_reconciliation_cron_per_kind_and_location(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    s.member.add_blueprint(blueprint("a1", location="site-a"))
    s.member.add_blueprint(blueprint("a2", location="site-a"))
    s.member.add_blueprint(blueprint("plain"))
    crons = {c.name: c for c in s.member.get_crons("dev")}
    assert set(crons) == {f"reconcile-{KIND}-site-a", f"reconcile-{KIND}"}
    cron = crons[f"reconcile-{KIND}-site-a"]
    assert cron.interval == 60
    assert cron.waitforprevprocessgraph
    assert cron.initiatorid == s.member_id.id
    workflow = WorkflowSpec.from_dict(json.loads(cron.workflowspec))
    (step,) = workflow.functionspecs
    assert step.funcname == "reconcile"
    assert step.kwargs == {"kind": KIND}
    assert step.conditions.executortype == RECONCILER
    assert step.conditions.locationname == "site-a"
    # the cron starts a reconciliation of the whole kind there
    before = len(s.waiting())
    s.member.run_cron(cron.cronid)
    kinds = [p.spec.kwargs for p in s.waiting()]
    assert len(kinds) == before + 1 and {"kind": KIND} in kinds
    # the cron stays while a blueprint of the kind is left at the location
    s.member.remove_blueprint("dev", "a1")
    assert f"reconcile-{KIND}-site-a" in {c.name for c in s.member.get_crons("dev")}
    s.member.remove_blueprint("dev", "a2")
    assert {c.name for c in s.member.get_crons("dev")} == {f"reconcile-{KIND}"}


def test_definition_without_handler_reconciles_nothing(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition(handler=False))
    s.member.add_blueprint(blueprint())
    assert s.member.get_crons("dev") == []
    assert s.waiting() == []
    refused(
        400,
        "Blueprint has no handler with executor type defined",
        s.member.reconcile_blueprint,
        "dev",
        "web1",
    )
    s.member.remove_blueprint("dev", "web1")
    assert s.waiting() == []


def test_update_generations_and_history(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    added = s.member.add_blueprint(blueprint())
    assert len(s.waiting()) == 1
    changed = blueprint(replicas=3)
    changed.blueprintid = "ignored"
    updated = s.member.update_blueprint(changed)
    assert updated.blueprintid == added.blueprintid
    assert updated.metadata.generation == 1
    assert len(s.waiting()) == 2  # the change is reconciled
    same = s.member.update_blueprint(blueprint(replicas=3.0))  # 3.0 == 3, as in Go
    assert same.metadata.generation == 1
    assert len(s.waiting()) == 2
    forced = s.user.update_blueprint(blueprint(replicas=3), force_generation=True)
    assert forced.metadata.generation == 2
    history = s.member.get_blueprint_history(added.blueprintid)
    assert [(h.changetype, h.generation) for h in history] == [
        ("update", 2),
        ("update", 1),
        ("create", 0),
    ]
    assert history[2].spec == {"image": "nginx:1", "replicas": 2}
    assert history[1].spec["replicas"] == 3
    assert history[0].changedby != history[1].changedby  # the user, then the member
    assert (history[0].namespace, history[0].name, history[0].kind) == ("dev", "web1", KIND)
    assert len(history[0].historyid) == 36
    assert [h.generation for h in s.member.get_blueprint_history(added.blueprintid, 1)] == [2]
    # validated like an add, and must exist
    refused(400, "must be a number", s.member.update_blueprint, blueprint(replicas="x"))
    refused(
        404,
        "blueprint 'nope' not found in namespace 'dev'",
        s.member.update_blueprint,
        blueprint("nope"),
    )
    refused(404, "Blueprint not found", s.member.get_blueprint_history, "0" * 64)


def test_owner_updates_without_reconciling(s: Setup) -> None:
    """As in Go: the colony owner is no executor or user, so no initiator name is found for a
    process and the update is stored without one (an add still submits it, unnamed)."""
    s.owner.add_blueprint_definition(definition())
    s.owner.add_blueprint(blueprint())
    (process,) = s.waiting()
    assert process.initiatorname == ""
    assert s.owner.update_blueprint(blueprint(replicas=5)).metadata.generation == 1
    assert len(s.waiting()) == 1


def test_status_reports(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    s.member.add_blueprint(blueprint())
    s.member.update_blueprint_status("dev", "web1", {"replicas": {"ready": 1}})
    assert s.user.get_blueprint("dev", "web1").status == {"replicas": {"ready": 1}}
    assert s.member.get_blueprint("dev", "web1").metadata.generation == 0  # untouched
    refused(
        403,
        "not a member",
        s.owner.update_blueprint_status,
        "dev",
        "web1",
        {"x": 1},
    )
    refused(404, "Blueprint not found", s.member.update_blueprint_status, "dev", "no", {})
    s.member.update_blueprint_status("dev", "web1", {})
    assert "status" not in s.member.get_blueprint("dev", "web1").to_dict()


def test_reconcile_on_demand(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    s.member.add_blueprint(blueprint(location="site-a"))
    process = s.user.reconcile_blueprint("dev", "web1")
    assert process.state == ProcessState.WAITING
    assert process.spec.kwargs == {"blueprintName": "web1", "kind": KIND}
    assert process.spec.conditions.locationname == "site-a"
    assert process.initiatorname == "alice"
    forced = s.member.reconcile_blueprint("dev", "web1", force=True)
    assert forced.spec.kwargs == {"blueprintName": "web1", "force": True, "kind": KIND}
    assert s.member.get_blueprint("dev", "web1").metadata.generation == 1
    assert {p.processid for p in s.waiting()} >= {process.processid, forced.processid}
    refused(403, "not a member", s.owner.reconcile_blueprint, "dev", "web1")
    refused(404, "Blueprint not found", s.member.reconcile_blueprint, "dev", "nope")


def test_remove_submits_cleanup(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    s.member.add_blueprint(blueprint(location="site-a"))
    added = s.member.get_blueprint("dev", "web1")
    s.member.remove_blueprint("dev", "web1")
    cleanup = [p for p in s.waiting() if p.spec.funcname == "cleanup"]
    assert len(cleanup) == 1
    spec = cleanup[0].spec
    assert spec.nodename == f"{RECONCILER}-cleanup"
    assert spec.kwargs == {"blueprintName": "web1", "kind": KIND}
    assert spec.conditions.locationname == "site-a"
    refused(404, "Blueprint not found", s.member.get_blueprint, "dev", "web1")
    refused(404, "Blueprint not found", s.member.remove_blueprint, "dev", "web1")
    refused(404, "Blueprint not found", s.member.get_blueprint_history, added.blueprintid)


def test_another_colony_can_do_nothing(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    added = s.member.add_blueprint(blueprint())
    for client in (s.other, s.other_owner):
        calls = [
            (client.get_blueprint_definition, "dev", "webservers"),
            (client.get_blueprint_definitions, "dev"),
            (client.remove_blueprint_definition, "dev", "webservers"),
            (client.add_blueprint_definition, definition(name="mine")),
            (client.add_blueprint, blueprint("mine")),
            (client.get_blueprint, "dev", "web1"),
            (client.get_blueprints, "dev"),
            (client.update_blueprint, blueprint(replicas=9)),
            (client.remove_blueprint, "dev", "web1"),
            (client.get_blueprint_history, added.blueprintid),
            (client.update_blueprint_status, "dev", "web1", {"hacked": True}),
            (client.reconcile_blueprint, "dev", "web1"),
        ]
        for call, *args in calls:
            refused(403, "Access denied", call, *args)
    got = s.member.get_blueprint("dev", "web1")
    assert got.spec == added.spec and got.status == {}
    assert len(s.member.get_blueprint_definitions("dev")) == 1
    # the same names in the other colony are that colony's own
    s.other_owner.add_blueprint_definition(definition("other"))
    s.other.add_blueprint(blueprint(colonyname="other", replicas=7))
    assert s.other.get_blueprint("other", "web1").spec["replicas"] == 7
    assert s.member.get_blueprint("dev", "web1").spec["replicas"] == 2


def test_unsigned_and_unknown_signers_are_refused(s: Setup) -> None:
    stranger = Client(s.live.url, crypto.generate_private_key())
    refused(403, "Access denied", stranger.get_blueprints, "dev")
    refused(403, "does not exists", stranger.get_blueprints, "nope")
    stranger.close_transport()


def test_bad_messages(s: Setup) -> None:
    for msg, fragment in [
        ({"msgtype": "addblueprintmsg"}, "Failed to add blueprint, blueprint is nil"),
        ({"msgtype": "updateblueprintmsg"}, "Failed to update blueprint, blueprint is nil"),
        (
            {"msgtype": "addblueprintdefinitionmsg"},
            "Failed to add blueprint definition, blueprint definition is nil",
        ),
        ({"msgtype": "addblueprintmsg", "blueprint": {"spec": []}}, "spec"),
        ({"msgtype": "getblueprinthistorymsg", "blueprintid": "x", "limit": "a"}, "limit"),
        (
            {"msgtype": "updateblueprintstatusmsg", "colonyname": "dev", "status": [1]},
            "status must be an object",
        ),
        (
            {
                "msgtype": "addblueprintmsg",
                "blueprint": {"kind": KIND, "metadata": {"createdAt": "yesterday"}},
            },
            "metadata.createdat",
        ),
    ]:
        reply = post(s.live, rpc.build_request(msg, s.member_id.prvkey))
        assert reply.status_code == 400, (msg, reply.text)
        with pytest.raises(ServerError) as info:
            rpc.parse_reply(reply.status_code, reply.text)
        assert fragment in info.value.message, info.value.message


def test_removing_the_colony_removes_its_blueprints(s: Setup) -> None:
    s.owner.add_blueprint_definition(definition())
    added = s.member.add_blueprint(blueprint())
    with Client(s.live.url, s.live.server.prvkey) as server:
        server.remove_colony("dev")
        server.add_colony(Colony(colonyid=s.live.colony.id, name="dev"))
    assert s.owner.get_blueprint_definitions("dev") == []
    assert s.owner.get_blueprints("dev") == []
    # nothing is left of the blueprint: its ID is free again and it has no old history
    s.owner.add_blueprint_definition(definition())
    again = blueprint()
    again.blueprintid = added.blueprintid
    s.owner.add_blueprint(again)
    history = s.owner.get_blueprint_history(added.blueprintid)
    assert [h.changetype for h in history] == ["create"]


def test_async_client(s: Setup) -> None:
    async def run() -> None:
        async with AsyncClient(s.live.url, s.member_id.prvkey) as client:
            added = await client.add_blueprint_definition(
                BlueprintDefinition.from_dict(definition()), prvkey=s.live.colony.prvkey
            )
            assert (await client.get_blueprint_definitions("dev")) == [added]
            await client.add_blueprint(blueprint())
            updated = await client.update_blueprint(blueprint(replicas=4))
            assert updated.metadata.generation == 1
            await client.update_blueprint_status("dev", "web1", {"ok": True})
            got = await client.get_blueprint("dev", "web1")
            assert got.status == {"ok": True}
            assert [b.metadata.name for b in await client.get_blueprints("dev", KIND)] == ["web1"]
            history = await client.get_blueprint_history(got.blueprintid, 10)
            assert len(history) == 2
            process = await client.reconcile_blueprint("dev", "web1", True)
            assert process.spec.kwargs["force"] is True
            await client.remove_blueprint("dev", "web1")
            assert await client.get_blueprints("dev") == []
            await client.remove_blueprint_definition(
                "dev", "webservers", prvkey=s.live.colony.prvkey
            )
            assert await client.get_blueprint_definitions("dev") == []

    asyncio.run(run())


def test_metadata_times_are_kept_in_utc(s: Setup) -> None:
    """The client's times are stored (the server sets none, as Go), in one form: UTC."""
    s.owner.add_blueprint_definition(definition())
    sent = blueprint()
    sent.metadata.createdat = "2026-01-01T02:00:00.500+02:00"
    added = s.member.add_blueprint(sent)
    assert added.metadata.createdat == "2026-01-01T00:00:00.5Z"
    assert added.metadata.updatedat == "0001-01-01T00:00:00Z"
    assert s.member.get_blueprint("dev", "web1").metadata.createdat == "2026-01-01T00:00:00.5Z"


def test_model_round_trip_is_gos_json() -> None:
    """camelCase names read in any case; ``items`` (an optional nested schema) and a
    ``default`` of 0 or false written, an absent ``default`` and ``schema`` left out."""
    raw = definition()
    raw["spec"]["schema"]["properties"]["ports"]["items"] = {"type": "number", "default": 0}
    raw["spec"]["HANDLER"] = {"EXECUTORTYPE": "x", "functionname": "f"}
    del raw["spec"]["handler"]
    parsed = BlueprintDefinition.from_dict(raw)
    assert parsed.spec.handler.executortype == "x" and parsed.spec.handler.functionname == "f"
    out = parsed.to_dict()
    ports = out["spec"]["schema"]["properties"]["ports"]
    assert ports == {"type": "array", "items": {"type": "number", "default": 0}}
    assert "default" not in out["spec"]["schema"]["properties"]["image"]
    assert "schema" not in BlueprintDefinition().to_dict()["spec"]
    assert BlueprintDefinition.from_dict(out) == parsed
