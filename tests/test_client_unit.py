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

import pytest

import colonies
from colonies import crypto, errors, rpc
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


async def invoke(client: AnyClient, name: str, *args: Any, **kwargs: Any) -> Any:
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
    assert public - lifecycle == {case[0] for case in CASES}
    for name in public:
        sync, asyn = getattr(Client, name), getattr(AsyncClient, name)
        assert inspect.signature(sync) == inspect.signature(asyn), name
        assert inspect.iscoroutinefunction(asyn), name


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
