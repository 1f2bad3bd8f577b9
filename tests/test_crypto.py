"""colonies.crypto against the spec's wire vectors, on both backends.

Every vector in tests/data/crypto-vectors.json (a copy of the spec's) is checked on the pure
backend (what Pyodide runs) and on coincurve (what CPython runs), so the two stay byte-identical
to each other and to the Go server. Malformed signatures must fail the way the Go server fails them.
"""

import ast
import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colonies import crypto
from colonies.crypto import InvalidKeyError, SignatureError
from colonies.crypto._pure import N, P
from conftest import VECTORS_PATH

VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
UPSTREAM = VECTORS["known_vectors_from_upstream"]
CI_KEYPAIRS = UPSTREAM[
    "ci_keypairs (pycolonies .github/workflows/python.yml, ids produced by Go colonies)"
]
NEGATIVE = VECTORS["negative_vectors"]

BACKENDS = ["pure", "coincurve"]
KEY = VECTORS["keys"][0]
MESSAGE = KEY["signed_string"]
SIGNATURE = KEY["signature"]


@pytest.fixture(params=BACKENDS)
def be(request: pytest.FixtureRequest) -> crypto.Backend:
    return crypto.backend(request.param)


def _sig(r: int, s: int, v: int) -> str:
    return f"{r:064x}{s:064x}{v:02x}"


# --- upstream vectors -------------------------------------------------------------------------


def test_sha3_is_fips202_not_keccak() -> None:
    expected = UPSTREAM["sha3_256('hello world')"]
    assert expected == UPSTREAM["sha3_256('hello world') expected (Go hash_test.go)"]
    assert crypto.sha3_hex("hello world") == expected
    assert crypto.sha3_hex(b"hello world") == expected
    assert expected != UPSTREAM["keccak256('hello world') (for contrast, NOT used)"]


def test_sample_message_digest() -> None:
    sample = VECTORS["sample_message"]
    payload = sample["payload_base64_string_that_is_signed"]
    assert base64.b64decode(payload).decode() == sample["json"]
    assert crypto.sha3_hex(payload) == sample["sha3_256_of_payload_string"]


def test_go_identity_vector(be: crypto.Backend) -> None:
    vec = UPSTREAM["go_idendity_test"]
    assert be.public_key(vec["prvkey"]).hex() == vec["pubkey"] == vec["pubkey_expected"]
    assert be.id_from_private_key(vec["prvkey"]) == vec["id"] == vec["id_expected"]
    assert crypto.id_from_public_key(bytes.fromhex(vec["pubkey"])) == vec["id"]


@pytest.mark.parametrize("role", sorted(CI_KEYPAIRS))
def test_ci_keypairs(be: crypto.Backend, role: str) -> None:
    pair = CI_KEYPAIRS[role]
    assert pair["match"] is True
    assert be.id_from_private_key(pair["prvkey"]) == pair["id"] == pair["id_expected"]


def test_sign_hello(be: crypto.Backend) -> None:
    vec = UPSTREAM["sign_hello"]
    assert crypto.sha3_hex(vec["message"]) == vec["sha3_digest"]
    assert be.id_from_private_key(vec["prvkey"]) == vec["id"]
    signature = be.sign(vec["message"], vec["prvkey"])
    assert signature == vec["pycolonies_signature"] == vec["coincurve_signature"]
    assert signature == vec["pycolonies_signature_expected (pycolonies test/crypto_test.py)"]
    assert be.recover_id(vec["message"], signature) == vec["id"]


def test_go_interop_signature_recovers_same_signer(be: crypto.Backend) -> None:
    """Go's nonce differs from ours, so the server must accept any valid low-s signature."""
    vec = UPSTREAM["sign_hello"]
    go_sig = vec[
        "go_interop_signature (Go signature_test.go TestInterop; different nonce, same signer)"
    ]
    assert go_sig != vec["pycolonies_signature"]
    assert be.recover_id(vec["message"], go_sig) == vec["go_interop_signature_recovers_to"]
    assert vec["go_interop_signature_recovers_to"] == vec["id"]


# --- generated keys and RPC examples ----------------------------------------------------------


