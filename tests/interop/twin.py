"""The same colony on the Go server and on ours, and field-by-field comparison of replies.

``make_twin`` makes a fresh colony on both servers with the same name and the same keys (the Go
server is shared by the session, so names are ``unique``): owner, a user ``alice``, an approved
executor ``worker`` and a pending one ``newcomer``. ``Twin.both`` sends byte-identical requests
to both (ours gets its own IDs where the message names the Go server's), and ``Compare`` checks
replies field by field. What legitimately differs is normalised: IDs the servers make (process,
function and attribute IDs, matched one-to-one), times (only "zero or not"), float seconds (only
"zero or not"), Go's ``null`` for an empty list or map (we send ``[]``/``{}``), and the order of
a process's attributes (Go makes them from a map, in random order).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from colonies import crypto, rpc
from interop.conftest import Server, our_server, unique

ZERO_TIMES = ("0001-01-01T00:00:00Z",)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ID = re.compile(r"^[0-9a-f]{64}$")
ID_IN_TEXT = re.compile(r"\b[0-9a-f]{64}\b")
SECONDS = {"minwaittime", "maxwaittime", "avgwaittime", "minexectime", "maxexectime", "avgexectime"}
VOLATILE = {"prioritytime", "timestamp"}  # nanosecond clocks of two servers
NO_ID = "0" * 64  # a well-formed ID nothing has


@dataclass(frozen=True)
class Reply:
    status: int
    payload: Any  # the decoded payload; a Failure for errors; None for Go's empty 200

    @property
    def error(self) -> tuple[int, str]:
        assert isinstance(self.payload, dict), self
        return self.status, self.payload["message"]


_HTTP: dict[str, httpx.Client] = {}  # one keep-alive connection per server: ~3 ms a request


@pytest.fixture(scope="module", autouse=True)
def close_connections() -> Iterator[None]:
    yield
    while _HTTP:
        _HTTP.popitem()[1].close()


def send_raw(server: Server, body: str) -> Reply:
    if server.url not in _HTTP:
        _HTTP[server.url] = httpx.Client(timeout=30)
    http = _HTTP[server.url]
    response = http.post(f"{server.url}/api", content=body)
    if not response.content:
        return Reply(response.status_code, None)
    envelope = response.json()
    return Reply(response.status_code, json.loads(base64.b64decode(envelope["payload"])))


def send_payload(server: Server, payloadtype: str, payload: bytes, prvkey: str) -> Reply:
    """A request whose payload bytes are given as is (to send malformed messages)."""
    encoded = base64.b64encode(payload).decode()
    body = {
        "signature": crypto.sign(encoded, prvkey),
        "payloadtype": payloadtype,
        "payload": encoded,
    }
    return send_raw(server, json.dumps(body))


def _attribute_key(attribute: Any) -> tuple[int, str]:
    return attribute.get("attributetype", 0), attribute.get("key", "")


class Compare:
    """Field-by-field comparison of a Go reply with ours; IDs matched one-to-one per test."""

    def __init__(self) -> None:
        self.go_to_ours: dict[str, str] = {}
        self.ours_to_go: dict[str, str] = {}

    def __call__(self, go: Any, ours: Any) -> None:
        problems: list[str] = []
        self._walk(go, ours, "", problems)
        assert not problems, "Go and ours differ:\n  " + "\n  ".join(problems)

    def _walk(self, go: Any, ours: Any, path: str, problems: list[str]) -> None:
        key = path.rsplit(".", 1)[-1]
        if go is None and ours in ([], {}):
            return  # Go sends null for an empty (nil) slice or map
        if isinstance(go, dict) and isinstance(ours, dict):
            if set(go) != set(ours):
                problems.append(f"{path or '.'}: keys {sorted(go)} != {sorted(ours)}")
            for name in sorted(set(go) & set(ours)):
                self._walk(go[name], ours[name], f"{path}.{name}", problems)
        elif isinstance(go, list) and isinstance(ours, list):
            if key == "attributes":  # Go makes them from a map: any order
                go, ours = sorted(go, key=_attribute_key), sorted(ours, key=_attribute_key)
            if len(go) != len(ours):
                problems.append(f"{path}: {len(go)} items != {len(ours)}: {go!r} != {ours!r}")
            for i, (a, b) in enumerate(zip(go, ours, strict=False)):
                self._walk(a, b, f"{path}[{i}]", problems)
        elif key in VOLATILE:
            if not (isinstance(go, int) and isinstance(ours, int)):
                problems.append(f"{path}: {go!r} != {ours!r}")
        elif key in SECONDS:
            if not (isinstance(go, int | float) and isinstance(ours, int | float)):
                problems.append(f"{path}: {go!r} != {ours!r}")
            elif (go == 0) != (ours == 0):
                problems.append(f"{path}: {go!r} != {ours!r} (zero or not)")
        elif isinstance(go, str) and isinstance(ours, str) and TIME.match(go) and TIME.match(ours):
            if (go in ZERO_TIMES) != (ours in ZERO_TIMES):
                problems.append(f"{path}: {go!r} != {ours!r} (zero time or not)")
        elif isinstance(go, str) and isinstance(ours, str) and ID.match(go) and ID.match(ours):
            if self.go_to_ours.setdefault(go, ours) != ours:
                problems.append(f"{path}: Go ID {go[:8]} stood for another of ours before")
            if self.ours_to_go.setdefault(ours, go) != go:
                problems.append(f"{path}: our ID {ours[:8]} stood for another Go ID before")
        elif type(go) is not type(ours) or go != ours:
            problems.append(f"{path}: {go!r} != {ours!r}")


@dataclass
class Keys:
    """One identity, the same on both servers."""

    prvkey: str = field(default_factory=crypto.generate_private_key)

    @property
    def id(self) -> str:
        return crypto.id_from_private_key(self.prvkey)


@dataclass
class Twin:
    """The same fresh colony (name, owner, members) on the Go server and on ours."""

    go: Server
    ours: Server
    colony: str
    owner: Keys
    user: Keys
    executor: Keys  # approved, name "worker", type ``executortype``
    pending: Keys  # added, never approved, name "newcomer"
    stranger: Keys  # no role anywhere
    executortype: str
    compare: Compare = field(default_factory=Compare)

    def key(self, server: Server, role: str) -> str:
        if role == "server":
            return server.server_prvkey
        keys: Keys = getattr(self, role)
        return keys.prvkey

    def send(self, server: Server, role: str, msg: dict[str, Any]) -> Reply:
        """``msg`` names processes by the Go server's IDs; ours gets its own in their place."""
        text = json.dumps(msg).replace("$COLONY", self.colony)
        if server is self.ours:
            text = ID_IN_TEXT.sub(lambda m: self.compare.go_to_ours.get(m[0], m[0]), text)
        return send_raw(server, rpc.build_request(json.loads(text), self.key(server, role)))

    def both(self, role: str, msg: dict[str, Any]) -> tuple[Reply, Reply]:
        return self.send(self.go, role, msg), self.send(self.ours, role, msg)

    def same(self, role: str, msg: dict[str, Any], status: int = 200) -> tuple[Any, Any]:
        """Send to both; the statuses must be ``status`` and the payloads the same."""
        go, ours = self.both(role, msg)
        assert (go.status, ours.status) == (status, status), (go, ours)
        self.compare(go.payload, ours.payload)
        return go.payload, ours.payload

    def ok(self, role: str, msg: dict[str, Any]) -> None:
        """Set up state on both servers (no comparison beyond success)."""
        for reply in self.both(role, msg):
            assert reply.status == 200, reply


