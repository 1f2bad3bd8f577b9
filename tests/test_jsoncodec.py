"""``colonies.jsoncodec``: orjson where installed writes the same JSON as the standard library
(what Pyodide and the base install use), and falls back to it for what orjson refuses."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from colonies import jsoncodec, rpc

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(alphabet=st.characters(exclude_categories=["Cs"])),  # no lone surrogates
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=30,
)


def stdlib(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def test_orjson_is_the_fast_path_here() -> None:
    assert jsoncodec.orjson is not None  # colonies[client] installs it
    assert jsoncodec.dumps is not jsoncodec._stdlib_dumps


@given(VALUES)
def test_the_same_text_as_the_standard_library(value: Any) -> None:
    assert jsoncodec.dumps(value) == stdlib(value) == jsoncodec._stdlib_dumps(value)
    assert jsoncodec.dumps_text(value) == stdlib(value).decode()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_keep_their_value(value: float) -> None:
    assert json.loads(jsoncodec.dumps([value])) == [value]


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    big = {"args": [2**64, -(2**63) - 1, 10**30]}
    assert jsoncodec.dumps(big) == stdlib(big)
    assert json.loads(jsoncodec.dumps(big)) == big  # exact, not a float
    assert jsoncodec.dumps({1: "a", None: "b"}) == b'{"1":"a","null":"b"}'


def test_replies_are_byte_for_byte_what_they_were() -> None:
    reply = rpc.build_reply("getcolonymsg", {"name": "dév"})
    payload = json.loads(reply)["payload"]
    envelope = {"payloadtype": "getcolonymsg", "payload": payload, "error": False}
    assert reply == json.dumps(envelope)
    odd = rpc.build_reply('a"b\u00e9', None)
    assert json.loads(odd) == {"payloadtype": 'a"b\u00e9', "payload": "e30=", "error": False}