@pytest.mark.parametrize("key", VECTORS["keys"], ids=lambda k: k["seed"])
def test_key_vectors(be: crypto.Backend, key: dict[str, Any]) -> None:
    prv = key["prvkey"]
    assert hashlib.sha256(key["seed"][8:-2].encode()).hexdigest() == prv
    pub = be.public_key(prv)
    assert pub.hex() == key["pubkey_uncompressed"]
    assert crypto.id_from_public_key(pub) == key["id"] == key["id_via_coincurve"]
    assert be.id_from_private_key(prv) == key["id"]
    assert be.sign(key["signed_string"], prv) == key["signature"]
    assert be.sign(key["signed_string"].encode(), prv) == key["signature"]
    assert be.sign("hello", prv) == key["signature_of_'hello'"]
    assert be.recover_id(key["signed_string"], key["signature"]) == key["id"]
    assert be.recover_id(key["signed_string"], key["signature"]) == key["recovered_id (coincurve)"]
    assert be.recover_id("hello", key["signature_of_'hello'"]) == key["id"]


@pytest.mark.parametrize("example", VECTORS["rpc_examples"], ids=lambda e: e["msg"]["msgtype"])
def test_rpc_examples(be: crypto.Backend, example: dict[str, Any]) -> None:
    body = json.loads(example["http_body"])
    assert body["payloadtype"] == example["msg"]["msgtype"]
    assert json.loads(base64.b64decode(body["payload"])) == example["msg"]
    assert be.recover_id(body["payload"], body["signature"]) == example["recovered_id"]
    assert example["recovered_id"] == example["signer_id"]
    assert be.id_from_private_key(example["signer_prvkey"]) == example["signer_id"]
    assert be.sign(body["payload"], example["signer_prvkey"]) == body["signature"]


# --- negative vectors and malformed signatures ------------------------------------------------


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_vectors(be: crypto.Backend, name: str) -> None:
    """Whatever Go's RecoveredID does, we do: an error, or a *different* (wrong) signer."""
    vec = NEGATIVE[name]
    go_result = vec["go_libcryptolib_recoverid"]
    if go_result == "error":
        with pytest.raises(SignatureError):
            be.recover_id(vec["message"], vec["signature"])
    else:
        recovered = be.recover_id(vec["message"], vec["signature"])
        assert recovered == go_result
        assert recovered != vec["true_signer_id"]


def test_high_s_rejected_with_go_text(be: crypto.Backend) -> None:
    vec = NEGATIVE["high_s_variant (same r, s=N-s, v^1)"]
    with pytest.raises(SignatureError, match="Signature s value is over half the order"):
        be.recover_id(vec["message"], vec["signature"])


@pytest.mark.parametrize("name", BACKENDS)
def test_raw_backends_accept_high_s(name: str) -> None:
    """Neither backend rejects high-s by itself, which is why the shared front end must."""
    vec = NEGATIVE["high_s_variant (same r, s=N-s, v^1)"]
    raw = crypto.backend(name).impl
    pub = raw.recover(
        hashlib.sha3_256(vec["message"].encode()).digest(), bytes.fromhex(vec["signature"])
    )
    assert crypto.id_from_public_key(pub) == vec["coincurve_recover_id"] == vec["true_signer_id"]