def add_executor_msg(
    keys: Keys, name: str, executortype: str, colonyname: str = "$COLONY"
) -> dict[str, Any]:
    executor = {
        "executorid": keys.id,
        "executortype": executortype,
        "executorname": name,
        "colonyname": colonyname,
    }
    return {"msgtype": "addexecutormsg", "executor": executor}


def add_user_msg(keys: Keys, name: str) -> dict[str, Any]:
    user = {"colonyname": "$COLONY", "userid": keys.id, "name": name, "email": "", "phone": ""}
    return {"msgtype": "addusermsg", "user": user}


def submit_msg(
    executortype: str, funcname: str = "echo", colonyname: str = "$COLONY", **spec: Any
) -> dict[str, Any]:
    """A spec as the Go CLI sends it: no time limits, unless given (Go expires 0 after ~1 s)."""
    conditions = {"colonyname": colonyname, "executortype": executortype}
    conditions.update(spec.pop("conditions", {}))
    limits = {"maxwaittime": -1, "maxexectime": -1, "maxretries": -1}
    body = {"funcname": funcname, "conditions": conditions, **limits, **spec}
    return {"msgtype": "submitfuncspecmsg", "spec": body}


def make_twin(go: Server, ours: Server) -> Twin:
    t = Twin(
        go=go,
        ours=ours,
        colony=unique("diff"),
        owner=Keys(),
        user=Keys(),
        executor=Keys(),
        pending=Keys(),
        stranger=Keys(),
        executortype=unique("difftype"),
    )
    colony = {"colonyid": t.owner.id, "name": t.colony}
    t.ok("server", {"msgtype": "addcolonymsg", "colony": colony})
    t.ok("owner", add_user_msg(t.user, "alice"))
    t.ok("owner", add_executor_msg(t.executor, "worker", t.executortype))
    approve = {"msgtype": "approveexecutormsg", "colonyname": "$COLONY", "executorname": "worker"}
    t.ok("owner", approve)
    t.ok("owner", add_executor_msg(t.pending, "newcomer", t.executortype))
    return t


@pytest.fixture(scope="module")
def ours_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Our server for the whole module: each test works in its own colony."""
    yield from our_server(tmp_path_factory.mktemp("differential") / "colonies.db")


@pytest.fixture(scope="module")
def shared(goserver: Server, ours_module: Server) -> Twin:
    """One colony for the read-only error cases."""
    return make_twin(goserver, ours_module)


@pytest.fixture
def twin(goserver: Server, ours_module: Server) -> Twin:
    return make_twin(goserver, ours_module)


def get_process(processid: str) -> dict[str, Any]:
    return {"msgtype": "getprocessmsg", "processid": processid}


def list_processes(state: int, count: int = 100, **filters: str) -> dict[str, Any]:
    msg = {"msgtype": "getprocessesmsg", "colonyname": "$COLONY", "count": count, "state": state}
    return msg | filters


def assign(twin: Twin) -> tuple[Any, Any]:
    msg = {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 1}
    return twin.same("executor", msg)
