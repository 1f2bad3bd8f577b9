"""Every message the client sends, and how its reply becomes a Python value.

Each function returns a ``Call``: the message dict plus the decoder for its reply. ``Client``
and ``AsyncClient`` only move Calls over their transport, so message shapes (spec §4) live here
and nowhere else. ``wait`` is a sans-IO generator for the same reason: it yields the steps
(Calls, ``Subscribe``/``Receive`` on ``/pubsub``, a ``Sleep``) and each client performs them
its own way.
Stdlib only (runs in Pyodide).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from colonies import model, rpc
from colonies.errors import (
    MissingKeyError,
    ProtocolError,
    ServerError,
    TransportError,
    WaitTimeout,
)
from colonies.model import (
    Attribute,
    Colony,
    Cron,
    Executor,
    Function,
    FunctionSpec,
    Log,
    Process,
    ProcessGraph,
    ProcessState,
    ServerInfo,
    Statistics,
    User,
    Wire,
    WireError,
    WorkflowSpec,
)

T = TypeVar("T")
W = TypeVar("W", bound=Wire)

# assign is a long-poll: the HTTP timeout is the server-side timeout plus this.
ASSIGN_MARGIN = 10.0
# Longest server-side subscription wait() asks for before it reconnects.
MAX_SUBSCRIPTION = 60
# How long past the subscription timeout wait() waits for the server to close the socket.
LISTEN_MARGIN = 5.0
# Shortest wait() round: a server that closes sockets at once must not get a busy loop.
MIN_ROUND = 1.0
TOO_MANY = 429  # a server's subscription cap (ours, per socket and per key)
# When wait() re-reads the process while subscribed (seconds after subscribing), in case the
# server missed the event: close together at first, where the Go server can lose it, then sparse.
RECHECKS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
RECHECK_EVERY = 5.0
RETRY_START, RETRY_MAX = 0.5, 10.0  # backoff while the server is unreachable
FINAL_STATES = frozenset({ProcessState.SUCCESS, ProcessState.FAILED, ProcessState.CANCELLED})


@dataclass(frozen=True)
class Call(Generic[T]):
    """One RPC: ``msg`` is the payload JSON, ``decode`` turns the reply payload into ``T``.

    ``timeout`` overrides the client's HTTP timeout (long-polls); ``signed=False`` is for the
    two message types the server handles before checking signatures.
    """

    msg: dict[str, Any]
    decode: Callable[[Any], T]
    signed: bool = True
    timeout: float | None = None

    def body(self, prvkey: str | None) -> str:
        """The request envelope, signed with ``prvkey`` unless the type is unsigned."""
        if not self.signed:
            return rpc.build_request(self.msg, None)
        if not prvkey:
            raise MissingKeyError(
                f"{self.msg['msgtype']} must be signed: pass prvkey= or set COLONIES_PRVKEY"
            )
        return rpc.build_request(self.msg, prvkey)

    def result(self, status: int, text: str) -> T:
        """The typed result of a reply; a reply that does not fit the model is a ProtocolError."""
        payload = rpc.parse_reply(status, text)
        try:
            return self.decode(payload)
        except WireError as e:
            raise ProtocolError(f"Unexpected {self.msg['msgtype']} reply: {e}") from None


def _call(msgtype: str, decode: Callable[[Any], T], **fields: Any) -> Call[T]:
    return Call({"msgtype": msgtype, **fields}, decode)


def _nothing(payload: Any) -> None:
    """Empty replies are ``{}``; there is nothing to return."""


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise WireError(f"expected an object, got {type(payload).__name__}")
    return payload


def _list_of(cls: type[W]) -> Callable[[Any], list[W]]:
    """Decoder for a list reply; Go sends ``null`` for an empty list."""

    def decode(payload: Any) -> list[W]:
        if payload is None:
            return []
        if not isinstance(payload, list):
            raise WireError(f"expected a list of {cls.__name__}, got {type(payload).__name__}")
        return [cls.from_dict(item) for item in payload]

    return decode


# --- server and colonies ------------------------------------------------------------------


def server_info() -> Call[ServerInfo]:
    return Call({"msgtype": "getserverinfomsg"}, ServerInfo.from_dict, signed=False)


def version() -> Call[dict[str, Any]]:
    msg = {"msgtype": "versionmsg", "buildversion": "", "buildtime": ""}
    return Call(msg, _object, signed=False)


def statistics() -> Call[Statistics]:
    return _call("getstatisticsmsg", Statistics.from_dict)


def add_colony(colony: Colony) -> Call[Colony]:
    return _call("addcolonymsg", Colony.from_dict, colony=colony.to_dict())


def remove_colony(name: str) -> Call[None]:
    return _call("removecolonymsg", _nothing, colonyname=name)


def get_colonies() -> Call[list[Colony]]:
    return _call("getcoloniesmsg", _list_of(Colony))


def get_colony(name: str) -> Call[Colony]:
    return _call("getcolonymsg", Colony.from_dict, colonyname=name)


def colony_statistics(name: str) -> Call[Statistics]:
    return _call("getcolonystatsmsg", Statistics.from_dict, colonyname=name)


# --- executors and users ------------------------------------------------------------------


def add_executor(executor: Executor) -> Call[Executor]:
    return _call("addexecutormsg", Executor.from_dict, executor=executor.to_dict())


def add_executor_by_token(executor: Executor, token: str) -> Call[Executor]:
    return _call(
        "addexecutorbytokenmsg", Executor.from_dict, executor=executor.to_dict(), token=token
    )


def approve_executor(colonyname: str, executorname: str) -> Call[None]:
    return _call("approveexecutormsg", _nothing, colonyname=colonyname, executorname=executorname)


def reject_executor(colonyname: str, executorname: str) -> Call[None]:
    return _call("rejectexecutormsg", _nothing, colonyname=colonyname, executorname=executorname)


def remove_executor(colonyname: str, executorname: str) -> Call[None]:
    return _call("removeexecutormsg", _nothing, colonyname=colonyname, executorname=executorname)


def get_executors(colonyname: str) -> Call[list[Executor]]:
    return _call("getexecutorsmsg", _list_of(Executor), colonyname=colonyname)


def get_executor(colonyname: str, executorname: str) -> Call[Executor]:
    return _call(
        "getexecutormsg", Executor.from_dict, colonyname=colonyname, executorname=executorname
    )


def get_executor_by_id(colonyname: str, executorid: str) -> Call[Executor]:
    return _call(
        "getexecutorbyidmsg", Executor.from_dict, colonyname=colonyname, executorid=executorid
    )


def add_user(user: User) -> Call[User]:
    return _call("addusermsg", User.from_dict, user=user.to_dict())


def get_users(colonyname: str) -> Call[list[User]]:
    return _call("getusersmsg", _list_of(User), colonyname=colonyname)


def get_user(colonyname: str, name: str) -> Call[User]:
    return _call("getusermsg", User.from_dict, colonyname=colonyname, name=name)


def remove_user(colonyname: str, name: str) -> Call[None]:
    return _call("removeusermsg", _nothing, colonyname=colonyname, name=name)


# --- processes ----------------------------------------------------------------------------


def submit(spec: FunctionSpec) -> Call[Process]:
    return _call("submitfuncspecmsg", Process.from_dict, spec=spec.to_dict())


def assign(
    colonyname: str, timeout: int = 10, *, availablecpu: str = "", availablemem: str = ""
) -> Call[Process]:
    msg = {
        "msgtype": "assignprocessmsg",
        "colonyname": colonyname,
        "timeout": timeout,
        "availablecpu": availablecpu,
        "availablemem": availablemem,
    }
    return Call(msg, Process.from_dict, timeout=max(timeout, 0) + ASSIGN_MARGIN)


def get_process(processid: str) -> Call[Process]:
    return _call("getprocessmsg", Process.from_dict, processid=processid)


def get_processes(
    colonyname: str,
    state: int,
    *,
    count: int = 100,
    executortype: str = "",
    label: str = "",
    initiator: str = "",
) -> Call[list[Process]]:
    return _call(
        "getprocessesmsg",
        _list_of(Process),
        colonyname=colonyname,
        count=count,
        state=int(state),
        executortype=executortype,
        label=label,
        initiator=initiator,
    )


def process_history(
    colonyname: str, state: int, seconds: int, executorid: str = ""
) -> Call[list[Process]]:
    return _call(
        "getprocesshistmsg",
        _list_of(Process),
        colonyname=colonyname,
        executorid=executorid,
        seconds=seconds,
        state=int(state),
    )


def set_output(processid: str, out: list[Any]) -> Call[None]:
    return _call("setoutputmsg", _nothing, processid=processid, out=out)


def close(processid: str, out: list[Any] | None = None) -> Call[None]:
    fields = {} if out is None else {"out": out}
    return _call("closesuccessfulmsg", _nothing, processid=processid, **fields)


def fail(processid: str, errors: list[str]) -> Call[None]:
    return _call("closefailedmsg", _nothing, processid=processid, errors=errors)


def cancel(processid: str) -> Call[None]:
    return _call("cancelprocessmsg", _nothing, processid=processid)


def remove_process(processid: str, *, all: bool = False) -> Call[None]:
    return _call("removeprocessmsg", _nothing, processid=processid, all=all)


def remove_all_processes(colonyname: str, state: int = -1) -> Call[None]:
    return _call("removeallprocessesmsg", _nothing, colonyname=colonyname, state=int(state))


# --- attributes, logs, functions ----------------------------------------------------------


def add_attribute(attribute: Attribute) -> Call[Attribute]:
    return _call("addattributemsg", Attribute.from_dict, attribute=attribute.to_dict())


def get_attribute(attributeid: str) -> Call[Attribute]:
    return _call("getattributemsg", Attribute.from_dict, attributeid=attributeid)


def add_log(processid: str, message: str) -> Call[None]:
    return _call("addlogmsg", _nothing, processid=processid, message=message)


def add_executor_log(colonyname: str, executorname: str, message: str) -> Call[None]:
    return _call(
        "addexecutorlogmsg",
        _nothing,
        colonyname=colonyname,
        executorname=executorname,
        message=message,
    )


def get_logs(
    colonyname: str,
    *,
    processid: str = "",
    executorname: str = "",
    count: int = 100,
    since: int = 0,
    latest: bool = False,
) -> Call[list[Log]]:
    return _call(
        "getlogsmsg",
        _list_of(Log),
        colonyname=colonyname,
        processid=processid,
        executorname=executorname,
        count=count,
        since=since,
        latest=latest,
    )


def add_function(function: Function) -> Call[Function]:
    # The Go message names this field "fun", not "function".
    return _call("addfunctionmsg", Function.from_dict, fun=function.to_dict())


def get_functions(colonyname: str, executorname: str = "") -> Call[list[Function]]:
    return _call(
        "getfunctionsmsg", _list_of(Function), colonyname=colonyname, executorname=executorname
    )


def remove_function(functionid: str) -> Call[None]:
    return _call("removefunctionmsg", _nothing, functionid=functionid)


# --- workflows (process graphs) ----------------------------------------------------------


class WorkflowSource(Protocol):
    """Anything that builds a WorkflowSpec, such as ``colonies.workflow.Workflow``."""

    def to_spec(self) -> WorkflowSpec: ...


def workflow_spec(workflow: WorkflowSpec | WorkflowSource) -> WorkflowSpec:
    return workflow if isinstance(workflow, WorkflowSpec) else workflow.to_spec()


def submit_workflow(workflow: WorkflowSpec | WorkflowSource) -> Call[ProcessGraph]:
    spec = workflow_spec(workflow)
    return _call("submitworkflowspecmsg", ProcessGraph.from_dict, spec=spec.to_dict())


def get_processgraph(processgraphid: str) -> Call[ProcessGraph]:
    return _call("getprocessgraphmsg", ProcessGraph.from_dict, processgraphid=processgraphid)


def get_processgraphs(
    colonyname: str, count: int = 100, state: int = ProcessState.WAITING
) -> Call[list[ProcessGraph]]:
    return _call(
        "getprocessgraphsmsg",
        _list_of(ProcessGraph),
        colonyname=colonyname,
        count=count,
        state=int(state),
    )


def remove_processgraph(processgraphid: str, *, all: bool = False) -> Call[None]:
    return _call("removeprocessgraphmsg", _nothing, processgraphid=processgraphid, all=all)


def remove_all_processgraphs(colonyname: str, state: int = -1) -> Call[None]:
    return _call("removeallprocessgraphsmsg", _nothing, colonyname=colonyname, state=int(state))


def cancel_processgraph(processgraphid: str) -> Call[None]:
    return _call("cancelprocessgraphmsg", _nothing, processgraphid=processgraphid)


def add_child(
    processgraphid: str,
    parentprocessid: str,
    childprocessid: str,
    spec: FunctionSpec,
    nodename: str = "",
    insert: bool = False,
) -> Call[Process]:
    if nodename:
        spec = FunctionSpec.from_dict({**spec.to_dict(), "nodename": nodename})
    return _call(
        "addchildmsg",
        Process.from_dict,
        processgraphid=processgraphid,
        parentprocessid=parentprocessid,
        childprocessid=childprocessid,
        insert=insert,
        spec=spec.to_dict(),
    )


# Polling a graph until it ends: quick at first (short workflows), then every GRAPH_POLL_MAX s.
GRAPH_POLL_START, GRAPH_POLL_MAX = 0.05, 1.0


def wait_processgraph(
    processgraphid: str,
    timeout: float | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[ProcessGraph]:
    """Poll the graph until it is SUCCESS, FAILED or CANCELLED (``WaitTimeout`` after
    ``timeout`` s; ``None`` waits forever). The delay between reads doubles from
    ``GRAPH_POLL_START`` up to ``GRAPH_POLL_MAX``; an unreachable server is retried too."""
    deadline = None if timeout is None else clock() + timeout
    delay = GRAPH_POLL_START
    while True:
        try:
            graph: ProcessGraph = yield get_processgraph(processgraphid)
            if graph.state in FINAL_STATES:
                return graph
        except TransportError:
            if deadline is not None and clock() + delay >= deadline:
                raise
        if deadline is not None:
            left = deadline - clock()
            if left <= 0:
                raise WaitTimeout(f"Workflow {processgraphid} did not finish within {timeout} s")
            delay = min(delay, left)
        yield Sleep(delay)
        delay = min(delay * 2, GRAPH_POLL_MAX)


# --- crons and generators -----------------------------------------------------------------


def _with_workflow(obj: W, workflow: WorkflowSpec | WorkflowSource | None) -> dict[str, Any]:
    """The object's wire form, its ``workflowspec`` (a JSON string) made from ``workflow``."""
    doc = obj.to_dict()
    if workflow is not None:
        doc["workflowspec"] = json.dumps(workflow_spec(workflow).to_dict())
    return doc