def _non_curve_x() -> int:
    """The smallest x with no curve point: x**3 + 7 is a quadratic non-residue mod P."""
    x = 1
    while pow(x**3 + 7, (P - 1) // 2, P) == 1:
        x += 1
    return x


def _infinity_signature(message: str) -> str:
    """(r, s, v) with s*R == e*G, so the recovered key r^-1 (sR - eG) is the point at infinity."""
    k = 12345
    pub = crypto.backend("pure").public_key(f"{k:064x}")
    x, y = int.from_bytes(pub[1:33]), int.from_bytes(pub[33:])
    e = int.from_bytes(hashlib.sha3_256(message.encode()).digest())
    s, v = e * pow(k, -1, N) % N, y & 1
    if s > N // 2:
        s, v = N - s, v ^ 1
    return _sig(x % N, s, v)


HALF_S = N // 2
MALFORMED = {
    "empty": ("", "Invalid signature length"),
    "non-hex": ("zz" * 65, "encoding/hex: invalid byte: U+007A 'z'"),
    "space": (" " + SIGNATURE[1:], "encoding/hex: invalid byte: U+0020 ' '"),
    "newline": (SIGNATURE[:-1] + "\n", "encoding/hex: invalid byte: U+000A"),
    "odd length": (SIGNATURE[:-1], "encoding/hex: odd length hex string"),
    "too long": (SIGNATURE + "00", "Invalid signature length"),
    "v=2": (SIGNATURE[:-2] + "02", "invalid compact signature recovery code"),
    "v=4": (SIGNATURE[:-2] + "04", "invalid compact signature recovery code"),
    "v=255": (SIGNATURE[:-2] + "ff", "invalid compact signature recovery code"),
    "r=0": (_sig(0, 1, 0), "signature R is 0"),
    "r=n": (_sig(N, 1, 0), "signature R is >= curve order"),
    "r=2^256-1": (_sig(2**256 - 1, 1, 0), "signature R is >= curve order"),
    "s=0": (_sig(1, 0, 0), "signature S is 0"),
    "s=n": (_sig(1, N, 0), "signature S is >= curve order"),
    "s=n/2+1": (_sig(1, HALF_S + 1, 0), "Signature s value is over half the order"),
    "s=n-1": (_sig(1, N - 1, 0), "Signature s value is over half the order"),
    "r not on curve": (_sig(_non_curve_x(), 1, 0), "Failed to recover public key"),
    "point at infinity": (_infinity_signature(MESSAGE), "Failed to recover public key"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_signatures(be: crypto.Backend, case: str) -> None:
    signature, text = MALFORMED[case]
    with pytest.raises(SignatureError) as info:
        be.recover_id(MESSAGE, signature)
    assert text in str(info.value)
    assert isinstance(info.value, ValueError)


def test_boundary_s_is_accepted(be: crypto.Backend) -> None:
    """s == floor(n/2) is still low-s; any valid (r, v) then recovers *some* key."""
    x = next(x for x in range(1, 100) if pow(x**3 + 7, (P - 1) // 2, P) == 1)
    assert len(be.recover_id(MESSAGE, _sig(x, HALF_S, 0))) == 64


def test_uppercase_signature_accepted(be: crypto.Backend) -> None:
    """Go's hex.DecodeString accepts upper case, so the server must too."""
    assert be.recover_id(MESSAGE, SIGNATURE.upper()) == KEY["id"]


def test_tampered_message_changes_signer(be: crypto.Backend) -> None:
    assert be.recover_id(MESSAGE + "x", SIGNATURE) != KEY["id"]


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prvkey",
    [
        "",
        KEY["prvkey"][:-1],
        KEY["prvkey"] + "0",
        "g" + KEY["prvkey"][1:],
        " " + KEY["prvkey"][1:],
        KEY["prvkey"][:-1] + "\n",
        "00" * 32,
        f"{N:064x}",
        "ff" * 32,
    ],
    ids=["empty", "short", "long", "non-hex", "space", "newline", "zero", "n", "max"],
)
def test_invalid_private_keys(be: crypto.Backend, prvkey: str) -> None:
    with pytest.raises(InvalidKeyError):
        be.public_key(prvkey)
    with pytest.raises(InvalidKeyError):
        be.id_from_private_key(prvkey)
    with pytest.raises(InvalidKeyError):
        be.sign(MESSAGE, prvkey)


def test_generate_private_key() -> None:
    keys = {crypto.generate_private_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert len(key) == 64 and key == key.lower()
        assert 0 < int(key, 16) < N
        assert crypto.recover_id("x", crypto.sign("x", key)) == crypto.id_from_private_key(key)


def test_id_from_public_key_needs_uncompressed_form() -> None:
    pub = crypto.public_key(KEY["prvkey"])
    compressed = bytes([2 + (pub[-1] & 1)]) + pub[1:33]
    with pytest.raises(ValueError, match="uncompressed"):
        crypto.id_from_public_key(compressed)


def test_default_functions_use_default_backend() -> None:
    assert crypto.BACKEND in BACKENDS
    assert crypto.public_key(KEY["prvkey"]).hex() == KEY["pubkey_uncompressed"]
    assert crypto.id_from_private_key(KEY["prvkey"]) == KEY["id"]
    assert crypto.sign(MESSAGE, KEY["prvkey"]) == SIGNATURE
    assert crypto.recover_id(MESSAGE, SIGNATURE) == KEY["id"]


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown crypto backend"):
        crypto.backend("openssl")


@pytest.mark.parametrize("forced", BACKENDS)
def test_env_var_forces_backend(forced: str) -> None:
    src = str(Path(crypto.__file__).resolve().parents[2])
    env = {**os.environ, "COLONIES_CRYPTO_BACKEND": forced, "PYTHONPATH": src}
    code = "from colonies import crypto; print(crypto.BACKEND)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == forced


# --- portability ------------------------------------------------------------------------------


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(relative level, module, at top level) of every import statement in a source file."""
    tree = ast.parse(path.read_text())
    top = set(tree.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name, node in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module] if node.module else [a.name for a in node.names]
            found += [(node.level, name, node in top) for name in names]
    return found


def test_portable_modules_import_only_stdlib() -> None:
    """_pure and the package front end must run unchanged in Pyodide, where only stdlib exists."""
    package = Path(crypto.__file__).parent
    for level, module, _ in _imports(package / "_pure.py"):
        assert level == 0, f"_pure.py must not import {module} from the package"
        assert module.split(".")[0] in sys.stdlib_module_names, module
    for level, module, top in _imports(package / "__init__.py"):
        if level == 0:
            assert module.split(".")[0] in sys.stdlib_module_names, module
        elif top:
            assert module == "_pure", f"only _pure may be imported eagerly, not {module}"


# --- properties -------------------------------------------------------------------------------

PRVKEYS = st.one_of(
    st.sampled_from([1, 2, 3, N // 2, N - 2, N - 1]),
    st.integers(min_value=1, max_value=N - 1),
).map(lambda d: f"{d:064x}")
MESSAGES = st.one_of(st.text(), st.binary())


@settings(max_examples=60)
@given(prvkey=PRVKEYS, message=MESSAGES)
def test_backends_agree_and_round_trip(prvkey: str, message: str | bytes) -> None:
    pure, fast = crypto.backend("pure"), crypto.backend("coincurve")
    assert pure.public_key(prvkey) == fast.public_key(prvkey)
    signer = fast.id_from_private_key(prvkey)
    signature = pure.sign(message, prvkey)
    assert signature == fast.sign(message, prvkey)
    assert len(signature) == 130 and signature[-2:] in ("00", "01")
    assert int(signature[64:128], 16) <= N // 2
    assert pure.recover_id(message, signature) == signer
    assert fast.recover_id(message, signature) == signer


@settings(max_examples=30)
@given(prvkey=PRVKEYS, message=st.text(min_size=1))
def test_high_s_twin_always_rejected(prvkey: str, message: str) -> None:
    """(r, n-s, v^1) is the malleated twin of every signature; both backends refuse it."""
    signature = crypto.sign(message, prvkey)
    r, s, v = int(signature[:64], 16), int(signature[64:128], 16), int(signature[128:], 16)
    twin = _sig(r, N - s, v ^ 1)
    for name in BACKENDS:
        with pytest.raises(SignatureError, match="over half the order"):
            crypto.backend(name).recover_id(message, twin)


def test_remembered_small_messages_recover_and_refuse_as_before() -> None:
    """``recover_id``/``sign`` remember small messages (a long-poll is the same signed bytes
    each time): the answer is the uncached one, per (message, signature), and a refusal is
    never remembered as an answer."""
    alice, bob = crypto.generate_private_key(), crypto.generate_private_key()
    message = "eyJtc2d0eXBlIjoiYXNzaWducHJvY2Vzc21zZyJ9"
    by_alice, by_bob = crypto.sign(message, alice), crypto.sign(message, bob)
    assert (
        by_alice
        == crypto.sign(message, alice)
        == crypto.backend(crypto.BACKEND).sign(message, alice)
    )
    for _ in range(2):
        assert crypto.recover_id(message, by_alice) == crypto.id_from_private_key(alice)
        assert crypto.recover_id(message, by_bob) == crypto.id_from_private_key(bob)
        assert crypto.recover_id(message + "x", by_alice) != crypto.id_from_private_key(alice)
        with pytest.raises(crypto.SignatureError):
            crypto.recover_id(message, by_alice[:-2] + "07")
