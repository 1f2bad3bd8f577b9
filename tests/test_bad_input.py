"""Bad input gets the right status and a clear ColonyOS error envelope; the server keeps serving."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import json
import socket
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from colonies import crypto, rpc
from colonies.server import ServerConfig, calls, handlers
from conftest import VECTORS_PATH, LiveServer, add_executor, post
from pg import reader

VECTORS = json.loads(VECTORS_PATH.read_text())
PAYLOAD = base64.b64encode(b'{"msgtype":"getcoloniesmsg"}').decode()


def envelope(
    payload: str = PAYLOAD, signature: str | None = None, payloadtype: str = "getcoloniesmsg"
) -> str:
    if signature is None:
        signature = crypto.sign(payload, crypto.generate_private_key())
    return json.dumps({"payloadtype": payloadtype, "payload": payload, "signature": signature})


def failure(reply: httpx.Response) -> dict[str, object]:
    body = reply.json()
    assert body["error"] is True and body["payloadtype"] == "error"
    decoded: dict[str, object] = json.loads(base64.b64decode(body["payload"]))
    assert decoded["status"] == reply.status_code
    assert reply.headers["content-type"].startswith("text/plain")
    return decoded


def signed(msg: dict[str, object]) -> str:
    payload = base64.b64encode(json.dumps(msg).encode()).decode()
    return envelope(payload, payloadtype=str(msg.get("msgtype", "")))


COND = {"colonyname": "dev", "executortype": "t"}
HIGH_S = VECTORS["negative_vectors"]["high_s_variant (same r, s=N-s, v^1)"]
CASES = [
    ("malformed JSON", "{not json", 400, "invalid JSON"),
    ("JSON array", "[1, 2]", 400, "expected a JSON object"),
    ("empty body", "", 400, "invalid JSON"),
    ("not UTF-8", b"\xff\xfe{}", 400, "invalid JSON"),
    ("bad base64", envelope(payload="%%%not-base64%%%"), 400, "invalid base64"),
    ("payload not JSON", envelope(payload=base64.b64encode(b"nope").decode()), 400, "invalid JSON"),
    (
        "payload not object",
        envelope(payload=base64.b64encode(b"[1]").decode()),
        400,
        "expected a JSON object",
    ),
    ("short signature", envelope(signature="ab" * 64), 403, "Invalid signature length"),
    ("garbage signature", envelope(signature="zz" * 65), 403, "encoding/hex"),
    ("odd hex", envelope(signature="a" * 129), 403, "encoding/hex"),
    (
        "high-s signature",
        envelope(payload=HIGH_S["message"], signature=HIGH_S["signature"]),
        403,
        "over half the order",
    ),
    (
        "v=27 signature",
        envelope(signature=crypto.sign(PAYLOAD, crypto.generate_private_key())[:-2] + "1b"),
        403,
        "recover",
    ),
    ("empty signature", envelope(signature=""), 403, "Invalid signature length"),
    ("msgtype mismatch", envelope(payloadtype="getcolonymsg"), 400, "does not match"),
    (
        "unknown payload type",
        signed({"msgtype": "launchrocketsmsg"}),
        403,
        "invalid rpcMsg.PayloadType: launchrocketsmsg",
    ),
    ("missing payload type", signed({"msgtype": ""}), 403, "invalid rpcMsg.PayloadType"),
    (
        "wrong field type",
        signed({"msgtype": "getcolonymsg", "colonyname": 7}),
        400,
        "field colonyname must be a string",
    ),
]


@pytest.mark.parametrize(("name", "body", "status", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_requests(
    live: LiveServer, name: str, body: str | bytes, status: int, message: str
) -> None:
    reply = post(live, body)
    assert reply.status_code == status, reply.text
    assert message in str(failure(reply)["message"])


def test_type_errors_in_messages_are_400(live: LiveServer) -> None:
    reply = post(
        live,
        rpc.build_request(
            {"msgtype": "addcolonymsg", "colony": {"colonyid": 5, "name": "x"}}, live.server.prvkey
        ),
    )
    assert reply.status_code == 400
    assert "colonyid: expected a string" in str(failure(reply)["message"])
    reply = post(
        live,
        rpc.build_request(
            {"msgtype": "getprocessesmsg", "colonyname": "dev", "state": 9, "count": 1},
            live.server.prvkey,
        ),
    )
    assert reply.status_code == 403  # the server owner is not a colony member


def test_oversize_body_is_413_and_server_keeps_serving(live: LiveServer) -> None:
    limit = live.ctx.config.max_body_bytes
    reply = post(live, b"x" * (limit + 1))
    assert reply.status_code == 413
    assert "larger than" in str(failure(reply)["message"])
    assert post(live, rpc.build_request({"msgtype": "versionmsg"}, None)).status_code == 200


def test_server_keeps_serving_after_every_bad_request(live: LiveServer) -> None:
    for _, body, _, _ in CASES:
        post(live, body)
    reply = post(live, rpc.build_request({"msgtype": "getcoloniesmsg"}, live.server.prvkey))
    assert reply.status_code == 200
    assert json.loads(base64.b64decode(reply.json()["payload"]))[0]["name"] == "dev"


def test_a_tampered_payload_recovers_another_signer(live: LiveServer) -> None:
    body = json.loads(rpc.build_request({"msgtype": "getcoloniesmsg"}, live.server.prvkey))
    body["payload"] = base64.b64encode(b'{"msgtype": "getcoloniesmsg"}').decode()
    reply = post(live, json.dumps(body))
    assert reply.status_code == 403
    assert failure(reply)["message"] == "Access denied, not server owner"


def test_routes_health_and_cors(live: LiveServer) -> None:
    assert httpx.get(live.url + "/health").status_code == 200
    assert httpx.get(live.url + "/api").status_code in (404, 405)
    assert httpx.get(live.url + "/nowhere").status_code == 404
    preflight = httpx.options(
        live.url + "/api",
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-max-age"] == "43200"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    reply = httpx.post(
        live.url + "/api",
        content=rpc.build_request({"msgtype": "versionmsg"}, None),
        headers={"Origin": "http://example.test"},
    )
    assert reply.headers["access-control-allow-origin"] == "*"
    same_origin = httpx.post(
        live.url + "/api",
        content=rpc.build_request({"msgtype": "versionmsg"}, None),
        headers={"Origin": live.url},
    )
    assert "access-control-allow-origin" not in same_origin.headers


# --- hostile shapes: 400 with an envelope, never a 500, nothing written (issue 8) ------------


@functools.cache
def _postgres_selects(database: str) -> tuple[str, ...]:
    """The ``SELECT`` of each table (columns but ``lastheard``, rows in a fixed order): the
    schema does not change while a test runs, and reading it from ``information_schema`` for
    every fingerprint cost ~100 ms."""
    tables = reader(database).execute(
        "SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0"
        " AND NOT a.attisdropped AND a.attname <> 'lastheard'"
        " GROUP BY c.relname ORDER BY c.relname"
    )
    return tuple(f'SELECT {columns} FROM "{table}" ORDER BY 1, 2' for table, columns in tables)


def store_fingerprint(live: LiveServer) -> str:
    """A digest of every row of every table, read through a second connection to the database
    (SQLite or PostgreSQL, whichever the server runs on).

    ``lastheard`` is left out: an executor that makes a call (refused or not) has been heard from.
    """
    digest = hashlib.sha256()
    if live.database.startswith("postgresql://"):
        pg = reader(live.database)
        for select in _postgres_selects(live.database):
            for row in pg.execute(select):  # type: ignore[call-overload]
                digest.update(repr((select, row)).encode())
        return digest.hexdigest()
    with contextlib.closing(sqlite3.connect(live.database)) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for (table,) in tables.fetchall():
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
            kept = ", ".join(f'"{c}"' for c in columns if c != "lastheard")
            for row in db.execute(f'SELECT {kept} FROM "{table}" ORDER BY 1, 2'):
                digest.update(repr((table, row)).encode())
    return digest.hexdigest()


def signed_text(prvkey: str, text: str, payloadtype: str) -> str:
    """An envelope around a payload given as raw JSON text (for literals json.dumps cannot make)."""
    payload = base64.b64encode(text.encode()).decode()
    return json.dumps(
        {"signature": crypto.sign(payload, prvkey), "payloadtype": payloadtype, "payload": payload}
    )


def submit_text(prvkey: str, spec: str = "", conditions: str = "") -> str:
    text = (
        '{"msgtype":"submitfuncspecmsg","spec":{"funcname":"f",'
        f'"conditions":{{"colonyname":"dev","executortype":"t"{conditions}}}{spec}}}}}'
    )
    return signed_text(prvkey, text, "submitfuncspecmsg")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE: list[tuple[str, Callable[[str], str], str]] = [
    ("envelope 100k arrays deep", lambda key: nested(100_000), "nested too deeply"),
    ("envelope 50k objects deep", lambda key: '{"a":' * 50_000 + "1" + "}" * 50_000, "nested"),
    (
        "payload 100k arrays deep",
        lambda key: signed_text(key, nested(100_000), "submitfuncspecmsg"),
        "nested deeper than",
    ),
    ("args 900 levels deep", lambda key: submit_text(key, f',"args":[{nested(900)}]'), "nested"),
    ("maxexectime 10**30", lambda key: submit_text(key, f',"maxexectime":{10**30}'), "int64"),
    ("maxexectime 2**62", lambda key: submit_text(key, f',"maxexectime":{2**62}'), "maxexec"),
    ("maxwaittime 2**62", lambda key: submit_text(key, f',"maxwaittime":{2**62}'), "maxwait"),
    ("maxretries -2**40", lambda key: submit_text(key, f',"maxretries":{-(2**40)}'), "maxretr"),
    ("priority 10**30", lambda key: submit_text(key, f',"priority":{10**30}'), "int64"),
    ("cpu of 5000 digits", lambda key: submit_text(key, "", f',"cpu":"{"1" * 5000}"'), "cpu"),
    ("cpu beyond int64", lambda key: submit_text(key, "", ',"cpu":"9223372036854775808m"'), "cpu"),
    ("mem beyond int64", lambda key: submit_text(key, "", ',"mem":"9999999999999Gi"'), "mem"),
    ("number 1e400 in args", lambda key: submit_text(key, ',"args":[1e400]'), "float64"),
    ("fraction beyond float64", lambda key: submit_text(key, f',"args":[{"9" * 400}.5]'), "float"),
    ("integer of 5000 digits", lambda key: submit_text(key, f',"args":[{"9" * 5000}]'), "JSON"),
    (
        "float field given an integer beyond float64",
        lambda key: signed_text(
            key,
            f'{{"msgtype":"addlocationmsg","location":{{"name":"x","long":{"9" * 400}}}}}',
            "addlocationmsg",
        ),
        "float64",
    ),
    ("NaN in args", lambda key: submit_text(key, ',"args":[NaN]'), "NaN"),
    ("-Infinity in kwargs", lambda key: submit_text(key, ',"kwargs":{"a":-Infinity}'), "Infinity"),
    (
        "log count 10**30",
        lambda key: signed_text(
            key, f'{{"msgtype":"getlogsmsg","colonyname":"dev","count":{10**30}}}', "getlogsmsg"
        ),
        "int64",
    ),
    (
        "payload not UTF-8",
        lambda key: envelope(base64.b64encode(b'{"msgtype":"\xff"}').decode()),
        "UTF-8",
    ),
]


@pytest.fixture
def member(live: LiveServer) -> str:
    """The private key of an approved executor of the live server's colony."""
    return add_executor(live, "hostile-input").prvkey