def add_cron(cron: Cron, workflow: WorkflowSpec | WorkflowSource | None = None) -> Call[Cron]:
    return _call("addcronmsg", Cron.from_dict, cron=_with_workflow(cron, workflow))


def get_cron(cronid: str) -> Call[Cron]:
    return _call("getcronmsg", Cron.from_dict, cronid=cronid)


def get_crons(colonyname: str, count: int = 100) -> Call[list[Cron]]:
    return _call("getcronsmsg", _list_of(Cron), colonyname=colonyname, count=count)


def run_cron(cronid: str) -> Call[Cron]:
    return _call("runcronmsg", Cron.from_dict, cronid=cronid)


def remove_cron(cronid: str) -> Call[None]:
    return _call("removecronmsg", _nothing, cronid=cronid, all=False)


def add_generator(
    generator: model.Generator, workflow: WorkflowSpec | WorkflowSource | None = None
) -> Call[model.Generator]:
    doc = _with_workflow(generator, workflow)
    return _call("addgeneratormsg", model.Generator.from_dict, generator=doc)


def get_generator(generatorid: str) -> Call[model.Generator]:
    return _call("getgeneratormsg", model.Generator.from_dict, generatorid=generatorid)


def resolve_generator(colonyname: str, generatorname: str) -> Call[model.Generator]:
    return _call(
        "resolvegeneratormsg",
        model.Generator.from_dict,
        colonyname=colonyname,
        generatorname=generatorname,
    )


