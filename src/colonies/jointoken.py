"""Join tokens: let an executor join a colony without holding the colony's private key.

The colony owner signs a short-lived token scoped to one colony and one executor type
(``colonies executor token create --type wasm --ttl 1h``). An executor presents it with its own
key in ``addexecutorbytokenmsg``; the server checks that the colony owner signed it, that it has
not expired and that it matches the colony and type, then registers and approves the executor.

Format: ``base64url(JSON claims) + "." + signature``, the signature being an ordinary ColonyOS
signature (secp256k1 over SHA3-256) of ``"colonies-join-token:" + claims``; the prefix keeps a
token signature from ever being valid as an RPC signature. Tokens are reusable until they expire
(one token can start a fleet of browser tabs), so keep the TTL short. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass

from colonies import crypto

DOMAIN = "colonies-join-token:"
VERSION = 1


class TokenError(ValueError):
    """A join token that is malformed, expired, forged or meant for something else."""


@dataclass(frozen=True)
class JoinToken:
    colonyname: str
    executortype: str
    expires: int  # Unix seconds
    nonce: str
    claims: str  # the signed base64url text
    signature: str

    def signer(self) -> str:
        """The ID that signed the token (the colony ID, when genuine)."""
        try:
            return crypto.recover_id(DOMAIN + self.claims, self.signature)
        except crypto.SignatureError as e:
            raise TokenError(f"join token signature is invalid: {e}") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def create(
    colony_prvkey: str, colonyname: str, executortype: str, ttl: float, *, now: float | None = None
) -> str:
    """A token valid for ``ttl`` seconds, signed with the colony owner's key."""
    if ttl <= 0:
        raise TokenError("the token's time to live must be positive")
    claims = {
        "v": VERSION,
        "colonyname": colonyname,
        "executortype": executortype,
        "expires": int((time.time() if now is None else now) + ttl),
        "nonce": secrets.token_hex(8),
    }
    text = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{text}.{crypto.sign(DOMAIN + text, colony_prvkey)}"


def parse(token: str) -> JoinToken:
    text, _, signature = token.strip().partition(".")
    try:
        claims = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return JoinToken(
            colonyname=str(claims["colonyname"]),
            executortype=str(claims["executortype"]),
            expires=int(claims["expires"]),
            nonce=str(claims.get("nonce", "")),
            claims=text,
            signature=signature,
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise TokenError("malformed join token (copy the whole token)") from None


def verify(
    token: str, *, colonyid: str, colonyname: str, executortype: str, now: float | None = None
) -> JoinToken:
    """The parsed token if the owner of ``colonyname`` signed it for this use; else TokenError."""
    parsed = parse(token)
    if parsed.colonyname != colonyname:
        raise TokenError(f"join token is for colony {parsed.colonyname!r}, not {colonyname!r}")
    if parsed.signer() != colonyid:
        raise TokenError(f"join token was not signed by the owner of colony {colonyname!r}")
    if parsed.executortype != executortype:
        raise TokenError(
            f"join token is for executor type {parsed.executortype!r}, not {executortype!r}"
        )
    if parsed.expires < (time.time() if now is None else now):
        raise TokenError("join token has expired; ask the colony owner for a new one")
    return parsed
