"""Property tests: whatever a client sends, the server answers with a ColonyOS status and
envelope (never a 500), writes nothing when it refuses, and keeps serving.

Every payload type the server registers is fuzzed (new handlers are picked up from
``handlers.HANDLERS``), signed by real keys (member, colony owner, server owner) so that the
messages get past the signature check into decoding, authorization and the handlers. The
envelope itself is fuzzed too, over HTTP and over the ``/rpc`` WebSocket. One real server (uvicorn
on loopback) serves the whole module; the example budget keeps the file well under a minute.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import inspect
import json
import re
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from colonies import crypto, model, rpc
from colonies.client import Client
from colonies.model import Conditions, Executor, FunctionSpec, Wire
from colonies.server import calls, handlers
from conftest import LiveServer, start_server
from test_bad_input import store_fingerprint

# What a ColonyOS server answers with (spec §1.3); 500 means a bug here.
STATUSES = frozenset({200, 400, 403, 404, 408, 409, 413, 429, 503})
PER_TYPE = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
Pool = tuple[str, ...]  # names and IDs worth sending: real ones get past "not found"
EXECUTOR_TYPE = "fuzz"
MEMBER = "fuzz-member"

ROUTES = handlers.load()
HANDLER_SOURCE = "\n".join(
    inspect.getsource(sys.modules[module])
    for module in sorted({route.handler.__module__ for route in ROUTES.values()})
)
# The message fields handlers read (``msg.text("colonyname")``...), and the model class behind
# each object field (``msg.obj("spec", FunctionSpec)``): found in the handlers' source, so a new
# handler's fields are fuzzed too.
MESSAGE_FIELDS = sorted(set(re.findall(r"msg\.\w+\(\s*\"(\w+)\"", HANDLER_SOURCE)))
OBJECT_FIELDS: dict[str, type[Wire]] = {
    name: getattr(model, cls)
    for name, cls in re.findall(r"msg\.obj\(\s*\"(\w+)\",\s*(\w+)\)", HANDLER_SOURCE)
}
MODEL_FIELDS = sorted(
    {f.metadata.get("json", f.name) for cls in Wire.__subclasses__() for f in fields(cls)}  # type: ignore[arg-type]
)


@dataclass
class Fuzzed:
    """The server under fuzz, its keys, and names and IDs worth sending."""

    live: LiveServer
    member: str
    pool: Pool
    http: httpx.Client  # one connection pool: a client per request costs ~30 ms (TLS setup)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    # No sweeps during the run: a fuzzed deadline expiring would write between two snapshots.
    live, thread = start_server(
        tmp_path_factory.mktemp("fuzz") / "colonies.db", sweep_interval=3600
    )
    member = crypto.generate_private_key()
    pool: list[str] = [
        "dev",
        MEMBER,
        EXECUTOR_TYPE,
        live.server.id,
        live.colony.id,
        crypto.id_from_private_key(member),
    ]
    try:
        with httpx.Client(base_url=live.url, timeout=60) as http, Client(live.url, member) as sdk:
            bootstrap(http, live, member)
            conditions = Conditions(colonyname="dev", executortype=EXECUTOR_TYPE)
            for i in range(6):  # some waiting, some running on the member (output, logs...)
                spec = FunctionSpec(funcname=f"f{i}", conditions=conditions)
                pool.append(sdk.submit(spec).processid)
            for _ in range(3):
                sdk.assign("dev", 1)
            yield Fuzzed(live, member, tuple(pool), http)
    finally:
        thread.stop()


def bootstrap(http: httpx.Client, live: LiveServer, member: str) -> None:
    """Colony ``dev`` with the member approved (again, if a fuzzed request removed them)."""
    calls_ = [
        (
            live.server.prvkey,
            {"msgtype": "addcolonymsg", "colony": {"colonyid": live.colony.id, "name": "dev"}},
        ),
        (
            live.colony.prvkey,
            {
                "msgtype": "addexecutormsg",
                "executor": Executor(
                    executorid=crypto.id_from_private_key(member),
                    executortype=EXECUTOR_TYPE,
                    executorname=MEMBER,
                    colonyname="dev",
                ).to_dict(),
            },
        ),
        (
            live.colony.prvkey,
            {"msgtype": "approveexecutormsg", "colonyname": "dev", "executorname": MEMBER},
        ),
        (live.colony.prvkey, {"msgtype": "resumeassignmentsmsg", "colonyname": "dev"}),
    ]
    for key, msg in calls_:
        http.post("/api", content=rpc.build_request(msg, key))


# --- strategies -----------------------------------------------------------------------------

EDGE_INTS = st.sampled_from(
    [
        0,
        1,
        -1,
        2,
        100,
        101,
        2**31 - 1,
        2**31,
        2**53,
        2**63 - 1,
        2**63,
        -(2**63),
        -(2**63) - 1,
        10**30,
        int("9" * 400),  # beyond float64 too
    ]
)
AWKWARD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ud800",
        "\udfff",
        "a\ud83d",
        "😀",
        "\u202e",
        "x" * 9000,
        "🦀" * 3000,
        "1e400",
    ]
)
QUANTITIES = st.sampled_from(
    ["500m", "2", "1.5", "10Gi", "9223372036854775808m", "1" * 5000, "-1", "Gi"]
)


# Strategies are built once per pool and shared by every type's test: hypothesis caches what it
# works out about a strategy object, and building these trees is most of an example's cost.
# A message is drawn well-typed (with extreme values: edge integers, awkward text, quantities,
# sizes across the limits), then a few places in it are mutated into anything at all: so most
# messages get past type checks into the handlers, and some fail them in every possible way.


@functools.cache
def scalars(pool: Pool) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        EDGE_INTS,
        st.floats(),
        strings(pool),
    )


@functools.cache
def strings(pool: Pool) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(pool),
        st.sampled_from(pool),
        st.text(max_size=12),
        AWKWARD_TEXT,
        QUANTITIES,
        st.sampled_from([9000, 70_000, 300_000]).map(lambda n: "z" * n),  # the size limits
    )


@functools.cache
def json_values(pool: Pool) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.text(max_size=8), st.sampled_from(MODEL_FIELDS + MESSAGE_FIELDS))
    return st.recursive(
        scalars(pool),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(keys, inner, max_size=4),
            st.integers(1, 400).map(_nested),  # past rpc.MAX_DEPTH, within json.dumps' reach
        ),
        max_leaves=10,
    )


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


INTEGERS = st.one_of(EDGE_INTS, st.integers(-3, 200))


def favourites(pool: Pool) -> dict[str, list[str]]:
    """Values that exist on the server, by field name: they get past "not found"."""
    colony, member, executortype, _, colonyid, memberid, *processids = pool
    return {
        "colonyname": [colony],
        "targetcolonyname": [colony],
        "executorname": [member],
        "executortype": [executortype],
        "colonyid": [colonyid],
        "executorid": [memberid],
        "processid": processids,
        "targetid": processids,
    }


@functools.cache
def named(name: str, pool: Pool) -> st.SearchStrategy[str]:
    """Strings for a field called ``name``: mostly an existing value, if there is one."""
    known = favourites(pool).get(name)
    if not known:
        return strings(pool)
    return st.one_of(st.sampled_from(known), st.sampled_from(known), strings(pool))


@functools.cache
def typed(hint: Any, pool: Pool, depth: int, name: str = "") -> st.SearchStrategy[Any]:
    """Values of a model field's type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return named(name, pool)
    if isinstance(hint, type) and issubclass(hint, Wire):
        return wire_object(hint, pool, depth + 1) if depth < 4 else st.just({})
    if origin is list:
        return st.lists(typed(args[0], pool, depth + 1), max_size=3)
    if origin is dict:
        return st.dictionaries(strings(pool), typed(args[1], pool, depth + 1), max_size=3)
    simple = {str: strings(pool), int: INTEGERS, bool: st.booleans(), float: st.floats()}
    return simple.get(hint, json_values(pool))


