"""The SDK client without a server: MockTransport, the real rpc envelope and real signatures."""

from __future__ import annotations

import base64
import inspect
import json
import math
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pycolonies  # the upstream SDK (a pinned test dependency), for its messages
import pytest

import colonies
from colonies import crypto, errors, model, rpc
from colonies.client import (
    AsyncClient,
    AsyncHTTPTransport,
    Client,
    ClientConfig,
    HTTPXTransport,
    MockTransport,
    from_env,
)
from colonies.client import _requests as requests
from colonies.model import (
    Attribute,
    Colony,
    Conditions,
    Cron,
    Executor,
    Function,
    FunctionSpec,
    Generator,
    Log,
    Process,
    ProcessGraph,
    ProcessState,
    ServerInfo,
    Statistics,
    User,
    WorkflowSpec,
)

KEY = "ddf7f7791208083b6a9ed975a72684f6406a269cfa36f1b1c32045c0a71fff05"
KEY_ID = "3fc05cf3df4b494e95d6a3d297a34f19938f7daa7422ab0d4f794454133341ac"
COLONY_KEY = "ba949fa134981372d6da62b6a56f336ab4d843b22c02a4257dcf7d0d73097514"
COLONY_ID = "4787a5071856a4acf702b2ffcea422e3237a679c681314113d86139461290cf4"
PID = "a" * 64

AnyClient = Client | AsyncClient


def decode(body: str) -> tuple[dict[str, Any], str]:
    """The message inside a request envelope and the ID that signed it ("" if unsigned)."""
    envelope = json.loads(body)
    msg = json.loads(base64.b64decode(envelope["payload"]))
    assert envelope["payloadtype"] == msg["msgtype"]
    signature = envelope["signature"]
    return msg, crypto.recover_id(envelope["payload"], signature) if signature else ""


class FakeServer:
    """Answers every POST with ``reply`` (a payload, or a ``(status, text)`` pair)."""

    def __init__(self, reply: Any = None) -> None:
        self.reply = reply
        self.sent: list[tuple[dict[str, Any], str]] = []

    def __call__(self, body: str) -> tuple[int, str]:
        msg, signer = decode(body)
        self.sent.append((msg, signer))
        reply = self.reply(msg) if callable(self.reply) else self.reply
        if isinstance(reply, tuple):
            return reply
        payload = base64.b64encode(json.dumps(reply).encode()).decode()  # None -> Go's null
        return 200, json.dumps({"payloadtype": msg["msgtype"], "payload": payload, "error": False})


@pytest.fixture(params=[Client, AsyncClient])
def kind(request: pytest.FixtureRequest) -> type[AnyClient]:
    result: type[AnyClient] = request.param
    return result


