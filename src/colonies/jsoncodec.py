"""Compact JSON encoding, by orjson when it is installed (``colonies[client]``) and by the
standard library otherwise (Pyodide, the base install).

Both give the same JSON text for what the wire carries: no spaces, UTF-8 rather than
``\\u`` escapes. orjson refuses what it cannot represent exactly (integers beyond 64 bits,
lone surrogates, non-string keys); those go to the standard library, which writes them as it
always did. Floats may differ in spelling (``1e-07`` and ``1e-7``), not in value. Decoding
stays with the standard library: the server's request decoder refuses what Go's refuses, and
that is written against ``json.JSONDecoder``.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the base install and Pyodide
    orjson = None  # type: ignore[assignment]


def _stdlib_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


if orjson is not None:
    _orjson_dumps = orjson.dumps

    def dumps(obj: Any) -> bytes:
        """``obj`` as compact UTF-8 JSON."""
        try:
            return _orjson_dumps(obj)
        except TypeError:  # orjson.JSONEncodeError: a big int, a lone surrogate, an odd key
            return _stdlib_dumps(obj)

else:  # pragma: no cover - the base install and Pyodide
    dumps = _stdlib_dumps


def dumps_text(obj: Any) -> str:
    """``obj`` as compact JSON text."""
    return dumps(obj).decode("utf-8")
