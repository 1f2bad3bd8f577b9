"""The blocking client. Stdlib only; the default transport imports httpx when it is created."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Self, TypeVar

from colonies.client import _requests as r
from colonies.client._base import BaseClient
from colonies.client._transports import HTTPXTransport, Transport, WebSocket, WebSocketClosed
from colonies.errors import TransportError
from colonies.model import (
    Attribute,
    Colony,
    Cron,
    Executor,
    Function,
    FunctionSpec,
    Generator,
    Log,
    Process,
    ProcessGraph,
    ProcessState,
    ServerInfo,
    Statistics,
    User,
    WorkflowSpec,
)

T = TypeVar("T")


class Client(BaseClient[Transport]):
    """A ColonyOS client; ``AsyncClient`` has the same methods, awaitable.

    ``url`` is the server's base URL (requests go to ``/api``, subscriptions to ``/pubsub``).
    ``prvkey`` signs every request; each method's ``prvkey=`` overrides it, since colony-owner
    calls need the colony key and server-owner calls the server key. ``timeout`` is the HTTP
    timeout in seconds (long-polls add their own). ``transport`` defaults to ``HTTPXTransport``.
    Server refusals raise ``colonies.errors.ServerError`` subclasses, unreachable servers
    ``TransportError``.
    """

    def _default_transport(self) -> Transport:
        return HTTPXTransport()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_transport()

    def close_transport(self) -> None:
        """Release the connections (``close`` is the ColonyOS call that closes a process)."""
        self._transport.close()

    def _send(self, call: r.Call[T], prvkey: str | None) -> T:
        body = self._body(call, prvkey)
        return call.result(*self._transport.post(self._api_url, body, self._http_timeout(call)))

    def _run(self, flow: r.Flow[T], prvkey: str | None) -> T:
        reply: Any = None
        failure: TransportError | None = None
        socket: WebSocket | None = None
        try:
            while True:
                try:
                    step = flow.throw(failure) if failure else flow.send(reply)
                except StopIteration as done:
                    result: T = done.value
                    return result
                failure, reply = None, None
                try:
                    if isinstance(step, r.Call):
                        reply = self._send(step, prvkey)
                    elif isinstance(step, r.Sleep):
                        time.sleep(step.seconds)
                    elif isinstance(step, r.Subscribe):
                        if socket is not None:
                            previous, socket = socket, None
                            previous.close()
                        socket = self._subscribe(step, prvkey)
                    else:
                        reply = self._receive(socket, step)
                except TransportError as e:  # the flow decides: retry (wait does) or give up
                    failure = e
        finally:
            if socket is not None:
                socket.close()

    def _subscribe(self, subscribe: r.Subscribe, prvkey: str | None) -> WebSocket:
        socket = self._transport.connect(self._pubsub_url, self.timeout)
        try:
            for subscription in subscribe.subscriptions:
                socket.send(self._body(subscription, prvkey))
        except WebSocketClosed:
            pass  # the next Receive says so
        except BaseException:
            socket.close()
            raise
        return socket

    @staticmethod
    def _receive(socket: WebSocket | None, receive: r.Receive) -> str | r.Quiet:
        if socket is None:
            return r.Quiet.CLOSED
        try:
            return socket.recv(receive.timeout)
        except WebSocketClosed:
            return r.Quiet.CLOSED
        except TimeoutError:
            return r.Quiet.TIMEOUT

    # --- server and colonies --------------------------------------------------------------

    def server_info(self, *, prvkey: str | None = None) -> ServerInfo:
        """Build and backends; unsigned, so it doubles as a liveness check."""
        return self._send(r.server_info(), prvkey)

    def version(self, *, prvkey: str | None = None) -> dict[str, Any]:
        """The raw ``versionmsg`` reply (unsigned)."""
        return self._send(r.version(), prvkey)

    def statistics(self, *, prvkey: str | None = None) -> Statistics:
        """Server-wide counts; needs the server key."""
        return self._send(r.statistics(), prvkey)

    def add_colony(self, colony: Colony, *, prvkey: str | None = None) -> Colony:
        """Needs the server key; ``colony.colonyid`` is the ID of the new colony's key."""
        return self._send(r.add_colony(colony), prvkey)

    def remove_colony(self, name: str, *, prvkey: str | None = None) -> None:
        """Needs the server key; removes everything in the colony."""
        return self._send(r.remove_colony(name), prvkey)

    def get_colonies(self, *, prvkey: str | None = None) -> list[Colony]:
        """Needs the server key."""
        return self._send(r.get_colonies(), prvkey)

    def get_colony(self, name: str, *, prvkey: str | None = None) -> Colony:
        """Needs a member's key."""
        return self._send(r.get_colony(name), prvkey)

    def colony_statistics(self, name: str, *, prvkey: str | None = None) -> Statistics:
        """Counts for one colony; needs a member's key."""
        return self._send(r.colony_statistics(name), prvkey)

    # --- executors and users --------------------------------------------------------------

    def add_executor(self, executor: Executor, *, prvkey: str | None = None) -> Executor:
        """Needs the colony key; the executor starts PENDING until approved."""
        return self._send(r.add_executor(executor), prvkey)

    def add_executor_by_token(
        self, executor: Executor, token: str, *, prvkey: str | None = None
    ) -> Executor:
        """Join with a colony owner's join token; sign with the executor's own key.

        A colonies-server extension (``addexecutorbytokenmsg``): the executor comes back
        APPROVED. See ``colonies.jointoken``.
        """
        return self._send(r.add_executor_by_token(executor, token), prvkey)

    def approve_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key; only approved executors get work."""
        return self._send(r.approve_executor(colonyname, executorname), prvkey)

    def reject_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key."""
        return self._send(r.reject_executor(colonyname, executorname), prvkey)

    def remove_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key; its running processes go back to WAITING."""
        return self._send(r.remove_executor(colonyname, executorname), prvkey)

    def get_executors(self, colonyname: str, *, prvkey: str | None = None) -> list[Executor]:
        """All executors, unregistered ones included."""
        return self._send(r.get_executors(colonyname), prvkey)

    def get_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> Executor:
        return self._send(r.get_executor(colonyname, executorname), prvkey)

    def get_executor_by_id(
        self, colonyname: str, executorid: str, *, prvkey: str | None = None
    ) -> Executor:
        return self._send(r.get_executor_by_id(colonyname, executorid), prvkey)

    def add_user(self, user: User, *, prvkey: str | None = None) -> User:
        """Needs the colony key."""
        return self._send(r.add_user(user), prvkey)

    def get_users(self, colonyname: str, *, prvkey: str | None = None) -> list[User]:
        return self._send(r.get_users(colonyname), prvkey)

    def get_user(self, colonyname: str, name: str, *, prvkey: str | None = None) -> User:
        return self._send(r.get_user(colonyname, name), prvkey)

    def remove_user(self, colonyname: str, name: str, *, prvkey: str | None = None) -> None:
        """Needs the colony key."""
        return self._send(r.remove_user(colonyname, name), prvkey)

    # --- processes ------------------------------------------------------------------------

    def submit(self, spec: FunctionSpec, *, prvkey: str | None = None) -> Process:
        """Queue a function call; the colony is ``spec.conditions.colonyname``."""
        return self._send(r.submit(spec), prvkey)

    def assign(
        self,
        colonyname: str,
        timeout: int = 10,
        *,
        availablecpu: str = "",
        availablemem: str = "",
        prvkey: str | None = None,
    ) -> Process:
        """Long-poll up to ``timeout`` s for work; ``NoProcessAvailable`` if none came."""
        return self._send(
            r.assign(colonyname, timeout, availablecpu=availablecpu, availablemem=availablemem),
            prvkey,
        )

    def get_process(self, processid: str, *, prvkey: str | None = None) -> Process:
        return self._send(r.get_process(processid), prvkey)

    def get_processes(
        self,
        colonyname: str,
        state: int,
        *,
        count: int = 100,
        executortype: str = "",
        label: str = "",
        initiator: str = "",
        prvkey: str | None = None,
    ) -> list[Process]:
        """At most ``count`` (<= 100) processes in ``state``, filtered by one of the others."""
        return self._send(
            r.get_processes(
                colonyname,
                state,
                count=count,
                executortype=executortype,
                label=label,
                initiator=initiator,
            ),
            prvkey,
        )

    def process_history(
        self,
        colonyname: str,
        state: int,
        seconds: int,
        executorid: str = "",
        *,
        prvkey: str | None = None,
    ) -> list[Process]:
        """Processes in ``state`` submitted in the last ``seconds``."""
        return self._send(r.process_history(colonyname, state, seconds, executorid), prvkey)

    def set_output(self, processid: str, out: list[Any], *, prvkey: str | None = None) -> None:
        """Replace the output of a running process assigned to the caller."""
        return self._send(r.set_output(processid, out), prvkey)

    def close(
        self, processid: str, out: list[Any] | None = None, *, prvkey: str | None = None
    ) -> None:
        """Mark a process SUCCESS, setting its output unless ``out`` is None."""
        return self._send(r.close(processid, out), prvkey)

    def fail(self, processid: str, errors: list[str], *, prvkey: str | None = None) -> None:
        """Mark a process FAILED with these error messages."""
        return self._send(r.fail(processid, errors), prvkey)

    def cancel(self, processid: str, *, prvkey: str | None = None) -> None:
        """Mark a process CANCELLED; not for workflow members."""
        return self._send(r.cancel(processid), prvkey)

    def remove_process(
        self, processid: str, *, all: bool = False, prvkey: str | None = None
    ) -> None:
        return self._send(r.remove_process(processid, all=all), prvkey)

    def remove_all_processes(
        self, colonyname: str, state: int = -1, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key; ``state=-1`` means any state. Workflow members are kept."""
        return self._send(r.remove_all_processes(colonyname, state), prvkey)

    def wait(
        self,
        processid: str,
        timeout: float | None = None,
        *,
        executortype: str = "",
        colonyname: str = "",
        prvkey: str | None = None,
    ) -> Process:
        """Block until the process is SUCCESS, FAILED or CANCELLED and return it re-read.

        ``timeout=None`` waits forever; otherwise ``WaitTimeout`` after ``timeout`` s. Passing
        ``executortype`` and ``colonyname`` saves one ``get_process``.
        """
        return self._run(
            r.wait(processid, timeout, executortype=executortype, colonyname=colonyname), prvkey
        )

    # --- workflows (process graphs) -------------------------------------------------------

    def submit_workflow(
        self, workflow: WorkflowSpec | r.WorkflowSource, *, prvkey: str | None = None
    ) -> ProcessGraph:
        """Submit a workflow: a ``WorkflowSpec`` or a ``colonies.workflow.Workflow``.

        Steps without dependencies start at once; the others wait until all their parents
        succeeded, and get the parents' outputs as ``in``. Returns the new graph.
        """
        return self._send(r.submit_workflow(workflow), prvkey)

    def get_processgraph(self, processgraphid: str, *, prvkey: str | None = None) -> ProcessGraph:
        """The graph with its ``processids`` and the ``nodes``/``edges`` to draw it."""
        return self._send(r.get_processgraph(processgraphid), prvkey)

    def get_processgraphs(
        self,
        colonyname: str,
        count: int = 100,
        state: int = ProcessState.WAITING,
        *,
        prvkey: str | None = None,
    ) -> list[ProcessGraph]:
        """At most ``count`` (<= 100) graphs in ``state``, newest first."""
        return self._send(r.get_processgraphs(colonyname, count, state), prvkey)

    def remove_processgraph(self, processgraphid: str, *, prvkey: str | None = None) -> None:
        """Remove a graph that is not running, with all its processes."""
        return self._send(r.remove_processgraph(processgraphid), prvkey)

    def remove_all_processgraphs(
        self, colonyname: str, state: int = -1, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key; ``state=-1`` means any state (RUNNING cannot be chosen)."""
        return self._send(r.remove_all_processgraphs(colonyname, state), prvkey)

    def cancel_processgraph(self, processgraphid: str, *, prvkey: str | None = None) -> None:
        """Cancel every waiting and running process of the graph, and the graph."""
        return self._send(r.cancel_processgraph(processgraphid), prvkey)

    def add_child(
        self,
        processgraphid: str,
        parentprocessid: str,
        childprocessid: str,
        spec: FunctionSpec,
        nodename: str = "",
        insert: bool = False,
        *,
        prvkey: str | None = None,
    ) -> Process:
        """Add a step below ``parentprocessid``, a running process assigned to the caller.

        ``insert=True`` puts it between the parent and the parent's children; otherwise it is
        one more child of the parent (and, with ``childprocessid``, a parent of that waiting
        process). ``nodename`` names the step (else ``spec.nodename``). Returns the new process.
        """
        call = r.add_child(processgraphid, parentprocessid, childprocessid, spec, nodename, insert)
        return self._send(call, prvkey)

    def wait_processgraph(
        self, processgraphid: str, timeout: float | None = None, *, prvkey: str | None = None
    ) -> ProcessGraph:
        """Block until the graph is SUCCESS, FAILED or CANCELLED and return it.

        ``timeout=None`` waits forever; otherwise ``WaitTimeout`` after ``timeout`` s.
        """
        return self._run(r.wait_processgraph(processgraphid, timeout), prvkey)

    # --- attributes, logs, functions ------------------------------------------------------

    # --- crons and generators

    def add_cron(
        self,
        cron: Cron,
        workflow: WorkflowSpec | r.WorkflowSource | None = None,
        *,
        prvkey: str | None = None,
    ) -> Cron:
        """Add a cron that starts a workflow every ``cron.interval`` seconds, or (interval -1)
        at the times of ``cron.cronexpression`` (6 fields, seconds first). The workflow is
        ``cron.workflowspec`` (a JSON string) or ``workflow``. Returns the stored cron."""
        return self._send(r.add_cron(cron, workflow), prvkey)

    def get_cron(self, cronid: str, *, prvkey: str | None = None) -> Cron:
        return self._send(r.get_cron(cronid), prvkey)

    def get_crons(
        self, colonyname: str, count: int = 100, *, prvkey: str | None = None
    ) -> list[Cron]:
        return self._send(r.get_crons(colonyname, count), prvkey)

    def run_cron(self, cronid: str, *, prvkey: str | None = None) -> Cron:
        """Start the cron's workflow now (unless it waits for its previous one)."""
        return self._send(r.run_cron(cronid), prvkey)

    def remove_cron(self, cronid: str, *, prvkey: str | None = None) -> None:
        return self._send(r.remove_cron(cronid), prvkey)

    def add_generator(
        self,
        generator: Generator,
        workflow: WorkflowSpec | r.WorkflowSource | None = None,
        *,
        prvkey: str | None = None,
    ) -> Generator:
        """Add a generator: once ``generator.trigger`` args are packed (or ``timeout``
        seconds passed with fewer), its workflow starts with them as the roots' args."""
        return self._send(r.add_generator(generator, workflow), prvkey)

    def get_generator(self, generatorid: str, *, prvkey: str | None = None) -> Generator:
        """The generator, with ``queuesize`` (args packed and not yet used)."""
        return self._send(r.get_generator(generatorid), prvkey)

    def resolve_generator(
        self, colonyname: str, generatorname: str, *, prvkey: str | None = None
    ) -> Generator:
        return self._send(r.resolve_generator(colonyname, generatorname), prvkey)

    def get_generators(
        self, colonyname: str, count: int = 100, *, prvkey: str | None = None
    ) -> list[Generator]:
        return self._send(r.get_generators(colonyname, count), prvkey)

    def pack_generator(self, generatorid: str, arg: str, *, prvkey: str | None = None) -> None:
        return self._send(r.pack_generator(generatorid, arg), prvkey)

    def remove_generator(self, generatorid: str, *, prvkey: str | None = None) -> None:
        return self._send(r.remove_generator(generatorid), prvkey)

    def add_attribute(self, attribute: Attribute, *, prvkey: str | None = None) -> Attribute:
        """Attach a key/value to a running process assigned to the caller."""
        return self._send(r.add_attribute(attribute), prvkey)

    def get_attribute(self, attributeid: str, *, prvkey: str | None = None) -> Attribute:
        return self._send(r.get_attribute(attributeid), prvkey)

    def add_log(self, processid: str, message: str, *, prvkey: str | None = None) -> None:
        """Log for a running process assigned to the caller."""
        return self._send(r.add_log(processid, message), prvkey)

    def add_executor_log(
        self, colonyname: str, executorname: str, message: str, *, prvkey: str | None = None
    ) -> None:
        """Log for the calling executor itself, outside any process."""
        return self._send(r.add_executor_log(colonyname, executorname, message), prvkey)

    def get_logs(
        self,
        colonyname: str,
        *,
        processid: str = "",
        executorname: str = "",
        count: int = 100,
        since: int = 0,
        latest: bool = False,
        prvkey: str | None = None,
    ) -> list[Log]:
        """Logs of a process or an executor, oldest first, after ``since`` (UnixNano).

        ``latest=True`` gives the last ``count`` instead of the first; ``count`` <= 500.
        """
        return self._send(
            r.get_logs(
                colonyname,
                processid=processid,
                executorname=executorname,
                count=count,
                since=since,
                latest=latest,
            ),
            prvkey,
        )

    def add_function(self, function: Function, *, prvkey: str | None = None) -> Function:
        """Register a function; ``function.executorname`` must be the caller."""
        return self._send(r.add_function(function), prvkey)

    def get_functions(
        self, colonyname: str, executorname: str = "", *, prvkey: str | None = None
    ) -> list[Function]:
        """The colony's functions, or one executor's."""
        return self._send(r.get_functions(colonyname, executorname), prvkey)

    def remove_function(self, functionid: str, *, prvkey: str | None = None) -> None:
        """Only the executor that registered it may remove it."""
        return self._send(r.remove_function(functionid), prvkey)
