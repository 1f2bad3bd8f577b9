"""The executor framework: register, long-poll, run functions, report, survive outages.

One ``Executor`` runs ``concurrency`` processes at a time (default 1) on an ``AsyncClient``. It
is the same code on a host (``colonies executor run``) and in the browser (Pyodide, with a fetch
transport). Stdlib only.

Failure handling, in short:
- no work: the long-poll ends with ``NoProcessAvailable``; poll again;
- server away (unreachable, or 5xx while it restarts): back off (0.5 s doubling to 10 s) and keep
  trying; a result that could not be reported yet is reported when the server is back;
- function raises, is unknown or gets bad arguments: the process is closed FAILED with the reason;
- stop requested (SIGINT/SIGTERM or ``stop()``): polling ends at once; a running function gets
  ``grace`` seconds, after which its process is failed with "executor stopped" rather than left
  RUNNING without reason;
- every slot busy with a long function: a cheap call every ``heartbeat`` seconds keeps the
  executor heard from, so the server does not take it for stale (which re-queues its processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from colonies import crypto
from colonies.client import AsyncClient
from colonies.errors import (
    AccessDeniedError,
    AssignmentsPaused,
    ColoniesError,
    NoProcessAvailable,
    ProtocolError,
    ServerError,
    TransportError,
)
from colonies.functions import (
    ExecutionContext,
    FunctionError,
    FunctionSet,
    check_output,
    output_of,
)
from colonies.model import Executor as ExecutorRecord
from colonies.model import Function, Process

T = TypeVar("T")

BACKOFF_START = 0.5
BACKOFF_MAX = 10.0


@dataclass(frozen=True)
class ExecutorEvent:
    """What happened, for logs and UIs.

    ``kind`` is one of ``status`` (registering, polling, running, reconnecting, stopped),
    ``registered``, ``completed``, ``failed`` or ``log``.
    """

    kind: str
    message: str
    processid: str = ""
    funcname: str = ""
    seconds: float = 0.0
    processgraphid: str = ""  # the workflow a process is a step of


class RegistrationError(ColoniesError):
    """The executor could not join the colony (wrong key, name taken, colony unknown)."""


class Stopped(Exception):
    """Raised inside the run loop when ``stop()`` interrupts a wait."""


class Executor:
    """A ColonyOS executor serving the functions of a ``FunctionSet``.

    ``prvkey`` is the executor's own key (generated when omitted). With ``colony_prvkey`` the
    executor registers and approves itself, as the tutorial's executors do; with ``join_token``
    (from ``colonies executor token create``) it joins without the colony key; with neither, it
    must already be registered and approved by the colony owner. ``concurrency`` processes run
    at once (each slot long-polls on its own): worth it when functions wait on I/O, or when the
    round trip to the server, not the function, is what takes the time (browsers).
    ``heartbeat`` (seconds) is how often the server hears from the executor while no slot is
    polling; keep it well below the server's stale-executor duration (default 600 s).
    """

    def __init__(
        self,
        client: AsyncClient,
        functions: FunctionSet,
        *,
        colonyname: str,
        executorname: str,
        executortype: str,
        prvkey: str | None = None,
        colony_prvkey: str | None = None,
        join_token: str | None = None,
        poll_timeout: int = 10,
        concurrency: int = 1,
        grace: float = 10.0,
        heartbeat: float = 60.0,
        on_event: Callable[[ExecutorEvent], None] | None = None,
    ) -> None:
        self.client = client
        self.functions = functions
        self.colonyname = colonyname
        self.executorname = executorname
        self.executortype = executortype
        self.prvkey = prvkey or crypto.generate_private_key()
        self.executorid = crypto.id_from_private_key(self.prvkey)
        self.colony_prvkey = colony_prvkey
        self.join_token = join_token
        self.poll_timeout = poll_timeout
        self.concurrency = max(1, concurrency)
        self.grace = grace
        self.heartbeat = heartbeat
        self._on_event = on_event
        self._stop = asyncio.Event()
        # Serving slots by phase, so that stop() can end polls at once and functions later.
        # (Cancelling tasks is much cheaper per process than racing every await against a
        # stop event: in Pyodide each such race cost ~1 ms.)
        self._polling: set[asyncio.Task[Any]] = set()
        self._running: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.completed = 0
        self.failed = 0

    # --- events and stopping

    def emit(self, kind: str, message: str, **details: Any) -> None:
        if self._on_event is not None:
            self._on_event(ExecutorEvent(kind, message, **details))

    def stop(self) -> None:
        """Ask the run loop to end; safe to call from a signal handler on the loop.

        Polls end at once (a process the server had just claimed for a poll is put back in
        the queue when the request goes away); running functions get ``grace`` seconds.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        for task in self._polling:
            task.cancel()
        if self._loop is not None and self._running:
            self._loop.call_later(self.grace, self._cancel_running)

    def _cancel_running(self) -> None:
        for task in self._running:
            task.cancel()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def _unless_stopped(self, work: Awaitable[T]) -> T:
        """Await ``work`` but give up (``Stopped``) as soon as a stop is requested."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Stopped

    async def _retry(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` until the server answers, backing off while it is unreachable."""
        delay = BACKOFF_START
        while True:
            try:
                return await call()
            except (TransportError, ProtocolError, ServerError) as e:
                if not _transient(e) or self.stopping:
                    raise
                why = e.reason if isinstance(e, TransportError) else str(e)
                self.emit("status", f"reconnecting: {what} failed ({why}); retry in {delay:.1f}s")
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, BACKOFF_MAX)

    # --- registration

    async def register(self) -> None:
        """Join the colony (with the colony key) and announce the functions."""
        self.emit("status", f"registering {self.executorname} in colony {self.colonyname}")
        if self.join_token:
            await self._retry("register", self._register_with_token)
        elif self.colony_prvkey:
            await self._retry("register", self._register_with_colony_key)
        await self._retry("announce functions", self._announce_functions)
        self.emit("registered", f"registered as {self.executorname} ({self.executorid[:12]}…)")

    def _record(self) -> ExecutorRecord:
        return ExecutorRecord(
            executorid=self.executorid,
            executortype=self.executortype,
            executorname=self.executorname,
            colonyname=self.colonyname,
        )

    async def _register_with_token(self) -> None:
        assert self.join_token is not None
        try:
            await self.client.add_executor_by_token(
                self._record(), self.join_token, prvkey=self.prvkey
            )
        except ServerError as e:
            raise RegistrationError(_registration_hint(e, self.colonyname)) from None

    async def _register_with_colony_key(self) -> None:
        record = ExecutorRecord(
            executorid=self.executorid,
            executortype=self.executortype,
            executorname=self.executorname,
            colonyname=self.colonyname,
        )
        key = self.colony_prvkey
        try:
            await self.client.add_executor(record, prvkey=key)
        except ServerError as e:
            if "already exists" not in e.message:
                raise RegistrationError(_registration_hint(e, self.colonyname)) from None
            # A previous run under this name: retire it (its RUNNING work is re-queued).
            await self.client.remove_executor(self.colonyname, self.executorname, prvkey=key)
            try:
                await self.client.add_executor(record, prvkey=key)
            except ServerError as again:
                raise RegistrationError(
                    f"executor name {self.executorname!r} is taken in colony "
                    f"{self.colonyname!r} and could not be re-registered: {again.message}"
                ) from None
        try:
            await self.client.approve_executor(self.colonyname, self.executorname, prvkey=key)
        except ServerError as e:
            raise RegistrationError(_registration_hint(e, self.colonyname)) from None

    async def _announce_functions(self) -> None:
        try:
            known = await self.client.get_functions(
                self.colonyname, self.executorname, prvkey=self.prvkey
            )
        except AccessDeniedError as e:
            raise RegistrationError(
                f"executor {self.executorname!r} is not an approved member of colony "
                f"{self.colonyname!r} ({e.message}); give the colony key to self-register, "
                "or ask the colony owner to run: colonies executor approve --name "
                f"{self.executorname}"
            ) from None
        have = {f.funcname for f in known}
        for name in self.functions:
            if name not in have:
                await self.client.add_function(
                    Function(
                        executorname=self.executorname,
                        executortype=self.executortype,
                        colonyname=self.colonyname,
                        funcname=name,
                    ),
                    prvkey=self.prvkey,
                )

    # --- the loop

    async def run(self) -> None:
        """Register, then serve processes until ``stop()``."""
        self._loop = asyncio.get_running_loop()
        heartbeat: asyncio.Task[None] | None = None
        try:
            await self._unless_stopped(self.register())
            heartbeat = asyncio.ensure_future(self._heartbeat())
            await asyncio.gather(*(self._serve() for _ in range(self.concurrency)))
        except Stopped:
            pass
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            self.emit("status", "stopped")

    async def _heartbeat(self) -> None:
        """While no slot is polling (all run functions), let the server hear from us: any call
        as a member counts, and reading our own record is the cheapest."""
        while not self.stopping:
            await asyncio.sleep(self.heartbeat)
            if self._polling or self.stopping:
                continue  # a long-poll keeps us heard from
            with contextlib.suppress(ColoniesError):
                await self.client.get_executor(
                    self.colonyname, self.executorname, prvkey=self.prvkey
                )

    async def _serve(self) -> None:
        """One slot: poll, run, report, until stopped."""
        task = asyncio.current_task()
        assert task is not None
        while not self.stopping:
            self._polling.add(task)
            try:
                process = await self._next_process()
            except asyncio.CancelledError:
                if self.stopping:
                    return
                raise
            finally:
                self._polling.discard(task)
            if process is not None:
                self._running.add(task)
                try:
                    await self.execute(process)
                finally:
                    self._running.discard(task)

    async def _next_process(self) -> Process | None:
        self.emit("status", "polling")
        try:
            return await self._retry(
                "assign",
                lambda: self.client.assign(self.colonyname, self.poll_timeout, prvkey=self.prvkey),
            )
        except NoProcessAvailable:
            return None
        except AssignmentsPaused:
            self.emit("status", "paused: the colony owner paused assignments")
            await asyncio.sleep(1)
            return None

    async def execute(self, process: Process) -> None:
        """Run one assigned process and report its result (retrying while the server is away)."""
        funcname = process.spec.funcname
        self.emit("status", f"running {funcname}", processid=process.processid, funcname=funcname)
        started = time.perf_counter()
        ctx = ExecutionContext(
            process,
            self.executorname,
            self.executortype,
            self.colonyname,
            functools.partial(self.client.add_child, prvkey=self.prvkey),
            appender=functools.partial(self.client.channel_append, prvkey=self.prvkey),
            reader=functools.partial(self.client.channel_read, prvkey=self.prvkey),
        )
        error: str | None = None
        output: list[Any] = []
        try:
            call = self.functions.bind(funcname, process, ctx)
            output = output_of(await _invoke(call))
            check_output(funcname, output)
        except FunctionError as e:
            error = str(e)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            error = f"executor {self.executorname} stopped before {funcname} finished"
        except Exception as e:
            error = f"{funcname} raised {type(e).__name__}: {e}"
        seconds = time.perf_counter() - started
        pid = process.processid
        try:
            if error is None:
                await self._retry(
                    "close", lambda: self.client.close(pid, output, prvkey=self.prvkey)
                )
                self.completed += 1
                self.emit(
                    "completed",
                    f"{funcname} -> {output}",
                    processid=pid,
                    funcname=funcname,
                    seconds=seconds,
                    processgraphid=process.processgraphid,
                )
            else:
                await self._retry(
                    "fail", lambda: self.client.fail(pid, [error], prvkey=self.prvkey)
                )
                self.failed += 1
                self.emit(
                    "failed",
                    error,
                    processid=pid,
                    funcname=funcname,
                    seconds=seconds,
                    processgraphid=process.processgraphid,
                )
        except ServerError as e:  # e.g. cancelled or timed out meanwhile: nothing to report to
            self.emit("log", f"could not report process {pid}: {e.message}", processid=pid)


async def _invoke(call: Callable[[], Any]) -> Any:
    """Call a function: coroutines are awaited; plain functions run in a worker thread on a
    host so the loop stays responsive, and inline in Pyodide, which has no threads."""
    if sys.platform == "emscripten":
        result = call()
    else:
        result = await asyncio.to_thread(call)
    if asyncio.iscoroutine(result):
        result = await result
    return result


def _transient(error: Exception) -> bool:
    """Worth retrying: unreachable, or a 5xx from a server (or proxy) that is restarting."""
    if isinstance(error, TransportError):
        return True
    status = getattr(error, "status", 0)
    return isinstance(status, int) and status >= 500


def _registration_hint(error: ServerError, colonyname: str) -> str:
    if "join token" in error.message:
        return f"the join token was refused: {error.message}"
    if "not colony owner" in error.message:
        return f"the colony private key is not the owner key of colony {colonyname!r}"
    if "does not exist" in error.message:
        return f"colony {colonyname!r} does not exist on this server"
    return f"registration failed: {error.message}"