def get_generators(colonyname: str, count: int = 100) -> Call[list[model.Generator]]:
    return _call("getgeneratorsmsg", _list_of(model.Generator), colonyname=colonyname, count=count)


def pack_generator(generatorid: str, arg: str) -> Call[None]:
    return _call("packgeneratormsg", _nothing, generatorid=generatorid, arg=arg)


def remove_generator(generatorid: str) -> Call[None]:
    return _call("removegeneratormsg", _nothing, generatorid=generatorid, all=False)


# --- locations, pausing, log search, executor updates (spec §4.3-4.7) ---------------------


def add_location(location: model.Location) -> Call[model.Location]:
    return _call("addlocationmsg", model.Location.from_dict, location=location.to_dict())


def get_locations(colonyname: str) -> Call[list[model.Location]]:
    return _call("getlocationsmsg", _list_of(model.Location), colonyname=colonyname)


def get_location(colonyname: str, name: str) -> Call[model.Location]:
    return _call("getlocationmsg", model.Location.from_dict, colonyname=colonyname, name=name)


def remove_location(colonyname: str, name: str) -> Call[None]:
    return _call("removelocationmsg", _nothing, colonyname=colonyname, name=name)


def pause_assignments(colonyname: str) -> Call[None]:
    return _call("pauseassignmentsmsg", _nothing, colonyname=colonyname)


