"""The asyncio client: ``Client``'s methods, awaitable. Stdlib only, like ``_sync``."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self, TypeVar

from colonies.client import _requests as r
from colonies.client._base import BaseClient
from colonies.client._transports import (
    AsyncHTTPTransport,
    AsyncTransport,
    AsyncWebSocket,
    WebSocketClosed,
)
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


class AsyncClient(BaseClient[AsyncTransport]):
    """``Client`` for asyncio: same constructor, methods and docs; every method is awaited.

    ``transport`` defaults to ``AsyncHTTPTransport``; use ``async with`` to close it.
    """

    def _default_transport(self) -> AsyncTransport:
        return AsyncHTTPTransport()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close_transport()

    async def close_transport(self) -> None:
        """Release the connections (``close`` is the ColonyOS call that closes a process)."""
        await self._transport.aclose()

    async def _send(self, call: r.Call[T], prvkey: str | None) -> T:
        body = self._body(call, prvkey)
        reply = await self._transport.apost(self._api_url, body, self._http_timeout(call))
        return call.result(*reply)

    async def _run(self, flow: r.Flow[T], prvkey: str | None) -> T:
        reply: Any = None
        failure: TransportError | None = None
        socket: AsyncWebSocket | None = None
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
                        reply = await self._send(step, prvkey)
                    elif isinstance(step, r.Sleep):
                        await asyncio.sleep(step.seconds)
                    elif isinstance(step, r.Subscribe):
                        if socket is not None:
                            previous, socket = socket, None
                            await previous.close()
                        socket = await self._subscribe(step, prvkey)
                    else:
                        reply = await self._receive(socket, step)
                except TransportError as e:  # the flow decides: retry (wait does) or give up
                    failure = e
        finally:
            if socket is not None:
                await socket.close()

    async def _subscribe(self, subscribe: r.Subscribe, prvkey: str | None) -> AsyncWebSocket:
        socket = await self._transport.aconnect(self._pubsub_url, self.timeout)
        try:
            for subscription in subscribe.subscriptions:
                await socket.send(self._body(subscription, prvkey))
        except WebSocketClosed:
            pass  # the next Receive says so
        except BaseException:
            await socket.close()
            raise
        return socket

    @staticmethod
    async def _receive(socket: AsyncWebSocket | None, receive: r.Receive) -> str | r.Quiet:
        if socket is None:
            return r.Quiet.CLOSED
        try:
            return await socket.recv(receive.timeout)
        except WebSocketClosed:
            return r.Quiet.CLOSED
        except TimeoutError:
            return r.Quiet.TIMEOUT

    # --- server and colonies --------------------------------------------------------------

    async def server_info(self, *, prvkey: str | None = None) -> ServerInfo:
        return await self._send(r.server_info(), prvkey)

    async def version(self, *, prvkey: str | None = None) -> dict[str, Any]:
        return await self._send(r.version(), prvkey)

    async def statistics(self, *, prvkey: str | None = None) -> Statistics:
        return await self._send(r.statistics(), prvkey)

    async def add_colony(self, colony: Colony, *, prvkey: str | None = None) -> Colony:
        return await self._send(r.add_colony(colony), prvkey)

    async def remove_colony(self, name: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.remove_colony(name), prvkey)

    async def get_colonies(self, *, prvkey: str | None = None) -> list[Colony]:
        return await self._send(r.get_colonies(), prvkey)

    async def get_colony(self, name: str, *, prvkey: str | None = None) -> Colony:
        return await self._send(r.get_colony(name), prvkey)

    async def colony_statistics(self, name: str, *, prvkey: str | None = None) -> Statistics:
        return await self._send(r.colony_statistics(name), prvkey)

    # --- executors and users --------------------------------------------------------------

    async def add_executor(self, executor: Executor, *, prvkey: str | None = None) -> Executor:
        return await self._send(r.add_executor(executor), prvkey)

    async def add_executor_by_token(
        self, executor: Executor, token: str, *, prvkey: str | None = None
    ) -> Executor:
        return await self._send(r.add_executor_by_token(executor, token), prvkey)

    async def approve_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.approve_executor(colonyname, executorname), prvkey)

    async def reject_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.reject_executor(colonyname, executorname), prvkey)

    async def remove_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.remove_executor(colonyname, executorname), prvkey)

    async def get_executors(self, colonyname: str, *, prvkey: str | None = None) -> list[Executor]:
        return await self._send(r.get_executors(colonyname), prvkey)

    async def get_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> Executor:
        return await self._send(r.get_executor(colonyname, executorname), prvkey)

    async def get_executor_by_id(
        self, colonyname: str, executorid: str, *, prvkey: str | None = None
    ) -> Executor:
        return await self._send(r.get_executor_by_id(colonyname, executorid), prvkey)

    async def add_user(self, user: User, *, prvkey: str | None = None) -> User:
        return await self._send(r.add_user(user), prvkey)

    async def get_users(self, colonyname: str, *, prvkey: str | None = None) -> list[User]:
        return await self._send(r.get_users(colonyname), prvkey)

    async def get_user(self, colonyname: str, name: str, *, prvkey: str | None = None) -> User:
        return await self._send(r.get_user(colonyname, name), prvkey)

    async def remove_user(self, colonyname: str, name: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.remove_user(colonyname, name), prvkey)

    # --- processes ------------------------------------------------------------------------

    async def submit(self, spec: FunctionSpec, *, prvkey: str | None = None) -> Process:
        return await self._send(r.submit(spec), prvkey)

    async def assign(
        self,
        colonyname: str,
        timeout: int = 10,
        *,
        availablecpu: str = "",
        availablemem: str = "",
        prvkey: str | None = None,
    ) -> Process:
        return await self._send(
            r.assign(colonyname, timeout, availablecpu=availablecpu, availablemem=availablemem),
            prvkey,
        )

    async def get_process(self, processid: str, *, prvkey: str | None = None) -> Process:
        return await self._send(r.get_process(processid), prvkey)

    async def get_processes(
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
        return await self._send(
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

    async def process_history(
        self,
        colonyname: str,
        state: int,
        seconds: int,
        executorid: str = "",
        *,
        prvkey: str | None = None,
    ) -> list[Process]:
        return await self._send(r.process_history(colonyname, state, seconds, executorid), prvkey)

    async def set_output(
        self, processid: str, out: list[Any], *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.set_output(processid, out), prvkey)

    async def close(
        self, processid: str, out: list[Any] | None = None, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.close(processid, out), prvkey)

    async def fail(self, processid: str, errors: list[str], *, prvkey: str | None = None) -> None:
        return await self._send(r.fail(processid, errors), prvkey)

    async def cancel(self, processid: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.cancel(processid), prvkey)

    async def remove_process(
        self, processid: str, *, all: bool = False, prvkey: str | None = None
    ) -> None:
        return await self._send(r.remove_process(processid, all=all), prvkey)

    async def remove_all_processes(
        self, colonyname: str, state: int = -1, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.remove_all_processes(colonyname, state), prvkey)

    async def wait(
        self,
        processid: str,
        timeout: float | None = None,
        *,
        executortype: str = "",
        colonyname: str = "",
        prvkey: str | None = None,
    ) -> Process:
        return await self._run(
            r.wait(processid, timeout, executortype=executortype, colonyname=colonyname), prvkey
        )

    # --- workflows (process graphs) -------------------------------------------------------

    async def submit_workflow(
        self, workflow: WorkflowSpec | r.WorkflowSource, *, prvkey: str | None = None
    ) -> ProcessGraph:
        """Submit a workflow: a ``WorkflowSpec`` or a ``colonies.workflow.Workflow``.

        Steps without dependencies start at once; the others wait until all their parents
        succeeded, and get the parents' outputs as ``in``. Returns the new graph.
        """
        return await self._send(r.submit_workflow(workflow), prvkey)

    async def get_processgraph(
        self, processgraphid: str, *, prvkey: str | None = None
    ) -> ProcessGraph:
        """The graph with its ``processids`` and the ``nodes``/``edges`` to draw it."""
        return await self._send(r.get_processgraph(processgraphid), prvkey)

    async def get_processgraphs(
        self,
        colonyname: str,
        count: int = 100,
        state: int = ProcessState.WAITING,
        *,
        prvkey: str | None = None,
    ) -> list[ProcessGraph]:
        """At most ``count`` (<= 100) graphs in ``state``, newest first."""
        return await self._send(r.get_processgraphs(colonyname, count, state), prvkey)

    async def remove_processgraph(self, processgraphid: str, *, prvkey: str | None = None) -> None:
        """Remove a graph that is not running, with all its processes."""
        return await self._send(r.remove_processgraph(processgraphid), prvkey)

    async def remove_all_processgraphs(
        self, colonyname: str, state: int = -1, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key; ``state=-1`` means any state (RUNNING cannot be chosen)."""
        return await self._send(r.remove_all_processgraphs(colonyname, state), prvkey)

    async def cancel_processgraph(self, processgraphid: str, *, prvkey: str | None = None) -> None:
        """Cancel every waiting and running process of the graph, and the graph."""
        return await self._send(r.cancel_processgraph(processgraphid), prvkey)

    async def add_child(
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
        return await self._send(call, prvkey)

    async def wait_processgraph(
        self, processgraphid: str, timeout: float | None = None, *, prvkey: str | None = None
    ) -> ProcessGraph:
        """Block until the graph is SUCCESS, FAILED or CANCELLED and return it.

        ``timeout=None`` waits forever; otherwise ``WaitTimeout`` after ``timeout`` s.
        """
        return await self._run(r.wait_processgraph(processgraphid, timeout), prvkey)

    # --- attributes, logs, functions ------------------------------------------------------

    # --- crons and generators

    async def add_cron(
        self,
        cron: Cron,
        workflow: WorkflowSpec | r.WorkflowSource | None = None,
        *,
        prvkey: str | None = None,
    ) -> Cron:
        """Add a cron that starts a workflow every ``cron.interval`` seconds, or (interval -1)
        at the times of ``cron.cronexpression`` (6 fields, seconds first). The workflow is
        ``cron.workflowspec`` (a JSON string) or ``workflow``. Returns the stored cron."""
        return await self._send(r.add_cron(cron, workflow), prvkey)

    async def get_cron(self, cronid: str, *, prvkey: str | None = None) -> Cron:
        return await self._send(r.get_cron(cronid), prvkey)

    async def get_crons(
        self, colonyname: str, count: int = 100, *, prvkey: str | None = None
    ) -> list[Cron]:
        return await self._send(r.get_crons(colonyname, count), prvkey)

    async def run_cron(self, cronid: str, *, prvkey: str | None = None) -> Cron:
        """Start the cron's workflow now (unless it waits for its previous one)."""
        return await self._send(r.run_cron(cronid), prvkey)

    async def remove_cron(self, cronid: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.remove_cron(cronid), prvkey)

    async def add_generator(
        self,
        generator: Generator,
        workflow: WorkflowSpec | r.WorkflowSource | None = None,
        *,
        prvkey: str | None = None,
    ) -> Generator:
        """Add a generator: once ``generator.trigger`` args are packed (or ``timeout``
        seconds passed with fewer), its workflow starts with them as the roots' args."""
        return await self._send(r.add_generator(generator, workflow), prvkey)

    async def get_generator(self, generatorid: str, *, prvkey: str | None = None) -> Generator:
        """The generator, with ``queuesize`` (args packed and not yet used)."""
        return await self._send(r.get_generator(generatorid), prvkey)

    async def resolve_generator(
        self, colonyname: str, generatorname: str, *, prvkey: str | None = None
    ) -> Generator:
        return await self._send(r.resolve_generator(colonyname, generatorname), prvkey)

    async def get_generators(
        self, colonyname: str, count: int = 100, *, prvkey: str | None = None
    ) -> list[Generator]:
        return await self._send(r.get_generators(colonyname, count), prvkey)

    async def pack_generator(
        self, generatorid: str, arg: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.pack_generator(generatorid, arg), prvkey)

    async def remove_generator(self, generatorid: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.remove_generator(generatorid), prvkey)

    async def add_attribute(self, attribute: Attribute, *, prvkey: str | None = None) -> Attribute:
        return await self._send(r.add_attribute(attribute), prvkey)

    async def get_attribute(self, attributeid: str, *, prvkey: str | None = None) -> Attribute:
        return await self._send(r.get_attribute(attributeid), prvkey)

    async def add_log(self, processid: str, message: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.add_log(processid, message), prvkey)

    async def add_executor_log(
        self, colonyname: str, executorname: str, message: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.add_executor_log(colonyname, executorname, message), prvkey)

    async def get_logs(
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
        return await self._send(
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

    async def add_function(self, function: Function, *, prvkey: str | None = None) -> Function:
        return await self._send(r.add_function(function), prvkey)

    async def get_functions(
        self, colonyname: str, executorname: str = "", *, prvkey: str | None = None
    ) -> list[Function]:
        return await self._send(r.get_functions(colonyname, executorname), prvkey)

    async def remove_function(self, functionid: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.remove_function(functionid), prvkey)
