"""The embedded store: one SQLite file in WAL mode, for a single server node.

Each method runs its statements synchronously on the event loop's thread: with WAL and
``synchronous=NORMAL`` a commit is a write to the OS page cache (microseconds), so a thread hop
would cost more than it saves. A committed transaction survives the server being killed; only a
power loss can take the last commits (set ``synchronous="FULL"`` to close that window too).

Group commit: the process writes of one event-loop turn (submit, assign, close, every
``update_process``) share one transaction, committed when the loop gets to the callback the
first of them scheduled; each awaits that commit before returning, so no reply announces a
write that is not committed. A commit writes every page the transaction touched to the WAL, and
writes close together touch the same pages (the queue's index heads, the counters), so 4 writes
per commit cost about half of 4 commits (docs/performance.md). Any other write commits the open
batch first and then runs as before, in its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from colonies import jsoncodec
from colonies.model import (
    Attribute,
    Blueprint,
    BlueprintDefinition,
    BlueprintHistory,
    ChannelEntry,
    Colony,
    Cron,
    Executor,
    ExecutorState,
    File,
    FileData,
    Function,
    FunctionSpec,
    Generator,
    Label,
    Location,
    Log,
    Process,
    ProcessGraph,
    ProcessState,
    Snapshot,
    User,
)
from colonies.store.base import (
    AlreadyExists,
    ExecutorCounts,
    NewProcess,
    ProcessCounts,
    ProcessUpdate,
    WriteCancelled,
    label_matches,
)
from colonies.timeutil import NS, format_ns, parse_ns

SCHEMA = """
CREATE TABLE IF NOT EXISTS server (id INTEGER PRIMARY KEY CHECK (id = 1), serverid TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS colonies (
    name TEXT PRIMARY KEY, colonyid TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS executors (
    colonyname TEXT NOT NULL, executorname TEXT NOT NULL, executorid TEXT NOT NULL,
    state INTEGER NOT NULL, lastheard INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL,
    PRIMARY KEY (colonyname, executorname));
DROP INDEX IF EXISTS executors_id;
CREATE INDEX IF NOT EXISTS executors_colony_id ON executors (colonyname, executorid);
CREATE INDEX IF NOT EXISTS executors_lastheard ON executors (lastheard) WHERE state != 3;
CREATE TABLE IF NOT EXISTS users (
    colonyname TEXT NOT NULL, name TEXT NOT NULL, userid TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (colonyname, name));
CREATE INDEX IF NOT EXISTS users_id ON users (userid);
CREATE TABLE IF NOT EXISTS locations (
    colonyname TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (colonyname, name));
CREATE TABLE IF NOT EXISTS processes (
    processid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, executortype TEXT NOT NULL,
    executornames TEXT NOT NULL, locationname TEXT NOT NULL, label TEXT NOT NULL,
    initiatorid TEXT NOT NULL, initiatorname TEXT NOT NULL,
    state INTEGER NOT NULL, isassigned INTEGER NOT NULL, assignedexecutorid TEXT NOT NULL,
    prioritytime INTEGER NOT NULL, submissiontime INTEGER NOT NULL, starttime INTEGER NOT NULL,
    endtime INTEGER NOT NULL, waitdeadline INTEGER NOT NULL, execdeadline INTEGER NOT NULL,
    retries INTEGER NOT NULL, maxretries INTEGER NOT NULL, maxexectime INTEGER NOT NULL,
    cpu INTEGER NOT NULL, memory INTEGER NOT NULL, processgraphid TEXT NOT NULL,
    waitforparents INTEGER NOT NULL, parents TEXT NOT NULL, children TEXT NOT NULL,
    spec TEXT NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL, errors TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS processes_assign ON processes (colonyname, executortype, prioritytime)
    WHERE state = 0 AND isassigned = 0 AND waitforparents = 0;
CREATE INDEX IF NOT EXISTS processes_waiting ON processes (colonyname, prioritytime)
    WHERE state = 0;
CREATE INDEX IF NOT EXISTS processes_state_start ON processes (colonyname, state, starttime);
CREATE INDEX IF NOT EXISTS processes_state_end ON processes (colonyname, state, endtime);
CREATE INDEX IF NOT EXISTS processes_execdeadline ON processes (execdeadline)
    WHERE state = 1 AND execdeadline > 0;
CREATE INDEX IF NOT EXISTS processes_waitdeadline ON processes (waitdeadline)
    WHERE state = 0 AND waitdeadline > 0;
-- Only workflow processes are indexed by graph: the queries add "processgraphid != ''" so that
-- SQLite can use this partial index, and a plain submit pays nothing for it. The rowid it
-- carries is insertion order (graph_processes).
CREATE INDEX IF NOT EXISTS processes_graph ON processes (processgraphid)
    WHERE processgraphid != '';
-- Process graphs (workflows). Added after the first release: a database from before gets the
-- table (and its index) when it is opened, nothing else changes.
CREATE TABLE IF NOT EXISTS processgraphs (
    processgraphid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, initiatorid TEXT NOT NULL,
    initiatorname TEXT NOT NULL, state INTEGER NOT NULL, submissiontime INTEGER NOT NULL,
    starttime INTEGER NOT NULL, endtime INTEGER NOT NULL, rootprocessids TEXT NOT NULL,
    processids TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS processgraphs_state
    ON processgraphs (colonyname, state, submissiontime);
CREATE TABLE IF NOT EXISTS attributes (
    attributeid TEXT PRIMARY KEY, targetid TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attributes_target ON attributes (targetid);
CREATE TABLE IF NOT EXISTS functions (
    functionid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, executorname TEXT NOT NULL,
    funcname TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS functions_colony ON functions (colonyname, executorname, funcname);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, processid TEXT NOT NULL, colonyname TEXT NOT NULL,
    executorname TEXT NOT NULL, ts INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_process ON logs (processid, ts);
CREATE INDEX IF NOT EXISTS logs_executor ON logs (colonyname, executorname, ts);
-- Crons and generators. Added after workflows, like them: an older database gets the tables
-- when it is opened. ``nextrun`` and the generator args are columns because checkers query and
-- compare-and-set them; the rest of each object is its JSON document.
CREATE TABLE IF NOT EXISTS crons (
    cronid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, name TEXT NOT NULL,
    nextrun INTEGER NOT NULL, lastrun INTEGER NOT NULL, prevprocessgraphid TEXT NOT NULL,
    doc TEXT NOT NULL, UNIQUE (colonyname, name));
CREATE INDEX IF NOT EXISTS crons_nextrun ON crons (nextrun);
CREATE TABLE IF NOT EXISTS generators (
    generatorid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, name TEXT NOT NULL,
    firstpack INTEGER NOT NULL, lastrun INTEGER NOT NULL, doc TEXT NOT NULL,
    UNIQUE (colonyname, name));
CREATE TABLE IF NOT EXISTS generatorargs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, argid TEXT NOT NULL UNIQUE,
    generatorid TEXT NOT NULL, arg TEXT NOT NULL, added INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS generatorargs_generator ON generatorargs (generatorid, seq);
-- Blueprints (spec §4.11): definitions, blueprints and their history, each a JSON document
-- with the columns queried. A blueprint's ``status`` is its own column: reconcilers replace it
-- without a read-modify-write of the rest.
CREATE TABLE IF NOT EXISTS blueprintdefinitions (
    definitionid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (colonyname, name));
CREATE TABLE IF NOT EXISTS blueprints (
    blueprintid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, locationname TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (colonyname, name));
CREATE TABLE IF NOT EXISTS blueprint_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, historyid TEXT NOT NULL, blueprintid TEXT NOT NULL,
    colonyname TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS blueprint_history_blueprint ON blueprint_history (blueprintid, seq);
-- ColonyFS (spec §4.9): file revisions and snapshots. ``seq`` is a revision's ``sequencenr``;
-- the rest of a file is its JSON document. A snapshot's ``fileids`` is a JSON list.
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, fileid TEXT NOT NULL UNIQUE,
    colonyname TEXT NOT NULL, label TEXT NOT NULL, name TEXT NOT NULL, added INTEGER NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS files_name ON files (colonyname, label, name, seq);
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, snapshotid TEXT NOT NULL UNIQUE,
    colonyname TEXT NOT NULL, label TEXT NOT NULL, name TEXT NOT NULL, added INTEGER NOT NULL,
    fileids TEXT NOT NULL, UNIQUE (colonyname, name));
-- Channels (spec §4.10): one row per channel used so far, whose ``size`` numbers its entries
-- (``idx`` from 0; at most CHANNEL_MAX_ENTRIES). Entries go with their process (trigger).
CREATE TABLE IF NOT EXISTS channels (
    processid TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (processid, name));
CREATE TABLE IF NOT EXISTS channel_entries (
    processid TEXT NOT NULL, name TEXT NOT NULL, idx INTEGER NOT NULL,
    sequence INTEGER NOT NULL, inreplyto INTEGER NOT NULL, ts INTEGER NOT NULL,
    senderid TEXT NOT NULL, payload BLOB NOT NULL, type TEXT NOT NULL,
    UNIQUE (processid, name, idx));
CREATE TRIGGER IF NOT EXISTS channels_process_delete AFTER DELETE ON processes BEGIN
    DELETE FROM channel_entries WHERE processid = old.processid;
    DELETE FROM channels WHERE processid = old.processid;
END;
"""

# Per-colony, per-state process counts kept by triggers, so statistics are a lookup instead
# of a count over every process (which took ~100 ms at 1M processes, blocking the server).
COUNTERS = """
CREATE TABLE IF NOT EXISTS process_counts (
    colonyname TEXT NOT NULL, state INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (colonyname, state));
CREATE TRIGGER IF NOT EXISTS process_counts_insert AFTER INSERT ON processes BEGIN
    INSERT INTO process_counts VALUES (new.colonyname, new.state, 1)
    ON CONFLICT (colonyname, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS process_counts_delete AFTER DELETE ON processes BEGIN
    UPDATE process_counts SET n = n - 1
    WHERE colonyname = old.colonyname AND state = old.state;
END;
CREATE TRIGGER IF NOT EXISTS process_counts_update AFTER UPDATE OF state ON processes
WHEN old.state != new.state BEGIN
    UPDATE process_counts SET n = n - 1
    WHERE colonyname = old.colonyname AND state = old.state;
    INSERT INTO process_counts VALUES (new.colonyname, new.state, 1)
    ON CONFLICT (colonyname, state) DO UPDATE SET n = n + 1;
END;
"""

# ``ProcessUpdate`` fields stored as JSON text (``input`` is the wire's "in").
_JSON_COLUMNS = ("output", "errors", "input", "parents", "children")

_PROCESS_ORDER = {
    ProcessState.WAITING: "prioritytime ASC",
    ProcessState.RUNNING: "starttime ASC",
}


class _Consumed(Exception):
    """Some of the args to consume were taken meanwhile: undo the transaction."""


_dumps = jsoncodec.dumps_text  # compact JSON text (orjson when installed)


def _settle(batch: asyncio.Future[None], failure: BaseException | None) -> None:
    """Tell a batch's writers how its commit went, from whichever thread committed it."""

    def settle() -> None:
        if batch.done():
            return
        if failure is None:
            batch.set_result(None)
        else:
            batch.set_exception(failure)

    loop = batch.get_loop()
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if here is loop:
        settle()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(settle)


class SQLiteStore:
    """``Store`` on a SQLite file (``":memory:"`` for tests that need no durability)."""

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._batch: asyncio.Future[None] | None = None  # the open group commit, if any
        self._db.executescript(SCHEMA)
        fresh = self._one("SELECT 1 FROM sqlite_master WHERE name = 'process_counts'") is None
        self._db.executescript(COUNTERS)
        if fresh:  # a database from before the counters: count once
            with self._tx() as db:
                db.execute("DELETE FROM process_counts")
                db.execute(
                    "INSERT INTO process_counts SELECT colonyname, state, count(*) "
                    "FROM processes GROUP BY colonyname, state"
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._commit_batch()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._run(sql, args).fetchone()
        return row

    def _all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return self._run(sql, args).fetchall()

    def _run(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        """A statement outside the group commit: a read sees the open batch, a write first
        commits it (so that the write is durable when its method returns, as before)."""
        if self._batch is not None and not sql.startswith("SELECT"):
            self._commit_batch()
        return self._db.execute(sql, args)

    # --- group commit (module docstring)

    def _join_batch(self) -> asyncio.Future[None]:
        """The open batch, or a new one: a transaction whose commit runs on the next loop turn.

        A batch belongs to one event loop; a write from another loop (a test's thread next to
        the server's) commits it first and opens its own.
        """
        loop = asyncio.get_running_loop()
        if self._batch is not None and self._batch.get_loop() is not loop:
            self._commit_batch()
        if self._batch is None:
            self._db.execute("BEGIN IMMEDIATE")
            self._batch = loop.create_future()
            loop.call_soon(self._commit_batch)
        return self._batch

    def _commit_batch(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        failure: sqlite3.Error | None = None
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            failure = e
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        _settle(batch, failure)

    @staticmethod
    async def _committed(batch: asyncio.Future[None], processid: str) -> None:
        """Wait for ``batch`` to commit. A cancellation meanwhile waits for the commit too and
        then raises ``WriteCancelled``: the caller's write of ``processid`` stands."""
        cancelled = False
        while not batch.done():
            try:
                await asyncio.shield(batch)
            except asyncio.CancelledError:
                cancelled = True
        batch.result()  # a failed commit: nothing was written
        if cancelled:
            raise WriteCancelled(processid)

    async def _batched_process(self, sql: str, *args: Any) -> Process | None:
        """One ``UPDATE processes … RETURNING *`` in the group commit: the changed process,
        once committed (nothing to wait for when no row matched)."""
        batch = self._join_batch()
        row = self._db.execute(sql, args).fetchone()
        if row is None:
            return None
        process = self._process(row)
        await self._committed(batch, process.processid)
        return process

    async def close(self) -> None:
        self._commit_batch()
        self._db.close()

    # --- server identity

    async def get_server_id(self) -> str:
        row = self._one("SELECT serverid FROM server WHERE id = 1")
        return str(row["serverid"]) if row else ""

    async def set_server_id(self, serverid: str) -> None:
        self._run(
            "INSERT INTO server (id, serverid) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET serverid = excluded.serverid",
            (serverid,),
        )

    # --- colonies

    async def add_colony(self, colony: Colony) -> None:
        try:
            self._run(
                "INSERT INTO colonies (name, colonyid) VALUES (?, ?)",
                (colony.name, colony.colonyid),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"A Colony with name {colony.name} already exists") from None

    async def get_colony(self, name: str) -> Colony | None:
        row = self._one("SELECT name, colonyid FROM colonies WHERE name = ?", name)
        return Colony(colonyid=row["colonyid"], name=row["name"]) if row else None

    async def get_colonies(self) -> list[Colony]:
        rows = self._all("SELECT name, colonyid FROM colonies ORDER BY rowid")
        return [Colony(colonyid=r["colonyid"], name=r["name"]) for r in rows]

    async def set_paused(self, colonyname: str, paused: bool) -> None:
        self._run("UPDATE colonies SET paused = ? WHERE name = ?", (int(paused), colonyname))

    async def is_paused(self, colonyname: str) -> bool:
        row = self._one("SELECT paused FROM colonies WHERE name = ?", colonyname)
        return bool(row and row["paused"])

    async def remove_colony(self, name: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM attributes WHERE targetid IN "
                "(SELECT processid FROM processes WHERE colonyname = ?)",
                (name,),
            )
            for table in (
                "colonies WHERE name",
                "executors WHERE colonyname",
                "users WHERE colonyname",
                "locations WHERE colonyname",
                "processes WHERE colonyname",
                "processgraphs WHERE colonyname",
                "functions WHERE colonyname",
                "logs WHERE colonyname",
                "crons WHERE colonyname",
                "generatorargs WHERE generatorid IN "
                "(SELECT generatorid FROM generators WHERE colonyname",
                "generators WHERE colonyname",
                "blueprintdefinitions WHERE colonyname",  # blueprints (spec §4.11)
                "blueprints WHERE colonyname",
                "blueprint_history WHERE colonyname",
            ):
                close = ")" if table.startswith("generatorargs") else ""
                db.execute(f"DELETE FROM {table} = ?{close}", (name,))
            # --- files and snapshots (ColonyFS, spec §4.9) ---
            db.execute("DELETE FROM files WHERE colonyname = ?", (name,))
            db.execute("DELETE FROM snapshots WHERE colonyname = ?", (name,))

    # --- executors

    def _executor(self, row: sqlite3.Row | None) -> Executor | None:
        if row is None:
            return None
        executor = Executor.from_dict(json.loads(row["doc"]))
        executor.state = row["state"]
        executor.lastheardfromtime = format_ns(row["lastheard"])
        return executor

    async def add_executor(self, executor: Executor, *, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            self._run(
                f"{verb} INTO executors "
                "(colonyname, executorname, executorid, state, lastheard, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    executor.colonyname,
                    executor.executorname,
                    executor.executorid,
                    executor.state,
                    parse_ns(executor.lastheardfromtime),
                    _dumps(executor.to_dict()),
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"Executor with name {executor.executorname} in Colony "
                f"{executor.colonyname} already exists"
            ) from None

    async def get_executor(self, colonyname: str, name: str) -> Executor | None:
        return self._executor(
            self._one(
                "SELECT * FROM executors WHERE colonyname = ? AND executorname = ?",
                colonyname,
                name,
            )
        )

    async def get_executor_by_id(self, colonyname: str, executorid: str) -> Executor | None:
        return self._executor(
            self._one(
                "SELECT * FROM executors WHERE colonyname = ? AND executorid = ? "
                "ORDER BY state = 3 LIMIT 1",
                colonyname,
                executorid,
            )
        )

    async def get_executors(self, colonyname: str) -> list[Executor]:
        rows = self._all("SELECT * FROM executors WHERE colonyname = ? ORDER BY rowid", colonyname)
        return [e for r in rows if (e := self._executor(r)) is not None]

    async def set_executor_state(self, colonyname: str, name: str, state: int) -> None:
        self._run(
            "UPDATE executors SET state = ? WHERE colonyname = ? AND executorname = ?",
            (state, colonyname, name),
        )

    async def mark_alive(
        self, colonyname: str, executorid: str, now: int, *, refresh: bool = False
    ) -> None:
        sql = "UPDATE executors SET lastheard = ? WHERE colonyname = ? AND executorid = ? "
        sql += "AND state != 3 AND lastheard > 0" if refresh else "AND state != 3"
        self._run(sql, (now, colonyname, executorid))

    async def stale_executors(self, heard_before: int, limit: int) -> list[Executor]:
        rows = self._all(
            "SELECT * FROM executors WHERE state != 3 AND lastheard > 0 AND lastheard < ? "
            "ORDER BY lastheard LIMIT ?",
            heard_before,
            limit,
        )
        return [e for r in rows if (e := self._executor(r)) is not None]

    async def unregister_executor(
        self, colonyname: str, name: str, now: int, *, heard_before: int | None = None
    ) -> list[str] | None:
        with self._tx() as db:
            sql = "SELECT executorid FROM executors WHERE colonyname = ? AND executorname = ?"
            args: tuple[Any, ...] = (colonyname, name)
            if heard_before is not None:
                sql += " AND state != 3 AND lastheard > 0 AND lastheard < ?"
                args = (colonyname, name, heard_before)
            row = self._one(sql, *args)
            if row is None:
                return None
            db.execute(
                "UPDATE executors SET state = ? WHERE colonyname = ? AND executorname = ?",
                (ExecutorState.UNREGISTERED, colonyname, name),
            )
            db.execute(
                "DELETE FROM functions WHERE colonyname = ? AND executorname = ?",
                (colonyname, name),
            )
            requeued = db.execute(
                "UPDATE processes SET state = 0, isassigned = 0, assignedexecutorid = '', "
                "starttime = 0, execdeadline = 0 WHERE state = 1 AND assignedexecutorid = ? "
                "AND colonyname = ? RETURNING processid",
                (row["executorid"], colonyname),
            ).fetchall()
            return [r["processid"] for r in requeued]

    async def count_executors(self, colonyname: str | None) -> ExecutorCounts:
        where, args = ("WHERE colonyname = ?", (colonyname,)) if colonyname else ("", ())
        row = self._run(
            "SELECT count(*) AS total, coalesce(sum(state = 1), 0) AS active, "
            f"coalesce(sum(state = 3), 0) AS gone FROM executors {where}",
            args,
        ).fetchone()
        return ExecutorCounts(row["total"], row["active"], row["gone"])

    # --- users and locations

    async def add_user(self, user: User) -> None:
        try:
            self._run(
                "INSERT INTO users (colonyname, name, userid, doc) VALUES (?, ?, ?, ?)",
                (user.colonyname, user.name, user.userid, _dumps(user.to_dict())),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"User with name {user.name} in Colony {user.colonyname} already exists"
            ) from None

    async def get_user(self, colonyname: str, name: str) -> User | None:
        row = self._one("SELECT doc FROM users WHERE colonyname = ? AND name = ?", colonyname, name)
        return User.from_dict(json.loads(row["doc"])) if row else None

    async def get_user_by_id(self, colonyname: str, userid: str) -> User | None:
        row = self._one(
            "SELECT doc FROM users WHERE colonyname = ? AND userid = ?", colonyname, userid
        )
        return User.from_dict(json.loads(row["doc"])) if row else None

    async def get_users(self, colonyname: str) -> list[User]:
        rows = self._all("SELECT doc FROM users WHERE colonyname = ? ORDER BY rowid", colonyname)
        return [User.from_dict(json.loads(r["doc"])) for r in rows]

    async def remove_user(self, colonyname: str, name: str) -> None:
        self._run("DELETE FROM users WHERE colonyname = ? AND name = ?", (colonyname, name))

    async def add_location(self, location: Location) -> None:
        try:
            self._run(
                "INSERT INTO locations (colonyname, name, doc) VALUES (?, ?, ?)",
                (location.colonyname, location.name, _dumps(location.to_dict())),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"Location with name {location.name} already exists") from None

    async def get_location(self, colonyname: str, name: str) -> Location | None:
        row = self._one(
            "SELECT doc FROM locations WHERE colonyname = ? AND name = ?", colonyname, name
        )
        return Location.from_dict(json.loads(row["doc"])) if row else None

    async def get_locations(self, colonyname: str) -> list[Location]:
        rows = self._all("SELECT doc FROM locations WHERE colonyname = ? ORDER BY name", colonyname)
        return [Location.from_dict(json.loads(r["doc"])) for r in rows]

    async def remove_location(self, colonyname: str, name: str) -> None:
        self._run("DELETE FROM locations WHERE colonyname = ? AND name = ?", (colonyname, name))

    # --- ID rotation (spec §4.12) ---

    async def change_user_id(self, colonyname: str, old: str, new: str) -> None:
        self._run(
            "UPDATE users SET userid = ?1, doc = json_set(doc, '$.userid', ?1) "
            "WHERE colonyname = ?2 AND userid = ?3",
            (new, colonyname, old),
        )

    async def change_executor_id(self, colonyname: str, old: str, new: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE executors SET executorid = ?1, doc = json_set(doc, '$.executorid', ?1) "
                "WHERE colonyname = ?2 AND executorid = ?3",
                (new, colonyname, old),
            )
            db.execute(
                "UPDATE processes SET assignedexecutorid = ?1 "
                "WHERE colonyname = ?2 AND assignedexecutorid = ?3",
                (new, colonyname, old),
            )

    async def change_colony_id(self, colonyname: str, old: str, new: str) -> None:
        self._run(
            "UPDATE colonies SET colonyid = ? WHERE name = ? AND colonyid = ?",
            (new, colonyname, old),
        )

    # --- processes

    def _process(self, row: sqlite3.Row) -> Process:
        attributes = [
            Attribute.from_dict(json.loads(a["doc"]))
            for a in self._all(
                "SELECT doc FROM attributes WHERE targetid = ? ORDER BY rowid", row["processid"]
            )
        ]
        return Process(
            processid=row["processid"],
            initiatorid=row["initiatorid"],
            initiatorname=row["initiatorname"],
            assignedexecutorid=row["assignedexecutorid"],
            isassigned=bool(row["isassigned"]),
            state=row["state"],
            prioritytime=row["prioritytime"],
            submissiontime=format_ns(row["submissiontime"]),
            starttime=format_ns(row["starttime"]),
            endtime=format_ns(row["endtime"]),
            waitdeadline=format_ns(row["waitdeadline"]),
            execdeadline=format_ns(row["execdeadline"]),
            retries=row["retries"],
            attributes=attributes,
            spec=FunctionSpec.from_dict(json.loads(row["spec"])),
            waitforparents=bool(row["waitforparents"]),
            parents=json.loads(row["parents"]),
            children=json.loads(row["children"]),
            processgraphid=row["processgraphid"],
            input=json.loads(row["input"]),
            output=json.loads(row["output"]),
            errors=json.loads(row["errors"]),
        )

    async def add_process(self, process: Process, *, cpu: int, memory: int) -> None:
        batch = self._join_batch()
        self._db.execute("SAVEPOINT add_process")  # the process and its attributes, or neither
        try:
            self._insert_process(self._db, process, cpu, memory)
        except sqlite3.IntegrityError:
            self._db.execute("ROLLBACK TO add_process")
            raise AlreadyExists(f"Process {process.processid} already exists") from None
        finally:
            self._db.execute("RELEASE add_process")
        await self._committed(batch, process.processid)

    @staticmethod
    def _insert_process(db: sqlite3.Connection, process: Process, cpu: int, memory: int) -> None:
        """Insert the process and its attributes inside the caller's transaction (a graph
        inserts all of its processes in one)."""
        spec = process.spec
        cond = spec.conditions
        names = [] if cond.executornames == ["*"] else cond.executornames
        db.execute(
            "INSERT INTO processes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
            "?,?,?,?)",
            (
                process.processid,
                cond.colonyname,
                cond.executortype,
                _dumps(names),
                cond.locationname,
                spec.label,
                process.initiatorid,
                process.initiatorname,
                process.state,
                int(process.isassigned),
                process.assignedexecutorid,
                process.prioritytime,
                parse_ns(process.submissiontime),
                parse_ns(process.starttime),
                parse_ns(process.endtime),
                parse_ns(process.waitdeadline),
                parse_ns(process.execdeadline),
                process.retries,
                spec.maxretries,
                spec.maxexectime,
                cpu,
                memory,
                process.processgraphid,
                int(process.waitforparents),
                _dumps(process.parents),
                _dumps(process.children),
                _dumps(spec.to_dict()),
                _dumps(process.input),
                _dumps(process.output),
                _dumps(process.errors),
            ),
        )
        for attribute in process.attributes:
            db.execute(
                "INSERT OR REPLACE INTO attributes (attributeid, targetid, doc) VALUES (?,?,?)",
                (attribute.attributeid, attribute.targetid, _dumps(attribute.to_dict())),
            )

    async def get_process(self, processid: str) -> Process | None:
        row = self._one("SELECT * FROM processes WHERE processid = ?", processid)
        return self._process(row) if row else None

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
        where, args = ["colonyname = ?", "state = ?"], [colonyname, state]
        for column, value in (
            ("executortype", executortype),
            ("label", label),
            ("initiatorid", initiatorid),
        ):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        order = _PROCESS_ORDER.get(ProcessState(state), "endtime DESC")
        rows = self._all(
            f"SELECT * FROM processes WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
            *args,
            count,
        )
        return [self._process(r) for r in rows]

    async def process_history(
        self, colonyname: str, state: int, since: int, executorid: str = ""
    ) -> list[Process]:
        sql = "SELECT * FROM processes WHERE colonyname = ? AND state = ? AND submissiontime >= ?"
        args: list[Any] = [colonyname, state, since]
        if executorid:
            sql += " AND assignedexecutorid = ?"
            args.append(executorid)
        return [self._process(r) for r in self._all(sql + " ORDER BY submissiontime", *args)]

    async def assign(
        self, executor: Executor, now: int, *, cpu: int, memory: int
    ) -> Process | None:
        return await self._batched_process(
            "UPDATE processes SET state = 1, isassigned = 1, assignedexecutorid = ?, "
            "starttime = ?, execdeadline = CASE WHEN maxexectime > 0 "
            "THEN ? + maxexectime * ? ELSE 0 END "
            "WHERE processid = (SELECT p.processid FROM processes AS p "
            "WHERE p.colonyname = ? AND p.executortype = ? AND p.state = 0 AND p.isassigned = 0 "
            "AND p.waitforparents = 0 AND p.cpu <= ? AND p.memory <= ? "
            "AND (p.executornames = '[]' OR EXISTS "
            "(SELECT 1 FROM json_each(p.executornames) WHERE value = ?)) "
            "AND (p.locationname = '' OR lower(p.locationname) = lower(?)) "
            "ORDER BY p.prioritytime LIMIT 1) "  # only while the executor is approved:
            "AND EXISTS (SELECT 1 FROM executors AS e "
            "WHERE e.colonyname = ? AND e.executorid = ? AND e.state = 1) RETURNING *",
            executor.executorid,
            now,
            now,
            NS,
            executor.colonyname,
            executor.executortype,
            cpu,
            memory,
            executor.executorname,
            executor.locationname,
            executor.colonyname,
            executor.executorid,
        )

    async def update_process(
        self,
        processid: str,
        update: ProcessUpdate,
        *,
        states: Collection[int] = (),
        executorid: str | None = None,
        approved: bool = False,
    ) -> Process | None:
        changes = update.changed()
        for key in _JSON_COLUMNS:
            if key in changes:
                changes[key] = _dumps(changes[key])
        for key in ("isassigned", "waitforparents"):
            if key in changes:
                changes[key] = int(changes[key])
        sets = ", ".join(f"{k} = ?" for k in changes) or "processid = processid"
        where, args = "processid = ?", [*changes.values(), processid]
        if states:
            where += f" AND state IN ({', '.join('?' * len(states))})"
            args.extend(states)
        if executorid is not None:
            where += " AND assignedexecutorid = ?"
            args.append(executorid)
            if approved:  # same statement: a removal or rejection committed first wins
                where += (
                    " AND EXISTS (SELECT 1 FROM executors AS e WHERE e.colonyname = "
                    "processes.colonyname AND e.executorid = ? AND e.state = 1)"
                )
                args.append(executorid)
        return await self._batched_process(
            f"UPDATE processes SET {sets} WHERE {where} RETURNING *", *args
        )

    async def remove_process(self, processid: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM attributes WHERE targetid = ?", (processid,))
            db.execute("DELETE FROM processes WHERE processid = ?", (processid,))

    async def remove_processes(self, colonyname: str, state: int) -> None:
        where = "colonyname = ? AND processgraphid = ''"
        args: tuple[Any, ...] = (colonyname,)
        if state >= 0:
            where += " AND state = ?"
            args = (colonyname, state)
        with self._tx() as db:
            db.execute(
                f"DELETE FROM attributes WHERE targetid IN "
                f"(SELECT processid FROM processes WHERE {where})",
                args,
            )
            db.execute(f"DELETE FROM processes WHERE {where}", args)

    async def expired_processes(self, now: int, limit: int) -> list[Process]:
        rows = self._all(
            "SELECT * FROM processes WHERE state = 1 AND execdeadline > 0 AND execdeadline < ? "
            "UNION ALL SELECT * FROM (SELECT * FROM processes WHERE state = 0 "
            "AND waitdeadline > 0 AND waitdeadline < ? ORDER BY prioritytime) LIMIT ?",
            now,
            now,
            limit,
        )
        return [self._process(r) for r in rows]

    async def count_processes(self, colonyname: str | None) -> ProcessCounts:
        where, args = ("WHERE colonyname = ?", (colonyname,)) if colonyname else ("", ())
        counts = dict.fromkeys(range(5), 0)
        for row in self._all(
            f"SELECT state, sum(n) AS n FROM process_counts {where} GROUP BY state", *args
        ):
            counts[row["state"]] = row["n"]
        return ProcessCounts(*(counts[s] for s in range(5)))

    # --- process graphs (workflows)

    @staticmethod
    def _graph(row: sqlite3.Row) -> ProcessGraph:
        return ProcessGraph(
            processgraphid=row["processgraphid"],
            initiatorid=row["initiatorid"],
            initiatorname=row["initiatorname"],
            colonyname=row["colonyname"],
            rootprocessids=json.loads(row["rootprocessids"]),
            state=row["state"],
            submissiontime=format_ns(row["submissiontime"]),
            starttime=format_ns(row["starttime"]),
            endtime=format_ns(row["endtime"]),
            processids=json.loads(row["processids"]),
        )

    async def add_processgraph(self, graph: ProcessGraph, processes: list[NewProcess]) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO processgraphs VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        graph.processgraphid,
                        graph.colonyname,
                        graph.initiatorid,
                        graph.initiatorname,
                        graph.state,
                        parse_ns(graph.submissiontime),
                        parse_ns(graph.starttime),
                        parse_ns(graph.endtime),
                        _dumps(graph.rootprocessids),
                        _dumps(graph.processids),
                    ),
                )
                for new in processes:
                    self._insert_process(db, new.process, new.cpu, new.memory)
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"Process graph {graph.processgraphid} or one of its processes already exists"
            ) from None

    async def get_processgraph(self, processgraphid: str) -> ProcessGraph | None:
        row = self._one("SELECT * FROM processgraphs WHERE processgraphid = ?", processgraphid)
        return self._graph(row) if row else None

    async def get_processgraphs(
        self, colonyname: str, state: int, count: int
    ) -> list[ProcessGraph]:
        rows = self._all(
            "SELECT * FROM processgraphs WHERE colonyname = ? AND state = ? "
            "ORDER BY submissiontime DESC, rowid DESC LIMIT ?",
            colonyname,
            state,
            count,
        )
        return [self._graph(r) for r in rows]

    async def graph_processes(self, processgraphid: str) -> list[Process]:
        rows = self._all(
            "SELECT * FROM processes WHERE processgraphid = ? AND processgraphid != '' "
            "ORDER BY rowid",
            processgraphid,
        )
        return [self._process(r) for r in rows]

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
        guard = f" AND state IN ({','.join('?' * len(states))})" if states else ""
        row = self._one(
            "UPDATE processgraphs SET state = ?, starttime = coalesce(?, starttime), "
            "endtime = coalesce(?, endtime), processids = coalesce(?, processids) "
            f"WHERE processgraphid = ?{guard} RETURNING *",
            state,
            starttime,
            endtime,
            None if processids is None else _dumps(processids),
            processgraphid,
            *states,
        )
        return self._graph(row) if row else None

    async def remove_processgraph(self, processgraphid: str) -> None:
        self._remove_graphs("processgraphid = ?", (processgraphid,))

    async def remove_processgraphs(self, colonyname: str, state: int) -> None:
        if state >= 0:
            self._remove_graphs("colonyname = ? AND state = ?", (colonyname, state))
        else:
            self._remove_graphs("colonyname = ?", (colonyname,))

    def _remove_graphs(self, where: str, args: tuple[Any, ...]) -> None:
        """Remove the graphs matching ``where`` with their processes (and the processes'
        attributes) in one transaction, so no replica sees a graph without its processes."""
        members = (
            "SELECT p.processid FROM processes AS p WHERE p.processgraphid IN "
            f"(SELECT processgraphid FROM processgraphs WHERE {where}) AND p.processgraphid != ''"
        )
        with self._tx() as db:
            db.execute(f"DELETE FROM attributes WHERE targetid IN ({members})", args)
            db.execute(f"DELETE FROM processes WHERE processid IN ({members})", args)
            db.execute(f"DELETE FROM processgraphs WHERE {where}", args)

    async def count_processgraphs(self, colonyname: str | None) -> ProcessCounts:
        # A count over the graphs table (its (colonyname, state) index per colony): graphs are
        # far fewer than processes, so no trigger-kept counters as for processes.
        where, args = ("WHERE colonyname = ?", (colonyname,)) if colonyname else ("", ())
        counts = dict.fromkeys(range(5), 0)
        for row in self._all(
            f"SELECT state, count(*) AS n FROM processgraphs {where} GROUP BY state", *args
        ):
            counts[row["state"]] = row["n"]
        return ProcessCounts(*(counts[s] for s in range(5)))

    # --- attributes

    async def add_attribute(self, attribute: Attribute) -> None:
        self._run(
            "INSERT OR REPLACE INTO attributes (attributeid, targetid, doc) VALUES (?, ?, ?)",
            (attribute.attributeid, attribute.targetid, _dumps(attribute.to_dict())),
        )

    async def get_attribute(self, attributeid: str) -> Attribute | None:
        row = self._one("SELECT doc FROM attributes WHERE attributeid = ?", attributeid)
        return Attribute.from_dict(json.loads(row["doc"])) if row else None

    # --- functions

    async def add_function(self, function: Function) -> None:
        self._run(
            "INSERT OR REPLACE INTO functions (functionid, colonyname, executorname, funcname, doc)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                function.functionid,
                function.colonyname,
                function.executorname,
                function.funcname,
                _dumps(function.to_dict()),
            ),
        )

    async def get_function(self, functionid: str) -> Function | None:
        row = self._one("SELECT doc FROM functions WHERE functionid = ?", functionid)
        return Function.from_dict(json.loads(row["doc"])) if row else None

    async def find_function(
        self, colonyname: str, executorname: str, funcname: str
    ) -> Function | None:
        row = self._one(
            "SELECT doc FROM functions WHERE colonyname = ? AND executorname = ? AND funcname = ?",
            colonyname,
            executorname,
            funcname,
        )
        return Function.from_dict(json.loads(row["doc"])) if row else None

    async def get_functions(self, colonyname: str, executorname: str = "") -> list[Function]:
        sql, args = "SELECT doc FROM functions WHERE colonyname = ?", [colonyname]
        if executorname:
            sql += " AND executorname = ?"
            args.append(executorname)
        rows = self._all(sql + " ORDER BY rowid", *args)
        return [Function.from_dict(json.loads(r["doc"])) for r in rows]

    async def update_function(self, function: Function) -> None:
        await self.add_function(function)

    async def remove_function(self, functionid: str) -> None:
        self._run("DELETE FROM functions WHERE functionid = ?", (functionid,))

    # --- logs

    async def add_log(self, log: Log) -> None:
        self._run(
            "INSERT INTO logs (processid, colonyname, executorname, ts, message) "
            "VALUES (?, ?, ?, ?, ?)",
            (log.processid, log.colonyname, log.executorname, log.timestamp, log.message),
        )

    async def get_logs(
        self,
        colonyname: str,
        *,
        processid: str = "",
        executorname: str = "",
        count: int,
        since: int = 0,
        latest: bool = False,
    ) -> list[Log]:
        if processid:
            where, args = "processid = ? AND ts > ?", [processid, since]
        else:
            where, args = (
                "colonyname = ? AND executorname = ? AND ts > ?",
                [colonyname, executorname, since],
            )
        order = "DESC" if latest else "ASC"
        rows = self._all(
            f"SELECT * FROM logs WHERE {where} ORDER BY ts {order}, seq {order} LIMIT ?",
            *args,
            count,
        )
        logs = [self._log(r) for r in rows]
        return logs[::-1] if latest else logs

    async def search_logs(self, colonyname: str, text: str, since: int, count: int) -> list[Log]:
        rows = self._all(
            "SELECT * FROM logs WHERE colonyname = ? AND ts > ? AND instr(message, ?) > 0 "
            "ORDER BY ts LIMIT ?",
            colonyname,
            since,
            text,
            count,
        )
        return [self._log(r) for r in rows]

    @staticmethod
    def _log(row: sqlite3.Row) -> Log:
        return Log(
            processid=row["processid"],
            colonyname=row["colonyname"],
            executorname=row["executorname"],
            message=row["message"],
            timestamp=row["ts"],
        )

    # --- crons and generators

    @staticmethod
    def _cron(row: sqlite3.Row) -> Cron:
        cron = Cron.from_dict(json.loads(row["doc"]))
        cron.nextrun = format_ns(row["nextrun"])
        cron.lastrun = format_ns(row["lastrun"])
        cron.prevprocessgraphid = row["prevprocessgraphid"]
        return cron

    async def add_cron(self, cron: Cron) -> None:
        try:
            self._run(
                "INSERT INTO crons (cronid, colonyname, name, nextrun, lastrun, "
                "prevprocessgraphid, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    cron.cronid,
                    cron.colonyname,
                    cron.name,
                    parse_ns(cron.nextrun),
                    parse_ns(cron.lastrun),
                    cron.prevprocessgraphid,
                    _dumps(cron.to_dict()),
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"Cron with name <{cron.name}> in Colony <{cron.colonyname}> already exists"
            ) from None

    async def get_cron(self, cronid: str) -> Cron | None:
        row = self._one("SELECT * FROM crons WHERE cronid = ?", cronid)
        return self._cron(row) if row else None

    async def get_crons(self, colonyname: str, count: int) -> list[Cron]:
        rows = self._all(
            "SELECT * FROM crons WHERE colonyname = ? ORDER BY rowid LIMIT ?", colonyname, count
        )
        return [self._cron(r) for r in rows]

    async def remove_cron(self, cronid: str) -> None:
        self._run("DELETE FROM crons WHERE cronid = ?", (cronid,))

    async def advance_cron(
        self,
        cronid: str,
        *,
        expected_nextrun: int,
        nextrun: int,
        lastrun: int | None = None,
        prevprocessgraphid: str | None = None,
    ) -> bool:
        cur = self._run(
            "UPDATE crons SET nextrun = ?, lastrun = coalesce(?, lastrun), "
            "prevprocessgraphid = coalesce(?, prevprocessgraphid) "
            "WHERE cronid = ? AND nextrun = ?",
            (nextrun, lastrun, prevprocessgraphid, cronid, expected_nextrun),
        )
        return cur.rowcount == 1

    async def due_crons(self, now: int, limit: int) -> list[Cron]:
        rows = self._all(
            "SELECT * FROM crons WHERE nextrun < ? ORDER BY nextrun LIMIT ?", now, limit
        )
        return [self._cron(r) for r in rows]

    @staticmethod
    def _generator(row: sqlite3.Row) -> Generator:
        generator = Generator.from_dict(json.loads(row["doc"]))
        generator.firstpack = format_ns(row["firstpack"])
        generator.lastrun = format_ns(row["lastrun"])
        return generator

    async def add_generator(self, generator: Generator) -> None:
        try:
            self._run(
                "INSERT INTO generators (generatorid, colonyname, name, firstpack, lastrun, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    generator.generatorid,
                    generator.colonyname,
                    generator.name,
                    parse_ns(generator.firstpack),
                    parse_ns(generator.lastrun),
                    _dumps(generator.to_dict()),
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"Generator with name <{generator.name}> in Colony <{generator.colonyname}> "
                "already exists"
            ) from None

    async def get_generator(self, generatorid: str) -> Generator | None:
        row = self._one("SELECT * FROM generators WHERE generatorid = ?", generatorid)
        return self._generator(row) if row else None

    async def get_generator_by_name(self, colonyname: str, name: str) -> Generator | None:
        row = self._one(
            "SELECT * FROM generators WHERE colonyname = ? AND name = ?", colonyname, name
        )
        return self._generator(row) if row else None

    async def get_generators(self, colonyname: str, count: int) -> list[Generator]:
        rows = self._all(
            "SELECT * FROM generators WHERE colonyname = ? ORDER BY rowid LIMIT ?",
            colonyname,
            count,
        )
        return [self._generator(r) for r in rows]

    async def remove_generator(self, generatorid: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM generatorargs WHERE generatorid = ?", (generatorid,))
            db.execute("DELETE FROM generators WHERE generatorid = ?", (generatorid,))

    async def pack_generator_arg(self, generatorid: str, arg: str, now: int) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE generators SET firstpack = CASE WHEN firstpack = 0 THEN ? "
                "ELSE firstpack END WHERE generatorid = ?",
                (now, generatorid),
            )
            if cur.rowcount != 1:
                return False
            db.execute(
                "INSERT INTO generatorargs (argid, generatorid, arg, added) VALUES (?, ?, ?, ?)",
                (uuid.uuid4().hex, generatorid, arg, now),
            )
        return True

    async def generator_args(self, generatorid: str, limit: int) -> list[tuple[str, str]]:
        rows = self._all(
            "SELECT argid, arg FROM generatorargs WHERE generatorid = ? ORDER BY seq LIMIT ?",
            generatorid,
            limit,
        )
        return [(r["argid"], r["arg"]) for r in rows]

    async def count_generator_args(self, generatorid: str) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM generatorargs WHERE generatorid = ?", generatorid
        )
        return int(row["n"]) if row else 0

    async def pending_generators(self, limit: int) -> list[Generator]:
        rows = self._all(
            "SELECT * FROM generators WHERE generatorid IN "
            "(SELECT DISTINCT generatorid FROM generatorargs) ORDER BY rowid LIMIT ?",
            limit,
        )
        return [self._generator(r) for r in rows]

    async def consume_generator_args(
        self, generatorid: str, argids: list[str], lastrun: int
    ) -> list[str]:
        if not argids:
            return []
        marks = ",".join("?" * len(argids))
        try:
            with self._tx() as db:
                rows = db.execute(
                    f"DELETE FROM generatorargs WHERE generatorid = ? AND argid IN ({marks}) "
                    "RETURNING argid, arg",
                    (generatorid, *argids),
                ).fetchall()
                if len(rows) != len(set(argids)):
                    raise _Consumed  # rolls the deletes back
                db.execute(
                    "UPDATE generators SET lastrun = ? WHERE generatorid = ?",
                    (lastrun, generatorid),
                )
        except _Consumed:
            return []
        values = {r["argid"]: r["arg"] for r in rows}
        return [values[argid] for argid in argids]

    # --- files and snapshots (ColonyFS, spec §4.9) ---

    @staticmethod
    def _file(row: sqlite3.Row) -> File:
        file = File.from_dict(json.loads(row["doc"]))
        file.sequencenr = row["seq"]
        file.added = format_ns(row["added"])
        return file

    async def add_file(self, file: File) -> File:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO files (fileid, colonyname, label, name, added, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    file.fileid,
                    file.colonyname,
                    file.label,
                    file.name,
                    parse_ns(file.added),
                    _dumps(file.to_dict()),
                ),
            )
            row = db.execute("SELECT * FROM files WHERE seq = ?", (cur.lastrowid,)).fetchone()
        return self._file(row)

    async def get_file(self, colonyname: str, fileid: str) -> File | None:
        row = self._one(
            "SELECT * FROM files WHERE colonyname = ? AND fileid = ?", colonyname, fileid
        )
        return self._file(row) if row else None

    async def get_files_by_name(
        self, colonyname: str, label: str, name: str, *, latest: bool = False
    ) -> list[File]:
        rows = self._all(
            "SELECT * FROM files WHERE colonyname = ? AND label = ? AND name = ? "
            f"ORDER BY seq DESC{' LIMIT 1' if latest else ''}",
            colonyname,
            label,
            name,
        )
        return [self._file(r) for r in rows]

    def _latest(self, colonyname: str, label: str) -> list[File]:
        rows = self._all(
            "SELECT * FROM files AS f WHERE colonyname = ? AND label = ? AND seq = "
            "(SELECT max(g.seq) FROM files AS g WHERE g.colonyname = f.colonyname "
            "AND g.label = f.label AND g.name = f.name) ORDER BY name",
            colonyname,
            label,
        )
        return [self._file(r) for r in rows]

    async def get_file_data(self, colonyname: str, label: str) -> list[FileData]:
        return [
            FileData(f.name, f.checksum, f.size, f.ref.s3object.object)
            for f in self._latest(colonyname, label)
        ]

    async def get_file_labels(
        self, colonyname: str, prefix: str = "", *, exact: bool = False
    ) -> list[Label]:
        rows = self._all(
            "SELECT label, count(*) AS n FROM files WHERE colonyname = ? "
            "GROUP BY label ORDER BY label",
            colonyname,
        )
        return [Label(r["label"], r["n"]) for r in rows if label_matches(r["label"], prefix, exact)]

    async def remove_file(self, colonyname: str, fileid: str) -> None:
        self._run("DELETE FROM files WHERE colonyname = ? AND fileid = ?", (colonyname, fileid))

    async def remove_files_by_name(self, colonyname: str, label: str, name: str) -> None:
        self._run(
            "DELETE FROM files WHERE colonyname = ? AND label = ? AND name = ?",
            (colonyname, label, name),
        )

    @staticmethod
    def _snapshot(row: sqlite3.Row) -> Snapshot:
        return Snapshot(
            snapshotid=row["snapshotid"],
            colonyname=row["colonyname"],
            label=row["label"],
            name=row["name"],
            fileids=json.loads(row["fileids"]),
            added=format_ns(row["added"]),
        )

    async def create_snapshot(self, snapshot: Snapshot) -> Snapshot:
        with self._tx():
            labels = await self.get_file_labels(snapshot.colonyname, snapshot.label, exact=True)
            snapshot.fileids = [
                f.fileid for label in labels for f in self._latest(snapshot.colonyname, label.name)
            ]
            try:
                self._run(
                    "INSERT INTO snapshots (snapshotid, colonyname, label, name, added, fileids) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        snapshot.snapshotid,
                        snapshot.colonyname,
                        snapshot.label,
                        snapshot.name,
                        parse_ns(snapshot.added),
                        _dumps(snapshot.fileids),
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    f"Snapshot with name <{snapshot.name}> in Colony <{snapshot.colonyname}> "
                    "already exists"
                ) from None
        return snapshot

    async def get_snapshot(self, colonyname: str, snapshotid: str) -> Snapshot | None:
        row = self._one(
            "SELECT * FROM snapshots WHERE colonyname = ? AND snapshotid = ?",
            colonyname,
            snapshotid,
        )
        return self._snapshot(row) if row else None

    async def get_snapshot_by_name(self, colonyname: str, name: str) -> Snapshot | None:
        row = self._one(
            "SELECT * FROM snapshots WHERE colonyname = ? AND name = ?", colonyname, name
        )
        return self._snapshot(row) if row else None

    async def get_snapshots(self, colonyname: str) -> list[Snapshot]:
        rows = self._all(
            "SELECT * FROM snapshots WHERE colonyname = ? ORDER BY added DESC, seq DESC",
            colonyname,
        )
        return [self._snapshot(r) for r in rows]

    async def remove_snapshot(self, colonyname: str, snapshotid: str) -> None:
        self._run(
            "DELETE FROM snapshots WHERE colonyname = ? AND snapshotid = ?",
            (colonyname, snapshotid),
        )

    async def remove_snapshot_by_name(self, colonyname: str, name: str) -> None:
        self._run("DELETE FROM snapshots WHERE colonyname = ? AND name = ?", (colonyname, name))

    async def remove_snapshots(self, colonyname: str) -> None:
        self._run("DELETE FROM snapshots WHERE colonyname = ?", (colonyname,))

    # --- channels (spec §4.10) ---

    async def append_channel_entry(
        self, processid: str, name: str, entry: ChannelEntry, ts: int, max_entries: int
    ) -> int | None:
        with self._tx() as db:
            if not db.execute(
                "SELECT 1 FROM processes WHERE processid = ? AND state < 2", (processid,)
            ).fetchone():
                raise LookupError(f"process {processid} is not running or waiting")
            row = db.execute(
                "INSERT INTO channels (processid, name, size) VALUES (?, ?, 1) "
                "ON CONFLICT (processid, name) DO UPDATE SET size = size + 1 WHERE size < ? "
                "RETURNING size",
                (processid, name, max_entries),
            ).fetchone()
            if row is None:
                return None
            idx = int(row[0]) - 1
            db.execute(
                "INSERT INTO channel_entries (processid, name, idx, sequence, inreplyto, ts, "
                "senderid, payload, type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    processid,
                    name,
                    idx,
                    entry.sequence,
                    entry.inreplyto,
                    ts,
                    entry.senderid,
                    entry.payload,
                    entry.type,
                ),
            )
            return idx

    async def read_channel(
        self, processid: str, name: str, after: int, limit: int
    ) -> list[ChannelEntry]:
        rows = self._all(
            "SELECT sequence, inreplyto, ts, senderid, payload, type FROM channel_entries "
            "WHERE processid = ? AND name = ? AND idx >= ? ORDER BY idx LIMIT ?",
            processid,
            name,
            max(after, 0),
            limit if limit > 0 else -1,
        )
        return [
            ChannelEntry(
                sequence=r["sequence"],
                inreplyto=r["inreplyto"],
                timestamp=format_ns(r["ts"]),
                senderid=r["senderid"],
                payload=bytes(r["payload"]),
                type=r["type"],
            )
            for r in rows
        ]

    # --- blueprints (spec §4.11) ---

    @staticmethod
    def _definition(row: sqlite3.Row) -> BlueprintDefinition:
        return BlueprintDefinition.from_dict(json.loads(row["doc"]))

    @staticmethod
    def _blueprint(row: sqlite3.Row) -> Blueprint:
        blueprint = Blueprint.from_dict(json.loads(row["doc"]))
        blueprint.status = json.loads(row["status"])
        return blueprint

    async def add_blueprint_definition(self, definition: BlueprintDefinition) -> None:
        try:
            self._run(
                "INSERT INTO blueprintdefinitions (definitionid, colonyname, name, kind, doc) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    definition.blueprintdefinitionid,
                    definition.metadata.colonyname,
                    definition.metadata.name,
                    definition.spec.names.kind,
                    _dumps(definition.to_dict()),
                ),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"BlueprintDefinition with name '{definition.metadata.name}' already exists "
                f"in colony '{definition.metadata.colonyname}' (duplicate key)"
            ) from None

    async def get_blueprint_definition(
        self, colonyname: str, name: str
    ) -> BlueprintDefinition | None:
        row = self._one(
            "SELECT doc FROM blueprintdefinitions WHERE colonyname = ? AND name = ?",
            colonyname,
            name,
        )
        return self._definition(row) if row else None

    async def get_blueprint_definitions(self, colonyname: str) -> list[BlueprintDefinition]:
        rows = self._all(
            "SELECT doc FROM blueprintdefinitions WHERE colonyname = ? ORDER BY name", colonyname
        )
        return [self._definition(r) for r in rows]

    async def get_blueprint_definition_by_kind(
        self, colonyname: str, kind: str
    ) -> BlueprintDefinition | None:
        row = self._one(
            "SELECT doc FROM blueprintdefinitions WHERE colonyname = ? AND kind = ? "
            "ORDER BY name LIMIT 1",
            colonyname,
            kind,
        )
        return self._definition(row) if row else None

    async def remove_blueprint_definition(self, colonyname: str, name: str) -> None:
        self._run(
            "DELETE FROM blueprintdefinitions WHERE colonyname = ? AND name = ?",
            (colonyname, name),
        )

    def _add_history(self, db: sqlite3.Connection, history: BlueprintHistory) -> None:
        db.execute(
            "INSERT INTO blueprint_history (historyid, blueprintid, colonyname, doc) "
            "VALUES (?, ?, ?, ?)",
            (history.historyid, history.blueprintid, history.namespace, _dumps(history.to_dict())),
        )

    async def add_blueprint(self, blueprint: Blueprint, history: BlueprintHistory) -> None:
        meta = blueprint.metadata
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO blueprints (blueprintid, colonyname, name, kind, locationname, "
                    "status, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        blueprint.blueprintid,
                        meta.colonyname,
                        meta.name,
                        blueprint.kind,
                        meta.locationname,
                        _dumps(blueprint.status),
                        _dumps(blueprint.to_dict()),
                    ),
                )
                self._add_history(db, history)
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"blueprint with name '{meta.name}' already exists in colony '{meta.colonyname}'"
            ) from None

    async def get_blueprint(self, colonyname: str, name: str) -> Blueprint | None:
        row = self._one(
            "SELECT status, doc FROM blueprints WHERE colonyname = ? AND name = ?",
            colonyname,
            name,
        )
        return self._blueprint(row) if row else None

    async def get_blueprint_by_id(self, blueprintid: str) -> Blueprint | None:
        row = self._one("SELECT status, doc FROM blueprints WHERE blueprintid = ?", blueprintid)
        return self._blueprint(row) if row else None

    async def get_blueprints(
        self, colonyname: str, kind: str = "", locationname: str = ""
    ) -> list[Blueprint]:
        sql, args = "SELECT status, doc FROM blueprints WHERE colonyname = ?", [colonyname]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
            if locationname:
                sql += " AND lower(locationname) = lower(?)"
                args.append(locationname)
        rows = self._all(sql + " ORDER BY name", *args)
        return [self._blueprint(r) for r in rows]

    async def update_blueprint(
        self, blueprint: Blueprint, history: BlueprintHistory | None = None
    ) -> bool:
        meta = blueprint.metadata
        try:
            with self._tx() as db:
                cur = db.execute(
                    "UPDATE blueprints SET colonyname = ?, name = ?, kind = ?, locationname = ?, "
                    "status = ?, doc = ? WHERE blueprintid = ?",
                    (
                        meta.colonyname,
                        meta.name,
                        blueprint.kind,
                        meta.locationname,
                        _dumps(blueprint.status),
                        _dumps(blueprint.to_dict()),
                        blueprint.blueprintid,
                    ),
                )
                if cur.rowcount != 1:
                    return False
                if history is not None:
                    self._add_history(db, history)
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"blueprint with name '{meta.name}' already exists in colony '{meta.colonyname}'"
            ) from None
        return True

    async def update_blueprint_status(self, blueprintid: str, status: dict[str, Any]) -> bool:
        cur = self._run(
            "UPDATE blueprints SET status = ? WHERE blueprintid = ?", (_dumps(status), blueprintid)
        )
        return cur.rowcount == 1

    async def remove_blueprint(self, colonyname: str, name: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM blueprint_history WHERE blueprintid IN "
                "(SELECT blueprintid FROM blueprints WHERE colonyname = ? AND name = ?)",
                (colonyname, name),
            )
            db.execute(
                "DELETE FROM blueprints WHERE colonyname = ? AND name = ?", (colonyname, name)
            )

    async def get_blueprint_history(self, blueprintid: str, limit: int) -> list[BlueprintHistory]:
        rows = self._all(
            "SELECT doc FROM blueprint_history WHERE blueprintid = ? ORDER BY seq DESC LIMIT ?",
            blueprintid,
            limit if limit > 0 else -1,
        )
        return [BlueprintHistory.from_dict(json.loads(r["doc"])) for r in rows]
