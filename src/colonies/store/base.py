"""The storage interface the server's handlers talk to; no handler ever sees SQL.

Everything that must be atomic across server replicas is one method here: ``assign`` picks and
claims a process in one step, and ``update_process`` is a compare-and-set guarded by the states
(and the assigned executor) the caller expects. That is what lets a PostgreSQL implementation run
under many replicas with ``FOR UPDATE SKIP LOCKED`` while SQLite serves a single node.

Times are integer nanoseconds since the epoch (0 = unset); models come back with wire-formatted
times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any, Protocol

from colonies.model import (
    Attribute,
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    ChannelEntry,
    Colony,
    Cron,
    Executor,
    File,
    FileData,
    Function,
    Generator,
    Label,
    Location,
    Log,
    Process,
    ProcessGraph,
    Snapshot,
    User,
)


class AlreadyExists(Exception):
    """An object with the same unique name or ID is stored already."""


class WriteCancelled(asyncio.CancelledError):
    """The task was cancelled while its write of process ``processid`` was being committed:
    the write stands. A long-poll whose client hung up gives back the process it claimed."""

    def __init__(self, processid: str) -> None:
        super().__init__(f"cancelled after writing process {processid}")
        self.processid = processid


@dataclass
class ProcessUpdate:
    """The columns to change in ``update_process``; ``None`` leaves a column as it is."""

    state: int | None = None
    isassigned: bool | None = None
    assignedexecutorid: str | None = None
    starttime: int | None = None
    endtime: int | None = None
    waitdeadline: int | None = None
    execdeadline: int | None = None
    retries: int | None = None
    output: list[Any] | None = None
    errors: list[str] | None = None
    # workflows: a child released when its parents succeeded (waitforparents=False, input =
    # the parents' outputs), or spliced into a graph (parents, children)
    waitforparents: bool | None = None
    input: list[Any] | None = None
    parents: list[str] | None = None
    children: list[str] | None = None

    def changed(self) -> dict[str, Any]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class NewProcess:
    """A process to insert with its parsed resource needs (see ``Store.add_process``)."""

    process: Process
    cpu: int
    memory: int


@dataclass(frozen=True)
class ProcessCounts:
    """Process counts by state, for statistics."""

    waiting: int = 0
    running: int = 0
    successful: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class ExecutorCounts:
    total: int = 0
    active: int = 0
    unregistered: int = 0


class Store(Protocol):
    """Durable state of one ColonyOS server (or of a cluster of replicas sharing it)."""

    async def close(self) -> None: ...

    # --- server identity
    async def get_server_id(self) -> str: ...
    async def set_server_id(self, serverid: str) -> None: ...

    # --- colonies
    async def add_colony(self, colony: Colony) -> None: ...
    async def get_colony(self, name: str) -> Colony | None: ...
    async def get_colonies(self) -> list[Colony]: ...
    async def set_paused(self, colonyname: str, paused: bool) -> None:
        """Pause or resume assignments in a colony (shared by every replica)."""

    async def is_paused(self, colonyname: str) -> bool: ...
    async def remove_colony(self, name: str) -> None:
        """Remove the colony and everything in it."""

    # --- executors
    async def add_executor(self, executor: Executor, *, replace: bool = False) -> None:
        """Store a new executor; ``replace`` re-registers an existing name under the new ID."""

    async def get_executor(self, colonyname: str, name: str) -> Executor | None: ...
    async def get_executor_by_id(self, colonyname: str, executorid: str) -> Executor | None:
        """The colony's executor with this ID (a live one before an UNREGISTERED one).

        IDs are resolved per colony: the same key may be registered in several colonies, and
        nothing registered in one colony changes who is a member of another.
        """

    async def get_executors(self, colonyname: str) -> list[Executor]: ...
    async def set_executor_state(self, colonyname: str, name: str, state: int) -> None: ...
    async def mark_alive(
        self, colonyname: str, executorid: str, now: int, *, refresh: bool = False
    ) -> None:
        """Set ``lastheardfromtime`` of the colony's (not UNREGISTERED) executor with this ID;
        with ``refresh``, only if it was set before (non-zero)."""

    async def stale_executors(self, heard_before: int, limit: int) -> list[Executor]:
        """Executors, not UNREGISTERED, last heard from (non-zero) before ``heard_before``."""

    async def unregister_executor(
        self, colonyname: str, name: str, now: int, *, heard_before: int | None = None
    ) -> list[str] | None:
        """Soft-delete: state UNREGISTERED, functions dropped, the RUNNING processes assigned
        to it in this colony re-queued; with ``heard_before``, only if the executor is still
        stale then (a compare-and-set, so replicas sweeping together remove it once).

        Returns the IDs of the re-queued processes so the caller can wake assigners, or
        ``None`` when nothing was removed (no such executor, or no longer stale).
        """

    async def count_executors(self, colonyname: str | None) -> ExecutorCounts: ...

    # --- users and locations
    async def add_user(self, user: User) -> None: ...
    async def get_user(self, colonyname: str, name: str) -> User | None: ...
    async def get_user_by_id(self, colonyname: str, userid: str) -> User | None: ...
    async def get_users(self, colonyname: str) -> list[User]: ...
    async def remove_user(self, colonyname: str, name: str) -> None: ...
    async def add_location(self, location: Location) -> None: ...
    async def get_location(self, colonyname: str, name: str) -> Location | None: ...
    async def get_locations(self, colonyname: str) -> list[Location]: ...
    async def remove_location(self, colonyname: str, name: str) -> None: ...

    # --- ID rotation (spec §4.12) ---
    async def change_user_id(self, colonyname: str, old: str, new: str) -> None:
        """Give the colony's user(s) with ID ``old`` the ID ``new``."""

    async def change_executor_id(self, colonyname: str, old: str, new: str) -> None:
        """Give the colony's executor(s) with ID ``old`` the ID ``new``, and move the colony's
        processes assigned to ``old`` to ``new`` (the same executor under its new key)."""

    async def change_colony_id(self, colonyname: str, old: str, new: str) -> None:
        """Set the colony's owner ID to ``new`` if it is still ``old`` (compare-and-set)."""

    # --- processes
    async def add_process(self, process: Process, *, cpu: int, memory: int) -> None:
        """Insert a WAITING process (times, deadlines and prioritytime already set).

        ``cpu`` (millicores) and ``memory`` (bytes) are the parsed resource needs, kept as
        numbers so that ``assign`` can compare them with what the executor has free.
        """

    async def get_process(self, processid: str) -> Process | None: ...
    async def get_processes(
        self,
        colonyname: str,
        state: int,
        count: int,
        *,
        executortype: str = "",
        label: str = "",
        initiatorid: str = "",
    ) -> list[Process]:
        """WAITING by prioritytime, RUNNING by start time, closed ones newest first."""

    async def process_history(
        self, colonyname: str, state: int, since: int, executorid: str = ""
    ) -> list[Process]: ...

    async def assign(
        self, executor: Executor, now: int, *, cpu: int, memory: int
    ) -> Process | None:
        """Atomically claim the best WAITING process this executor may run, or ``None``.

        Matching: same colony and executor type; the executor's name in ``executornames``
        (or that list empty); location empty or equal; needs within ``cpu``/``memory``.
        The lowest ``prioritytime`` wins. The claimed process is RUNNING with its exec deadline
        set when ``maxexectime > 0``. Nothing is claimed unless the executor is APPROVED in the
        colony at that moment (atomic with ``unregister_executor``, so a removed executor is
        never handed a process that nothing would re-queue).
        """

    async def update_process(
        self,
        processid: str,
        update: ProcessUpdate,
        *,
        states: Collection[int] = (),
        executorid: str | None = None,
        approved: bool = False,
    ) -> Process | None:
        """Apply ``update`` only if the process is in one of ``states`` (any, when empty) and,
        when given, assigned to ``executorid`` (and with ``approved``, that executor is an
        APPROVED member of the process's colony). Returns the updated process or ``None``."""

    async def remove_process(self, processid: str) -> None: ...
    async def remove_processes(self, colonyname: str, state: int) -> None:
        """Remove the colony's processes in ``state`` (-1: every state) outside workflows."""

    async def expired_processes(self, now: int, limit: int) -> list[Process]:
        """RUNNING processes past their exec deadline and WAITING ones past their wait deadline."""

    async def count_processes(self, colonyname: str | None) -> ProcessCounts: ...

    # --- attributes
    async def add_attribute(self, attribute: Attribute) -> None: ...
    async def get_attribute(self, attributeid: str) -> Attribute | None: ...

    # --- functions
    async def add_function(self, function: Function) -> None: ...
    async def get_function(self, functionid: str) -> Function | None: ...
    async def find_function(
        self, colonyname: str, executorname: str, funcname: str
    ) -> Function | None: ...
    async def get_functions(self, colonyname: str, executorname: str = "") -> list[Function]: ...
    async def update_function(self, function: Function) -> None: ...
    async def remove_function(self, functionid: str) -> None: ...

    # --- logs
    async def add_log(self, log: Log) -> None: ...
    async def get_logs(
        self,
        colonyname: str,
        *,
        processid: str = "",
        executorname: str = "",
        count: int,
        since: int = 0,
        latest: bool = False,
    ) -> list[Log]: ...
    async def search_logs(
        self, colonyname: str, text: str, since: int, count: int
    ) -> list[Log]: ...

    # --- process graphs (workflows)
    async def add_processgraph(self, graph: ProcessGraph, processes: list[NewProcess]) -> None:
        """Insert the graph (its ``processids``/``rootprocessids`` set) and all its processes
        (WAITING, ``processgraphid`` set, ``waitforparents`` on all but the roots) in one
        transaction: a replica that sees the graph sees every process of it."""

    async def get_processgraph(self, processgraphid: str) -> ProcessGraph | None:
        """The graph as stored (``nodes``/``edges`` empty: the handler draws them)."""

    async def get_processgraphs(
        self, colonyname: str, state: int, count: int
    ) -> list[ProcessGraph]:
        """The colony's graphs in ``state``, newest submission first, at most ``count``."""

    async def graph_processes(self, processgraphid: str) -> list[Process]:
        """Every process of the graph, in submission (insertion) order."""

    async def update_processgraph(
        self,
        processgraphid: str,
        *,
        state: int,
        starttime: int | None = None,
        endtime: int | None = None,
        processids: list[str] | None = None,
        states: Collection[int] = (),
    ) -> ProcessGraph | None:
        """Set the graph's state (and times, and its process list after ``addchildmsg``) if it
        is in one of ``states`` (any, when empty): a compare-and-set, so replicas reacting to
        the same graph cannot write an older state over a newer one. Returns the graph, or
        ``None`` if there is no such graph or it was in another state."""

    async def remove_processgraph(self, processgraphid: str) -> None:
        """Remove the graph and all its processes."""

    async def remove_processgraphs(self, colonyname: str, state: int) -> None:
        """Remove the colony's graphs in ``state`` (-1: every state) with their processes."""

    async def count_processgraphs(self, colonyname: str | None) -> ProcessCounts:
        """Graphs by state, for the workflow counters of statistics."""

    # --- crons and generators
    async def add_cron(self, cron: Cron) -> None:
        """Store a new cron (``cronid`` set by the caller); ``AlreadyExists`` if its colony has
        a cron of that name already."""

    async def get_cron(self, cronid: str) -> Cron | None:
        """The cron as stored (``checkerperiod`` 0: the handler sets it)."""

    async def get_crons(self, colonyname: str, count: int) -> list[Cron]:
        """The colony's crons in the order they were added, at most ``count``."""

    async def remove_cron(self, cronid: str) -> None: ...

    async def advance_cron(
        self,
        cronid: str,
        *,
        expected_nextrun: int,
        nextrun: int,
        lastrun: int | None = None,
        prevprocessgraphid: str | None = None,
    ) -> bool:
        """Compare-and-set: set ``nextrun`` (and ``lastrun``, ``prevprocessgraphid`` when
        given) only if the stored ``nextrun`` is still ``expected_nextrun``. Returns whether it
        did. Of replicas (or a checker and ``runcronmsg``) that read the same ``nextrun`` and
        race to fire the cron, exactly one wins; only the winner starts the workflow."""

    async def due_crons(self, now: int, limit: int) -> list[Cron]:
        """Crons never evaluated (``nextrun`` 0) or due (``nextrun < now``), at most ``limit``,
        the earliest ``nextrun`` first."""

    async def add_generator(self, generator: Generator) -> None:
        """Store a new generator (``generatorid`` set by the caller, no packed args);
        ``AlreadyExists`` if its colony has a generator of that name already."""

    async def get_generator(self, generatorid: str) -> Generator | None:
        """The generator as stored (``queuesize``/``checkerperiod`` 0: the handler sets
        them)."""

    async def get_generator_by_name(self, colonyname: str, name: str) -> Generator | None: ...

    async def get_generators(self, colonyname: str, count: int) -> list[Generator]:
        """The colony's generators in the order they were added, at most ``count``."""

    async def remove_generator(self, generatorid: str) -> None:
        """Remove the generator and its packed args."""

    async def pack_generator_arg(self, generatorid: str, arg: str, now: int) -> bool:
        """Queue ``arg`` for the generator, and set its ``firstpack`` to ``now`` if this is its
        first pack ever, in one transaction. ``False`` (nothing queued) if there is no such
        generator."""

    async def generator_args(self, generatorid: str, limit: int) -> list[tuple[str, str]]:
        """The generator's queued args as ``(argid, arg)``, oldest first, at most ``limit``."""

    async def count_generator_args(self, generatorid: str) -> int:
        """How many args are queued for the generator (its ``queuesize``)."""

    async def pending_generators(self, limit: int) -> list[Generator]:
        """Generators with at least one queued arg (the ones a checker must look at)."""

    async def consume_generator_args(
        self, generatorid: str, argids: list[str], lastrun: int
    ) -> list[str]:
        """Delete exactly the args ``argids`` and set the generator's ``lastrun``, in one
        transaction, only if every one of them is still queued; returns their values in the
        order of ``argids``, or ``[]`` (nothing changed) if any was consumed meanwhile. Two
        checkers that read the same args cannot both submit a workflow for them."""

    # --- files and snapshots (ColonyFS, spec §4.9) ---
    async def add_file(self, file: File) -> File:
        """Store a file revision (``fileid`` and ``added`` set by the caller); the store gives
        it the next ``sequencenr`` (increasing across the server) and returns it as stored."""

    async def get_file(self, colonyname: str, fileid: str) -> File | None: ...

    async def get_files_by_name(
        self, colonyname: str, label: str, name: str, *, latest: bool = False
    ) -> list[File]:
        """The revisions of ``name`` under ``label``, newest (highest ``sequencenr``) first;
        only the newest with ``latest``."""

    async def get_file_data(self, colonyname: str, label: str) -> list[FileData]:
        """The newest revision of every file name under exactly ``label``, by name."""

    async def get_file_labels(
        self, colonyname: str, prefix: str = "", *, exact: bool = False
    ) -> list[Label]:
        """Labels with their number of revisions, by name: every label (``prefix`` empty);
        ``prefix`` and the labels below it (``exact``: ``prefix`` itself or ``prefix/...``);
        else every label starting with ``prefix``."""

    async def remove_file(self, colonyname: str, fileid: str) -> None: ...

    async def remove_files_by_name(self, colonyname: str, label: str, name: str) -> None:
        """Remove every revision of ``name`` under ``label``."""

    async def create_snapshot(self, snapshot: Snapshot) -> Snapshot:
        """Store ``snapshot`` (ID, colony, label, name, ``added`` set by the caller) with the
        IDs of the newest revision of every file under its label and the labels below it, read
        and stored in one transaction. ``AlreadyExists`` if the colony has one of that name."""

    async def get_snapshot(self, colonyname: str, snapshotid: str) -> Snapshot | None: ...

    async def get_snapshot_by_name(self, colonyname: str, name: str) -> Snapshot | None: ...

    async def get_snapshots(self, colonyname: str) -> list[Snapshot]:
        """The colony's snapshots, the newest first."""

    async def remove_snapshot(self, colonyname: str, snapshotid: str) -> None: ...

    async def remove_snapshot_by_name(self, colonyname: str, name: str) -> None: ...

    async def remove_snapshots(self, colonyname: str) -> None: ...

    # --- channels (spec §4.10) ---

    async def append_channel_entry(
        self, processid: str, name: str, entry: ChannelEntry, ts: int, max_entries: int
    ) -> int | None:
        """Append ``entry`` (stamped ``ts``) to a channel of a waiting or running process; its
        index (from 0, in commit order, never reused), or ``None`` when the channel holds
        ``max_entries`` already. ``LookupError`` if the process is gone or closed. Appends to
        one channel are serialised (its row is locked to commit), so every index below a
        committed one is committed too: a reader that has seen n entries misses none by
        asking for those from n on. Entries are removed with their process."""
        ...

    async def read_channel(
        self, processid: str, name: str, after: int, limit: int
    ) -> list[ChannelEntry]:
        """The channel's entries from index ``after`` on, in order (``limit`` <= 0: all)."""
        ...

    # --- blueprints (spec §4.11) ---

    async def add_blueprint_definition(self, definition: BlueprintDefinition) -> None:
        """Store a definition (ID set by the caller); ``AlreadyExists`` if its colony has one
        of that name, or one with that ID exists."""
        ...

    async def get_blueprint_definition(
        self, colonyname: str, name: str
    ) -> BlueprintDefinition | None: ...

    async def get_blueprint_definitions(self, colonyname: str) -> list[BlueprintDefinition]:
        """The colony's definitions by name."""
        ...

    async def get_blueprint_definition_by_kind(
        self, colonyname: str, kind: str
    ) -> BlueprintDefinition | None:
        """The colony's definition of blueprints of ``kind`` (the first by name)."""
        ...

    async def remove_blueprint_definition(self, colonyname: str, name: str) -> None: ...

    async def add_blueprint(self, blueprint: Blueprint, history: BlueprintHistory) -> None:
        """Store a blueprint (ID set by the caller) with its first history entry, in one
        transaction; ``AlreadyExists`` if its colony has one of that name, or the ID is
        taken."""
        ...

    async def get_blueprint(self, colonyname: str, name: str) -> Blueprint | None: ...

    async def get_blueprint_by_id(self, blueprintid: str) -> Blueprint | None: ...

    async def get_blueprints(
        self, colonyname: str, kind: str = "", locationname: str = ""
    ) -> list[Blueprint]:
        """The colony's blueprints by name, of ``kind`` if given, and then at
        ``locationname`` if given (compared case-insensitively, as Go does)."""
        ...

    async def update_blueprint(
        self, blueprint: Blueprint, history: BlueprintHistory | None = None
    ) -> bool:
        """Replace the stored blueprint of ``blueprint.blueprintid`` (and add ``history``), in
        one transaction; ``False`` if it is gone."""
        ...

    async def update_blueprint_status(self, blueprintid: str, status: dict[str, Any]) -> bool:
        """Replace only the blueprint's ``status`` (a reconciler's report, atomic against
        concurrent updates of the rest); ``False`` if it is gone."""
        ...

    async def remove_blueprint(self, colonyname: str, name: str) -> None:
        """Remove the blueprint and its history."""
        ...

    async def get_blueprint_history(self, blueprintid: str, limit: int) -> list[BlueprintHistory]:
        """The blueprint's history, the newest first, at most ``limit`` (<= 0: all)."""
        ...


def label_matches(label: str, prefix: str, exact: bool) -> bool:
    """Whether ``label`` is selected by ``get_file_labels(prefix, exact=exact)`` (a plain
    prefix test, unlike SQL ``LIKE``, where ``_`` and ``%`` would be wildcards)."""
    if not prefix:
        return True
    if not exact:
        return label.startswith(prefix)
    root = prefix.rstrip("/") or "/"
    return label == root or label.startswith(root if root.endswith("/") else root + "/")