async def invoke(client: AnyClient, name: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call a method the same way on either client."""
    result = getattr(client, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def make(kind: type[AnyClient], server: Callable[[str], tuple[int, str]], **kw: Any) -> AnyClient:
    return kind("http://colonies.test:50080", KEY, transport=MockTransport(server, **kw))


PROCESS = Process(
    processid=PID,
    state=ProcessState.RUNNING,
    spec=FunctionSpec(funcname="echo", conditions=Conditions(colonyname="dev", executortype="cli")),
    input=[1],
    output=["x"],
).to_dict()
SPEC = FunctionSpec(funcname="echo", args=["hi"], conditions=Conditions(colonyname="dev"))
EXECUTOR = Executor(executorid=KEY_ID, executortype="cli", executorname="e1", colonyname="dev")
FUNCTION = Function(executorname="e1", colonyname="dev", funcname="echo")
ATTRIBUTE = Attribute(targetid=PID, key="k", value="v")
COLONY = Colony(colonyid=COLONY_ID, name="dev")
USER = User(colonyname="dev", userid=KEY_ID, name="u")
GID = "d" * 64
WORKFLOW = WorkflowSpec(colonyname="dev", functionspecs=[FunctionSpec(nodename="a", funcname="f")])
GRAPH = ProcessGraph(processgraphid=GID, colonyname="dev", processids=[PID]).to_dict()
CID = "e" * 64
CRON = Cron(cronid=CID, colonyname="dev", name="c", interval=5, workflowspec="{}")
CRON_WF = Cron(colonyname="dev", name="c", interval=5)
GEN = Generator(generatorid=CID, colonyname="dev", name="g", trigger=2, workflowspec="{}")
GEN_WF = Generator(colonyname="dev", name="g", trigger=2)
WF_JSON = json.dumps(WORKFLOW.to_dict())
LOG = {"processid": PID, "colonyname": "dev", "executorname": "e1", "message": "m", "timestamp": 7}

# (method, args, kwargs, message sent, reply payload, expected result)
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], dict[str, Any], Any, Any]] = [
    ("statistics", (), {}, {"msgtype": "getstatisticsmsg"}, {"colonies": 2},
     Statistics(colonies=2)),
    ("add_colony", (COLONY,), {}, {"msgtype": "addcolonymsg", "colony": COLONY.to_dict()},
     COLONY.to_dict(), COLONY),
    ("remove_colony", ("dev",), {}, {"msgtype": "removecolonymsg", "colonyname": "dev"}, {}, None),
    ("get_colonies", (), {}, {"msgtype": "getcoloniesmsg"}, [COLONY.to_dict()], [COLONY]),
    ("get_colony", ("dev",), {}, {"msgtype": "getcolonymsg", "colonyname": "dev"},
     COLONY.to_dict(), COLONY),
    ("colony_statistics", ("dev",), {}, {"msgtype": "getcolonystatsmsg", "colonyname": "dev"},
     {"colonies": 1, "waitingprocesses": 3}, Statistics(colonies=1, waitingprocesses=3)),
    ("add_executor", (EXECUTOR,), {}, {"msgtype": "addexecutormsg", "executor": EXECUTOR.to_dict()},
     EXECUTOR.to_dict(), EXECUTOR),
    ("add_executor_by_token", (EXECUTOR, "tok"), {},
     {"msgtype": "addexecutorbytokenmsg", "executor": EXECUTOR.to_dict(), "token": "tok"},
     EXECUTOR.to_dict(), EXECUTOR),
    ("approve_executor", ("dev", "e1"), {},
     {"msgtype": "approveexecutormsg", "colonyname": "dev", "executorname": "e1"}, {}, None),
    ("reject_executor", ("dev", "e1"), {},
     {"msgtype": "rejectexecutormsg", "colonyname": "dev", "executorname": "e1"}, {}, None),
    ("remove_executor", ("dev", "e1"), {},
     {"msgtype": "removeexecutormsg", "colonyname": "dev", "executorname": "e1"}, {}, None),
    ("get_executors", ("dev",), {}, {"msgtype": "getexecutorsmsg", "colonyname": "dev"},
     [EXECUTOR.to_dict()], [EXECUTOR]),
    ("get_executor", ("dev", "e1"), {},
     {"msgtype": "getexecutormsg", "colonyname": "dev", "executorname": "e1"},
     EXECUTOR.to_dict(), EXECUTOR),
    ("get_executor_by_id", ("dev", KEY_ID), {},
     {"msgtype": "getexecutorbyidmsg", "colonyname": "dev", "executorid": KEY_ID},
     EXECUTOR.to_dict(), EXECUTOR),
    ("add_user", (USER,), {}, {"msgtype": "addusermsg", "user": USER.to_dict()},
     USER.to_dict(), USER),
    ("get_users", ("dev",), {}, {"msgtype": "getusersmsg", "colonyname": "dev"}, None, []),
    ("get_user", ("dev", "u"), {}, {"msgtype": "getusermsg", "colonyname": "dev", "name": "u"},
     USER.to_dict(), USER),
    ("remove_user", ("dev", "u"), {},
     {"msgtype": "removeusermsg", "colonyname": "dev", "name": "u"}, {}, None),
    ("submit", (SPEC,), {}, {"msgtype": "submitfuncspecmsg", "spec": SPEC.to_dict()},
     PROCESS, Process.from_dict(PROCESS)),
    ("assign", ("dev",), {"availablecpu": "1000m"},
     {"msgtype": "assignprocessmsg", "colonyname": "dev", "timeout": 10,
      "availablecpu": "1000m", "availablemem": ""}, PROCESS, Process.from_dict(PROCESS)),
    ("get_process", (PID,), {}, {"msgtype": "getprocessmsg", "processid": PID},
     PROCESS, Process.from_dict(PROCESS)),
    ("get_processes", ("dev", ProcessState.SUCCESS), {"count": 5, "label": "l"},
     {"msgtype": "getprocessesmsg", "colonyname": "dev", "count": 5, "state": 2,
      "executortype": "", "label": "l", "initiator": ""}, None, []),
    ("process_history", ("dev", 3, 60), {"executorid": KEY_ID},
     {"msgtype": "getprocesshistmsg", "colonyname": "dev", "executorid": KEY_ID,
      "seconds": 60, "state": 3}, [PROCESS], [Process.from_dict(PROCESS)]),
    ("set_output", (PID, [1, "a"]), {},
     {"msgtype": "setoutputmsg", "processid": PID, "out": [1, "a"]}, {}, None),
    ("close", (PID, ["r"]), {},
     {"msgtype": "closesuccessfulmsg", "processid": PID, "out": ["r"]}, {}, None),
    ("close", (PID,), {}, {"msgtype": "closesuccessfulmsg", "processid": PID}, {}, None),
    ("fail", (PID, ["boom"]), {},
     {"msgtype": "closefailedmsg", "processid": PID, "errors": ["boom"]}, {}, None),
    ("cancel", (PID,), {}, {"msgtype": "cancelprocessmsg", "processid": PID}, {}, None),
    ("remove_process", (PID,), {"all": True},
     {"msgtype": "removeprocessmsg", "processid": PID, "all": True}, {}, None),
    ("remove_all_processes", ("dev",), {},
     {"msgtype": "removeallprocessesmsg", "colonyname": "dev", "state": -1}, {}, None),
    ("add_attribute", (ATTRIBUTE,), {},
     {"msgtype": "addattributemsg", "attribute": ATTRIBUTE.to_dict()},
     ATTRIBUTE.to_dict(), ATTRIBUTE),
    ("get_attribute", ("b" * 64,), {}, {"msgtype": "getattributemsg", "attributeid": "b" * 64},
     ATTRIBUTE.to_dict(), ATTRIBUTE),
    ("add_log", (PID, "hello"), {},
     {"msgtype": "addlogmsg", "processid": PID, "message": "hello"}, {}, None),
    ("add_executor_log", ("dev", "e1", "hello"), {},
     {"msgtype": "addexecutorlogmsg", "colonyname": "dev", "executorname": "e1",
      "message": "hello"}, {}, None),
    ("get_logs", ("dev",), {"processid": PID, "since": 5, "latest": True},
     {"msgtype": "getlogsmsg", "colonyname": "dev", "processid": PID, "executorname": "",
      "count": 100, "since": 5, "latest": True}, [LOG], [Log.from_dict(LOG)]),
    ("add_function", (FUNCTION,), {}, {"msgtype": "addfunctionmsg", "fun": FUNCTION.to_dict()},
     FUNCTION.to_dict(), FUNCTION),
    ("get_functions", ("dev",), {},
     {"msgtype": "getfunctionsmsg", "colonyname": "dev", "executorname": ""},
     [FUNCTION.to_dict()], [FUNCTION]),
    ("remove_function", ("c" * 64,), {},
     {"msgtype": "removefunctionmsg", "functionid": "c" * 64}, {}, None),
    ("submit_workflow", (WORKFLOW,), {},
     {"msgtype": "submitworkflowspecmsg", "spec": WORKFLOW.to_dict()},
     GRAPH, ProcessGraph.from_dict(GRAPH)),
    ("get_processgraph", (GID,), {}, {"msgtype": "getprocessgraphmsg", "processgraphid": GID},
     GRAPH, ProcessGraph.from_dict(GRAPH)),
    ("get_processgraphs", ("dev", 5, ProcessState.FAILED), {},
     {"msgtype": "getprocessgraphsmsg", "colonyname": "dev", "count": 5, "state": 3},
     None, []),
    ("remove_processgraph", (GID,), {},
     {"msgtype": "removeprocessgraphmsg", "processgraphid": GID, "all": False}, {}, None),
    ("remove_all_processgraphs", ("dev",), {},
     {"msgtype": "removeallprocessgraphsmsg", "colonyname": "dev", "state": -1}, {}, None),
    ("cancel_processgraph", (GID,), {},
     {"msgtype": "cancelprocessgraphmsg", "processgraphid": GID}, {}, None),
    ("add_child", (GID, PID, "", SPEC, "n1", True), {},
     {"msgtype": "addchildmsg", "processgraphid": GID, "parentprocessid": PID,
      "childprocessid": "", "insert": True,
      "spec": {**SPEC.to_dict(), "nodename": "n1"}}, PROCESS, Process.from_dict(PROCESS)),
    ("add_cron", (CRON,), {}, {"msgtype": "addcronmsg", "cron": CRON.to_dict()},
     CRON.to_dict(), CRON),
    ("add_cron", (CRON_WF, WORKFLOW), {},
     {"msgtype": "addcronmsg", "cron": {**CRON_WF.to_dict(), "workflowspec": WF_JSON}},
     CRON.to_dict(), CRON),
    ("get_cron", (CID,), {}, {"msgtype": "getcronmsg", "cronid": CID}, CRON.to_dict(), CRON),
    ("get_crons", ("dev", 7), {}, {"msgtype": "getcronsmsg", "colonyname": "dev", "count": 7},
     [CRON.to_dict()], [CRON]),
    ("run_cron", (CID,), {}, {"msgtype": "runcronmsg", "cronid": CID}, CRON.to_dict(), CRON),
    ("remove_cron", (CID,), {}, {"msgtype": "removecronmsg", "cronid": CID, "all": False},
     {}, None),
    ("add_generator", (GEN,), {}, {"msgtype": "addgeneratormsg", "generator": GEN.to_dict()},
     GEN.to_dict(), GEN),
    ("add_generator", (GEN_WF, WORKFLOW), {},
     {"msgtype": "addgeneratormsg", "generator": {**GEN_WF.to_dict(), "workflowspec": WF_JSON}},
     GEN.to_dict(), GEN),
    ("get_generator", (CID,), {}, {"msgtype": "getgeneratormsg", "generatorid": CID},
     GEN.to_dict(), GEN),
    ("resolve_generator", ("dev", "g"), {},
     {"msgtype": "resolvegeneratormsg", "colonyname": "dev", "generatorname": "g"},
     GEN.to_dict(), GEN),
    ("get_generators", ("dev",), {},
     {"msgtype": "getgeneratorsmsg", "colonyname": "dev", "count": 100}, None, []),
    ("pack_generator", (CID, "x"), {},
     {"msgtype": "packgeneratormsg", "generatorid": CID, "arg": "x"}, {}, None),
    ("remove_generator", (CID,), {},
     {"msgtype": "removegeneratormsg", "generatorid": CID, "all": False}, {}, None),
]  # fmt: skip

# --- blueprints (spec §4.11): pycolonies' names; dicts are sent as they are
_BP = {"kind": "Web", "metadata": {"name": "b", "colonyname": "dev"}, "spec": {"n": 1}}
_BP_DEF = {"kind": "BlueprintDefinition", "metadata": {"name": "webs", "colonyname": "dev"}}
_BP_HIST = {"historyid": "h", "blueprintid": PID, "kind": "Web", "generation": 1}
CASES += [
    ("add_blueprint_definition", (_BP_DEF,), {},
     {"msgtype": "addblueprintdefinitionmsg", "blueprintdefinition": _BP_DEF},
     _BP_DEF, model.BlueprintDefinition.from_dict(_BP_DEF)),
    ("get_blueprint_definition", ("dev", "webs"), {},
     {"msgtype": "getblueprintdefinitionmsg", "colonyname": "dev", "name": "webs"},
     _BP_DEF, model.BlueprintDefinition.from_dict(_BP_DEF)),
    ("get_blueprint_definitions", ("dev",), {},
     {"msgtype": "getblueprintdefinitionsmsg", "colonyname": "dev"}, None, []),
    ("remove_blueprint_definition", ("dev", "webs"), {},
     {"msgtype": "removeblueprintdefinitionmsg", "namespace": "dev", "name": "webs"}, {}, None),
    ("add_blueprint", (model.Blueprint.from_dict(_BP),), {},
     {"msgtype": "addblueprintmsg", "blueprint": model.Blueprint.from_dict(_BP).to_dict()},
     _BP, model.Blueprint.from_dict(_BP)),
    ("get_blueprint", ("dev", "b"), {},
     {"msgtype": "getblueprintmsg", "namespace": "dev", "name": "b"},
     _BP, model.Blueprint.from_dict(_BP)),
    ("get_blueprints", ("dev", "Web", "lab"), {},
     {"msgtype": "getblueprintsmsg", "namespace": "dev", "kind": "Web", "locationname": "lab"},
     [_BP], [model.Blueprint.from_dict(_BP)]),
    ("update_blueprint", (_BP, True), {},
     {"msgtype": "updateblueprintmsg", "blueprint": _BP, "forcegeneration": True},
     _BP, model.Blueprint.from_dict(_BP)),
    ("remove_blueprint", ("dev", "b"), {},
     {"msgtype": "removeblueprintmsg", "namespace": "dev", "name": "b"}, {}, None),
    ("update_blueprint_status", ("dev", "b", {"ok": True}), {},
     {"msgtype": "updateblueprintstatusmsg", "colonyname": "dev", "blueprintname": "b",
      "status": {"ok": True}}, {}, None),
    ("reconcile_blueprint", ("dev", "b"), {"force": True},
     {"msgtype": "reconcileblueprintmsg", "namespace": "dev", "name": "b", "force": True},
     PROCESS, Process.from_dict(PROCESS)),
    ("get_blueprint_history", (PID,), {"limit": 5},
     {"msgtype": "getblueprinthistorymsg", "blueprintid": PID, "limit": 5},
     [_BP_HIST], [model.BlueprintHistory.from_dict(_BP_HIST)]),
]  # fmt: skip

# --- channels (spec §4.10): payloads go as base64 (Go's []byte), entries come back as bytes
_ENTRY = {
    "sequence": 2,
    "timestamp": "2026-01-01T00:00:00Z",
    "senderid": KEY_ID,
    "payload": "aGk=",
    "type": "end",
}
CASES += [
    ("channel_append", (PID, "out", 1, "hi"), {},
     {"msgtype": "channelappendmsg", "processid": PID, "name": "out", "sequence": 1,
      "inreplyto": 0, "payload": "aGk=", "payloadtype": ""}, {}, None),
    ("channel_append", (PID, "out", 2, b"\x00"), {"inreplyto": 1, "payloadtype": "end"},
     {"msgtype": "channelappendmsg", "processid": PID, "name": "out", "sequence": 2,
      "inreplyto": 1, "payload": "AA==", "payloadtype": "end"}, {}, None),
    ("channel_read", (PID, "out"), {"afterseq": 1, "limit": 5},
     {"msgtype": "channelreadmsg", "processid": PID, "name": "out", "afterseq": 1, "limit": 5},
     [_ENTRY], [model.ChannelEntry(sequence=2, timestamp="2026-01-01T00:00:00Z",
                                   senderid=KEY_ID, payload=b"hi", type="end")]),
    ("channel_read", (PID, "out"), {}, {"msgtype": "channelreadmsg", "processid": PID,
     "name": "out", "afterseq": 0, "limit": 0}, None, []),
]  # fmt: skip

# --- ID rotation, cluster, users by ID (spec §4.4, §4.12)
_NODE: dict[str, Any] = {"name": "n1", "host": "h1", "peerport": 1, "relayport": 2, "apiport": 3}
CASES += [
    ("change_user_id", ("dev", KEY_ID), {},
     {"msgtype": "changeuseridmsg", "colonyname": "dev", "userid": KEY_ID}, {}, None),
    ("change_executor_id", ("dev", KEY_ID), {},
     {"msgtype": "changeexecutoridmsg", "colonyname": "dev", "executorid": KEY_ID}, {}, None),
    ("change_colony_id", ("dev", COLONY_ID), {},
     {"msgtype": "changecolonyidmsg", "colonyname": "dev", "colonyid": COLONY_ID}, {}, None),
    ("change_server_id", (KEY_ID,), {},
     {"msgtype": "changeserveridmsg", "serverid": KEY_ID}, {}, None),
    ("get_cluster", (), {}, {"msgtype": "getclustermsg"}, {"nodes": [_NODE], "leader": _NODE},
     model.Cluster(nodes=[model.ClusterNode(**_NODE)], leader=model.ClusterNode(**_NODE))),
    ("get_user_by_id", ("dev", KEY_ID), {},
     {"msgtype": "getuserbyidmsg", "colonyname": "dev", "userid": KEY_ID},
     USER.to_dict(), USER),
]  # fmt: skip

# --- locations, pausing, log search, executor updates (spec §4.3-4.7)
_LOC = model.Location(locationid="f" * 64, name="lab", colonyname="dev", long=18.1, lat=59.3)
_CAPS = model.Capabilities(
    hardware=[model.Hardware(cpu="4000m", cores=4, gpu=model.GPU(name="a100", count=1))],
    software=[model.Software(name="python", type="runtime", version="3.11")],
)
_ALLOC = model.Allocations(projects={"p": model.ProjectAllocation(allocatedcpu=8, usedcpu=2)})
CASES += [
    ("add_location", (_LOC,), {}, {"msgtype": "addlocationmsg", "location": _LOC.to_dict()},
     _LOC.to_dict(), _LOC),
    ("get_locations", ("dev",), {}, {"msgtype": "getlocationsmsg", "colonyname": "dev"},
     [_LOC.to_dict()], [_LOC]),
    ("get_locations", ("dev",), {}, {"msgtype": "getlocationsmsg", "colonyname": "dev"},
     None, []),
    ("get_location", ("dev", "lab"), {},
     {"msgtype": "getlocationmsg", "colonyname": "dev", "name": "lab"}, _LOC.to_dict(), _LOC),
    ("remove_location", ("dev", "lab"), {},
     {"msgtype": "removelocationmsg", "colonyname": "dev", "name": "lab"}, {}, None),
    ("pause_assignments", ("dev",), {},
     {"msgtype": "pauseassignmentsmsg", "colonyname": "dev"}, {}, None),
    ("resume_assignments", ("dev",), {},
     {"msgtype": "resumeassignmentsmsg", "colonyname": "dev"}, {}, None),
    ("get_pause_status", ("dev",), {}, {"msgtype": "getpausestatusmsg", "colonyname": "dev"},
     {"msgtype": "pausestatusreplymsg", "colonyname": "dev", "ispaused": True}, True),
    ("get_pause_status", ("dev",), {}, {"msgtype": "getpausestatusmsg", "colonyname": "dev"},
     {"colonyname": "dev", "ispaused": False}, False),
    ("search_logs", ("dev", "boom"), {},
     {"msgtype": "searchlogsmsg", "colonyname": "dev", "text": "boom", "days": 1, "count": 10},
     None, []),
    ("search_logs", ("dev", "boom", 7, 50), {},
     {"msgtype": "searchlogsmsg", "colonyname": "dev", "text": "boom", "days": 7, "count": 50},
     [LOG], [Log.from_dict(LOG)]),
    ("update_executor", ("dev", "e1", _CAPS), {},
     {"msgtype": "updateexecutormsg", "colonyname": "dev", "executorname": "e1",
      "capabilities": _CAPS.to_dict()}, {}, None),
    ("report_allocation", ("dev", "e1", _ALLOC), {},
     {"msgtype": "reportallocationmsg", "colonyname": "dev", "executorname": "e1",
      "allocations": _ALLOC.to_dict()}, {}, None),
]  # fmt: skip

# --- pycolonies' names: each sends what pycolonies sends (its fields and values; where ours
# has more, they are the Go message's other fields at their zero values)
CASES += [
    ("del_colony", ("dev",), {}, {"msgtype": "removecolonymsg", "colonyname": "dev"}, {}, None),
    ("list_colonies", (), {}, {"msgtype": "getcoloniesmsg"}, [COLONY.to_dict()], [COLONY]),
    ("list_executors", ("dev",), {}, {"msgtype": "getexecutorsmsg", "colonyname": "dev"},
     [EXECUTOR.to_dict()], [EXECUTOR]),
    ("submit_func_spec", (SPEC,), {}, {"msgtype": "submitfuncspecmsg", "spec": SPEC.to_dict()},
     PROCESS, Process.from_dict(PROCESS)),
    ("list_processes", ("dev", 5, ProcessState.WAITING), {},
     {"msgtype": "getprocessesmsg", "colonyname": "dev", "count": 5, "state": 0,
      "executortype": "", "label": "", "initiator": ""}, [PROCESS], [Process.from_dict(PROCESS)]),
    ("stats", ("dev",), {}, {"msgtype": "getcolonystatsmsg", "colonyname": "dev"},
     {"colonies": 1, "runningprocesses": 4}, Statistics(colonies=1, runningprocesses=4)),
    ("get_functions_by_executor", ("dev", "e1"), {},
     {"msgtype": "getfunctionsmsg", "colonyname": "dev", "executorname": "e1"},
     [FUNCTION.to_dict()], [FUNCTION]),
    ("get_functions_by_colony", ("dev",), {},
     {"msgtype": "getfunctionsmsg", "colonyname": "dev", "executorname": ""}, None, []),
    ("get_process_log", ("dev", PID, 10, 3), {},
     {"msgtype": "getlogsmsg", "colonyname": "dev", "processid": PID, "executorname": "",
      "count": 10, "since": 3, "latest": False}, [LOG], [Log.from_dict(LOG)]),
    ("get_process_log", ("dev", PID), {},
     {"msgtype": "getlogsmsg", "colonyname": "dev", "processid": PID, "executorname": "",
      "count": 100, "since": 0, "latest": False}, None, []),
    ("get_executor_log", ("dev", "e1", 10, 3), {},
     {"msgtype": "getlogsmsg", "colonyname": "dev", "processid": "", "executorname": "e1",
      "count": 10, "since": 3, "latest": False}, [LOG], [Log.from_dict(LOG)]),
    ("del_cron", (CID,), {}, {"msgtype": "removecronmsg", "cronid": CID, "all": False},
     {}, None),
]  # fmt: skip

# --- files and snapshots (ColonyFS, spec §4.9): the metadata calls; bytes are composites
_FID = "1" * 64
_SID = "2" * 64
_FILE = model.File(fileid=_FID, colonyname="dev", label="/docs", name="a.txt", size=3,
                   sequencenr=2, checksum="ab", checksumalg="SHA256",
                   ref=model.Reference(protocol="s3", s3object=model.S3Object(
                       server="s3.test", port=9000, object="o", bucket="b")))  # fmt: skip
_FILEDATA: dict[str, Any] = {"name": "a.txt", "checksum": "ab", "size": 3, "s3filename": "o"}
_SNAP = model.Snapshot(snapshotid=_SID, colonyname="dev", label="/docs", name="s",
                       fileids=[_FID], added="2026-01-01T00:00:00Z")  # fmt: skip
CASES += [
    ("get_file", ("dev",), {"label": "/docs", "filename": "a.txt"},
     {"msgtype": "getfilemsg", "colonyname": "dev", "fileid": "", "label": "/docs",
      "name": "a.txt", "latest": True}, [_FILE.to_dict()], [_FILE]),
    ("get_file", ("dev",), {"fileid": _FID, "latest": False},
     {"msgtype": "getfilemsg", "colonyname": "dev", "fileid": _FID, "label": "", "name": "",
      "latest": False}, None, []),
    ("get_files", ("dev", "/docs"), {},
     {"msgtype": "getfilesmsg", "colonyname": "dev", "label": "/docs"},
     [_FILEDATA], [model.FileData(**_FILEDATA)]),
    ("get_file_labels", ("dev",), {},
     {"msgtype": "getfilelabelsmsg", "colonyname": "dev", "name": "", "exact": False},
     None, []),
    ("get_file_labels", ("dev", "/docs", True), {},
     {"msgtype": "getfilelabelsmsg", "colonyname": "dev", "name": "/docs", "exact": True},
     [{"name": "/docs", "files": 2}], [model.Label(name="/docs", files=2)]),
    ("create_snapshot", ("dev", "/docs", "s"), {},
     {"msgtype": "createsnapshotmsg", "colonyname": "dev", "label": "/docs", "name": "s"},
     _SNAP.to_dict(), _SNAP),
    ("get_snapshot_by_id", ("dev", _SID), {},
     {"msgtype": "getsnapshotmsg", "colonyname": "dev", "snapshotid": _SID, "name": ""},
     _SNAP.to_dict(), _SNAP),
    ("get_snapshot_by_name", ("dev", "s"), {},
     {"msgtype": "getsnapshotmsg", "colonyname": "dev", "snapshotid": "", "name": "s"},
     _SNAP.to_dict(), _SNAP),
    ("get_snapshots", ("dev",), {}, {"msgtype": "getsnapshotsmsg", "colonyname": "dev"},
     [_SNAP.to_dict()], [_SNAP]),
    ("get_snapshots", ("dev",), {}, {"msgtype": "getsnapshotsmsg", "colonyname": "dev"},
     None, []),
    ("remove_snapshot", ("dev",), {"name": "s"},
     {"msgtype": "removesnapshotmsg", "colonyname": "dev", "snapshotid": "", "name": "s"},
     {}, None),
    ("remove_snapshot", ("dev",), {"snapshotid": _SID},
     {"msgtype": "removesnapshotmsg", "colonyname": "dev", "snapshotid": _SID, "name": ""},
     {}, None),
    ("remove_all_snapshots", ("dev",), {},
     {"msgtype": "removeallsnapshotmsg", "colonyname": "dev"}, {}, None),
]  # fmt: skip

STREAMS = {"subscribe_channel"}  # /pubsub iterators: an async generator on AsyncClient
# Methods that are not one RPC, so not a CASES row: where each is exercised (sync and async).
# ColonyFS bytes go to an S3 or local object store besides the metadata calls.
COMPOSITES = {
    "upload_file": "test_files.py",
    "upload_data": "test_files.py",
    "download_file": "test_files.py",
    "download_data": "test_files.py",
    "delete_file": "test_files.py",
    "download_snapshot": "test_files.py",
    "sync": "test_files.py",  # and test_cli_fs.py through `colonies fs sync`
    # several get_process calls: the exact sequence is checked below, live in test_client_live.py
    "find_process": "test_client_unit.py",
    "get_processes_for_workflow": "test_client_unit.py",
}


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "sent", "reply", "expected"),
    CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(CASES)],
)
async def test_each_method_sends_its_message_and_decodes_the_reply(
    kind: type[AnyClient],
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    sent: dict[str, Any],
    reply: Any,
    expected: Any,
) -> None:
    server = FakeServer(reply)
    result = await invoke(make(kind, server), method, *args, **kwargs)
    assert server.sent == [(sent, KEY_ID)]
    assert result == expected


def test_every_rpc_method_is_covered_and_both_clients_match() -> None:
    public = {n for n in vars(Client) if not n.startswith("_")}
    lifecycle = {"close_transport", "wait", "wait_processgraph", "server_info", "version"}
    assert public - lifecycle - STREAMS - COMPOSITES.keys() == {case[0] for case in CASES}
    for name, where in COMPOSITES.items():
        assert name in public, name
        text = (Path(__file__).parent / where).read_text()
        assert f".{name}(" in text or f'"{name}", ' in text, (name, where)
    for name in STREAMS:
        sync, asyn = inspect.signature(getattr(Client, name)), getattr(AsyncClient, name)
        assert sync.replace(return_annotation=None) == inspect.signature(asyn).replace(
            return_annotation=None
        ), name
        assert inspect.isasyncgenfunction(asyn), name
    for name in public - STREAMS:
        sync, asyn = getattr(Client, name), getattr(AsyncClient, name)
        assert inspect.signature(sync) == inspect.signature(asyn), name
        assert inspect.iscoroutinefunction(asyn), name


# pycolonies' call (its arguments, prvkey appended) next to ours for the same message
PYCOLONIES_TWINS: list[tuple[str, tuple[Any, ...], tuple[Any, ...]]] = [
    ("del_colony", ("dev",), ("dev",)),
    ("list_colonies", (), ()),
    ("list_executors", ("dev",), ("dev",)),
    ("list_processes", ("dev", 5, 0), ("dev", 5, 0)),
    ("stats", ("dev",), ("dev",)),
    ("get_functions_by_executor", ("dev", "e1"), ("dev", "e1")),
    ("get_functions_by_colony", ("dev",), ("dev",)),
    ("get_process_log", ("dev", PID, 10, 3), ("dev", PID, 10, 3)),
    ("get_executor_log", ("dev", "e1", 10, 3), ("dev", "e1", 10, 3)),
    ("del_cron", (CID,), (CID,)),
    ("create_snapshot", ("dev", "/docs", "s"), ("dev", "/docs", "s")),
    ("get_snapshots", ("dev",), ("dev",)),
    ("get_snapshot_by_id", ("dev", _SID), ("dev", _SID)),
    ("get_snapshot_by_name", ("dev", "s"), ("dev", "s")),
    ("get_files", ("/docs", "dev"), ("dev", "/docs")),  # pycolonies: label first
]


@pytest.mark.parametrize(
    ("method", "theirs", "ours"), PYCOLONIES_TWINS, ids=[twin[0] for twin in PYCOLONIES_TWINS]
)
async def test_pycolonies_names_send_what_pycolonies_sends(
    kind: type[AnyClient], method: str, theirs: tuple[Any, ...], ours: tuple[Any, ...]
) -> None:
    sent: list[dict[str, Any]] = []
    upstream = pycolonies.Colonies("colonies.test", 50080)
    upstream._Colonies__rpc = lambda msg, prvkey: sent.append(msg)  # its one way out
    getattr(upstream, method)(*theirs, KEY)
    server = FakeServer(next(case[4] for case in CASES if case[0] == method))
    await invoke(make(kind, server), method, *ours)
    [(mine, _)] = server.sent
    # Go ignores fields it does not know (pycolonies' getlogsmsg "executorid"); the fields only
    # we send are the Go message's other fields at their zero values
    assert {k: v for k, v in sent[0].items() if k in mine} == {
        k: v for k, v in mine.items() if k in sent[0]
    }
    assert set(sent[0]) - set(mine) <= {"executorid"}
    assert not any(mine[k] for k in set(mine) - set(sent[0])), mine


def _node(nodename: str, pid: str) -> dict[str, Any]:
    spec = FunctionSpec(nodename=nodename, funcname="f", conditions=Conditions(colonyname="dev"))
    return Process(processid=pid, processgraphid=GID, spec=spec).to_dict()


NODES = {pid: _node(name, pid) for name, pid in (("a", "1" * 64), ("b", "2" * 64))}


def graph_server(msg: dict[str, Any]) -> Any:
    if msg["msgtype"] == "getprocessgraphmsg":
        return {**GRAPH, "processids": list(NODES)}
    return NODES[msg["processid"]]


def get_process_msg(pid: str) -> tuple[dict[str, Any], str]:
    return {"msgtype": "getprocessmsg", "processid": pid}, KEY_ID


async def test_find_process_reads_processes_until_the_node_matches(
    kind: type[AnyClient],
) -> None:
    a, b = NODES
    server = FakeServer(graph_server)
    client = make(kind, server)
    assert await invoke(client, "find_process", "a", [a, b]) == Process.from_dict(NODES[a])
    assert server.sent == [get_process_msg(a)]  # stops at the first match
    server.sent.clear()
    assert await invoke(client, "find_process", "c", [a, b]) is None
    assert server.sent == [get_process_msg(a), get_process_msg(b)]
    server.sent.clear()
    assert await invoke(client, "find_process", "a", []) is None
    assert server.sent == []


async def test_get_processes_for_workflow_reads_the_graph_then_its_processes(
    kind: type[AnyClient],
) -> None:
    # pycolonies sends getprocessesmsg with a processgraphid, which the Go server ignores
    a, b = NODES
    server = FakeServer(graph_server)
    client = make(kind, server)
    graph_msg = {"msgtype": "getprocessgraphmsg", "processgraphid": GID}, KEY_ID
    expected = [Process.from_dict(NODES[a]), Process.from_dict(NODES[b])]
    assert await invoke(client, "get_processes_for_workflow", GID, "dev") == expected
    assert server.sent == [graph_msg, get_process_msg(a), get_process_msg(b)]
    server.sent.clear()
    assert await invoke(client, "get_processes_for_workflow", GID, count=1) == expected[:1]
    assert server.sent == [graph_msg, get_process_msg(a)]


async def test_unsigned_messages_need_no_key(kind: type[AnyClient]) -> None:
    info = {"buildversion": "dev", "buildtime": "t", "backends": [{"type": "http", "port": 1}]}
    server = FakeServer(lambda msg: info if msg["msgtype"] == "getserverinfomsg" else {"v": 1})
    client = kind(transport=MockTransport(server))
    assert await invoke(client, "server_info") == ServerInfo.from_dict(info)
    assert await invoke(client, "version") == {"v": 1}
    assert server.sent == [
        ({"msgtype": "getserverinfomsg"}, ""),
        ({"msgtype": "versionmsg", "buildversion": "", "buildtime": ""}, ""),
    ]


async def test_signed_message_without_a_key_is_a_usage_error(kind: type[AnyClient]) -> None:
    client = kind(transport=MockTransport(FakeServer({})))
    with pytest.raises(ValueError, match="getcolonymsg must be signed"):
        await invoke(client, "get_colony", "dev")


async def test_prvkey_argument_overrides_the_default_key(kind: type[AnyClient]) -> None:
    server = FakeServer({})
    await invoke(make(kind, server), "approve_executor", "dev", "e1", prvkey=COLONY_KEY)
    assert server.sent[0][1] == COLONY_ID


# --- errors ---------------------------------------------------------------------------------


async def test_error_envelope_maps_to_the_status_class(kind: type[AnyClient]) -> None:
    denied = (403, rpc.build_error(403, "Access denied, not colony owner"))
    with pytest.raises(errors.AccessDeniedError) as info:
        await invoke(make(kind, FakeServer(denied)), "add_executor", EXECUTOR)
    assert (info.value.status, info.value.message) == (403, "Access denied, not colony owner")


async def test_assign_404_is_no_process_available(kind: type[AnyClient]) -> None:
    empty = (404, rpc.build_error(404, errors.NO_PROCESS_MESSAGE))
    with pytest.raises(errors.NoProcessAvailable):
        await invoke(make(kind, FakeServer(empty)), "assign", "dev", 1)


@pytest.mark.parametrize("body", ["<html>Bad gateway</html>", ""])
async def test_a_reply_that_is_not_an_envelope_is_a_protocol_error(
    kind: type[AnyClient], body: str
) -> None:
    with pytest.raises(errors.ProtocolError):
        await invoke(make(kind, FakeServer((200, body))), "get_colony", "dev")


async def test_a_reply_that_does_not_fit_the_model_is_a_protocol_error(
    kind: type[AnyClient],
) -> None:
    with pytest.raises(errors.ProtocolError, match="getcoloniesmsg"):
        await invoke(make(kind, FakeServer({"name": "dev"})), "get_colonies")
    with pytest.raises(errors.ProtocolError, match="getcolonymsg"):
        await invoke(make(kind, FakeServer({"name": 5})), "get_colony", "dev")


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connection_refused_is_a_transport_error_naming_the_url(
    kind: type[AnyClient],
) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    client = kind(url, KEY, timeout=5)
    try:
        with pytest.raises(errors.TransportError, match=f"{url}/api"):
            await invoke(client, "get_colony", "dev")
        with pytest.raises(errors.TransportError, match=f"{url}/api"):
            await invoke(client, "server_info")
    finally:
        await invoke(client, "close_transport")


def test_websocket_connection_refused_is_a_transport_error() -> None:
    url = f"ws://127.0.0.1:{unused_port()}/pubsub"
    transport = HTTPXTransport()
    with pytest.raises(errors.TransportError, match=url):
        transport.connect(url, 5)
    transport.close()


async def test_async_websocket_connection_refused_is_a_transport_error() -> None:
    url = f"ws://127.0.0.1:{unused_port()}/pubsub"
    transport = AsyncHTTPTransport()
    with pytest.raises(errors.TransportError, match=url):
        await transport.aconnect(url, 5)
    await transport.aclose()


# --- timeouts, transports, configuration ---------------------------------------------------


class RecordingTransport(MockTransport):
    def __init__(self, handler: Callable[[str], tuple[int, str]]) -> None:
        super().__init__(handler)
        self.timeouts: list[float | None] = []
        self.closed = 0

    def post(self, url: str, body: str, timeout: float | None) -> tuple[int, str]:
        assert url == "http://colonies.test:50080/api"
        self.timeouts.append(timeout)
        return super().post(url, body, timeout)

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


async def test_assign_http_timeout_outlasts_the_long_poll(kind: type[AnyClient]) -> None:
    transport = RecordingTransport(FakeServer(PROCESS))
    client = kind("http://colonies.test:50080/", KEY, transport=transport, timeout=5)
    await invoke(client, "get_process", PID)
    await invoke(client, "assign", "dev", 60)
    await invoke(client, "assign", "dev", 1)
    assert transport.timeouts == [5, 60 + requests.ASSIGN_MARGIN, 1 + requests.ASSIGN_MARGIN]


def test_context_manager_closes_the_transport() -> None:
    transport = RecordingTransport(FakeServer())
    with Client(transport=transport) as client:
        assert isinstance(client, Client)
    assert transport.closed == 1


async def test_async_context_manager_closes_the_transport() -> None:
    transport = RecordingTransport(FakeServer())
    async with AsyncClient(transport=transport) as client:
        assert isinstance(client, AsyncClient)
    assert transport.closed == 1


def test_default_transports() -> None:
    with Client() as client:
        assert isinstance(client._transport, HTTPXTransport)
    assert isinstance(AsyncClient()._transport, AsyncHTTPTransport)


def test_config_defaults_and_precedence() -> None:
    assert from_env({}) == ClientConfig("localhost", 50080, False, None)
    env = {
        "COLONIES_SERVER_HOST": "example.org",
        "COLONIES_SERVER_HTTP_PORT": "8080",
        "COLONIES_SERVER_PORT": "9090",
        "COLONIES_TLS": "true",
        "COLONIES_PRVKEY": KEY,
    }
    assert from_env(env) == ClientConfig("example.org", 8080, True, KEY)
    assert from_env(env).url == "https://example.org:8080"
    assert from_env({"COLONIES_SERVER_PORT": "9090", "COLONIES_TLS": "false"}).url == (
        "http://localhost:9090"
    )
    with pytest.raises(ValueError, match="port"):
        from_env({"COLONIES_SERVER_PORT": "http"})


def test_client_from_env(kind: type[AnyClient]) -> None:
    env = {"COLONIES_SERVER_HOST": "h", "COLONIES_TLS": "true", "COLONIES_PRVKEY": KEY}
    client = kind.from_env(environ=env, transport=MockTransport(FakeServer()), timeout=3)
    assert (client.url, client.prvkey, client.timeout) == ("https://h:50080", KEY, 3)
    assert client._pubsub_url == "wss://h:50080/pubsub"


def test_urls_keep_a_path_prefix_and_need_a_scheme() -> None:
    client = Client("http://proxy:80/colonies/", transport=MockTransport(FakeServer()))
    assert (client._api_url, client._pubsub_url) == (
        "http://proxy:80/colonies/api",
        "ws://proxy:80/colonies/pubsub",
    )
    with pytest.raises(ValueError, match="http"):
        Client("localhost:50080", transport=MockTransport(FakeServer()))


def test_exported_names() -> None:
    import colonies.client

    assert sorted(colonies.client.__all__) == [
        "AsyncClient",
        "AsyncHTTPTransport",
        "AsyncSocketTransport",
        "AsyncTransport",
        "AsyncWebSocket",
        "Client",
        "ClientConfig",
        "HTTPXTransport",
        "MockTransport",
        "Transport",
        "WebSocket",
        "WebSocketClosed",
        "from_env",
    ]


def test_import_does_not_load_httpx_or_websockets() -> None:
    src = Path(colonies.__file__).parent.parent
    code = (
        "import sys, colonies.client\n"
        "native = ('httpx', 'aiohttp', 'websockets')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in native]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(src)})


# --- wait -----------------------------------------------------------------------------------


def process(state: int) -> dict[str, Any]:
    return {**PROCESS, "state": state}


def event(state: int) -> str:
    return rpc.build_reply("subscribeprocessmsg", process(state))


class PubSub:
    """Plays the server's ``/pubsub``: one scripted answer per socket (``None`` = close)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.sockets: list[list[dict[str, Any]]] = []

    def __call__(self, frames: list[str]) -> str | None:
        self.sockets.append([decode(frame)[0] for frame in frames])
        return self.answers.pop(0) if self.answers else None


def subscription(state: int, timeout: int) -> dict[str, Any]:
    return {
        "msgtype": "subscribeprocessmsg",
        "colonyname": "dev",
        "processid": PID,
        "executortype": "cli",
        "state": state,
        "timeout": timeout,
    }


async def test_wait_returns_the_process_reread_after_the_event(kind: type[AnyClient]) -> None:
    states = iter([ProcessState.RUNNING, ProcessState.SUCCESS])
    server = FakeServer(lambda msg: process(next(states)))
    pubsub = PubSub(event(ProcessState.SUCCESS))
    result = await invoke(make(kind, server, pubsub=pubsub), "wait", PID)
    assert result.state == ProcessState.SUCCESS and result.output == ["x"]
    assert [msg["msgtype"] for msg, _ in server.sent] == ["getprocessmsg", "getprocessmsg"]
    assert pubsub.sockets == [[subscription(2, 60), subscription(3, 60), subscription(4, 60)]]


async def test_wait_with_type_and_colony_subscribes_at_once(kind: type[AnyClient]) -> None:
    server = FakeServer(process(ProcessState.FAILED))
    pubsub = PubSub(event(ProcessState.FAILED))
    client = make(kind, server, pubsub=pubsub)
    result = await invoke(client, "wait", PID, 7.5, executortype="cli", colonyname="dev")
    assert result.state == ProcessState.FAILED
    assert len(server.sent) == 1
    assert pubsub.sockets == [[subscription(2, 8), subscription(3, 8), subscription(4, 8)]]


async def test_wait_returns_at_once_if_already_finished(kind: type[AnyClient]) -> None:
    server = FakeServer(process(ProcessState.CANCELLED))
    result = await invoke(make(kind, server), "wait", PID)  # no pubsub: a socket would fail
    assert result.state == ProcessState.CANCELLED


async def test_wait_raises_an_error_frame(kind: type[AnyClient]) -> None:
    pubsub = PubSub(rpc.build_error(403, f"Invalid process with Id {PID}"))
    client = make(kind, FakeServer(process(ProcessState.RUNNING)), pubsub=pubsub)
    with pytest.raises(errors.AccessDeniedError, match="Invalid process"):
        await invoke(client, "wait", PID)


async def test_wait_outlasts_a_subscription_cap(
    kind: type[AnyClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 error frame (the server's subscriptions per key are used up) is no failure: the
    process is re-read and the wait subscribes again."""
    monkeypatch.setattr(requests, "MIN_ROUND", 0.0)
    states = iter([ProcessState.RUNNING, ProcessState.RUNNING, ProcessState.SUCCESS])
    server = FakeServer(lambda msg: process(next(states)))
    too_many = rpc.build_error(429, "Too many subscriptions for this key (max 1024)")
    pubsub = PubSub(too_many, too_many)
    result = await invoke(make(kind, server, pubsub=pubsub), "wait", PID)
    assert result.state == ProcessState.SUCCESS
    assert len(pubsub.sockets) == 2


async def test_wait_reconnects_when_the_server_closes_and_notices_cancel(
    kind: type[AnyClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requests, "MIN_ROUND", 0.0)
    states = iter([ProcessState.RUNNING, ProcessState.RUNNING, ProcessState.CANCELLED])
    server = FakeServer(lambda msg: process(next(states)))
    pubsub = PubSub(None, None)
    result = await invoke(make(kind, server, pubsub=pubsub), "wait", PID)
    assert result.state == ProcessState.CANCELLED
    assert len(pubsub.sockets) == 2


async def test_wait_times_out(kind: type[AnyClient], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "MIN_ROUND", 0.0)
    pubsub = PubSub()
    client = make(kind, FakeServer(process(ProcessState.RUNNING)), pubsub=pubsub)
    with pytest.raises(errors.WaitTimeout):
        await invoke(client, "wait", PID, 0.05)
    assert pubsub.sockets[0][0]["timeout"] == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drive(
    flow: requests.Flow[Process],
    clock: Clock,
    reads: Callable[[], Process],
    close_after: Callable[[int], float],
) -> tuple[list[int], list[float], float]:
    """Play the server for a wait flow on a fake clock: each socket stays silent and closes
    ``close_after(timeout)`` s after its subscriptions; ``get_process`` answers ``reads()``.

    Returns the subscription timeouts, the times (since its subscription) of every re-read
    made while a socket was open, and the total time slept; the flow's result or error
    propagates.
    """
    timeouts: list[int] = []
    rereads: list[float] = []
    slept = 0.0
    subscribed = closes = math.inf
    step = next(flow)
    while True:
        reply: Any = None
        if isinstance(step, requests.Subscribe):
            timeouts.append(decode(step.subscriptions[0].body(KEY))[0]["timeout"])
            subscribed, closes = clock.now, clock.now + close_after(timeouts[-1])
        elif isinstance(step, requests.Receive):
            assert step.timeout > 0
            if clock.now + step.timeout >= closes:
                clock.now, subscribed, reply = closes, math.inf, requests.Quiet.CLOSED
            else:
                clock.now += step.timeout
                reply = requests.Quiet.TIMEOUT
        elif isinstance(step, requests.Sleep):
            slept += step.seconds
            clock.now += step.seconds
        else:
            assert step.msg == {"msgtype": "getprocessmsg", "processid": PID}
            if subscribed != math.inf:
                rereads.append(round(clock.now - subscribed, 6))
            reply = reads()
        try:
            step = flow.send(reply)
        except StopIteration:
            return timeouts, rereads, slept


def test_wait_flow_shrinks_subscriptions_to_the_deadline_and_paces_rounds() -> None:
    clock = Clock()
    running = Process.from_dict(process(ProcessState.RUNNING))
    flow = requests.wait(PID, 120.5, executortype="cli", colonyname="dev", clock=clock)
    seen: list[int] = []

    def close_after(timeout: int) -> float:
        seen.append(timeout)
        return timeout if timeout > 1 else 0.25  # the last round's server closes early

    with pytest.raises(errors.WaitTimeout, match=PID):
        drive(flow, clock, lambda: running, close_after)
    assert seen == [60, 60, 1]


def test_wait_flow_paces_rounds_a_server_closes_at_once() -> None:
    clock = Clock()
    running = Process.from_dict(process(ProcessState.RUNNING))
    flow = requests.wait(PID, 3, executortype="cli", colonyname="dev", clock=clock)
    with pytest.raises(errors.WaitTimeout):
        drive(flow, clock, lambda: running, lambda timeout: 0.05)
    # Each round: 0.05 s of socket, a re-read, then a sleep that fills it up to MIN_ROUND.
    assert math.isclose(clock.now - 1000.0, 3 * requests.MIN_ROUND)


def test_wait_flow_rechecks_the_process_while_the_socket_is_silent() -> None:
    clock = Clock()
    running = Process.from_dict(process(ProcessState.RUNNING))
    done = Process.from_dict(process(ProcessState.SUCCESS))
    reads = iter([running] * 11 + [done])
    flow = requests.wait(PID, None, executortype="cli", colonyname="dev", clock=clock)
    timeouts, rereads, slept = drive(flow, clock, lambda: next(reads), lambda timeout: timeout)
    # Close together first (a close racing the subscription is found at once), then sparse.
    assert rereads == [0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    assert timeouts == [60] and slept == 0


def test_wait_flow_rechecks_every_round_and_never_gives_up() -> None:
    clock = Clock()
    running = Process.from_dict(process(ProcessState.RUNNING))
    count = 0

    def reads() -> Process:
        nonlocal count
        count += 1
        if count > 10_000:
            raise AssertionError("still waiting, as it should")
        return running

    flow = requests.wait(PID, None, executortype="cli", colonyname="dev", clock=clock)
    with pytest.raises(AssertionError, match="as it should"):
        drive(flow, clock, reads, lambda timeout: timeout)
    assert clock.now - 1000.0 > 8 * 3600  # hours of 60 s rounds, ~19 re-reads each


async def test_wait_finds_a_close_whose_event_never_comes(kind: type[AnyClient]) -> None:
    """The Go server's subscription race: the process closes, the socket stays silent. The
    re-reads find the close within a second (not at the end of the 60 s round)."""
    closes_at = time.monotonic() + 0.3
    server = FakeServer(
        lambda msg: process(
            ProcessState.SUCCESS if time.monotonic() >= closes_at else ProcessState.RUNNING
        )
    )

    def silent(frames: list[str]) -> str:
        raise TimeoutError

    client = make(kind, server, pubsub=silent)
    result = await invoke(client, "wait", PID, executortype="cli", colonyname="dev")
    assert result.state == ProcessState.SUCCESS
    assert time.monotonic() - closes_at < 1.0  # the bound: within 1 s of the close