def resume_assignments(colonyname: str) -> Call[None]:
    return _call("resumeassignmentsmsg", _nothing, colonyname=colonyname)


def _ispaused(payload: Any) -> bool:
    paused = _object(payload).get("ispaused")
    if not isinstance(paused, bool):
        raise WireError(f"expected a boolean ispaused, got {type(paused).__name__}")
    return paused


def get_pause_status(colonyname: str) -> Call[bool]:
    return _call("getpausestatusmsg", _ispaused, colonyname=colonyname)


def search_logs(colonyname: str, text: str, days: int = 1, count: int = 10) -> Call[list[Log]]:
    return _call(
        "searchlogsmsg", _list_of(Log), colonyname=colonyname, text=text, days=days, count=count
    )


def update_executor(
    colonyname: str, executorname: str, capabilities: model.Capabilities
) -> Call[None]:
    return _call(
        "updateexecutormsg",
        _nothing,
        colonyname=colonyname,
        executorname=executorname,
        capabilities=capabilities.to_dict(),
    )


def report_allocation(
    colonyname: str, executorname: str, allocations: model.Allocations
) -> Call[None]:
    return _call(
        "reportallocationmsg",
        _nothing,
        colonyname=colonyname,
        executorname=executorname,
        allocations=allocations.to_dict(),
    )