@functools.cache
def base_object(cls: type[Wire], pool: Pool) -> dict[str, Any]:
    """A default ``cls`` whose names and IDs are ones that exist (``colonyname`` "dev"...)."""
    hints, known = typing.get_type_hints(cls), favourites(pool)
    base = cls().to_dict()
    for f in fields(cls):  # type: ignore[arg-type]
        key, hint = f.metadata.get("json", f.name), hints[f.name]
        if isinstance(hint, type) and issubclass(hint, Wire):
            base[key] = base_object(hint, pool)
        elif hint is str and f.name in known:
            base[key] = known[f.name][0]
    return base


@functools.cache
def wire_object(cls: type[Wire], pool: Pool, depth: int = 0) -> st.SearchStrategy[Any]:
    """The base object with some fields drawn (so a drawn object is mostly plausible)."""
    hints = typing.get_type_hints(cls)
    optional = {
        f.metadata.get("json", f.name): typed(hints[f.name], pool, depth, f.name)
        for f in fields(cls)  # type: ignore[arg-type]
    }
    return overrides(optional).map(lambda drawn: {**copy.deepcopy(base_object(cls, pool)), **drawn})


def overrides(candidates: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """One to three of ``candidates``, drawn (every example changes something)."""
    names = sorted(candidates)
    chosen = st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)
    return chosen.flatmap(
        lambda picked: st.fixed_dictionaries({name: candidates[name] for name in picked})
    )


