"""Differential tests: the same signed requests to the Go server and to ours, replies compared.

Each test works in a fresh colony that exists on both servers with the same name and keys
(``interop.twin``); replies are compared field by field: error status and text, list order, the
defaults the servers fill in. Where we differ on purpose, ``KNOWN`` (and a few tests) pin both
answers, and README.md ("Differences from the Go server") says why; a difference nobody listed
fails the test.
"""

from __future__ import annotations

import operator
import time
from typing import Any

import pytest

from interop.twin import (
    NO_ID,
    Keys,
    Twin,
    add_executor_msg,
    add_user_msg,
    assign,
    close_connections,
    get_process,
    list_processes,
    make_twin,
    ours_module,
    send_payload,
    send_raw,
    shared,
    submit_msg,
    twin,
)

__all__ = ["close_connections", "ours_module", "shared", "twin"]  # fixtures used here


# --- error answers -------------------------------------------------------------------------

NOPE = "nope-no-such-colony"
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    # unknown colony
    "member-unknown-colony": ("user", {"msgtype": "getcolonymsg", "colonyname": NOPE}),
    "member-empty-colony": ("user", {"msgtype": "getcolonymsg", "colonyname": ""}),
    "submit-unknown-colony": ("user", submit_msg("t", colonyname=NOPE)),
    "owner-unknown-colony": ("owner", add_executor_msg(Keys(), "x", "t", colonyname=NOPE)),
    "owner-empty-colony": ("owner", {"msgtype": "removeallprocessesmsg", "colonyname": ""}),
    "stats-unknown-colony": ("user", {"msgtype": "getcolonystatsmsg", "colonyname": NOPE}),
    "remove-unknown-colony": ("server", {"msgtype": "removecolonymsg", "colonyname": NOPE}),
    # not a member
    "stranger-get-colony": ("stranger", {"msgtype": "getcolonymsg", "colonyname": "$COLONY"}),
    "owner-is-no-member": (
        "owner",
        {"msgtype": "getprocessesmsg", "colonyname": "$COLONY", "count": 5, "state": 0},
    ),
    "owner-cannot-submit": ("owner", submit_msg("t")),
    "stranger-executors": ("stranger", {"msgtype": "getexecutorsmsg", "colonyname": "$COLONY"}),
    "pending-executor-lists": (
        "pending",
        {"msgtype": "getprocessesmsg", "colonyname": "$COLONY", "count": 5, "state": 0},
    ),
    "stranger-stats": ("stranger", {"msgtype": "getcolonystatsmsg", "colonyname": "$COLONY"}),
    # not the owner
    "user-adds-executor": ("user", add_executor_msg(Keys(), "x", "t")),
    "user-adds-user": ("user", add_user_msg(Keys(), "bob")),
    "user-removes-all": (
        "user",
        {"msgtype": "removeallprocessesmsg", "colonyname": "$COLONY", "state": -1},
    ),
    "user-approves-executor": (
        "user",
        {"msgtype": "approveexecutormsg", "colonyname": "$COLONY", "executorname": "newcomer"},
    ),
    "user-approves-nobody": (
        "user",
        {"msgtype": "approveexecutormsg", "colonyname": "$COLONY", "executorname": "nobody"},
    ),
    "user-lists-colonies": ("user", {"msgtype": "getcoloniesmsg"}),
    "owner-server-stats": ("owner", {"msgtype": "getstatisticsmsg"}),
    "owner-adds-colony": (
        "owner",
        {"msgtype": "addcolonymsg", "colony": {"colonyid": NO_ID, "name": "x"}},
    ),
    # unknown process, executor, user
    "get-unknown-process": ("user", {"msgtype": "getprocessmsg", "processid": NO_ID}),
    "cancel-unknown-process": ("user", {"msgtype": "cancelprocessmsg", "processid": NO_ID}),
    "remove-unknown-process": ("user", {"msgtype": "removeprocessmsg", "processid": NO_ID}),
    "close-unknown-process": (
        "executor",
        {"msgtype": "closesuccessfulmsg", "processid": NO_ID, "out": []},
    ),
    "fail-unknown-process": (
        "executor",
        {"msgtype": "closefailedmsg", "processid": NO_ID, "errors": []},
    ),
    "logs-unknown-process": (
        "user",
        {"msgtype": "getlogsmsg", "colonyname": "$COLONY", "processid": NO_ID, "count": 10},
    ),
    "logs-unknown-executor": (
        "user",
        {"msgtype": "getlogsmsg", "colonyname": "$COLONY", "executorname": "nobody", "count": 10},
    ),
    "get-unknown-executor": (
        "user",
        {"msgtype": "getexecutormsg", "colonyname": "$COLONY", "executorname": "nobody"},
    ),
    "get-unknown-user": (
        "user",
        {"msgtype": "getusermsg", "colonyname": "$COLONY", "name": "nobody"},
    ),
    "remove-unknown-user": (
        "owner",
        {"msgtype": "removeusermsg", "colonyname": "$COLONY", "name": "nobody"},
    ),
    "function-of-another-executor": (
        "executor",
        {
            "msgtype": "addfunctionmsg",
            "fun": {"executorname": "newcomer", "colonyname": "$COLONY", "funcname": "f"},
        },
    ),
    "remove-unknown-function": ("executor", {"msgtype": "removefunctionmsg", "functionid": NO_ID}),
    # bad values
    "function-without-name": (
        "executor",
        {
            "msgtype": "addfunctionmsg",
            "fun": {"executorname": "worker", "colonyname": "$COLONY", "funcname": ""},
        },
    ),
    "count-too-large": (
        "user",
        {"msgtype": "getprocessesmsg", "colonyname": "$COLONY", "count": 101, "state": 0},
    ),
    "count-negative": (
        "user",
        {"msgtype": "getprocessesmsg", "colonyname": "$COLONY", "count": -1, "state": 0},
    ),
    "bad-state": (
        "user",
        {"msgtype": "getprocessesmsg", "colonyname": "$COLONY", "count": 5, "state": 7},
    ),
    "unknown-initiator": (
        "user",
        {
            "msgtype": "getprocessesmsg",
            "colonyname": "$COLONY",
            "count": 5,
            "state": 0,
            "initiator": "nobody",
        },
    ),
    "priority-out-of-range": ("user", submit_msg("t", priority=50001)),
    "no-executortype": ("user", submit_msg("")),
    "duplicate-colony": (
        "server",
        {"msgtype": "addcolonymsg", "colony": {"colonyid": NO_ID, "name": "$COLONY"}},
    ),
    "duplicate-user": ("owner", add_user_msg(Keys(), "alice")),
    "short-colony-id": (
        "server",
        {"msgtype": "addcolonymsg", "colony": {"colonyid": "abc", "name": "x"}},
    ),
    "unknown-payloadtype": ("user", {"msgtype": "nosuchmsg"}),
    "args-not-a-list": ("user", submit_msg("t", args="hi")),
    "missing-spec": ("user", {"msgtype": "submitfuncspecmsg"}),
}