# --- ID rotation, cluster, users by ID (spec §4.4, §4.12) --------------------------------


def change_user_id(colonyname: str, userid: str) -> Call[None]:
    return _call("changeuseridmsg", _nothing, colonyname=colonyname, userid=userid)


def change_executor_id(colonyname: str, executorid: str) -> Call[None]:
    return _call("changeexecutoridmsg", _nothing, colonyname=colonyname, executorid=executorid)


def change_colony_id(colonyname: str, colonyid: str) -> Call[None]:
    return _call("changecolonyidmsg", _nothing, colonyname=colonyname, colonyid=colonyid)


def change_server_id(serverid: str) -> Call[None]:
    return _call("changeserveridmsg", _nothing, serverid=serverid)


def get_cluster() -> Call[model.Cluster]:
    return _call("getclustermsg", model.Cluster.from_dict)


def get_user_by_id(colonyname: str, userid: str) -> Call[User]:
    return _call("getuserbyidmsg", User.from_dict, colonyname=colonyname, userid=userid)


# --- wait ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscribe:
    """Open a ``/pubsub`` socket and send each subscription on it.

    The flow has at most one socket: the client closes the previous one first, and the last
    one when the flow ends. A socket that fails while sending is not an error here: the next
    ``Receive`` reports it closed. Failing to open it raises ``TransportError`` into the flow.
    """

    subscriptions: tuple[Call[None], ...]


class Quiet(Enum):
    """What ``Receive`` got instead of a frame."""

    TIMEOUT = "timeout"  # nothing within the timeout; the socket is still open
    CLOSED = "closed"  # the server closed the socket (its subscription timed out)


@dataclass(frozen=True)
class Receive:
    """The next frame on the flow's socket, or a ``Quiet`` after ``timeout`` s or on close."""

    timeout: float


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Call[Any] | Subscribe | Receive | Sleep
Flow = Generator[Step, Any, T]