@functools.cache
def message_fields(pool: Pool) -> dict[str, st.SearchStrategy[Any]]:
    """Each field handlers read, drawn as the accessor(s) reading it expect."""
    by_accessor = {
        "integer": INTEGERS,
        "flag": st.booleans(),
        "array": st.lists(json_values(pool), max_size=4),
        "strings": st.lists(strings(pool), max_size=4),
    }
    accessors: dict[str, set[str]] = {}
    for accessor, name in re.findall(r"msg\.(\w+)\(\s*\"(\w+)\"", HANDLER_SOURCE):
        accessors.setdefault(name, set()).add(accessor)
    return {
        name: wire_object(OBJECT_FIELDS[name], pool)
        if name in OBJECT_FIELDS
        else st.one_of(
            [
                named(name, pool) if a == "text" else by_accessor.get(a, json_values(pool))
                for a in sorted(kinds)
            ]
        )
        for name, kinds in accessors.items()
    }


@st.composite
def mutated(draw: st.DrawFn, value: Any, pool: Pool) -> Any:
    """``value`` with up to three places replaced by anything (or a key dropped or added)."""
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        parent, key = None, None
        node = value
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            parent = node
            key = draw(
                st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node)))
            )
            node = node[key]
        if parent is None:
            if isinstance(value, dict):
                value[draw(st.sampled_from(MESSAGE_FIELDS))] = draw(json_values(pool))
            continue
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(json_values(pool))  # type: ignore[index]
    return value


def message(msgtype: str, pool: Pool) -> st.SearchStrategy[dict[str, Any]]:
    """A message of ``msgtype``: the fields handlers read, at existing names and IDs with some
    drawn, then mutated."""
    known, candidates = favourites(pool), message_fields(pool)
    base = {name: known[name][0] for name in MESSAGE_FIELDS if name in known}
    base.update({name: base_object(cls, pool) for name, cls in OBJECT_FIELDS.items()})
    read = fields_read(msgtype)
    well_typed = overrides({name: candidates[name] for name in read or candidates}).map(
        lambda drawn: {**copy.deepcopy(base), **drawn, "msgtype": msgtype}
    )
    msgs = well_typed.flatmap(lambda msg: mutated(msg, pool))
    if msgtype not in calls.LONG_POLLS:
        return msgs
    return msgs.map(answer_at_once)


