"""secp256k1 recoverable ECDSA in pure Python, stdlib only.

Why it exists: the portable core must run unchanged in Pyodide/WebAssembly, where no C
extension is available. Points are Jacobian ``(X, Y, Z)`` tuples, so a scalar multiplication
needs a single modular inversion at the end. ``k*G`` (signing, key derivation and half of
recovery) uses a lazily built table of 4-bit windows and needs no doublings; other points use
width-5 wNAF. Nonces are RFC 6979 with HMAC-SHA256, which gives exactly the signatures of
libsecp256k1 (coincurve), Go's btcec and pycolonies.

Inputs are assumed validated by ``colonies.crypto`` (32-byte secret with ``0 < d < n``,
``0 < r, s < n``); ``recover`` raises ``ValueError`` for signatures that match no key.
"""

import hmac
from collections.abc import Iterator
from functools import cache

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798
_GY = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8

Point = tuple[int, int, int]  # Jacobian: affine (X/Z^2, Y/Z^3); Z == 0 is infinity
_INF: Point = (1, 1, 0)
_G: Point = (_GX, _GY, 1)


def _double(pt: Point) -> Point:
    """2*pt (dbl-2009-l, a = 0)."""
    x, y, z = pt
    if z == 0 or y == 0:
        return _INF
    a = x * x % P
    b = y * y % P
    c = b * b % P
    d = 2 * ((x + b) * (x + b) - a - c) % P
    e = 3 * a % P
    x3 = (e * e - 2 * d) % P
    return x3, (e * (d - x3) - 8 * c) % P, 2 * y * z % P


def _add(p1: Point, p2: Point) -> Point:
    """p1 + p2; cheaper when p2 is affine (Z == 1), as every generator-table entry is."""
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    if z1 == 0:
        return p2
    if z2 == 0:
        return p1
    z1z1 = z1 * z1 % P
    if z2 == 1:
        u1, s1 = x1, y1
    else:
        z2z2 = z2 * z2 % P
        u1, s1 = x1 * z2z2 % P, y1 * z2 * z2z2 % P
    h = (x2 * z1z1 - u1) % P
    r = (y2 * z1 * z1z1 - s1) % P
    if h == 0:
        return _double(p1) if r == 0 else _INF
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return x3, (r * (v - x3) - s1 * hhh) % P, h * z1 * z2 % P


def _affine(pt: Point) -> tuple[int, int]:
    """Affine (x, y) of a finite point: the one modular inversion of a multiplication."""
    x, y, z = pt
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return x * zi2 % P, y * zi2 * zi % P


@cache
def _g_table() -> list[list[Point]]:
    """Row i holds j * 16**i * G for j = 0..15, affine; built on first use (~10 ms)."""
    rows = []
    base = _G
    for _ in range(64):
        row = [_INF]
        for _ in range(15):
            row.append(_add(row[-1], base))
        base = _add(row[-1], base)
        rows.append([_INF] + [(*_affine(pt), 1) for pt in row[1:]])
    return rows


def _mul_g(k: int) -> Point:
    """k*G for 0 <= k < 2**256: one table addition per 4-bit window."""
    acc = _INF
    for row in _g_table():
        acc = _add(acc, row[k & 15])
        k >>= 4
    return acc


def _mul(pt: Point, k: int) -> Point:
    """k*pt with width-5 wNAF: ~k.bit_length()/6 additions from the odd multiples pt..15*pt."""
    twice = _double(pt)
    odd = [pt]
    for _ in range(7):
        odd.append(_add(odd[-1], twice))
    digits = []
    while k:
        d = 0
        if k & 1:
            d = (k & 31) - 32 if k & 16 else k & 31
            k -= d
        digits.append(d)
        k >>= 1
    acc = _INF
    for d in reversed(digits):
        acc = _double(acc)
        if d > 0:
            acc = _add(acc, odd[d >> 1])
        elif d < 0:
            x, y, z = odd[-d >> 1]
            acc = _add(acc, (x, P - y, z))
    return acc


def _encode(pt: Point) -> bytes:
    """Uncompressed SEC1 encoding 04 || X || Y (65 bytes), the form IDs are derived from."""
    x, y = _affine(pt)
    return b"\x04" + x.to_bytes(32) + y.to_bytes(32)


def _rfc6979(secret: bytes, digest: bytes) -> Iterator[int]:
    """RFC 6979 section 3.2 nonces in [1, n-1] (HMAC-SHA256, qlen = hlen = 256)."""

    def mac(key: bytes, data: bytes) -> bytes:
        return hmac.digest(key, data, "sha256")

    h = (int.from_bytes(digest) % N).to_bytes(32)
    k, v = b"\x00" * 32, b"\x01" * 32
    k = mac(k, v + b"\x00" + secret + h)
    v = mac(k, v)
    k = mac(k, v + b"\x01" + secret + h)
    v = mac(k, v)
    while True:
        v = mac(k, v)
        nonce = int.from_bytes(v)
        if 0 < nonce < N:
            yield nonce
        k = mac(k, v + b"\x00")
        v = mac(k, v)


def public_key(secret: bytes) -> bytes:
    """The 65-byte uncompressed public key of a 32-byte secret."""
    return _encode(_mul_g(int.from_bytes(secret)))


def sign(digest: bytes, secret: bytes) -> bytes:
    """r || s || v (65 bytes) over a 32-byte digest, low-s, v the recovery id."""
    d = int.from_bytes(secret)
    e = int.from_bytes(digest)
    for nonce in _rfc6979(secret, digest):
        x, y = _affine(_mul_g(nonce))
        r = x % N
        s = pow(nonce, -1, N) * (e + r * d) % N
        if r and s:
            break
    v = (y & 1) | (2 if x >= N else 0)
    if s > N // 2:  # -s is also valid; it belongs to the nonce -k, whose point has the other y
        s, v = N - s, v ^ 1
    return r.to_bytes(32) + s.to_bytes(32) + bytes([v])


def recover(digest: bytes, sig: bytes) -> bytes:
    """The uncompressed public key that made ``sig`` (r || s || v) over ``digest`` (SEC1 4.1.6)."""
    r, s, v = int.from_bytes(sig[:32]), int.from_bytes(sig[32:64]), sig[64]
    x = r + N if v & 2 else r
    if x >= P:
        raise ValueError("signature R + N >= P")
    alpha = (pow(x, 3, P) + 7) % P
    y = pow(alpha, (P + 1) // 4, P)
    if y * y % P != alpha:
        raise ValueError("signature is not for a valid curve point")
    if (y & 1) != (v & 1):
        y = P - y
    r_inv = pow(r, -1, N)
    q = _add(_mul_g(-int.from_bytes(digest) * r_inv % N), _mul((x, y, 1), s * r_inv % N))
    if q[2] == 0:
        raise ValueError("recovered pubkey is the point at infinity")
    return _encode(q)
