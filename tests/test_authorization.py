"""Every message type refuses a signer without the right role: 403 and an error envelope."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from colonies import crypto, rpc
from colonies.model import Colony, Executor, FunctionSpec, ProcessState, User
from colonies.server import pubsub
from conftest import Identity, LiveServer, post
from polling import subscriptions, until

ROLES = ("server", "owner", "executor", "user", "pending", "stranger", "outsider")


class World:
    """A colony with one of each role, a RUNNING process assigned to ``executor``, and a second
    colony whose executor is the ``outsider``."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.keys = {"server": live.server, "owner": live.colony}
        for role in ("executor", "user", "pending", "stranger", "outsider", "executor2"):
            self.keys[role] = Identity(crypto.generate_private_key())
        other = Identity(crypto.generate_private_key())
        self.ok(
            "server",
            {
                "msgtype": "addcolonymsg",
                "colony": Colony(colonyid=other.id, name="other").to_dict(),
            },
        )
        for role, state in (("executor", True), ("pending", False), ("executor2", True)):
            self.ok(
                "owner",
                {
                    "msgtype": "addexecutormsg",
                    "executor": Executor(
                        executorid=self.keys[role].id,
                        executortype="t",
                        executorname=role,
                        colonyname="dev",
                    ).to_dict(),
                },
            )
            if state:
                self.ok(
                    "owner",
                    {"msgtype": "approveexecutormsg", "colonyname": "dev", "executorname": role},
                )
        self.send(
            other.prvkey,
            {
                "msgtype": "addexecutormsg",
                "executor": Executor(
                    executorid=self.keys["outsider"].id,
                    executortype="t",
                    executorname="outsider",
                    colonyname="other",
                ).to_dict(),
            },
        )
        self.send(
            other.prvkey,
            {"msgtype": "approveexecutormsg", "colonyname": "other", "executorname": "outsider"},
        )
        self.ok(
            "owner",
            {"msgtype": "addlocationmsg", "location": {"colonyname": "dev", "name": "here"}},
        )
        self.ok(
            "owner",
            {
                "msgtype": "addusermsg",
                "user": User(colonyname="dev", userid=self.keys["user"].id, name="user").to_dict(),
            },
        )
        spec = FunctionSpec.from_dict(
            {"funcname": "f", "conditions": {"colonyname": "dev", "executortype": "t"}}
        )
        submitted = [  # one to keep RUNNING, one left WAITING
            self.ok("user", {"msgtype": "submitfuncspecmsg", "spec": spec.to_dict()})["processid"]
            for _ in range(2)
        ]
        self.running = self.ok(
            "executor", {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 1}
        )["processid"]
        self.waiting = next(p for p in submitted if p != self.running)
        self.attribute = self.ok(
            "executor",
            {
                "msgtype": "addattributemsg",
                "attribute": {
                    "targetid": self.running,
                    "key": "k",
                    "value": "v",
                    "attributetype": 1,
                },
            },
        )
        # a workflow whose root runs on ``executor`` (its priority puts it first), and another
        # still WAITING
        step = {
            "nodename": "root",
            "funcname": "f",
            "priority": 50000,
            "conditions": {"colonyname": "dev", "executortype": "t"},
        }
        workflow = {"colonyname": "dev", "functionspecs": [step]}
        self.graph = self.ok("user", {"msgtype": "submitworkflowspecmsg", "spec": workflow})
        self.graph_root = self.ok(
            "executor", {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 1}
        )["processid"]
        assert self.graph_root == self.graph["rootprocessids"][0]
        step["priority"] = -50000
        self.waiting_graph = self.ok("user", {"msgtype": "submitworkflowspecmsg", "spec": workflow})
        self.function = self.ok(
            "executor",
            {
                "msgtype": "addfunctionmsg",
                "fun": {"executorname": "executor", "colonyname": "dev", "funcname": "f"},
            },
        )
        workflowspec = json.dumps(workflow)
        self.cron = self.ok(
            "user",
            {
                "msgtype": "addcronmsg",
                "cron": {
                    "colonyname": "dev",
                    "name": "c",
                    "interval": 3600,
                    "workflowspec": workflowspec,
                },
            },
        )
        self.generator = self.ok(
            "user",
            {
                "msgtype": "addgeneratormsg",
                "generator": {
                    "colonyname": "dev",
                    "name": "g",
                    "trigger": 5,
                    "workflowspec": workflowspec,
                },
            },
        )

    def send(self, prvkey: str, msg: dict[str, Any]) -> httpx.Response:
        return post(self.live, rpc.build_request(msg, prvkey))

    def ok(self, role: str, msg: dict[str, Any]) -> Any:
        reply = self.send(self.keys[role].prvkey, msg)
        assert reply.status_code == 200, reply.text
        return json.loads(base64.b64decode(reply.json()["payload"]))