def subscribe_process(
    processid: str, state: int, timeout: int, *, executortype: str, colonyname: str
) -> Call[None]:
    """A ``/pubsub`` frame: one event when the process is (or gets) into ``state``."""
    return _call(
        "subscribeprocessmsg",
        _nothing,
        colonyname=colonyname,
        processid=processid,
        executortype=executortype,
        state=int(state),
        timeout=timeout,
    )


def rechecks() -> Iterator[float]:
    """Seconds after subscribing at which ``wait`` re-reads the process: ``RECHECKS``, then
    every ``RECHECK_EVERY`` s."""
    yield from RECHECKS
    last = RECHECKS[-1]
    while True:
        last += RECHECK_EVERY
        yield last


def wait(
    processid: str,
    timeout: float | None = None,
    *,
    executortype: str = "",
    colonyname: str = "",
    clock: Callable[[], float] = time.monotonic,
    on_unreachable: Callable[[TransportError], None] | None = None,
) -> Flow[Process]:
    """Wait until the process is SUCCESS, FAILED or CANCELLED, however long that takes.

    Each round subscribes to SUCCESS, FAILED and CANCELLED on one socket for at most
    ``MAX_SUBSCRIPTION`` seconds (the server answers at once if the state is already reached).
    An event ends the wait; the process is then re-read, because the event's copy may lack the
    final output.

    The event alone is not trusted: the Go server reads the process's state first and registers
    the subscription after that, so a close landing in between is neither seen by that read nor
    signalled to the subscription, and the socket stays silent for the whole round. So the
    process is also re-read on the socket's quiet moments, soon after subscribing (``RECHECKS``)
    and then every ``RECHECK_EVERY`` s: a missed event costs a fraction of a second, not a round.

    When the server closes the socket (its subscription timeout), the process is re-read and,
    if still open, the round starts again: there is no cap on the total time. ``timeout=None``
    waits forever, otherwise ``WaitTimeout``. While the server cannot be reached the wait goes
    on (it may be restarting); ``on_unreachable`` hears of each failed attempt.
    """
    deadline = None if timeout is None else clock() + timeout
    retrying = partial(_get_retrying, processid, deadline, clock, on_unreachable)
    if not executortype or not colonyname:
        process: Process = yield from retrying()
        if process.state in FINAL_STATES:
            return process
        executortype = executortype or process.spec.conditions.executortype
        colonyname = colonyname or process.spec.conditions.colonyname
    while True:
        started = clock()
        if deadline is not None and started >= deadline:
            raise WaitTimeout(f"Process {processid} did not finish within {timeout} s")
        seconds = MAX_SUBSCRIPTION
        if deadline is not None:
            seconds = max(1, min(MAX_SUBSCRIPTION, math.ceil(deadline - started)))
        subscriptions = tuple(
            subscribe_process(
                processid, state, seconds, executortype=executortype, colonyname=colonyname
            )
            for state in sorted(FINAL_STATES)
        )
        try:
            yield Subscribe(subscriptions)
        except TransportError:
            pass  # the server is away: the re-read below waits for it with backoff
        else:
            final = yield from _watch(started + seconds + LISTEN_MARGIN, retrying, clock)
            if final is not None:
                return final
        process = yield from retrying()
        if process.state in FINAL_STATES:
            return process
        idle = MIN_ROUND - (clock() - started)
        if idle > 0:
            yield Sleep(idle)


def _watch(
    round_end: float, retrying: Callable[[], Flow[Process]], clock: Callable[[], float]
) -> Flow[Process | None]:
    """One round on a subscribed socket: the final process (after an event, or found by a
    re-read), or None when the socket closed or the round ran out with the process open."""
    subscribed, checks = clock(), rechecks()
    while True:
        check_at = subscribed + next(checks)
        while (now := clock()) < check_at:
            if now >= round_end:
                return None
            reply: str | Quiet = yield Receive(min(check_at, round_end) - now)
            if reply is Quiet.CLOSED:
                return None
            if reply is not Quiet.TIMEOUT:
                try:
                    rpc.parse_reply(200, reply)  # an error frame raises ServerError
                except ServerError as e:
                    if e.status != TOO_MANY:
                        raise
                    return None  # the server's subscription cap: re-read now, then try again
                final: Process = yield from retrying()
                return final
        if check_at >= round_end:
            return None
        process: Process = yield from retrying()
        if process.state in FINAL_STATES:
            return process


