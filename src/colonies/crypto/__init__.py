"""ColonyOS identities and signatures: secp256k1 recoverable ECDSA over SHA3-256.

Wire facts (spec sections 2 and 3): a private key is 64 hex chars; an ID is
``hex(SHA3-256(ascii(lowercase hex of 04||X||Y)))``; an RPC signature is
``hex(r || s || v)`` (130 chars, ``v`` in {0, 1}, low-s) over ``SHA3-256`` of the base64
payload string exactly as transmitted. The server never verifies against a known key: it
recovers the signer's public key and authorizes the ID derived from it.

The checks every server must make (length, ``v``, range of ``r``/``s``, high-s rejection)
live here, in front of both backends, so the stdlib-only ``_pure`` backend (used in Pyodide,
or when ``COLONIES_CRYPTO_BACKEND=pure``) and the coincurve one behave identically; coincurve
alone would accept high-s signatures, which the Go server rejects. Error texts follow the Go
server's, since they are sent back to clients in 403 replies.
"""

import functools
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from ._pure import N

__all__ = [
    "BACKEND",
    "Backend",
    "InvalidKeyError",
    "SignatureError",
    "backend",
    "generate_private_key",
    "id_from_private_key",
    "id_from_public_key",
    "public_key",
    "recover_id",
    "sha3_hex",
    "sign",
]

_HEX = frozenset("0123456789abcdefABCDEF")
_PRVKEY = re.compile(r"[0-9a-fA-F]{64}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]{130}")


class SignatureError(ValueError):
    """A signature that cannot identify a signer: the server answers 403 with this text."""


class InvalidKeyError(ValueError):
    """A private key that is not 64 hex chars encoding 0 < d < n."""


class _Impl(Protocol):
    """What a backend module provides; inputs are already validated, failures are ValueError."""

    def public_key(self, secret: bytes) -> bytes: ...
    def sign(self, digest: bytes, secret: bytes) -> bytes: ...
    def recover(self, digest: bytes, sig: bytes) -> bytes: ...


def sha3_hex(data: str | bytes) -> str:
    """Hex SHA3-256 (FIPS 202, not Keccak), the hash behind every ColonyOS ID and signature."""
    return hashlib.sha3_256(data.encode() if isinstance(data, str) else data).hexdigest()


def id_from_public_key(pub: bytes) -> str:
    """The ColonyOS ID: SHA3-256 of the lowercase *hex text* of the uncompressed key, as Go does."""
    if len(pub) != 65 or pub[0] != 4:
        raise ValueError("public key must be 65-byte uncompressed SEC1 (04 || X || Y)")
    return _id_of_key(pub)


@functools.lru_cache(maxsize=4096)
def _id_of_key(pub: bytes) -> str:
    """Cached: a server recovers the same few keys (its executors') on every request."""
    return sha3_hex(pub.hex())


def _digest(message: str | bytes) -> bytes:
    """SHA3-256 of the signed bytes (a str is the base64 payload, sent as UTF-8/ASCII)."""
    return hashlib.sha3_256(message.encode() if isinstance(message, str) else message).digest()


def _secret(prvkey: str) -> bytes:
    """The 32 secret bytes of a hex private key, rejecting what Go's key parsing rejects."""
    if not _PRVKEY.fullmatch(prvkey):
        raise InvalidKeyError("Invalid private key: expected 64 hex characters")
    secret = bytes.fromhex(prvkey)
    if not 0 < int.from_bytes(secret) < N:
        raise InvalidKeyError("Invalid private key: must be in the range [1, n-1]")
    return secret


def _parse_signature(signature: str) -> bytes:
    """The 65 raw bytes of a hex signature that Go's RecoveredID would get past its checks."""
    if not _SIGNATURE.fullmatch(signature):  # the character scan only to word Go's error
        bad = next((c for c in signature if c not in _HEX), None)
        if bad is not None:
            raise SignatureError(f"encoding/hex: invalid byte: U+{ord(bad):04X} {bad!r}")
        if len(signature) % 2:
            raise SignatureError("encoding/hex: odd length hex string")
        raise SignatureError("Invalid signature length")
    sig = bytes.fromhex(signature)
    r, s = int.from_bytes(sig[:32]), int.from_bytes(sig[32:64])
    for failed, reason in (
        (sig[64] not in (0, 1), "invalid compact signature recovery code"),
        (r == 0, "signature R is 0"),
        (r >= N, "signature R is >= curve order"),
        (s == 0, "signature S is 0"),
        (s >= N, "signature S is >= curve order"),
    ):
        if failed:
            raise SignatureError(f"Failed to recover public key: {reason}")
    if s > N // 2:  # (r, n-s) is the same signature; Go rejects it to stop malleability
        raise SignatureError("Failed verify signature: Signature s value is over half the order")
    return sig


