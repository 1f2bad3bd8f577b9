"""Every message type the Go server (v1.9.12) serves is served here, listed from one table.

The table was taken from the Go server's handler registrations (``pkg/server``) and its
``/pubsub`` realtime handler. Each type is sent by a stranger with an empty message: the server
must route it to a handler and refuse it with a ColonyOS error (or answer it, for the unsigned
types), never with "invalid rpcMsg.PayloadType" and never with an internal error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from colonies import crypto, rpc
from colonies.server import handlers
from conftest import LiveServer, start_server

# POST /api: the 96 payload types the Go server registers (its /rpc-less HTTP API).
_GO_API_TEXT = """
addattributemsg addblueprintdefinitionmsg addblueprintmsg addchildmsg addcolonymsg addcronmsg
addexecutorlogmsg addexecutormsg addfilemsg addfunctionmsg addgeneratormsg addlocationmsg
addlogmsg addusermsg approveexecutormsg assignprocessmsg cancelprocessgraphmsg cancelprocessmsg
changecolonyidmsg changeexecutoridmsg changeserveridmsg changeuseridmsg channelappendmsg
channelreadmsg closefailedmsg closesuccessfulmsg createsnapshotmsg getattributemsg
getblueprintdefinitionmsg getblueprintdefinitionsmsg getblueprinthistorymsg getblueprintmsg
getblueprintsmsg getclustermsg getcoloniesmsg getcolonymsg getcolonystatsmsg getcronmsg
getcronsmsg getexecutorbyidmsg getexecutormsg getexecutorsmsg getfilelabelsmsg getfilemsg
getfilesmsg getfunctionsmsg getgeneratormsg getgeneratorsmsg getlocationmsg getlocationsmsg
getlogsmsg getpausestatusmsg getprocessesmsg getprocessgraphmsg getprocessgraphsmsg
getprocesshistmsg getprocessmsg getserverinfomsg getsnapshotmsg getsnapshotsmsg getstatisticsmsg
getuserbyidmsg getusermsg getusersmsg packgeneratormsg pauseassignmentsmsg reconcileblueprintmsg
rejectexecutormsg removeallprocessesmsg removeallprocessgraphsmsg removeallsnapshotmsg
removeblueprintdefinitionmsg removeblueprintmsg removecolonymsg removecronmsg removeexecutormsg
removefilemsg removefunctionmsg removegeneratormsg removelocationmsg removeprocessgraphmsg
removeprocessmsg removesnapshotmsg removeusermsg reportallocationmsg resolvegeneratormsg
resumeassignmentsmsg runcronmsg searchlogsmsg setoutputmsg submitfuncspecmsg
submitworkflowspecmsg updateblueprintmsg updateblueprintstatusmsg updateexecutormsg versionmsg
"""
GO_API_TYPES = _GO_API_TEXT.split()

# GET /pubsub (WebSocket): the three subscriptions.
GO_PUBSUB_TYPES = ["subscribeprocessmsg", "subscribeprocessesmsg", "subscribechannelmsg"]

UNSIGNED = {"versionmsg", "getserverinfomsg"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: a stranger's requests change nothing on it."""
    live, thread = start_server(tmp_path_factory.mktemp("surface") / "colonies.db")
    yield live
    thread.stop()


def test_the_table_has_all_99_types() -> None:
    assert len(set(GO_API_TYPES)) == len(GO_API_TYPES) == 96
    assert len(GO_API_TYPES) + len(GO_PUBSUB_TYPES) == 99


def test_every_go_api_type_has_a_handler() -> None:
    missing = sorted(set(GO_API_TYPES) - set(handlers.load()))
    assert missing == []


def _refusal(status: int, text: str, msgtype: str) -> str:
    """The error message of a ColonyOS error reply (checked to be one)."""
    envelope = json.loads(text)
    assert envelope["error"] is True, (msgtype, text)
    failure = json.loads(base64.b64decode(envelope["payload"]))
    assert failure["status"] == status, (msgtype, failure)
    return str(failure["message"])


@pytest.mark.parametrize("msgtype", GO_API_TYPES)
def test_a_stranger_gets_a_clear_answer_from_every_api_type(
    server: LiveServer, msgtype: str
) -> None:
    stranger = crypto.generate_private_key()
    body = rpc.build_request({"msgtype": msgtype}, stranger)
    reply = httpx.post(server.url + "/api", content=body, timeout=30)
    if msgtype in UNSIGNED:
        assert reply.status_code == 200
        return
    assert reply.status_code in {400, 401, 403, 404, 500}, (msgtype, reply.text)
    message = _refusal(reply.status_code, reply.text, msgtype)
    assert "PayloadType" not in message
    assert "Internal server error" not in message


@pytest.mark.parametrize("msgtype", GO_PUBSUB_TYPES)
def test_every_subscription_type_is_served_and_checks_its_signer(
    server: LiveServer, msgtype: str
) -> None:
    stranger = crypto.generate_private_key()
    msg: dict[str, Any] = {
        "msgtype": msgtype,
        "colonyname": server.colonyname,
        "processid": "0" * 64,
        "executortype": "test",
        "name": "out",
        "state": 2,
        "timeout": 5,
    }
    with connect(server.url.replace("http", "ws") + "/pubsub", open_timeout=10) as ws:
        ws.send(rpc.build_request(msg, stranger))
        text = ws.recv(timeout=10)
    envelope = json.loads(text)
    assert envelope["error"] is True, text
    failure = json.loads(base64.b64decode(envelope["payload"]))
    assert failure["status"] in {400, 403, 404}, failure
    assert "PayloadType" not in failure["message"]