def _get_retrying(
    processid: str,
    deadline: float | None,
    clock: Callable[[], float],
    on_unreachable: Callable[[TransportError], None] | None = None,
) -> Flow[Process]:
    """``get_process``, retried with backoff while the server is unreachable (it may be
    restarting: a wait with no deadline must outlive that)."""
    delay = RETRY_START
    while True:
        try:
            process: Process = yield get_process(processid)
            return process
        except TransportError as e:
            if deadline is not None and clock() + delay >= deadline:
                raise
            if on_unreachable is not None:
                on_unreachable(e)
            yield Sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


# --- files and snapshots (ColonyFS, spec §4.9) ---------------------------------------------


def add_file(file: model.File) -> Call[model.File]:
    return _call("addfilemsg", model.File.from_dict, file=file.to_dict())


def get_file(
    colonyname: str, *, fileid: str = "", label: str = "", name: str = "", latest: bool = False
) -> Call[list[model.File]]:
    """By ``fileid``, or every revision of ``label`` + ``name`` (only the newest: ``latest``)."""
    return _call(
        "getfilemsg",
        _list_of(model.File),
        colonyname=colonyname,
        fileid=fileid,
        label=label,
        name=name,
        latest=latest,
    )


def get_files(colonyname: str, label: str) -> Call[list[model.FileData]]:
    return _call("getfilesmsg", _list_of(model.FileData), colonyname=colonyname, label=label)


def get_file_labels(
    colonyname: str, name: str = "", exact: bool = False
) -> Call[list[model.Label]]:
    return _call(
        "getfilelabelsmsg", _list_of(model.Label), colonyname=colonyname, name=name, exact=exact
    )


def remove_file(
    colonyname: str, *, fileid: str = "", label: str = "", name: str = ""
) -> Call[None]:
    return _call(
        "removefilemsg", _nothing, colonyname=colonyname, fileid=fileid, label=label, name=name
    )


def create_snapshot(colonyname: str, label: str, name: str) -> Call[model.Snapshot]:
    return _call(
        "createsnapshotmsg", model.Snapshot.from_dict, colonyname=colonyname, label=label, name=name
    )


def get_snapshot(colonyname: str, *, snapshotid: str = "", name: str = "") -> Call[model.Snapshot]:
    return _call(
        "getsnapshotmsg",
        model.Snapshot.from_dict,
        colonyname=colonyname,
        snapshotid=snapshotid,
        name=name,
    )


def get_snapshots(colonyname: str) -> Call[list[model.Snapshot]]:
    return _call("getsnapshotsmsg", _list_of(model.Snapshot), colonyname=colonyname)


def remove_snapshot(colonyname: str, *, snapshotid: str = "", name: str = "") -> Call[None]:
    return _call(
        "removesnapshotmsg", _nothing, colonyname=colonyname, snapshotid=snapshotid, name=name
    )


def remove_all_snapshots(colonyname: str) -> Call[None]:
    return _call("removeallsnapshotmsg", _nothing, colonyname=colonyname)


# --- channels (spec §4.10) ----------------------------------------------------------------

# How long past a channel subscription's timeout the client waits for the server's last frame.
CHANNEL_MARGIN = 10.0


def channel_append(
    processid: str,
    name: str,
    sequence: int,
    payload: bytes | str,
    *,
    inreplyto: int = 0,
    payloadtype: str = "",
) -> Call[None]:
    """Append to a channel of a process (text is sent as UTF-8)."""
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    return _call(
        "channelappendmsg",
        _nothing,
        processid=processid,
        name=name,
        sequence=sequence,
        inreplyto=inreplyto,
        payload=model.ChannelEntry(payload=data).to_dict()["payload"],
        payloadtype=payloadtype,
    )


def channel_read(
    processid: str, name: str, afterseq: int = 0, limit: int = 0
) -> Call[list[model.ChannelEntry]]:
    return _call(
        "channelreadmsg",
        _list_of(model.ChannelEntry),
        processid=processid,
        name=name,
        afterseq=afterseq,
        limit=limit,
    )


