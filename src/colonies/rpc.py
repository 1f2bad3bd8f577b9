"""The RPC envelope (spec §2): build and verify signed requests, build and read replies.

Requests are ``{"signature","payloadtype","payload"}`` where ``payload`` is standard base64 of the
message JSON and the signature covers the ASCII of that base64 string. Replies are
``{"payloadtype","payload","error"}``. Stdlib only (runs in Pyodide); JSON is written by
``jsoncodec`` (orjson where installed).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from colonies import crypto, jsoncodec
from colonies.errors import ProtocolError, ServerError

UNSIGNED_TYPES = frozenset({"versionmsg", "getserverinfomsg"})
EMPTY_PAYLOAD = "e30="  # base64("{}"), the Go server's empty reply
# Arrays and objects nested deeper than this in a message are refused (400): everything that
# walks a message (our codecs, json, SQLite's JSON, clients in other languages) stays far from
# its recursion limit. Go allows 10000; real arguments nest a handful of levels.
MAX_DEPTH = 100


class RPCError(Exception):
    """A request the server must refuse, with the HTTP status to refuse it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


encode_json = jsoncodec.dumps  # compact UTF-8 JSON (orjson when installed)


def build_request(msg: dict[str, Any], prvkey: str | None) -> str:
    """The HTTP body (or WebSocket frame) for ``msg``; unsigned types may pass ``prvkey=None``."""
    msgtype = msg["msgtype"]
    payload = _b64(encode_json(msg))
    signature = "" if prvkey is None else crypto.sign(payload, prvkey)
    return json.dumps({"signature": signature, "payloadtype": msgtype, "payload": payload})


@dataclass(frozen=True)
class Request:
    """A parsed request envelope; ``signer`` is the recovered ID ("" for unsigned types)."""

    payloadtype: str
    payload: str
    signature: str
    signer: str
    msg: dict[str, Any]


def parse_request(
    body: bytes | str,
    known_types: Collection[str],
    *,
    max_bytes: Callable[[str], int] | None = None,
) -> Request:
    """Parse, verify and decode a request envelope, or raise ``RPCError`` with the status.

    The order is the Go server's: envelope (400), signature (403), payload type (403), payload
    (400), so every client sees the same error for the same mistake. ``max_bytes`` gives the
    largest body allowed for a payload type: a larger one is refused (413) right after the
    envelope is read, before the signature hash and the payload decoding.
    """
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise RPCError(400, f"Failed to parse RPC message: invalid JSON ({e})") from None
    except RecursionError:
        raise RPCError(
            400, "Failed to parse RPC message: invalid JSON (nested too deeply)"
        ) from None
    if not isinstance(envelope, dict):
        raise RPCError(400, "Failed to parse RPC message: expected a JSON object")
    payloadtype, payload, signature = (
        envelope.get("payloadtype"),
        envelope.get("payload"),
        envelope.get("signature", ""),
    )
    if not isinstance(payloadtype, str) or not isinstance(payload, str):
        raise RPCError(400, "Failed to parse RPC message: payloadtype and payload must be strings")
    if max_bytes is not None and len(body) > (limit := max_bytes(payloadtype)):
        raise RPCError(
            413, f"Request body is larger than {limit} bytes, the limit for {payloadtype:.64}"
        )
    if not isinstance(signature, str):
        raise RPCError(403, "Invalid signature: must be a hex string")
    signer = ""
    if payloadtype not in UNSIGNED_TYPES:
        try:
            signer = crypto.recover_id(payload, signature)
        except crypto.SignatureError as e:
            raise RPCError(403, str(e)) from None
    if payloadtype not in known_types:
        hint = " (the envelope has no payloadtype)" if not payloadtype else ""
        raise RPCError(403, f"invalid rpcMsg.PayloadType: {payloadtype:.200}{hint}")
    return Request(payloadtype, payload, signature, signer, decode_payload(payloadtype, payload))


