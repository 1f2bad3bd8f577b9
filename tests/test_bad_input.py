"""Bad input gets the right status and a clear ColonyOS error envelope; the server keeps serving."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from colonies import crypto, rpc
from conftest import VECTORS_PATH, LiveServer, post

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