def fields_read(msgtype: str) -> set[str]:
    """The fields the handler of ``msgtype`` reads: in its source, or in that of the functions
    it calls, and they call (``addlogmsg`` -> ``assigned_process`` -> ``member_process``)."""
    handler = ROUTES[msgtype].handler
    seen: set[Any] = set()
    todo: list[Any] = [handler]
    source = ""
    while todo:
        function = todo.pop()
        seen.add(function)
        text = inspect.getsource(function)
        source += text
        module = sys.modules[function.__module__]
        for called in set(re.findall(r"(\w+)\(", text)):
            helper = getattr(module, called, None)
            if (
                inspect.isfunction(helper)
                and helper not in seen
                and "colonies" in helper.__module__
            ):
                todo.append(helper)
    return set(re.findall(r"msg\.\w+\(\s*\"(\w+)\"", source))


def answer_at_once(msg: dict[str, Any]) -> dict[str, Any]:
    """A long-poll never waits: its timeout is -1 (or a kind of value that gets a 400)."""
    timeout = {k: v for k, v in msg.items() if k.lower() == "timeout"}
    wrong_type = [v for v in timeout.values() if not isinstance(v, int | float) or v is True]
    for key in timeout:
        del msg[key]
    msg["timeout"] = wrong_type[0] if wrong_type else -1
    return msg


def envelope_text(msg: Any, prvkey: str | None, payloadtype: str) -> str:
    """An envelope over the JSON of ``msg`` (ASCII escapes: lone surrogates, NaN survive)."""
    payload = base64.b64encode(json.dumps(msg).encode()).decode()
    signature = crypto.sign(payload, prvkey) if prvkey else ""
    return json.dumps({"signature": signature, "payloadtype": payloadtype, "payload": payload})


# --- checks ---------------------------------------------------------------------------------


def check_reply(status: int, text: str) -> None:
    """A ColonyOS status, and the envelope that goes with it."""
    assert status in STATUSES, (status, text[:300])
    reply = json.loads(text)
    assert set(reply) == {"payloadtype", "payload", "error"}, text[:300]
    decoded = json.loads(base64.b64decode(reply["payload"]))
    if status == 200:
        assert reply["error"] is False and reply["payloadtype"] != "error"
    else:
        assert reply["error"] is True and reply["payloadtype"] == "error"
        assert decoded["status"] == status and isinstance(decoded["message"], str)


def post_checked(fuzzed: Fuzzed, body: str | bytes) -> int:
    """POST a body, check the reply; a refused request must leave the store as it was."""
    live = fuzzed.live
    before = store_fingerprint(live)
    reply = fuzzed.http.post("/api", content=body)
    check_reply(reply.status_code, reply.text)
    if reply.status_code != 200:
        assert store_fingerprint(live) == before, reply.text[:300]
    return reply.status_code


def assert_healthy(fuzzed: Fuzzed) -> None:
    """/health answers, and so does a normal signed request; the member is put back if a
    fuzzed request (validly) removed it."""
    http = fuzzed.http
    assert http.get("/health").status_code == 200
    owner = rpc.build_request({"msgtype": "getcoloniesmsg"}, fuzzed.live.server.prvkey)
    assert http.post("/api", content=owner).status_code == 200
    member = rpc.build_request({"msgtype": "getcolonymsg", "colonyname": "dev"}, fuzzed.member)
    if http.post("/api", content=member).status_code != 200:
        bootstrap(http, fuzzed.live, fuzzed.member)
        assert http.post("/api", content=member).status_code == 200


# --- the properties -------------------------------------------------------------------------


@pytest.mark.parametrize("msgtype", sorted(ROUTES))
def test_every_message_type(fuzzed: Fuzzed, msgtype: str) -> None:
    keys = [fuzzed.member, fuzzed.member, fuzzed.live.colony.prvkey, fuzzed.live.server.prvkey]

    @PER_TYPE
    @given(msg=message(msgtype, fuzzed.pool), signer=st.sampled_from(keys))
    def fuzz(msg: dict[str, Any], signer: str) -> None:
        post_checked(fuzzed, envelope_text(msg, signer, msgtype))
        assert_healthy(fuzzed)

    fuzz()