Case = Callable[[World], dict[str, Any]]
# msgtype -> (message builder, roles allowed). Roles not listed must get 403.
CASES: dict[str, tuple[Case, set[str]]] = {
    "addcolonymsg": (lambda w: {"colony": {"colonyid": "a" * 64, "name": "x"}}, {"server"}),
    "removecolonymsg": (lambda w: {"colonyname": "dev"}, {"server"}),
    "getcoloniesmsg": (lambda w: {}, {"server"}),
    "getstatisticsmsg": (lambda w: {}, {"server"}),
    "getcolonymsg": (lambda w: {"colonyname": "dev"}, {"executor", "user"}),
    "getcolonystatsmsg": (lambda w: {"colonyname": "dev"}, {"executor", "user"}),
    "addexecutormsg": (
        lambda w: {
            "executor": {
                "executorid": "b" * 64,
                "executortype": "t",
                "executorname": "new",
                "colonyname": "dev",
            }
        },
        {"owner"},
    ),
    "approveexecutormsg": (lambda w: {"colonyname": "dev", "executorname": "pending"}, {"owner"}),
    "rejectexecutormsg": (lambda w: {"colonyname": "dev", "executorname": "pending"}, {"owner"}),
    "removeexecutormsg": (lambda w: {"colonyname": "dev", "executorname": "pending"}, {"owner"}),
    "getexecutorsmsg": (lambda w: {"colonyname": "dev"}, {"executor", "user", "pending"}),
    "getexecutormsg": (
        lambda w: {"colonyname": "dev", "executorname": "executor"},
        {"executor", "user"},
    ),
    "getexecutorbyidmsg": (
        lambda w: {"colonyname": "dev", "executorid": w.keys["executor"].id},
        {"executor", "user"},
    ),
    "updateexecutormsg": (
        lambda w: {"colonyname": "dev", "executorname": "executor", "capabilities": {}},
        {"executor"},
    ),
    "reportallocationmsg": (
        lambda w: {"colonyname": "dev", "executorname": "executor", "allocations": {}},
        {"executor"},
    ),
    "addusermsg": (
        lambda w: {"user": {"colonyname": "dev", "userid": "c" * 64, "name": "u2"}},
        {"owner"},
    ),
    "getusersmsg": (lambda w: {"colonyname": "dev"}, {"executor", "user", "pending"}),
    "getusermsg": (
        lambda w: {"colonyname": "dev", "name": "user"},
        {"executor", "user", "pending"},
    ),
    "getuserbyidmsg": (
        lambda w: {"colonyname": "dev", "userid": w.keys["user"].id},
        {"executor", "user", "pending"},
    ),
    "removeusermsg": (lambda w: {"colonyname": "dev", "name": "user"}, {"owner"}),
    "addlocationmsg": (lambda w: {"location": {"colonyname": "dev", "name": "there"}}, {"owner"}),
    "getlocationmsg": (
        lambda w: {"colonyname": "dev", "name": "here"},
        {"executor", "user", "pending"},
    ),
    "getlocationsmsg": (lambda w: {"colonyname": "dev"}, {"executor", "user", "pending"}),
    "removelocationmsg": (lambda w: {"colonyname": "dev", "name": "here"}, {"owner"}),
    "submitfuncspecmsg": (
        lambda w: {
            "spec": {"funcname": "g", "conditions": {"colonyname": "dev", "executortype": "t"}}
        },
        {"executor", "user"},
    ),
    "assignprocessmsg": (lambda w: {"colonyname": "dev", "timeout": -1}, {"executor"}),
    "getprocessesmsg": (
        lambda w: {"colonyname": "dev", "state": 1, "count": 10},
        {"executor", "user"},
    ),
    "getprocessmsg": (lambda w: {"processid": w.running}, {"executor", "user"}),
    "getprocesshistmsg": (
        lambda w: {"colonyname": "dev", "seconds": 60, "state": 1},
        {"executor", "user"},
    ),
    "removeprocessmsg": (lambda w: {"processid": w.waiting}, {"executor", "user"}),
    "removeallprocessesmsg": (lambda w: {"colonyname": "dev", "state": 2}, {"owner"}),
    "setoutputmsg": (lambda w: {"processid": w.running, "out": ["x"]}, {"executor"}),
    "closesuccessfulmsg": (lambda w: {"processid": w.running, "out": []}, {"executor"}),
    "closefailedmsg": (lambda w: {"processid": w.running, "errors": ["e"]}, {"executor"}),
    "cancelprocessmsg": (lambda w: {"processid": w.running}, {"executor", "user"}),
    "pauseassignmentsmsg": (lambda w: {"colonyname": "dev"}, {"owner"}),
    "resumeassignmentsmsg": (lambda w: {"colonyname": "dev"}, {"owner"}),
    "getpausestatusmsg": (lambda w: {"colonyname": "dev"}, {"executor", "user", "pending"}),
    "addattributemsg": (
        lambda w: {
            "attribute": {"targetid": w.running, "key": "k2", "value": "v", "attributetype": 1}
        },
        {"executor"},
    ),
    "getattributemsg": (
        lambda w: {"attributeid": w.attribute["attributeid"]},
        {"executor", "user"},
    ),
    "addfunctionmsg": (
        lambda w: {"fun": {"executorname": "executor", "colonyname": "dev", "funcname": "g"}},
        {"executor"},
    ),
    "getfunctionsmsg": (lambda w: {"colonyname": "dev"}, {"executor", "user"}),
    "removefunctionmsg": (lambda w: {"functionid": w.function["functionid"]}, {"executor"}),
    "addlogmsg": (lambda w: {"processid": w.running, "message": "hello"}, {"executor"}),
    "addexecutorlogmsg": (
        lambda w: {"colonyname": "dev", "executorname": "executor", "message": "hi"},
        {"executor"},
    ),
    "getlogsmsg": (
        lambda w: {"colonyname": "dev", "processid": w.running, "count": 10},
        {"executor", "user"},
    ),
    "searchlogsmsg": (
        lambda w: {"colonyname": "dev", "text": "x", "days": 1, "count": 10},
        {"executor", "user"},
    ),
    "submitworkflowspecmsg": (
        lambda w: {
            "spec": {
                "colonyname": "dev",
                "functionspecs": [
                    {"nodename": "n", "funcname": "g", "conditions": {"executortype": "t"}}
                ],
            }
        },
        {"executor", "user"},
    ),
    "getprocessgraphmsg": (
        lambda w: {"processgraphid": w.graph["processgraphid"]},
        {"executor", "user"},
    ),
    "getprocessgraphsmsg": (
        lambda w: {"colonyname": "dev", "count": 10, "state": 0},
        {"executor", "user"},
    ),
    "removeprocessgraphmsg": (
        lambda w: {"processgraphid": w.waiting_graph["processgraphid"]},
        {"executor", "user"},
    ),
    "removeallprocessgraphsmsg": (lambda w: {"colonyname": "dev", "state": 2}, {"owner"}),
    "cancelprocessgraphmsg": (
        lambda w: {"processgraphid": w.graph["processgraphid"]},
        {"executor", "user"},
    ),
    "addchildmsg": (
        lambda w: {
            "processgraphid": w.graph["processgraphid"],
            "parentprocessid": w.graph_root,
            "childprocessid": "",
            "insert": False,
            "spec": {
                "nodename": "c",
                "funcname": "g",
                "conditions": {"colonyname": "dev", "executortype": "t"},
            },
        },
        {"executor"},
    ),
    "addcronmsg": (
        lambda w: {
            "cron": {
                "colonyname": "dev",
                "name": "c2",
                "interval": 60,
                "workflowspec": w.generator["workflowspec"],
            }
        },
        {"executor", "user"},
    ),
    "getcronmsg": (lambda w: {"cronid": w.cron["cronid"]}, {"executor", "user"}),
    "getcronsmsg": (lambda w: {"colonyname": "dev", "count": 10}, {"executor", "user"}),
    "runcronmsg": (lambda w: {"cronid": w.cron["cronid"]}, {"executor", "user"}),
    "removecronmsg": (lambda w: {"cronid": w.cron["cronid"]}, {"executor", "user"}),
    "addgeneratormsg": (
        lambda w: {
            "generator": {
                "colonyname": "dev",
                "name": "g2",
                "trigger": 2,
                "workflowspec": w.generator["workflowspec"],
            }
        },
        {"executor", "user"},
    ),
    "getgeneratormsg": (
        lambda w: {"generatorid": w.generator["generatorid"]},
        {"executor", "user"},
    ),
    "resolvegeneratormsg": (
        lambda w: {"colonyname": "dev", "generatorname": "g"},
        {"executor", "user"},
    ),
    "getgeneratorsmsg": (lambda w: {"colonyname": "dev", "count": 10}, {"executor", "user"}),
    "packgeneratormsg": (
        lambda w: {"generatorid": w.generator["generatorid"], "arg": "x"},
        {"executor", "user"},
    ),
    "removegeneratormsg": (
        lambda w: {"generatorid": w.generator["generatorid"]},
        {"executor", "user"},
    ),
    # --- ID rotation and cluster (spec §4.12) ---
    "changeuseridmsg": (lambda w: {"colonyname": "dev", "userid": _fresh_id()}, {"user"}),
    "changeexecutoridmsg": (
        lambda w: {"colonyname": "dev", "executorid": _fresh_id()},
        {"executor", "pending"},
    ),
    "changecolonyidmsg": (lambda w: {"colonyname": "dev", "colonyid": _fresh_id()}, {"owner"}),
    "changeserveridmsg": (lambda w: {"serverid": _fresh_id()}, {"server"}),
    "getclustermsg": (lambda w: {}, {"server"}),
}