def decode_payload(payloadtype: str, payload: str) -> dict[str, Any]:
    """Decode the base64 JSON payload and check its ``msgtype`` against ``payloadtype``.

    Beyond JSON, what Go's decoder refuses is refused here too (400): ``NaN``/``Infinity``,
    fractions and exponents beyond float64, nesting deeper than ``MAX_DEPTH``. Lone UTF-16
    surrogates (``"\\ud800"``) become U+FFFD, as Go decodes them, so every string can be stored
    and sent; a NUL character in a string is refused, as no store can keep it on PostgreSQL.
    """
    try:
        text = base64.b64decode(payload, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise RPCError(400, "Failed to decode payload: invalid base64 or UTF-8") from None
    try:
        decoded = _DECODER.decode(text)
    except ValueError as e:
        raise RPCError(400, f"Failed to decode payload: invalid JSON ({e})") from None
    except RecursionError:
        raise RPCError(400, f"Failed to decode payload: nested deeper than {MAX_DEPTH}") from None
    if not isinstance(decoded, dict):
        raise RPCError(400, "Failed to decode payload: expected a JSON object")
    msg: dict[str, Any] = decoded
    if _too_deep(text, msg):
        raise RPCError(400, f"Failed to decode payload: nested deeper than {MAX_DEPTH}")
    if ("\\ud" in text or "\\uD" in text) and _LONE_SURROGATE_ESCAPE.search(text):
        msg = _scrub(msg)
    if "\\u0000" in text and _has_nul(msg):
        raise RPCError(400, "Failed to decode payload: strings must not contain NUL (\\u0000)")
    if msg.get("msgtype") != payloadtype:
        raise RPCError(400, "Failed to decode payload, msg.MsgType does not match payloadType")
    return msg


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float64(text: str) -> float:
    """A JSON number with a fraction or exponent; Go refuses those beyond float64 (1e400)."""
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError(f"number {text:.40} is out of the float64 range")
    return value


_INF = float("inf")
# Integers stay Python ints: typed fields are checked against int64 by the model, and a big one
# in ``args`` is stored and sent back as the same JSON number.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_float64)
# A \u escape of a high surrogate not followed by a low one, or a low one not after a high one.
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = frozenset({list, dict})


def _too_deep(text: str, msg: dict[str, Any]) -> bool:
    """Whether arrays/objects in ``msg`` (decoded from ``text``) nest deeper than ``MAX_DEPTH``.

    Level by level, without recursion; a text with fewer brackets than that needs no walk, and
    containers holding only scalars (most of a large payload) are passed over at C speed.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    level: list[Any] = [msg]
    for _ in range(MAX_DEPTH):
        below: list[Any] = []
        for value in level:
            items = value.values() if type(value) is dict else value
            if not _CONTAINERS.isdisjoint(map(type, items)):
                below.extend([v for v in items if type(v) in _CONTAINERS])
        if not below:
            return False
        level = below
    return True


def _has_nul(value: Any) -> bool:
    """Whether a string (or key) in ``value`` holds U+0000, which PostgreSQL cannot store (the
    Go server fails such a request with a 500); only walked when the text has the escape."""
    if type(value) is str:
        return "\x00" in value
    if type(value) is dict:
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if type(value) is list:
        return any(_has_nul(v) for v in value)
    return False


def _scrub(value: Any) -> Any:
    """``value`` with lone surrogates in its strings (and keys) replaced by U+FFFD."""
    if type(value) is str:
        return _SURROGATE.sub("\ufffd", value)
    if type(value) is list:
        return [_scrub(v) for v in value]
    if type(value) is dict:
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def build_reply(payloadtype: str, obj: Any) -> str:
    """A success envelope whose payload is the JSON of ``obj`` (``{}`` for an empty reply)."""
    payload = EMPTY_PAYLOAD if obj is None else _b64(encode_json(obj))
    # Base64 needs no escaping: the text is what json.dumps of the envelope gives, built faster.
    return f'{{"payloadtype": {_quoted(payloadtype)}, "payload": "{payload}", "error": false}}'


@functools.lru_cache(maxsize=256)
def _quoted(payloadtype: str) -> str:
    return json.dumps(payloadtype)


def build_error(status: int, message: str) -> str:
    """An error envelope carrying a Failure ``{"status", "message"}``.

    Messages may quote what a request sent (its payload type, a signature character), which may
    hold lone surrogates that UTF-8 cannot carry; they become U+FFFD.
    """
    message = _SURROGATE.sub("\ufffd", message)
    failure = _b64(encode_json({"status": status, "message": message}))
    return json.dumps({"payloadtype": "error", "payload": failure, "error": True})


def parse_reply(status: int, text: str) -> Any:
    """The decoded payload of a reply, or raise ``ServerError``/``ProtocolError``."""
    try:
        envelope = json.loads(text)
        payload = json.loads(base64.b64decode(envelope["payload"])) if envelope["payload"] else None
        is_error = bool(envelope.get("error")) or envelope.get("payloadtype") == "error"
    except (ValueError, KeyError, TypeError, binascii.Error):
        snippet = text[:200] if text else "an empty body"
        raise ProtocolError(
            f"Expected a ColonyOS RPC reply, got HTTP {status} with {snippet}", status
        ) from None
    if is_error or status != 200:
        message = payload.get("message", "") if isinstance(payload, dict) else str(payload)
        code = payload.get("status", status) if isinstance(payload, dict) else status
        raise ServerError.create(code if isinstance(code, int) else status, message)
    return payload
