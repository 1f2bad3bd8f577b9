"""The asyncio client: ``Client``'s methods, awaitable. Stdlib only, like ``_sync``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from colonies import model
from colonies.client import _requests as r
from colonies.client._base import BaseClient
from colonies.client._transports import (
    AsyncHTTPTransport,
    AsyncSocketTransport,
    AsyncTransport,
    AsyncWebSocket,
    WebSocketClosed,
    rpc_socket_enabled,
)
from colonies.errors import TransportError
from colonies.fs import ops as fsops
from colonies.fs.storage import ObjectStore
from colonies.fs.storage import from_env as store_from_env
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

    ``transport`` defaults to ``AsyncSocketTransport``: requests go as frames on one WebSocket
    to the server's ``/rpc`` (about half the client CPU of ``POST /api``), or by ``POST /api``
    to servers without it (the Go server). ``COLONIES_RPC_SOCKET=false`` in the environment,
    or ``transport=AsyncHTTPTransport()``, keeps every request on ``POST /api``. Use
    ``async with`` (or ``close_transport``) to close the socket and connections.
    """

    def _default_transport(self) -> AsyncTransport:
        return AsyncSocketTransport() if rpc_socket_enabled() else AsyncHTTPTransport()

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

    # --- ID rotation, cluster, users by ID (spec §4.4, §4.12) ---

    async def change_user_id(
        self, colonyname: str, userid: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.change_user_id(colonyname, userid), prvkey)

    async def change_executor_id(
        self, colonyname: str, executorid: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.change_executor_id(colonyname, executorid), prvkey)

    async def change_colony_id(
        self, colonyname: str, colonyid: str, *, prvkey: str | None = None
    ) -> None:
        return await self._send(r.change_colony_id(colonyname, colonyid), prvkey)

    async def change_server_id(self, serverid: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.change_server_id(serverid), prvkey)

    async def get_cluster(self, *, prvkey: str | None = None) -> model.Cluster:
        return await self._send(r.get_cluster(), prvkey)

    async def get_user_by_id(
        self, colonyname: str, userid: str, *, prvkey: str | None = None
    ) -> User:
        return await self._send(r.get_user_by_id(colonyname, userid), prvkey)

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
        on_unreachable: Callable[[TransportError], None] | None = None,
    ) -> Process:
        return await self._run(
            r.wait(
                processid,
                timeout,
                executortype=executortype,
                colonyname=colonyname,
                on_unreachable=on_unreachable,
            ),
            prvkey,
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

    # --- locations, pausing, log search, executor updates (spec §4.3-4.7) ---------------

    async def add_location(
        self, location: model.Location, *, prvkey: str | None = None
    ) -> model.Location:
        """Needs the colony key; executors name their site in ``locationname``."""
        return await self._send(r.add_location(location), prvkey)

    async def get_locations(
        self, colonyname: str, *, prvkey: str | None = None
    ) -> list[model.Location]:
        return await self._send(r.get_locations(colonyname), prvkey)

    async def get_location(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> model.Location:
        return await self._send(r.get_location(colonyname, name), prvkey)

    async def remove_location(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> None:
        """Needs the colony key."""
        return await self._send(r.remove_location(colonyname, name), prvkey)

    async def pause_assignments(self, colonyname: str, *, prvkey: str | None = None) -> None:
        """Needs the colony key; ``assign`` calls wait until ``resume_assignments``."""
        return await self._send(r.pause_assignments(colonyname), prvkey)

    async def resume_assignments(self, colonyname: str, *, prvkey: str | None = None) -> None:
        """Needs the colony key; wakes the paused ``assign`` calls."""
        return await self._send(r.resume_assignments(colonyname), prvkey)

    async def get_pause_status(self, colonyname: str, *, prvkey: str | None = None) -> bool:
        """Whether assignments in the colony are paused."""
        return await self._send(r.get_pause_status(colonyname), prvkey)

    async def search_logs(
        self,
        colonyname: str,
        text: str,
        days: int = 1,
        count: int = 10,
        *,
        prvkey: str | None = None,
    ) -> list[Log]:
        """At most ``count`` (<= 100) logs of the last ``days`` (<= 30) containing ``text``."""
        return await self._send(r.search_logs(colonyname, text, days, count), prvkey)

    async def update_executor(
        self,
        colonyname: str,
        executorname: str,
        capabilities: model.Capabilities,
        *,
        prvkey: str | None = None,
    ) -> None:
        """Replace the calling executor's capabilities (hardware, software)."""
        return await self._send(r.update_executor(colonyname, executorname, capabilities), prvkey)

    async def report_allocation(
        self,
        colonyname: str,
        executorname: str,
        allocations: model.Allocations,
        *,
        prvkey: str | None = None,
    ) -> None:
        """Replace the calling executor's reported resource allocations."""
        return await self._send(r.report_allocation(colonyname, executorname, allocations), prvkey)

    # --- pycolonies' names for the calls above ----------------------------------------

    async def del_colony(self, colonyname: str, *, prvkey: str | None = None) -> None:
        """pycolonies' name for ``remove_colony``."""
        return await self.remove_colony(colonyname, prvkey=prvkey)

    async def list_colonies(self, *, prvkey: str | None = None) -> list[Colony]:
        """pycolonies' name for ``get_colonies``."""
        return await self.get_colonies(prvkey=prvkey)

    async def list_executors(self, colonyname: str, *, prvkey: str | None = None) -> list[Executor]:
        """pycolonies' name for ``get_executors``."""
        return await self.get_executors(colonyname, prvkey=prvkey)

    async def submit_func_spec(self, spec: FunctionSpec, *, prvkey: str | None = None) -> Process:
        """pycolonies' name for ``submit``."""
        return await self.submit(spec, prvkey=prvkey)

    async def list_processes(
        self, colonyname: str, count: int, state: int, *, prvkey: str | None = None
    ) -> list[Process]:
        """pycolonies' name (and argument order) for ``get_processes``."""
        return await self.get_processes(colonyname, state, count=count, prvkey=prvkey)

    async def stats(self, colonyname: str, *, prvkey: str | None = None) -> Statistics:
        """pycolonies' name for ``colony_statistics``."""
        return await self.colony_statistics(colonyname, prvkey=prvkey)

    async def get_processes_for_workflow(
        self,
        processgraphid: str,
        colonyname: str = "",
        count: int = 100,
        *,
        prvkey: str | None = None,
    ) -> list[Process]:
        """The graph's processes (at most ``count``), in the graph's order.

        pycolonies asks ``getprocessesmsg`` with a graph filter, which the Go server refuses;
        this reads the graph and then each process, so it works on either server.
        ``colonyname`` is accepted for pycolonies' argument order and not needed.
        """
        graph = await self.get_processgraph(processgraphid, prvkey=prvkey)
        return [await self.get_process(pid, prvkey=prvkey) for pid in graph.processids[:count]]

    async def get_functions_by_executor(
        self, colonyname: str, executorname: str, *, prvkey: str | None = None
    ) -> list[Function]:
        """pycolonies' name for ``get_functions(colonyname, executorname)``."""
        return await self.get_functions(colonyname, executorname, prvkey=prvkey)

    async def get_functions_by_colony(
        self, colonyname: str, *, prvkey: str | None = None
    ) -> list[Function]:
        """pycolonies' name for ``get_functions(colonyname)``."""
        return await self.get_functions(colonyname, prvkey=prvkey)

    async def find_process(
        self, nodename: str, processids: list[str], *, prvkey: str | None = None
    ) -> Process | None:
        """The first of ``processids`` whose ``spec.nodename`` is ``nodename``, else None."""
        for processid in processids:
            process = await self.get_process(processid, prvkey=prvkey)
            if process.spec.nodename == nodename:
                return process
        return None

    async def get_process_log(
        self,
        colonyname: str,
        processid: str,
        count: int = 100,
        since: int = 0,
        *,
        prvkey: str | None = None,
    ) -> list[Log]:
        """pycolonies' name for ``get_logs(colonyname, processid=...)``."""
        return await self.get_logs(
            colonyname, processid=processid, count=count, since=since, prvkey=prvkey
        )

    async def get_executor_log(
        self,
        colonyname: str,
        executorname: str,
        count: int = 100,
        since: int = 0,
        *,
        prvkey: str | None = None,
    ) -> list[Log]:
        """pycolonies' name for ``get_logs(colonyname, executorname=...)``."""
        return await self.get_logs(
            colonyname, executorname=executorname, count=count, since=since, prvkey=prvkey
        )

    async def del_cron(self, cronid: str, *, prvkey: str | None = None) -> None:
        """pycolonies' name for ``remove_cron``."""
        return await self.remove_cron(cronid, prvkey=prvkey)

    # --- blueprints (spec §4.11) --------------------------------------------------------------

    async def add_blueprint_definition(
        self, definition: r.DefinitionLike, *, prvkey: str | None = None
    ) -> model.BlueprintDefinition:
        """Add a blueprint kind to ``definition.metadata.colonyname`` (colony owner key): its
        schema and the executor type and function that reconcile it."""
        return await self._send(r.add_blueprint_definition(definition), prvkey)

    async def get_blueprint_definition(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> model.BlueprintDefinition:
        return await self._send(r.get_blueprint_definition(colonyname, name), prvkey)

    async def get_blueprint_definitions(
        self, colonyname: str, *, prvkey: str | None = None
    ) -> list[model.BlueprintDefinition]:
        return await self._send(r.get_blueprint_definitions(colonyname), prvkey)

    async def remove_blueprint_definition(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> None:
        """Remove a definition (colony owner key); refused while blueprints of its kind exist."""
        return await self._send(r.remove_blueprint_definition(colonyname, name), prvkey)

    async def add_blueprint(
        self, blueprint: r.BlueprintLike, *, prvkey: str | None = None
    ) -> model.Blueprint:
        """Add a blueprint: its spec is checked against its kind's schema, and a reconcile
        process (and the kind's periodic reconciliation cron) is submitted."""
        return await self._send(r.add_blueprint(blueprint), prvkey)

    async def get_blueprint(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> model.Blueprint:
        return await self._send(r.get_blueprint(colonyname, name), prvkey)

    async def get_blueprints(
        self, colonyname: str, kind: str = "", location: str = "", *, prvkey: str | None = None
    ) -> list[model.Blueprint]:
        """The colony's blueprints, of ``kind`` if given (and then at ``location`` if given)."""
        return await self._send(r.get_blueprints(colonyname, kind, location), prvkey)

    async def update_blueprint(
        self,
        blueprint: r.BlueprintLike,
        force_generation: bool = False,
        *,
        prvkey: str | None = None,
    ) -> model.Blueprint:
        """Replace a blueprint (found by colony and name). A changed spec, or
        ``force_generation``, bumps its generation, records history and submits a reconcile
        process."""
        return await self._send(r.update_blueprint(blueprint, force_generation), prvkey)

    async def remove_blueprint(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> None:
        """Remove a blueprint; its reconciler is sent a ``cleanup`` process."""
        return await self._send(r.remove_blueprint(colonyname, name), prvkey)

    async def update_blueprint_status(
        self, colonyname: str, name: str, status: dict[str, Any], *, prvkey: str | None = None
    ) -> None:
        """Report a blueprint's current state (a reconciler's call; members only)."""
        return await self._send(r.update_blueprint_status(colonyname, name, status), prvkey)

    async def reconcile_blueprint(
        self, colonyname: str, name: str, force: bool = False, *, prvkey: str | None = None
    ) -> Process:
        """Submit a reconcile process for the blueprint now (``force`` bumps its generation
        first and passes ``force=True``); returns the process. Members only."""
        return await self._send(r.reconcile_blueprint(colonyname, name, force), prvkey)

    async def get_blueprint_history(
        self, blueprint_id: str, limit: int = 0, *, prvkey: str | None = None
    ) -> list[model.BlueprintHistory]:
        """The blueprint's recorded versions, the newest first (``limit`` 0: all)."""
        return await self._send(r.get_blueprint_history(blueprint_id, limit), prvkey)

    # --- channels (spec §4.10) --------------------------------------------------------------

    async def channel_append(
        self,
        processid: str,
        name: str,
        sequence: int,
        payload: bytes | str,
        *,
        inreplyto: int = 0,
        payloadtype: str = "",
        prvkey: str | None = None,
    ) -> None:
        call = r.channel_append(
            processid, name, sequence, payload, inreplyto=inreplyto, payloadtype=payloadtype
        )
        await self._send(call, prvkey)

    async def channel_read(
        self,
        processid: str,
        name: str,
        afterseq: int = 0,
        limit: int = 0,
        *,
        prvkey: str | None = None,
    ) -> list[model.ChannelEntry]:
        return await self._send(r.channel_read(processid, name, afterseq, limit), prvkey)

    async def subscribe_channel(
        self,
        processid: str,
        name: str,
        afterseq: int = 0,
        timeout: int = 30,
        *,
        prvkey: str | None = None,
    ) -> AsyncIterator[model.ChannelEntry]:
        body = self._body(r.subscribe_channel(processid, name, afterseq, timeout), prvkey)
        socket = await self._transport.aconnect(self._pubsub_url, self.timeout)
        try:
            await socket.send(body)
            while True:
                try:
                    text = await socket.recv(max(timeout, 0) + r.CHANNEL_MARGIN)
                except (WebSocketClosed, TimeoutError):
                    return
                entries = r.channel_frame(text)
                if not entries:
                    return
                for entry in entries:
                    yield entry
        except WebSocketClosed:
            return
        finally:
            await socket.close()

    # --- files and snapshots (ColonyFS, spec §4.9) ----------------------------------------
    # Bytes go to and come from ``store``: by default the one the environment names
    # (``colonies.fs.from_env``: ``COLONIES_FS_DIR``, else S3 from the ``AWS_S3_*`` variables).

    async def _fs(self, flow: fsops.FsFlow[T], prvkey: str | None) -> T:
        return await fsops.run_async(lambda call: self._send(call, prvkey), flow)

    @staticmethod
    async def _store(store: ObjectStore | None) -> ObjectStore:
        if store is not None:
            return store
        return await asyncio.to_thread(store_from_env)  # S3: checks the bucket

    async def upload_file(
        self,
        colonyname: str,
        filepath: str | os.PathLike[str],
        label: str,
        *,
        name: str = "",
        store: ObjectStore | None = None,
        progress: fsops.Progress | None = None,
        prvkey: str | None = None,
    ) -> model.File:
        """Upload a local file as the newest revision of ``name`` (default: the file's name)
        under ``label``; returns the stored metadata."""
        path = Path(filepath)
        store = await self._store(store)
        return await self._fs(
            fsops.upload(colonyname, label, name or path.name, path, store, progress), prvkey
        )

    async def upload_data(
        self,
        colonyname: str,
        filename: str,
        data: bytes,
        label: str,
        *,
        store: ObjectStore | None = None,
        prvkey: str | None = None,
    ) -> model.File:
        """Upload ``data`` as the newest revision of ``filename`` under ``label``."""
        store = await self._store(store)
        return await self._fs(fsops.upload(colonyname, label, filename, data, store), prvkey)

    async def get_file(
        self,
        colonyname: str,
        *,
        label: str = "",
        fileid: str = "",
        filename: str = "",
        latest: bool = True,
        prvkey: str | None = None,
    ) -> list[model.File]:
        """The file ``fileid``, or the revisions of ``label`` + ``filename``, newest first
        (only the newest with ``latest``)."""
        call = r.get_file(colonyname, fileid=fileid, label=label, name=filename, latest=latest)
        return await self._send(call, prvkey)

    async def download_file(
        self,
        colonyname: str,
        dst: str | os.PathLike[str],
        *,
        label: str = "",
        fileid: str = "",
        filename: str = "",
        latest: bool = True,
        store: ObjectStore | None = None,
        progress: fsops.Progress | None = None,
        prvkey: str | None = None,
    ) -> Path:
        """Download a file (by ``fileid``, or the newest revision of ``label`` + ``filename``)
        into the directory ``dst``; returns the path written."""
        store = await self._store(store)
        find = fsops.find(colonyname, fileid=fileid, label=label, name=filename, latest=latest)
        file = await self._fs(find, prvkey)
        return await self._fs(fsops.download(file, Path(dst), store, progress), prvkey)

    async def download_data(
        self,
        colonyname: str,
        *,
        label: str = "",
        fileid: str = "",
        filename: str = "",
        latest: bool = True,
        store: ObjectStore | None = None,
        prvkey: str | None = None,
    ) -> bytes:
        """The bytes of a file (by ``fileid``, or the newest of ``label`` + ``filename``)."""
        store = await self._store(store)
        find = fsops.find(colonyname, fileid=fileid, label=label, name=filename, latest=latest)
        file = await self._fs(find, prvkey)
        return await self._fs(fsops.read(file, store), prvkey)

    async def delete_file(
        self,
        colonyname: str,
        *,
        label: str = "",
        fileid: str = "",
        filename: str = "",
        store: ObjectStore | None = None,
        prvkey: str | None = None,
    ) -> int:
        """Remove a revision (``fileid``) or every revision of ``label`` + ``filename``, bytes
        and metadata; returns how many revisions were removed."""
        store = await self._store(store)
        flow = fsops.delete(colonyname, store, fileid=fileid, label=label, name=filename)
        return await self._fs(flow, prvkey)

    async def get_files(
        self, colonyname: str, label: str, *, prvkey: str | None = None
    ) -> list[model.FileData]:
        """The newest revision of every file under exactly ``label``."""
        return await self._send(r.get_files(colonyname, label), prvkey)

    async def get_file_labels(
        self, colonyname: str, name: str = "", exact: bool = False, *, prvkey: str | None = None
    ) -> list[model.Label]:
        """Every label (``name`` empty); ``name`` and the labels below it (``exact``); else
        the labels starting with ``name``. Each with its number of revisions."""
        return await self._send(r.get_file_labels(colonyname, name, exact), prvkey)

    async def create_snapshot(
        self, colonyname: str, label: str, name: str, *, prvkey: str | None = None
    ) -> model.Snapshot:
        """Freeze the newest revision of every file under ``label`` (and below) as ``name``."""
        return await self._send(r.create_snapshot(colonyname, label, name), prvkey)

    async def get_snapshot_by_id(
        self, colonyname: str, snapshotid: str, *, prvkey: str | None = None
    ) -> model.Snapshot:
        return await self._send(r.get_snapshot(colonyname, snapshotid=snapshotid), prvkey)

    async def get_snapshot_by_name(
        self, colonyname: str, name: str, *, prvkey: str | None = None
    ) -> model.Snapshot:
        return await self._send(r.get_snapshot(colonyname, name=name), prvkey)

    async def get_snapshots(
        self, colonyname: str, *, prvkey: str | None = None
    ) -> list[model.Snapshot]:
        """The colony's snapshots, the newest first."""
        return await self._send(r.get_snapshots(colonyname), prvkey)

    async def remove_snapshot(
        self,
        colonyname: str,
        *,
        snapshotid: str = "",
        name: str = "",
        prvkey: str | None = None,
    ) -> None:
        """Remove a snapshot by ID or name (the files stay)."""
        return await self._send(
            r.remove_snapshot(colonyname, snapshotid=snapshotid, name=name), prvkey
        )

    async def remove_all_snapshots(self, colonyname: str, *, prvkey: str | None = None) -> None:
        return await self._send(r.remove_all_snapshots(colonyname), prvkey)

    async def download_snapshot(
        self,
        colonyname: str,
        dst: str | os.PathLike[str],
        *,
        snapshotid: str = "",
        name: str = "",
        store: ObjectStore | None = None,
        progress: fsops.Progress | None = None,
        prvkey: str | None = None,
    ) -> list[Path]:
        """Download a snapshot's files into ``dst`` (sub-labels as subdirectories), skipping
        files already there with the same checksum; returns the files written."""
        store = await self._store(store)
        flow = fsops.download_snapshot(
            colonyname, Path(dst), store, snapshotid=snapshotid, name=name, progress=progress
        )
        return await self._fs(flow, prvkey)

    async def sync(
        self,
        colonyname: str,
        dir: str | os.PathLike[str],
        label: str,
        *,
        keeplocal: bool = True,
        dry: bool = False,
        store: ObjectStore | None = None,
        progress: fsops.Progress | None = None,
        prvkey: str | None = None,
    ) -> list[fsops.SyncPlan]:
        """Sync the directory ``dir`` (and those below it) with ``label`` both ways, like
        ``colonies fs sync``; conflicts keep the local file unless ``keeplocal=False``.
        Returns the plans, carried out unless ``dry``."""
        if dry:
            return await self._fs(fsops.sync_plans(colonyname, Path(dir), label, keeplocal), prvkey)
        store = await self._store(store)
        flow = fsops.sync(
            colonyname, Path(dir), label, store, keeplocal=keeplocal, progress=progress
        )
        return await self._fs(flow, prvkey)