@dataclass(frozen=True)
class Backend:
    """The validated API over one implementation; ``backend(name)`` lets tests pit them."""

    name: str
    impl: _Impl

    def public_key(self, prvkey: str) -> bytes:
        """The 65-byte uncompressed public key (04 || X || Y) of a hex private key."""
        return _public_key(self, prvkey)

    def id_from_private_key(self, prvkey: str) -> str:
        """The ColonyOS ID of a hex private key."""
        return id_from_public_key(self.public_key(prvkey))

    def sign(self, message: str | bytes, prvkey: str) -> str:
        """130 hex chars r || s || v (v in {0, 1}, low-s, RFC 6979) over SHA3-256(message)."""
        return self.impl.sign(_digest(message), _secret(prvkey)).hex()

    def recover_id(self, message: str | bytes, signature: str) -> str:
        """The signer's ID; a tampered message yields another ID, a malformed one SignatureError."""
        sig = _parse_signature(signature)
        try:
            pub = self.impl.recover(_digest(message), sig)
        except ValueError as e:
            raise SignatureError(f"Failed to recover public key: {e}") from e
        return id_from_public_key(pub)


@functools.lru_cache(maxsize=1024)
def _public_key(be: Backend, prvkey: str) -> bytes:
    """Cached: a client signs every request with the same key and asks for its ID often."""
    return be.impl.public_key(_secret(prvkey))


@functools.cache
def backend(name: str) -> Backend:
    """The "pure" or "coincurve" backend; ImportError if coincurve is not installed."""
    if name == "pure":
        from . import _pure

        return Backend(name, _pure)
    if name == "coincurve":
        from . import _coincurve

        return Backend(name, _coincurve)
    raise ValueError(f"unknown crypto backend {name!r} (expected 'pure' or 'coincurve')")


def _default_backend() -> str:
    """coincurve when it imports (~10x faster signing, ~30x recovery), else pure; env can force."""
    forced = os.environ.get("COLONIES_CRYPTO_BACKEND", "")
    if forced:
        backend(forced)  # fail loudly on a typo or a forced but missing coincurve
        return forced
    try:
        backend("coincurve")
    except ImportError:
        return "pure"
    return "coincurve"


BACKEND: str = _default_backend()
_default = backend(BACKEND)


def generate_private_key() -> str:
    """A fresh private key: 64 lowercase hex chars from the OS CSPRNG."""
    return f"{secrets.randbelow(N - 1) + 1:064x}"


def public_key(prvkey: str) -> bytes:
    """The 65-byte uncompressed public key (04 || X || Y) of a hex private key."""
    return _default.public_key(prvkey)


def id_from_private_key(prvkey: str) -> str:
    """The ColonyOS ID (colony, executor, user or server) of a hex private key."""
    return _default.id_from_private_key(prvkey)


# Small messages are remembered with their signature and signer: an executor's long-poll is
# the same signed bytes every time (no nonce, RFC 6979 signatures), one request in three of
# every process it runs, so neither side needs to redo the curve arithmetic for it. Both are
# pure functions of their arguments; larger messages are not kept (memory).
MEMO_MAX_MESSAGE = 512


def sign(message: str | bytes, prvkey: str) -> str:
    """Sign the base64 payload string as transmitted: 130 hex chars r || s || v, low-s."""
    if len(message) <= MEMO_MAX_MESSAGE:
        return _sign_small(message, prvkey, _default)
    return _default.sign(message, prvkey)


def recover_id(message: str | bytes, signature: str) -> str:
    """The signer's ID, computed as the Go server does; SignatureError if there is none."""
    if len(message) <= MEMO_MAX_MESSAGE:
        return _recover_small(message, signature, _default)
    return _default.recover_id(message, signature)


@functools.lru_cache(maxsize=16384)
def _sign_small(message: str | bytes, prvkey: str, be: Backend) -> str:
    return be.sign(message, prvkey)


@functools.lru_cache(maxsize=16384)
def _recover_small(message: str | bytes, signature: str, be: Backend) -> str:
    return be.recover_id(message, signature)  # a SignatureError is raised, never cached
