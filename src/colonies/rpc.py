"""The RPC envelope (spec §2): build and verify signed requests, build and read replies.

Requests are ``{"signature","payloadtype","payload"}`` where ``payload`` is standard base64 of the
message JSON and the signature covers the ASCII of that base64 string. Replies are
``{"payloadtype","payload","error"}``. Stdlib only (runs in Pyodide).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from colonies import crypto
from colonies.errors import ProtocolError, ServerError

UNSIGNED_TYPES = frozenset({"versionmsg", "getserverinfomsg"})
EMPTY_PAYLOAD = "e30="  # base64("{}"), the Go server's empty reply


class RPCError(Exception):
    """A request the server must refuse, with the HTTP status to refuse it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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


def parse_request(body: bytes | str, known_types: Collection[str]) -> Request:
    """Parse, verify and decode a request envelope, or raise ``RPCError`` with the status.

    The order is the Go server's: envelope (400), signature (403), payload type (403), payload
    (400), so every client sees the same error for the same mistake.
    """
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise RPCError(400, f"Failed to parse RPC message: invalid JSON ({e})") from None
    if not isinstance(envelope, dict):
        raise RPCError(400, "Failed to parse RPC message: expected a JSON object")
    payloadtype, payload, signature = (
        envelope.get("payloadtype"),
        envelope.get("payload"),
        envelope.get("signature", ""),
    )
    if not isinstance(payloadtype, str) or not isinstance(payload, str):
        raise RPCError(400, "Failed to parse RPC message: payloadtype and payload must be strings")
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
        raise RPCError(403, f"invalid rpcMsg.PayloadType: {payloadtype}{hint}")
    return Request(payloadtype, payload, signature, signer, decode_payload(payloadtype, payload))


def decode_payload(payloadtype: str, payload: str) -> dict[str, Any]:
    """Decode the base64 JSON payload and check its ``msgtype`` against ``payloadtype``."""
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise RPCError(400, "Failed to decode payload: invalid base64") from None
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RPCError(400, "Failed to decode payload: invalid JSON") from None
    if not isinstance(msg, dict):
        raise RPCError(400, "Failed to decode payload: expected a JSON object")
    if msg.get("msgtype") != payloadtype:
        raise RPCError(400, "Failed to decode payload, msg.MsgType does not match payloadType")
    return msg


def build_reply(payloadtype: str, obj: Any) -> str:
    """A success envelope whose payload is the JSON of ``obj`` (``{}`` for an empty reply)."""
    payload = EMPTY_PAYLOAD if obj is None else _b64(encode_json(obj))
    return json.dumps({"payloadtype": payloadtype, "payload": payload, "error": False})


def build_error(status: int, message: str) -> str:
    """An error envelope carrying a Failure ``{"status", "message"}``."""
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
