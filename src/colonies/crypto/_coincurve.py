"""secp256k1 through coincurve (libsecp256k1): the fast backend on CPython.

Same contract as ``_pure``: inputs are validated by ``colonies.crypto``, digests are the
precomputed SHA3-256 (so ``hasher=None``), and every failure is a ``ValueError``. Note that
libsecp256k1's recovery accepts high-s signatures; ``colonies.crypto`` rejects them first.
"""

from functools import lru_cache

from coincurve import PrivateKey, PublicKey


@lru_cache(maxsize=256)
def _key(secret: bytes) -> PrivateKey:
    """Cached because building a PrivateKey derives two public keys, more than a signature costs."""
    return PrivateKey(secret)


def public_key(secret: bytes) -> bytes:
    """The 65-byte uncompressed public key of a 32-byte secret."""
    return _key(secret).public_key.format(compressed=False)


def sign(digest: bytes, secret: bytes) -> bytes:
    """r || s || v (65 bytes) over a 32-byte digest; libsecp256k1 uses RFC 6979 and low-s."""
    return _key(secret).sign_recoverable(digest, hasher=None)


def recover(digest: bytes, sig: bytes) -> bytes:
    """The uncompressed public key that made ``sig`` (r || s || v) over ``digest``."""
    return PublicKey.from_signature_and_message(sig, digest, hasher=None).format(compressed=False)