# Where the answers differ on purpose: (Go's, ours). README.md lists each with its reason.
KNOWN: dict[str, tuple[tuple[int, str | None], tuple[int, str]]] = {
    "stats-unknown-colony": (
        (400, f"Colony with name <{NOPE}> not found"),
        (404, f"Colony with name <{NOPE}> not found"),
    ),
    "remove-unknown-colony": (
        (400, f"Colony with name <{NOPE}> not found"),
        (404, f"Colony with name <{NOPE}> not found"),
    ),
    "stranger-stats": (
        (200, None),  # Go writes no reply at all
        (403, "Access denied, not a member of Colony with name <$COLONY>"),
    ),
    "user-approves-nobody": (
        (500, "Failed to approve executor, executor is nil"),
        (403, "Access denied, not colony owner"),
    ),
    "cancel-unknown-process": (
        (500, "Failed to cancel process, process is nil"),
        (404, "Failed to get process, process not found"),
    ),
    "remove-unknown-process": (
        (500, "Failed to remove process, process is nil"),
        (404, "Failed to get process, process not found"),
    ),
    "logs-unknown-process": (
        (500, "Failed to get logs, process does not exist"),
        (404, "Failed to get logs, process does not exist"),
    ),
    "logs-unknown-executor": (
        (500, "Failed to get logs, executor does not exist"),
        (404, "Failed to get logs, executor does not exist"),
    ),
    "get-unknown-executor": (
        (500, "Failed to get executor, executor is nil"),
        (404, "Failed to get executor, executor with name nobody not found"),
    ),
    "get-unknown-user": (
        (500, "Failed to get user, user is nil"),
        (404, "Failed to get user, user with name nobody not found"),
    ),
    "remove-unknown-user": (
        (400, "User with name <nobody> not found"),
        (404, "User with name <nobody> not found"),
    ),
    "close-unknown-process": (
        (500, "Failed to close process as successful, process is nil"),
        (404, "Failed to get process, process not found"),
    ),
    "fail-unknown-process": (
        (500, "Failed to close process as failed, process is nil"),
        (404, "Failed to get process, process not found"),
    ),
    "count-negative": (
        (400, "pq: LIMIT must not be negative"),
        (400, "Invalid count -1, must be 0-100"),
    ),
    "no-executortype": (
        (200, None),  # Go queues a process no executor can ever be assigned
        (400, "Invalid function spec: conditions.executortype must be set"),
    ),
    "function-without-name": (
        (200, None),
        (400, "Invalid function: funcname must be set"),
    ),
    "short-colony-id": (
        (400, "Failed to add colony, invalid colony Id length"),
        (400, "Invalid colony id: must be 64 lowercase hex characters"),
    ),
    "args-not-a-list": (
        (400, "Failed to submit process, invalid JSON"),
        (400, "Failed to parse message: FunctionSpec.args: expected a list, got a string"),
    ),
    "missing-spec": (
        (400, "Failed to submit process spec, msg.FunctionSpec is nil"),
        (400, "Failed to parse message: field spec is missing"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_errors(shared: Twin, case: str) -> None:
    twin = shared
    role, msg = CASES[case]
    go, ours = twin.both(role, msg)
    if case not in KNOWN:
        assert go.status >= 400, go
        assert ours.error == go.error
        return
    (go_status, go_text), (our_status, our_text) = KNOWN[case]
    assert go.status == go_status, go
    if go_text is not None:  # None: Go accepts the request
        assert go.error == (go_status, go_text.replace("$COLONY", twin.colony))
    assert ours.error == (our_status, our_text.replace("$COLONY", twin.colony))


def test_envelope_and_payload_errors(twin: Twin) -> None:
    """Malformed requests: same status; the texts differ where Go leaks its decoder's words."""
    user = twin.user.prvkey
    unsigned = '{"payloadtype":"getcolonymsg","payload":"e30=","signature":""}'
    go_none, our_none = send_raw(twin.go, unsigned), send_raw(twin.ours, unsigned)
    assert go_none.error == our_none.error == (403, "Invalid signature length")
    go_sig = send_raw(twin.go, '{"payloadtype":"getcolonymsg","payload":"e30=","signature":"ab"}')
    our_sig = send_raw(
        twin.ours, '{"payloadtype":"getcolonymsg","payload":"e30=","signature":"ab"}'
    )
    assert go_sig.error == our_sig.error == (403, "Invalid signature length")
    go_hex = send_raw(twin.go, '{"payloadtype":"getcolonymsg","payload":"e30=","signature":"abc"}')
    our_hex = send_raw(
        twin.ours, '{"payloadtype":"getcolonymsg","payload":"e30=","signature":"abc"}'
    )
    assert go_hex.error == our_hex.error == (403, "encoding/hex: odd length hex string")
    # Payload that is not JSON / whose msgtype disagrees: 400 on both, different words.
    go_json = send_payload(twin.go, "getcolonymsg", b"not json", user)
    our_json = send_payload(twin.ours, "getcolonymsg", b"not json", user)
    assert go_json.error == (400, "Failed to get colony, invalid JSON")
    assert our_json.status == 400 and "invalid JSON" in our_json.error[1]
    mismatch = b'{"msgtype":"getcolonymsg2","colonyname":"dev"}'
    go_type = send_payload(twin.go, "getcolonymsg", mismatch, user)
    our_type = send_payload(twin.ours, "getcolonymsg", mismatch, user)
    assert go_type.error == (400, "Failed to get colony, msg.MsgType does not match payloadType")
    assert our_type.error == (
        400,
        "Failed to decode payload, msg.MsgType does not match payloadType",
    )
    # A body that is JSON but no envelope: Go reads empty fields and fails on the signature.
    assert send_raw(twin.go, "{}").error == (403, "Invalid signature length")
    assert send_raw(twin.ours, "{}").status == 400


# --- objects, defaults and list orders ------------------------------------------------------


def test_submitted_process_defaults(twin: Twin) -> None:
    """A minimal spec and a full one: the stored process is the same on both, field by field."""
    bare = {"funcname": "echo", "conditions": {"colonyname": "$COLONY", "executortype": "t"}}
    minimal, _ = twin.same("user", {"msgtype": "submitfuncspecmsg", "spec": bare})
    assert minimal["state"] == 0 and minimal["spec"]["conditions"]["cpu"] == "0m"
    assert minimal["spec"]["maxexectime"] == 0
    full_spec = {
        "nodename": "node",
        "args": ["a", 1, {"k": [1.5, None]}],
        "kwargs": {"x": "y", "n": 2},
        "priority": 3,
        "maxwaittime": 60,
        "maxexectime": 30,
        "maxretries": 2,
        "label": "batch",
        "env": {"B": "2", "A": "1"},
        "conditions": {
            "executornames": ["worker"],
            "cpu": "500m",
            "mem": "10Gi",
            "storage": "1Gi",
            "gpu": {"name": "a100", "mem": "2Gi", "count": 1},
            "nodes": 2,
            "walltime": 9,
        },
    }
    full, our_submitted = twin.same("user", submit_msg(twin.executortype, "add", **full_spec))
    assert full["waitdeadline"] != "0001-01-01T00:00:00Z" and len(full["attributes"]) == 2
    go_full, our_full = twin.same("user", get_process(full["processid"]))
    twin.same("user", get_process(minimal["processid"]))
    # Each server answers a submit with the process as a later get reads it.
    assert go_full == full
    assert our_full == our_submitted


def test_process_lifecycle_and_lists_by_state(twin: Twin) -> None:
    """WAITING by priority, RUNNING by start, closed ones newest first; stats agree."""
    t = twin.executortype
    ids = {}
    for name, priority in (("p0", 0), ("p5", 5), ("m5", -5), ("p1", 1), ("p2", 2), ("q0", 0)):
        submitted, _ = twin.same("user", submit_msg(t, name, priority=priority, label=name))
        ids[name] = submitted["processid"]
    go_waiting, _ = twin.same("user", list_processes(0))
    assert [p["spec"]["funcname"] for p in go_waiting] == ["p5", "p2", "p1", "p0", "q0", "m5"]
    twin.same("user", list_processes(0, count=2))
    twin.same("user", list_processes(0, label="p1"))
    twin.same("user", list_processes(0, initiator="alice"))
    twin.same("user", list_processes(0, executortype="other"))
    running = [assign(twin)[0] for _ in range(4)]
    assert [p["spec"]["funcname"] for p in running] == ["p5", "p2", "p1", "p0"]
    twin.same("user", list_processes(1))
    out = {"msgtype": "setoutputmsg", "processid": ids["p5"], "out": ["partial"]}
    twin.same("executor", out)
    twin.same("user", get_process(ids["p5"]))
    close = {"msgtype": "closesuccessfulmsg", "processid": ids["p5"], "out": ["done", 2]}
    twin.same("executor", close)
    twin.same("executor", {"msgtype": "closesuccessfulmsg", "processid": ids["p1"]})
    fail = {"msgtype": "closefailedmsg", "processid": ids["p2"], "errors": ["boom"]}
    twin.same("executor", fail)
    twin.same("user", {"msgtype": "cancelprocessmsg", "processid": ids["q0"]})
    twin.same("user", {"msgtype": "cancelprocessmsg", "processid": ids["p0"]})
    for state in range(5):
        twin.same("user", list_processes(state))
    for name in ids:
        twin.same("user", get_process(ids[name]))
    twin.same("user", {"msgtype": "getcolonystatsmsg", "colonyname": "$COLONY"})
    # Refusals on processes that exist: closing twice the wrong way, cancelling a closed one.
    again = {"msgtype": "closefailedmsg", "processid": ids["p5"], "errors": []}
    go, ours = twin.both("executor", again)
    assert go.status == ours.status == 400, (go, ours)
    go, ours = twin.both("user", {"msgtype": "removeprocessmsg", "processid": ids["p5"]})
    assert go.status == ours.status == 200
    twin.same("user", list_processes(2))
    remove_all = {"msgtype": "removeallprocessesmsg", "colonyname": "$COLONY", "state": 4}
    twin.same("owner", remove_all)
    for state in range(5):
        twin.same("user", list_processes(state))


def same_listing(twin: Twin, msg: dict[str, Any], key: str) -> Any:
    """A list reply the same on both servers but for its order; ours (returned) in insertion
    order. Go lists in PostgreSQL's heap order: insertion order until a row lands in space that
    other tests on the shared Go server freed (seen: the newest executor listed first)."""
    go, ours = twin.both("user", msg)
    assert (go.status, ours.status) == (200, 200), (go, ours)
    by_key = operator.itemgetter(key)
    go_sorted = None if go.payload is None else sorted(go.payload, key=by_key)  # Go's null: []
    twin.compare(go_sorted, sorted(ours.payload, key=by_key))
    return ours.payload


def test_executor_fields_and_order(twin: Twin) -> None:
    """An executor as added, approved, rejected and removed; the list keeps insertion order."""
    third = Keys()
    twin.same("owner", add_executor_msg(third, "alpha", twin.executortype))
    get = {"msgtype": "getexecutormsg", "colonyname": "$COLONY", "executorname": "alpha"}
    twin.same("user", get)
    by_id = {"msgtype": "getexecutorbyidmsg", "colonyname": "$COLONY", "executorid": third.id}
    twin.same("user", by_id)
    listing = {"msgtype": "getexecutorsmsg", "colonyname": "$COLONY"}
    ours = same_listing(twin, listing, "executorname")
    assert [e["executorname"] for e in ours] == ["worker", "newcomer", "alpha"]
    for verb, state in (("approve", 1), ("reject", 2), ("remove", 3)):
        msg = {"msgtype": f"{verb}executormsg", "colonyname": "$COLONY", "executorname": "alpha"}
        twin.same("owner", msg)
        go_executor, _ = twin.same("user", get)
        assert go_executor["state"] == state


def test_users_order_and_fields(twin: Twin) -> None:
    for name in ("carol", "bob", "dave"):
        twin.same("owner", add_user_msg(Keys(), name))
    users = {"msgtype": "getusersmsg", "colonyname": "$COLONY"}
    assert [u["name"] for u in same_listing(twin, users, "name")] == [
        "alice",
        "carol",
        "bob",
        "dave",
    ]
    twin.same("user", {"msgtype": "getusermsg", "colonyname": "$COLONY", "name": "bob"})
    by_id = {"msgtype": "getuserbyidmsg", "colonyname": "$COLONY", "userid": twin.user.id}
    twin.same("user", by_id)
    twin.same("owner", {"msgtype": "removeusermsg", "colonyname": "$COLONY", "name": "carol"})
    same_listing(twin, users, "name")


def test_functions_order_and_fields(twin: Twin) -> None:
    for funcname in ("zeta", "alpha", "mid"):
        function = {
            "executorname": "worker",
            "executortype": twin.executortype,
            "colonyname": "$COLONY",
            "funcname": funcname,
            "description": f"the {funcname} function",
        }
        twin.same("executor", {"msgtype": "addfunctionmsg", "fun": function})
    listing = {"msgtype": "getfunctionsmsg", "colonyname": "$COLONY"}
    ours = same_listing(twin, listing, "funcname")
    assert [f["funcname"] for f in ours] == ["zeta", "alpha", "mid"]
    same_listing(twin, listing | {"executorname": "worker"}, "funcname")
    same_listing(twin, listing | {"executorname": "newcomer"}, "funcname")
    # A run of a registered function updates its counters on both.
    twin.same("user", submit_msg(twin.executortype, "alpha"))
    process, _ = assign(twin)
    close = {"msgtype": "closesuccessfulmsg", "processid": process["processid"]}
    twin.same("executor", close)
    deadline = time.monotonic() + 5  # ours writes counters in batches, once a second
    while True:
        go, ours = twin.both("user", listing)
        counted = [f["counter"] for f in ours.payload if f["funcname"] == "alpha"]
        if counted == [1] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    by_name = sorted(go.payload, key=lambda f: f["funcname"])  # Go moves updated rows
    twin.compare(by_name, sorted(ours.payload, key=lambda f: f["funcname"]))


def test_logs_order(twin: Twin) -> None:
    twin.same("user", submit_msg(twin.executortype))
    process, _ = assign(twin)
    pid = process["processid"]
    for message in ("one", "two", "three", "four"):
        add = {"msgtype": "addlogmsg", "processid": pid, "message": message}
        twin.same("executor", add)
    own = {"msgtype": "addexecutorlogmsg", "colonyname": "$COLONY", "executorname": "worker"}
    twin.same("executor", own | {"message": "executor says hi"})
    logs = {"msgtype": "getlogsmsg", "colonyname": "$COLONY", "processid": pid, "count": 10}
    go_logs, _ = twin.same("user", logs)
    assert [log["message"] for log in go_logs] == ["one", "two", "three", "four"]
    twin.same("user", logs | {"count": 2})
    go_latest, _ = twin.same("user", logs | {"count": 2, "latest": True})
    assert [log["message"] for log in go_latest] == ["three", "four"]
    twin.same("user", logs | {"count": 0})
    # By executor name: Go forgets the colony and returns "worker"'s logs in every colony
    # (README); ours keeps to the colony the caller is a member of.
    other = make_twin(twin.go, twin.ours)
    other.same("user", submit_msg(other.executortype))
    elsewhere, _ = assign(other)
    add = {"msgtype": "addlogmsg", "processid": elsewhere["processid"], "message": "elsewhere"}
    other.same("executor", add)
    by_executor = {"msgtype": "getlogsmsg", "colonyname": "$COLONY", "executorname": "worker"}
    go, ours = twin.both("user", by_executor | {"count": 500})
    assert go.status == ours.status == 200
    assert {log["colonyname"] for log in ours.payload} == {twin.colony}
    assert {twin.colony, other.colony} <= {log["colonyname"] for log in go.payload}
    twin.compare([log for log in go.payload if log["colonyname"] == twin.colony], ours.payload)


def test_refusals_on_existing_processes(twin: Twin) -> None:
    """Same status everywhere; where the words differ, both answers are pinned here (README)."""
    t = twin.executortype
    running, _ = twin.same("user", submit_msg(t, "a"))
    waiting, _ = twin.same("user", submit_msg(t, "b"))
    assign(twin)
    run, wait = running["processid"], waiting["processid"]

    def refused(role: str, msg: dict[str, Any], go_text: str, our_text: str) -> None:
        go, ours = twin.both(role, msg)
        assert go.status == ours.status and go.status >= 400, (go, ours)
        assert go.error[1] == go_text
        our_id = twin.compare.go_to_ours.get(msg.get("processid", ""), "")
        assert ours.error[1] == our_text.replace("$OURS", our_id)

    not_assigned = "Access denied, process $OURS is not assigned to the calling executor"
    refused(
        "executor",
        {"msgtype": "closesuccessfulmsg", "processid": wait},
        "Failed to close process as successful, process is not assigned",
        not_assigned,
    )
    refused(
        "executor",
        {"msgtype": "closefailedmsg", "processid": wait, "errors": []},
        "Failed to close process as failed, process is not assigned",
        not_assigned,
    )
    refused(
        "user",
        {"msgtype": "closesuccessfulmsg", "processid": run},
        "Failed to close process as successful, not allowed to close process as successful",
        not_assigned,
    )
    refused(
        "user",
        {"msgtype": "addlogmsg", "processid": run, "message": "x"},
        "Failed to add log, not allowed to add log, only the assigned Executor may att logs",
        not_assigned,
    )
    go, ours = twin.both(
        "user", {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 1}
    )
    assert go.error == (500, "Failed to assign process, executor not found")
    assert ours.error == (403, "Access denied, the caller is not an executor")
    for role, msg in (
        ("pending", {"msgtype": "closesuccessfulmsg", "processid": run}),
        ("pending", {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 1}),
        ("executor", {"msgtype": "assignprocessmsg", "colonyname": "$COLONY", "timeout": 0}),
        ("user", {"msgtype": "removeprocessmsg", "processid": run}),
        ("owner", {"msgtype": "removeallprocessesmsg", "colonyname": "$COLONY", "state": 1}),
        ("owner", {"msgtype": "removeallprocessesmsg", "colonyname": "$COLONY", "state": 9}),
    ):
        go, ours = twin.both(role, msg)
        assert go.status >= 400 and ours.error == go.error, (msg, go, ours)
    twin.same("executor", {"msgtype": "closesuccessfulmsg", "processid": run})
    twin.same("executor", {"msgtype": "closesuccessfulmsg", "processid": run})  # again: allowed
    twin.same("user", {"msgtype": "cancelprocessmsg", "processid": wait})
    closed = "Failed to {} process $OURS, process is {}"
    refused(
        "executor",
        {"msgtype": "closefailedmsg", "processid": run, "errors": []},
        "Tried to set successful process as failed",
        closed.format("fail", "SUCCESS"),
    )
    refused(
        "executor",
        {"msgtype": "setoutputmsg", "processid": run, "out": ["x"]},
        "Failed to set output, process is not running",
        closed.format("set output of", "SUCCESS"),
    )
    refused(
        "user",
        {"msgtype": "cancelprocessmsg", "processid": run},
        "Tried to cancel successful process",
        closed.format("cancel", "SUCCESS"),
    )
    refused(
        "user",
        {"msgtype": "cancelprocessmsg", "processid": wait},
        "Tried to cancel already cancelled process",
        closed.format("cancel", "CANCELLED"),
    )
    logs = {"msgtype": "getlogsmsg", "colonyname": "$COLONY", "processid": run, "count": 501}
    go, ours = twin.both("user", logs)
    assert go.error == (403, "Count exceeds max log count (500)")
    assert ours.error == (400, "Invalid count 501, must be 0-500")


def test_remove_all_without_state_removes_waiting_only(twin: Twin) -> None:
    """Go decodes a missing ``state`` as 0: only WAITING processes go."""
    t = twin.executortype
    running, _ = twin.same("user", submit_msg(t, "a"))
    cancelled, _ = twin.same("user", submit_msg(t, "b"))
    twin.same("user", submit_msg(t, "c"))
    assign(twin)
    twin.same("user", {"msgtype": "cancelprocessmsg", "processid": cancelled["processid"]})
    twin.same("owner", {"msgtype": "removeallprocessesmsg", "colonyname": "$COLONY"})
    for state in range(5):
        twin.same("user", list_processes(state))
    go_running, _ = twin.same("user", list_processes(1))
    assert [p["processid"] for p in go_running] == [running["processid"]]
    hist = {"msgtype": "getprocesshistmsg", "colonyname": "$COLONY", "seconds": 60, "state": 1}
    twin.same("user", hist)
    twin.same("user", {"msgtype": "getpausestatusmsg", "colonyname": "$COLONY"})


def test_pinned_validation_differences(twin: Twin) -> None:
    """What Go stores and we refuse (README: IDs, nameless records, one key per executor)."""
    odd_executor = add_executor_msg(Keys(), "odd", "t")
    odd_executor["executor"]["executorid"] = "abc"
    go, ours = twin.both("owner", odd_executor)
    assert go.status == 200 and go.payload["executorid"] == "abc"
    assert ours.error == (400, "Invalid executor id: must be 64 lowercase hex characters")
    odd_user = add_user_msg(Keys(), "odd")
    odd_user["user"]["userid"] = "abc"
    go, ours = twin.both("owner", odd_user)
    assert go.status == 200 and go.payload["userid"] == "abc"
    assert ours.error == (400, "Invalid user id: must be 64 lowercase hex characters")
    go, ours = twin.both("owner", add_user_msg(Keys(), ""))
    assert go.status == 200 and go.payload["name"] == ""
    assert ours.error == (400, "Invalid user name: must not be empty")
    # The worker's key under a second name: Go stores it, and rejecting that name rejects both.
    go, ours = twin.both("owner", add_executor_msg(twin.executor, "alias", twin.executortype))
    assert go.status == 200
    assert ours.error == (
        400,
        "Executor not unique, both Name and ExecutorId must be unique within a Colony",
    )
    reject = {"msgtype": "rejectexecutormsg", "colonyname": "$COLONY", "executorname": "alias"}
    assert twin.send(twin.go, "owner", reject).status == 200
    worker = {"msgtype": "getexecutormsg", "colonyname": "$COLONY", "executorname": "worker"}
    assert twin.send(twin.go, "user", worker).payload["state"] == 2  # rejected too
    assert twin.send(twin.ours, "user", worker).payload["state"] == 1


@pytest.mark.parametrize(
    ("conditions", "go_answer", "our_answer"),
    [
        ({"cpu": "2"}, "0m", "2000m"),  # Go: no unit, no CPU
        ({"cpu": "abc"}, "0m", (400, "Invalid conditions.cpu: invalid CPU quantity 'abc'")),
        ({"mem": "2GB"}, (400, 'parsing "2GB": invalid syntax'), "1907Mi"),
        ({"mem": "1.5Gi"}, (400, 'parsing "1.5": invalid syntax'), "1536Mi"),
        ({"mem": "10Gi"}, "10240Mi", "10240Mi"),
    ],
)
def test_pinned_resource_quantities(
    shared: Twin, conditions: dict[str, str], go_answer: Any, our_answer: Any
) -> None:
    """README: we parse more quantity forms than Go, and refuse what we cannot parse."""
    msg = submit_msg(shared.executortype, conditions=conditions)
    field = next(iter(conditions))
    for reply, expected in zip(shared.both("user", msg), (go_answer, our_answer), strict=True):
        if isinstance(expected, str):
            assert reply.status == 200 and reply.payload["spec"]["conditions"][field] == expected
        else:
            assert reply.status == expected[0] and expected[1] in reply.error[1], reply
