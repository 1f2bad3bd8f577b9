"""Wire model and envelope codecs: exact JSON names, tolerant decoding, strict types."""

from __future__ import annotations

import ast
import base64
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colonies import crypto, rpc
from colonies.errors import (
    AccessDeniedError,
    AssignmentsPaused,
    NoProcessAvailable,
    ProtocolError,
    ServerError,
)
from colonies.model import (
    ZERO_TIME,
    Conditions,
    Executor,
    FunctionSpec,
    Process,
    WireError,
)
from colonies.timeutil import format_ns, parse_ns
from colonies.web import PORTABLE
from conftest import VECTORS_PATH

SRC = Path(__file__).resolve().parents[1] / "src" / "colonies"
PROCESS_FIELDS = [
    "processid",
    "initiatorid",
    "initiatorname",
    "assignedexecutorid",
    "isassigned",
    "state",
    "prioritytime",
    "submissiontime",
    "starttime",
    "endtime",
    "waitdeadline",
    "execdeadline",
    "retries",
    "attributes",
    "spec",
    "waitforparents",
    "parents",
    "children",
    "processgraphid",
    "in",
    "out",
    "errors",
]


def test_process_has_every_field_in_go_order_and_no_nulls() -> None:
    encoded = Process().to_dict()
    assert list(encoded) == PROCESS_FIELDS
    assert encoded["in"] == [] and encoded["out"] == [] and encoded["errors"] == []
    assert encoded["submissiontime"] == ZERO_TIME
    assert encoded["spec"]["conditions"]["executornames"] == []
    assert "channels" not in encoded["spec"]  # omitempty, like Go


def test_decoding_is_tolerant_like_go() -> None:
    process = Process.from_dict(
        {
            "ProcessID": "abc",  # case-insensitive names
            "state": 1,
            "errors": None,  # null -> default
            "unknownfield": {"x": 1},  # ignored
            "spec": {"funcname": "f", "conditions": {"executortype": "t"}},
            "in": [1, "two"],
        }
    )
    assert process.processid == "abc" and process.errors == [] and process.input == [1, "two"]
    assert process.spec.conditions.executortype == "t" and process.spec.maxretries == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"state": "1"}, "Process.state: expected an integer"),
        ({"isassigned": 1}, "Process.isassigned: expected a boolean"),
        ({"spec": []}, "Process.spec: expected an object"),
        ({"parents": "p"}, "Process.parents: expected a list"),
        (
            {"spec": {"conditions": {"executornames": [1]}}},
            "Process.spec.conditions.executornames[0]: expected a string",
        ),
    ],
)
def test_wrong_types_are_clear_errors(doc: dict[str, object], message: str) -> None:
    with pytest.raises(WireError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Process.from_dict(doc)


@given(
    st.builds(
        FunctionSpec,
        funcname=st.text(),
        args=st.lists(st.one_of(st.text(), st.integers(), st.booleans())),
        priority=st.integers(-50000, 50000),
        maxretries=st.integers(-1, 10),
        conditions=st.builds(
            Conditions,
            colonyname=st.text(),
            executortype=st.text(),
            executornames=st.lists(st.text(), max_size=3),
        ),
    )
)
def test_function_spec_round_trips(spec: FunctionSpec) -> None:
    assert FunctionSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_executor_omits_empty_optional_fields() -> None:
    encoded = Executor(executorname="e").to_dict()
    assert "locationname" not in encoded and "blueprintid" not in encoded
    assert encoded["capabilities"] == {"hardware": [], "software": []}


@given(st.integers(min_value=1, max_value=2**62))
def test_times_round_trip(ns: int) -> None:
    assert parse_ns(format_ns(ns)) == ns


def test_time_format_is_go_rfc3339nano() -> None:
    assert format_ns(0) == ZERO_TIME
    assert format_ns(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert parse_ns("2023-11-14T23:13:20.12+01:00") == 1_700_000_000_120_000_000


def test_request_envelope_matches_the_vectors() -> None:
    vectors = json.loads(VECTORS_PATH.read_text())
    for example in vectors["rpc_examples"]:
        body = json.loads(example["http_body"])
        parsed = rpc.parse_request(example["http_body"], {body["payloadtype"]})
        assert parsed.signer == example["recovered_id"] and parsed.msg == example["msg"]
    built = json.loads(
        rpc.build_request({"msgtype": "getcoloniesmsg"}, vectors["keys"][0]["prvkey"])
    )
    assert crypto.recover_id(built["payload"], built["signature"]) == vectors["keys"][0]["id"]


def test_reply_envelopes() -> None:
    assert json.loads(rpc.build_reply("addcolonymsg", None))["payload"] == "e30="
    assert rpc.parse_reply(200, rpc.build_reply("getcolonymsg", {"name": "dev"})) == {"name": "dev"}
    error = json.loads(rpc.build_error(403, "Access denied"))
    assert error["error"] is True and error["payloadtype"] == "error"
    assert json.loads(base64.b64decode(error["payload"])) == {
        "status": 403,
        "message": "Access denied",
    }
    with pytest.raises(AccessDeniedError, match="Access denied"):
        rpc.parse_reply(403, rpc.build_error(403, "Access denied"))
    with pytest.raises(NoProcessAvailable):
        rpc.parse_reply(404, rpc.build_error(404, "No process available for assignment"))
    with pytest.raises(AssignmentsPaused):
        rpc.parse_reply(
            408, rpc.build_error(408, "Assignment timeout: colony assignments are paused")
        )
    with pytest.raises(ProtocolError) as info:
        rpc.parse_reply(502, "<html>Bad gateway</html>")
    assert info.value.status == 502
    with pytest.raises(ServerError):  # an error envelope with status 200 (old servers)
        rpc.parse_reply(200, rpc.build_error(500, "boom"))


@pytest.mark.parametrize("module", PORTABLE)  # what ships to the browser
def test_portable_modules_import_only_the_stdlib(module: str) -> None:
    """These files must run unchanged in Pyodide, where only the stdlib exists.

    Module-level imports are checked; imports inside functions are the lazy, runtime-specific
    ones (httpx in the CPython transport) and never run in the browser.
    """
    tree = ast.parse((SRC / module).read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    # js and pyodide are Pyodide's own modules (the fetch transport)
    allowed = set(sys.stdlib_module_names) | {"colonies", "js", "pyodide"}
    assert imported <= allowed, imported - allowed