# --- blueprints (spec §4.11): definitions by the colony owner, the rest by members or the owner


def _blueprint_kind(w: World) -> str:
    """A definition of kind Web in "dev" and a blueprint "bp" of it (made once per world)."""
    if not getattr(w, "blueprints_ready", False):
        w.ok("owner", _definition_msg("webs", "Web"))
        w.ok("owner", {"msgtype": "addblueprintmsg", "blueprint": _blueprint("bp")})
        w.blueprints_ready = True  # type: ignore[attr-defined]
    return "Web"


def _definition_msg(name: str, kind: str) -> dict[str, Any]:
    definition = {
        "kind": "BlueprintDefinition",
        "metadata": {"name": name, "colonyname": "dev"},
        "spec": {"names": {"kind": kind}, "handler": {"executorType": "r", "functionName": "f"}},
    }
    return {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": definition}


def _blueprint(name: str) -> dict[str, Any]:
    return {"kind": "Web", "metadata": {"name": name, "colonyname": "dev"}, "spec": {"n": 1}}


def _fresh_name() -> str:
    return _fresh_id()[:12]


def _spare_definition(w: World) -> dict[str, Any]:
    name = _fresh_name()
    w.ok("owner", _definition_msg(name, name))
    return {"namespace": "dev", "name": name}


def _spare_blueprint(w: World) -> dict[str, Any]:
    _blueprint_kind(w)
    name = _fresh_name()
    w.ok("owner", {"msgtype": "addblueprintmsg", "blueprint": _blueprint(name)})
    return {"namespace": "dev", "name": name}


def _bp_id(w: World) -> str:
    _blueprint_kind(w)
    got = w.ok("owner", {"msgtype": "getblueprintmsg", "namespace": "dev", "name": "bp"})
    return str(got["blueprintid"])


def _with_blueprint(fields: dict[str, Any]) -> Case:
    """A builder of ``fields`` once the Web definition and blueprint "bp" exist."""

    def build(w: World) -> dict[str, Any]:
        _blueprint_kind(w)
        return fields

    return build


def _new_definition(w: World) -> dict[str, Any]:
    return {"blueprintdefinition": _definition_msg(_fresh_name(), "K")["blueprintdefinition"]}


def _new_blueprint(w: World) -> dict[str, Any]:
    _blueprint_kind(w)
    return {"blueprint": _blueprint(_fresh_name())}


_MEMBERS_OR_OWNER = {"executor", "user", "owner"}
CASES.update(
    {
        "addblueprintdefinitionmsg": (_new_definition, {"owner"}),
        "getblueprintdefinitionmsg": (
            _with_blueprint({"colonyname": "dev", "name": "webs"}),
            _MEMBERS_OR_OWNER,
        ),
        "getblueprintdefinitionsmsg": (lambda w: {"colonyname": "dev"}, _MEMBERS_OR_OWNER),
        "removeblueprintdefinitionmsg": (_spare_definition, {"owner"}),
        "addblueprintmsg": (_new_blueprint, _MEMBERS_OR_OWNER),
        "getblueprintmsg": (_with_blueprint({"namespace": "dev", "name": "bp"}), _MEMBERS_OR_OWNER),
        "getblueprintsmsg": (lambda w: {"namespace": "dev", "kind": ""}, _MEMBERS_OR_OWNER),
        "updateblueprintmsg": (_with_blueprint({"blueprint": _blueprint("bp")}), _MEMBERS_OR_OWNER),
        "removeblueprintmsg": (_spare_blueprint, _MEMBERS_OR_OWNER),
        "getblueprinthistorymsg": (lambda w: {"blueprintid": _bp_id(w)}, _MEMBERS_OR_OWNER),
        "updateblueprintstatusmsg": (
            _with_blueprint({"colonyname": "dev", "blueprintname": "bp", "status": {}}),
            {"executor", "user"},
        ),
        "reconcileblueprintmsg": (
            _with_blueprint({"namespace": "dev", "name": "bp"}),
            {"executor", "user"},
        ),
    }
)

# --- files and snapshots (ColonyFS, spec §4.9): members of the file's colony only ---
_FILE = {"colonyname": "dev", "label": "/l", "name": "f", "ref": {"protocol": "s3"}}
_MEMBERS = {"executor", "user"}


def _stored_file(w: World) -> dict[str, Any]:
    w.ok("executor", {"msgtype": "addfilemsg", "file": _FILE})
    return {"colonyname": "dev", "label": "/l", "name": "f"}


def _stored_snapshot(w: World) -> dict[str, Any]:
    name = _fresh_name()
    w.ok(
        "executor",
        {"msgtype": "createsnapshotmsg", "colonyname": "dev", "label": "/l", "name": name},
    )
    return {"colonyname": "dev", "name": name}


CASES.update(
    {
        "addfilemsg": (lambda w: {"file": _FILE}, _MEMBERS),
        "getfilemsg": (_stored_file, _MEMBERS),
        "getfilesmsg": (lambda w: {"colonyname": "dev", "label": "/l"}, _MEMBERS),
        "getfilelabelsmsg": (lambda w: {"colonyname": "dev", "name": "", "exact": False}, _MEMBERS),
        "removefilemsg": (lambda w: {"colonyname": "dev", "label": "/l", "name": "f"}, _MEMBERS),
        "createsnapshotmsg": (
            lambda w: {"colonyname": "dev", "label": "/l", "name": "s"},
            _MEMBERS,
        ),
        "getsnapshotmsg": (_stored_snapshot, _MEMBERS),
        "getsnapshotsmsg": (lambda w: {"colonyname": "dev"}, _MEMBERS),
        "removesnapshotmsg": (lambda w: {"colonyname": "dev", "name": "s"}, _MEMBERS),
        "removeallsnapshotmsg": (lambda w: {"colonyname": "dev"}, _MEMBERS),
    }
)


# --- channels (spec §4.10): members, and of them only the process's initiator (``user``) and
# its assigned ``executor``


def _channelled(w: World) -> str:
    """A RUNNING process the user submitted with channel ``out``, assigned to ``executor``
    (made once per World: builders run once per role)."""
    if not hasattr(w, "channelled"):
        conditions = {"colonyname": "dev", "executortype": "t"}
        spec = {"funcname": "f", "priority": 50000, "channels": ["out"], "conditions": conditions}
        submitted = w.ok("user", {"msgtype": "submitfuncspecmsg", "spec": spec})["processid"]
        assign = {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 1}
        assert w.ok("executor", assign)["processid"] == submitted
        w.channelled = submitted  # type: ignore[attr-defined]
    return str(w.channelled)  # type: ignore[attr-defined]


CASES.update(
    {
        "channelappendmsg": (
            lambda w: {"processid": _channelled(w), "name": "out", "sequence": 1, "payload": ""},
            _MEMBERS,
        ),
        "channelreadmsg": (lambda w: {"processid": _channelled(w), "name": "out"}, _MEMBERS),
    }
)


def _fresh_id() -> str:
    return crypto.id_from_private_key(crypto.generate_private_key())


def test_every_registered_type_has_a_case() -> None:
    from colonies.server import handlers

    signed = set(handlers.load()) - rpc.UNSIGNED_TYPES
    # Authorised by a join token rather than a role: see test_jointoken.py.
    assert signed - {"addexecutorbytokenmsg"} == set(CASES)


@pytest.mark.parametrize("msgtype", sorted(CASES))
def test_refuses_wrong_roles(live: LiveServer, msgtype: str) -> None:
    """Over ``POST /api`` and over the ``/rpc`` socket alike (one socket for all roles)."""
    world = World(live)
    build, allowed = CASES[msgtype]
    with connect(live.url.replace("http", "ws") + "/rpc") as ws:
        for frame_id, role in enumerate(ROLES):
            if role in allowed:
                continue
            body = rpc.build_request({"msgtype": msgtype, **build(world)}, world.keys[role].prvkey)
            reply = post(live, body)
            assert reply.status_code == 403, (role, reply.text)
            envelope = reply.json()
            assert envelope["error"] is True and envelope["payloadtype"] == "error"
            failure = json.loads(base64.b64decode(envelope["payload"]))
            assert failure["status"] == 403 and failure["message"]
            ws.send(json.dumps({"id": frame_id, "body": body}))
            frame = json.loads(ws.recv(10))
            assert (frame["id"], frame["status"], frame["body"]) == (frame_id, 403, reply.text)
    # the first allowed role succeeds, so the refusals above were about the role
    role = sorted(allowed)[0]
    reply = world.send(world.keys[role].prvkey, {"msgtype": msgtype, **build(world)})
    assert reply.status_code == 200, (role, reply.text)


def test_unsigned_types_need_no_key(live: LiveServer) -> None:
    for msgtype in sorted(rpc.UNSIGNED_TYPES):
        reply = post(live, rpc.build_request({"msgtype": msgtype}, None))
        assert reply.status_code == 200


# /pubsub: msgtype -> (message builder, roles allowed). The same membership as reading the
# processes (getprocessmsg, getprocessesmsg); roles not listed must get a 403 error frame.
PUBSUB_CASES: dict[str, tuple[Case, set[str]]] = {
    "subscribeprocessmsg": (
        lambda w: {"processid": w.running, "state": ProcessState.RUNNING, "timeout": 30},
        {"executor", "user"},
    ),
    "subscribeprocessesmsg": (
        lambda w: {
            "colonyname": "dev",
            "executortype": "t",
            "state": ProcessState.WAITING,
            "timeout": 30,
        },
        {"executor", "user"},
    ),
}


def test_every_subscription_type_has_a_case() -> None:
    # subscribechannelmsg: test_channel_subscriptions_refuse_wrong_roles
    assert set(PUBSUB_CASES) | {"subscribechannelmsg"} == pubsub.SUBSCRIPTIONS


def test_channel_subscriptions_refuse_wrong_roles(live: LiveServer) -> None:
    """Only the process's initiator and assigned executor subscribe to its channels (a 403
    error frame for the others, the socket staying open); they get the log."""
    world = World(live)
    processid = _channelled(world)
    payload = base64.b64encode(b"entry").decode()
    append = {"msgtype": "channelappendmsg", "processid": processid, "name": "out"}
    world.ok("executor", {**append, "sequence": 1, "payload": payload})
    msg = {"msgtype": "subscribechannelmsg", "processid": processid, "name": "out", "timeout": 30}
    with connect(live.url.replace("http", "ws") + "/pubsub") as ws:
        for role in ROLES:
            ws.send(rpc.build_request(msg, world.keys[role].prvkey))
            envelope = json.loads(ws.recv(10))
            if role not in _MEMBERS:
                assert envelope["error"] is True and envelope["payloadtype"] == "error", role
                failure = json.loads(base64.b64decode(envelope["payload"]))
                assert failure["status"] == 403 and failure["message"], role
                continue
            assert (envelope["payloadtype"], envelope["error"]) == ("subscribechannelmsg", False)
            (entry,) = json.loads(base64.b64decode(envelope["payload"]))
            assert base64.b64decode(entry["payload"]) == b"entry", role


@pytest.mark.parametrize("msgtype", sorted(PUBSUB_CASES))
def test_subscriptions_refuse_wrong_roles(live: LiveServer, msgtype: str) -> None:
    world = World(live)
    build, allowed = PUBSUB_CASES[msgtype]
    with connect(live.url.replace("http", "ws") + "/pubsub") as ws:
        for role in ROLES:
            if role in allowed:
                continue
            ws.send(
                rpc.build_request({"msgtype": msgtype, **build(world)}, world.keys[role].prvkey)
            )
            envelope = json.loads(ws.recv(10))
            assert envelope["error"] is True and envelope["payloadtype"] == "error", role
            failure = json.loads(base64.b64decode(envelope["payload"]))
            assert failure["status"] == 403 and failure["message"], role
        assert subscriptions(live) == 0
        # an allowed role on the same socket (it stays open after refusals, as in Go) gets events
        role = sorted(allowed)[0]
        ws.send(rpc.build_request({"msgtype": msgtype, **build(world)}, world.keys[role].prvkey))
        until(lambda: subscriptions(live) == 1, what="the allowed subscription")
        if msgtype == "subscribeprocessesmsg":  # no event until a process enters the state
            spec = {"funcname": "g", "conditions": {"colonyname": "dev", "executortype": "t"}}
            world.ok("user", {"msgtype": "submitfuncspecmsg", "spec": spec})
        envelope = json.loads(ws.recv(10))
        assert (envelope["payloadtype"], envelope["error"]) == ("subscribeprocessmsg", False)
        conditions = json.loads(base64.b64decode(envelope["payload"]))["spec"]["conditions"]
        assert (conditions["colonyname"], conditions["executortype"]) == ("dev", "t")
