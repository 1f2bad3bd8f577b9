"""Only the executor a process is assigned to may report on it (spec §4.1, "assigned executor").

The role matrix (test_authorization.py) checks each message against signers of other roles;
here the signer has every role but one: a second approved executor of the same colony and
type, which is a member and could have been given the process itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from colonies import rpc
from colonies.client import Client
from colonies.model import Conditions, FunctionSpec, Process, ProcessState
from conftest import Identity, LiveServer, add_executor, post

Build = Callable[[str], dict[str, Any]]

# Every message that requires the assigned executor (server/auth.py require_assigned).
REPORTS: dict[str, Build] = {
    "closesuccessfulmsg": lambda pid: {"processid": pid, "out": ["stolen"]},
    "closefailedmsg": lambda pid: {"processid": pid, "errors": ["stolen"]},
    "setoutputmsg": lambda pid: {"processid": pid, "out": ["stolen"]},
    "setoutputmsg (empty)": lambda pid: {"processid": pid, "out": []},
    "addlogmsg": lambda pid: {"processid": pid, "message": "stolen"},
    "addattributemsg": lambda pid: {
        "attribute": {"targetid": pid, "key": "stolen", "value": "v", "attributetype": 1}
    },
}


def send(
    live: LiveServer, key: Identity, name: str, build: Build, processid: str
) -> httpx.Response:
    msg = {"msgtype": name.split()[0], **build(processid)}
    return post(live, rpc.build_request(msg, key.prvkey))


def refused(reply: httpx.Response, processid: str) -> None:
    assert reply.status_code == 403, reply.text
    failure = json.loads(base64.b64decode(reply.json()["payload"]))
    assert failure == {
        "status": 403,
        "message": f"Access denied, process {processid} is not assigned to the calling executor",
    }


def untouched(client: Client, processid: str, state: ProcessState) -> Process:
    """The process as it was before the refused report: no output, errors, logs or attributes
    from the other executor."""
    process = client.get_process(processid)
    assert process.state == state
    assert process.output == [] and process.errors == []
    assert [a.key for a in process.attributes] == []
    assert client.get_logs("dev", processid=processid) == []
    return process


def spec(**kw: Any) -> FunctionSpec:
    return FunctionSpec(
        funcname="f", conditions=Conditions(colonyname="dev", executortype="test"), **kw
    )


@pytest.fixture
def pair(live: LiveServer) -> tuple[Identity, Identity]:
    return add_executor(live, "assigned"), add_executor(live, "other")


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_another_executor_of_the_colony_is_refused(
    live: LiveServer, pair: tuple[Identity, Identity], name: str
) -> None:
    assigned, other = pair
    with Client(live.url, assigned.prvkey) as client:
        process = client.submit(spec())
        assert client.assign("dev", timeout=5).assignedexecutorid == assigned.id
        refused(send(live, other, name, REPORTS[name], process.processid), process.processid)
        before = untouched(client, process.processid, ProcessState.RUNNING)
        assert before.assignedexecutorid == assigned.id
        # the same message from the assigned executor is accepted
        reply = send(live, assigned, name, REPORTS[name], process.processid)
        assert reply.status_code == 200, reply.text


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_nobody_reports_on_a_process_assigned_to_nobody(
    live: LiveServer, pair: tuple[Identity, Identity], name: str
) -> None:
    assigned = pair[0]
    with Client(live.url, assigned.prvkey) as client:
        process = client.submit(spec())
        for key in pair:
            refused(send(live, key, name, REPORTS[name], process.processid), process.processid)
        untouched(client, process.processid, ProcessState.WAITING)


def test_an_executor_that_lost_its_process_cannot_report_on_it(
    live: LiveServer, pair: tuple[Identity, Identity]
) -> None:
    """Past maxexectime the process is re-queued and given to another executor: the first
    one's late close must not overwrite the new run."""
    first, second = pair
    with Client(live.url, first.prvkey) as client:
        process = client.submit(spec(maxexectime=1, maxretries=3))
        assert client.assign("dev", timeout=5).processid == process.processid
        again = client.assign("dev", timeout=10, prvkey=second.prvkey)  # after the requeue
        assert again.processid == process.processid and again.assignedexecutorid == second.id
        for name, build in sorted(REPORTS.items()):
            refused(send(live, first, name, build, process.processid), process.processid)
        current = untouched(client, process.processid, ProcessState.RUNNING)
        assert current.assignedexecutorid == second.id and current.retries == 1