def envelopes(fuzzed: Fuzzed) -> st.SearchStrategy[str | bytes]:
    pool, types = fuzzed.pool, sorted(ROUTES)
    anything = json_values(pool)
    payloads = st.one_of(
        st.builds(lambda v: base64.b64encode(json.dumps(v).encode()).decode(), anything),
        st.builds(
            lambda t: base64.b64encode(json.dumps({"msgtype": t}).encode()).decode(),
            st.sampled_from(types),
        ),
        st.text(max_size=40),
        st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
    )

    @st.composite
    def envelope(draw: st.DrawFn) -> str:
        payload = draw(st.one_of(payloads, anything))
        sign = isinstance(payload, str) and draw(st.booleans())
        signature = (
            crypto.sign(payload, draw(st.sampled_from([fuzzed.member, fuzzed.live.server.prvkey])))
            if sign
            else draw(st.one_of(st.text(max_size=140), st.sampled_from(["", "00" * 65]), anything))
        )
        fields_ = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "payloadtype": st.one_of(st.sampled_from(types), AWKWARD_TEXT, anything),
                    "payload": st.just(payload),
                    "signature": st.just(signature),
                    "error": anything,
                },
            )
        )
        return json.dumps(fields_)

    return st.one_of(
        envelope(),
        st.builds(json.dumps, anything),
        st.binary(max_size=200),
        st.sampled_from(["", "{", "[" * 5000, '{"payload":' * 3000, "\ufeff{}", "null"]),
    )


def test_envelopes_over_http(fuzzed: Fuzzed) -> None:
    @settings(PER_TYPE, max_examples=150)
    @given(body=envelopes(fuzzed))
    def fuzz(body: str | bytes) -> None:
        post_checked(fuzzed, body)

    fuzz()
    assert_healthy(fuzzed)


def test_envelopes_over_the_rpc_socket(fuzzed: Fuzzed) -> None:
    live = fuzzed.live
    url = live.url.replace("http", "ws") + "/rpc"

    def call(stack: contextlib.ExitStack, body: str) -> dict[str, Any]:
        ws = sockets[-1] if sockets else None
        if ws is None:
            ws = stack.enter_context(ws_connect(url, max_size=None))
            sockets.append(ws)
        ws.send(json.dumps({"id": 1, "body": body}))
        frame: dict[str, Any] = json.loads(ws.recv(timeout=60))
        return frame

    sockets: list[ClientConnection] = []
    with contextlib.ExitStack() as stack:

        @settings(PER_TYPE, max_examples=60)
        @given(body=envelopes(fuzzed).filter(lambda b: isinstance(b, str)))
        def fuzz(body: str) -> None:
            before = store_fingerprint(live)
            try:
                frame = call(stack, body)
            except ConnectionClosed:  # closed after many bad frames (a policy): a new socket
                sockets.clear()
                frame = call(stack, body)
            check_reply(frame["status"], frame["body"])
            if frame["status"] != 200:
                assert store_fingerprint(live) == before

        fuzz()
    assert_healthy(fuzzed)


def test_the_fuzzer_reaches_the_handlers(fuzzed: Fuzzed) -> None:
    """The strategies produce messages every handler accepts at least sometimes: a guard
    against fuzzing only the signature check."""
    assert {"spec", "executor", "colony"} <= set(OBJECT_FIELDS)
    assert {"colonyname", "processid", "timeout"} <= set(MESSAGE_FIELDS)
    spec = FunctionSpec(funcname="f", conditions=Conditions(colonyname="dev", executortype="x"))
    body = envelope_text(
        {"msgtype": "submitfuncspecmsg", "spec": spec.to_dict()}, fuzzed.member, "submitfuncspecmsg"
    )
    assert post_checked(fuzzed, body) == 200