def subscribe_channel(processid: str, name: str, afterseq: int, timeout: int) -> Call[None]:
    """A ``/pubsub`` frame: the channel's entries after index ``afterseq``, then new ones."""
    return _call(
        "subscribechannelmsg",
        _nothing,
        processid=processid,
        name=name,
        afterseq=afterseq,
        timeout=timeout,
    )


def channel_frame(text: str) -> list[model.ChannelEntry]:
    """The entries of a channel subscription frame (``[]``: the subscription timed out).
    An error frame raises its ``ServerError``."""
    payload = rpc.parse_reply(200, text)
    try:
        return _list_of(model.ChannelEntry)(payload)
    except WireError as e:
        raise ProtocolError(f"Unexpected subscribechannelmsg frame: {e}") from None


# --- blueprints (spec §4.11) ------------------------------------------------------------------

BlueprintLike = model.Blueprint | dict[str, Any]
DefinitionLike = model.BlueprintDefinition | dict[str, Any]


def _blueprint_json(value: Any) -> dict[str, Any]:
    """A model object as JSON; a plain dict (what pycolonies takes) is sent as it is."""
    if isinstance(value, dict):
        return value
    result: dict[str, Any] = value.to_dict()
    return result


def add_blueprint_definition(
    definition: DefinitionLike,
) -> Call[model.BlueprintDefinition]:
    return _call(
        "addblueprintdefinitionmsg",
        model.BlueprintDefinition.from_dict,
        blueprintdefinition=_blueprint_json(definition),
    )


def get_blueprint_definition(colonyname: str, name: str) -> Call[model.BlueprintDefinition]:
    return _call(
        "getblueprintdefinitionmsg",
        model.BlueprintDefinition.from_dict,
        colonyname=colonyname,
        name=name,
    )


def get_blueprint_definitions(colonyname: str) -> Call[list[model.BlueprintDefinition]]:
    return _call(
        "getblueprintdefinitionsmsg",
        _list_of(model.BlueprintDefinition),
        colonyname=colonyname,
    )


def remove_blueprint_definition(colonyname: str, name: str) -> Call[None]:
    return _call("removeblueprintdefinitionmsg", _nothing, namespace=colonyname, name=name)


def add_blueprint(blueprint: BlueprintLike) -> Call[model.Blueprint]:
    return _call("addblueprintmsg", model.Blueprint.from_dict, blueprint=_blueprint_json(blueprint))


def get_blueprint(colonyname: str, name: str) -> Call[model.Blueprint]:
    return _call("getblueprintmsg", model.Blueprint.from_dict, namespace=colonyname, name=name)


def get_blueprints(
    colonyname: str, kind: str = "", location: str = ""
) -> Call[list[model.Blueprint]]:
    return _call(
        "getblueprintsmsg",
        _list_of(model.Blueprint),
        namespace=colonyname,
        kind=kind,
        locationname=location,
    )


def update_blueprint(
    blueprint: BlueprintLike, force_generation: bool = False
) -> Call[model.Blueprint]:
    return _call(
        "updateblueprintmsg",
        model.Blueprint.from_dict,
        blueprint=_blueprint_json(blueprint),
        forcegeneration=force_generation,
    )


def remove_blueprint(colonyname: str, name: str) -> Call[None]:
    return _call("removeblueprintmsg", _nothing, namespace=colonyname, name=name)


def update_blueprint_status(colonyname: str, name: str, status: dict[str, Any]) -> Call[None]:
    return _call(
        "updateblueprintstatusmsg",
        _nothing,
        colonyname=colonyname,
        blueprintname=name,
        status=status,
    )


def reconcile_blueprint(colonyname: str, name: str, force: bool = False) -> Call[Process]:
    return _call(
        "reconcileblueprintmsg", Process.from_dict, namespace=colonyname, name=name, force=force
    )


def get_blueprint_history(blueprintid: str, limit: int = 0) -> Call[list[model.BlueprintHistory]]:
    return _call(
        "getblueprinthistorymsg",
        _list_of(model.BlueprintHistory),
        blueprintid=blueprintid,
        limit=limit,
    )