def ws_call(live: LiveServer, body: str) -> tuple[int, dict[str, object]]:
    """One request over ``/rpc``: the reply frame's status and the decoded reply payload."""
    with ws_connect(live.url.replace("http", "ws") + "/rpc", max_size=None) as ws:
        ws.send(json.dumps({"id": 1, "body": body}))
        frame = json.loads(ws.recv(timeout=60))
    reply = json.loads(frame["body"])
    decoded: dict[str, object] = json.loads(base64.b64decode(reply["payload"]))
    if frame["status"] != 200:
        assert reply["error"] is True and decoded["status"] == frame["status"]
    return int(frame["status"]), decoded


@pytest.mark.parametrize("transport", ["http", "rpc"])
@pytest.mark.parametrize(("name", "make", "fragment"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_input_is_400_and_writes_nothing(
    live: LiveServer,
    member: str,
    transport: str,
    name: str,
    make: Callable[[str], str],
    fragment: str,
) -> None:
    before = store_fingerprint(live)
    body = make(member)
    if transport == "http":
        reply = post(live, body)
        status, message = reply.status_code, str(failure(reply)["message"])
    else:
        status, decoded = ws_call(live, body)
        message = str(decoded["message"])
    assert (status, fragment in message) == (400, True), message
    assert store_fingerprint(live) == before
    assert httpx.get(live.url + "/health").status_code == 200
    good = post(live, rpc.build_request({"msgtype": "getcolonymsg", "colonyname": "dev"}, member))
    assert good.status_code == 200


def test_extreme_values_that_go_accepts_are_answered(live: LiveServer, member: str) -> None:
    """Out-of-range arithmetic is clamped, lone surrogates become U+FFFD (as in Go)."""
    for seconds in (2**62, -(2**63)):
        history = {"msgtype": "getprocesshistmsg", "colonyname": "dev", "seconds": seconds}
        assert post(live, rpc.build_request(history, member)).status_code == 200
    reply = post(live, submit_text(member, ',"label":"\\ud800x\\ud83d\\ude00","args":["\\udc00"]'))
    assert reply.status_code == 200, reply.text
    process = json.loads(base64.b64decode(reply.json()["payload"]))
    assert (process["spec"]["label"], process["spec"]["args"]) == ("\ufffdx😀", ["\ufffd"])
    reply = post(live, envelope(payloadtype="\ud800"))  # quoted in the error message
    assert reply.status_code == 403 and "\ufffd" in str(failure(reply)["message"])


def test_a_nul_character_in_any_string_is_refused(live: LiveServer, member: str) -> None:
    """PostgreSQL cannot store U+0000 in text (the Go server answers 500): refused on both
    stores alike, wherever it hides; an escaped backslash before "u0000" is no NUL."""
    before = store_fingerprint(live)
    for fields in (',"label":"a\\u0000"', ',"args":[["x\\u0000"]]', ',"kwargs":{"\\u0000":1}'):
        reply = post(live, submit_text(member, fields))
        assert reply.status_code == 400, reply.text
        assert "must not contain NUL" in str(failure(reply)["message"])
    get = {"msgtype": "getprocessmsg", "processid": "\x00"}
    assert post(live, rpc.build_request(get, member)).status_code == 400
    assert store_fingerprint(live) == before
    reply = post(live, submit_text(member, ',"args":["\\\\u0000"]'))
    assert reply.status_code == 200, reply.text
    process = json.loads(base64.b64decode(reply.json()["payload"]))
    assert process["spec"]["args"] == ["\\u0000"]


# --- request sizes per message type (issue 8) ------------------------------------------------


def test_each_kind_of_message_has_its_own_size_limit(live: LiveServer, member: str) -> None:
    config = live.ctx.config
    assert config.max_control_bytes < config.max_record_bytes < config.max_body_bytes
    name = "x" * config.max_control_bytes
    reply = post(live, rpc.build_request({"msgtype": "getcolonymsg", "colonyname": name}, member))
    assert reply.status_code == 413
    assert f"larger than {config.max_control_bytes} bytes" in str(failure(reply)["message"])
    executor = {"executorname": "big", "executortype": "x" * config.max_record_bytes}
    add = {"msgtype": "addexecutormsg", "executor": {**executor, "colonyname": "dev"}}
    reply = post(live, rpc.build_request(add, live.colony.prvkey))
    assert reply.status_code == 413
    assert "limit for addexecutormsg" in str(failure(reply)["message"])
    # data messages may be as large as max_body_bytes
    spec = {"funcname": "f", "args": ["x" * config.max_record_bytes], "conditions": COND}
    reply = post(live, rpc.build_request({"msgtype": "submitfuncspecmsg", "spec": spec}, member))
    assert reply.status_code == 200


def test_size_limits_cover_registered_types_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert set(handlers.load()) >= (calls.DATA_TYPES | calls.RECORD_TYPES)
    monkeypatch.setenv("COLONIES_MAX_CONTROL_BYTES", "1000")
    monkeypatch.setenv("COLONIES_MAX_RECORD_BYTES", "2000")
    monkeypatch.setenv("COLONIES_MAX_BODY_BYTES", "3000")
    monkeypatch.setenv("COLONIES_OFFLOAD_BYTES", "4000")
    config = ServerConfig.from_env()
    sizes = (config.max_control_bytes, config.max_record_bytes, config.max_body_bytes)
    assert (*sizes, config.offload_bytes) == (1000, 2000, 3000, 4000)
    assert [calls.max_request_bytes(config, t) for t in ("getcolonymsg", "addusermsg")] == [
        1000,
        2000,
    ]
    assert calls.max_request_bytes(config, "setoutputmsg") == 3000


def test_declared_oversize_body_is_refused_before_it_is_sent(live: LiveServer) -> None:
    """A Content-Length over max_body_bytes gets 413 at once: the server reads no body."""
    with socket.create_connection((live.host, live.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api HTTP/1.1\r\nHost: test\r\n"
            + f"Content-Length: {live.ctx.config.max_body_bytes + 1}\r\n\r\n".encode()
        )
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:100]


# --- large requests do not hold up the others (issue 8) --------------------------------------

LARGE_SUBMITS = 4


async def test_small_requests_are_answered_while_large_submits_are_processed(
    live: LiveServer, member: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several ~7 MB submits being decoded, /health and a small RPC are answered before the
    last of them has been answered (before the fix they waited for all of them).

    The last large request's decoding is held until the small one is answered: decoded off the
    event loop, that holds nobody else up; decoded on the loop, it would hold the small one too,
    and the order below would show it (the hold gives up after 60 s)."""
    spec = {"funcname": "f", "args": list(range(1_000_000)), "conditions": COND}
    large = rpc.build_request({"msgtype": "submitfuncspecmsg", "spec": spec}, member)
    small = rpc.build_request({"msgtype": "getcolonymsg", "colonyname": "dev"}, member)
    all_started = threading.Event()
    small_answered = threading.Event()
    started = 0
    parse_request = rpc.parse_request

    def counting(body: str | bytes, *args: Any, **kwargs: Any) -> rpc.Request:
        nonlocal started
        if len(body) == len(large):
            started += 1  # server requests run one at a time on its loop or its one worker
            if started == LARGE_SUBMITS:
                all_started.set()
                small_answered.wait(60)
        return parse_request(body, *args, **kwargs)

    monkeypatch.setattr(rpc, "parse_request", counting)
    events: list[str] = []
    limits = httpx.Limits(max_connections=LARGE_SUBMITS + 2)
    async with httpx.AsyncClient(base_url=live.url, timeout=120, limits=limits) as client:

        async def submit() -> None:
            async with client.stream("POST", "/api", content=large) as reply:
                events.append(f"large {reply.status_code}")  # on the status line, not the body
                await reply.aread()

        submits = [asyncio.create_task(submit()) for _ in range(LARGE_SUBMITS)]
        assert await asyncio.to_thread(all_started.wait, 60)
        health = await client.get("/health")
        events.append(f"health {health.status_code}")
        reply = await client.post("/api", content=small)
        events.append(f"small {reply.status_code}")
        small_answered.set()
        await asyncio.gather(*submits)
    assert events.count("large 200") == LARGE_SUBMITS, events
    assert events.index("small 200") < len(events) - 1, events  # a large one was still running
