"""The shared store: PostgreSQL, so that many server replicas act as one server.

Everything a replica must agree on with the others is one statement (or one transaction) here:
``assign`` claims with ``FOR UPDATE SKIP LOCKED`` so concurrent assigners never wait on each
other nor take the same process, and ``update_process`` is a compare-and-set in its ``WHERE``.
Membership checks that must be atomic with removing an executor lock the executor row (``FOR KEY
SHARE`` when reading it, ``FOR UPDATE`` when its state changes), so a removal either happens
before a claim (nothing claimed) or after it (the claimed process is re-queued).

The semantics are those of ``SQLiteStore`` (ordering, counters, errors); times are BIGINT
nanoseconds. JSON documents are TEXT: the server never queries inside them, so JSONB would only
add a parse on every write and a re-serialisation on every read. The one column ``assign``
matches inside, ``executornames``, is a TEXT[] (``= ANY``).

The pool is opened lazily, inside the event loop that first uses the store, and a closed store
opens a new pool on its next use: a store may be seeded in one ``asyncio.run`` and served in
another loop.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

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
    label_matches,
)
from colonies.timeutil import NS, format_ns, parse_ns

# Process counts per (colony, state) for statistics, kept by statement-level triggers. A single
# counter row per (colony, state) would be updated by every submit, assign and close of that
# colony, and its row lock (held to commit) would serialise them across all replicas. So each
# (colony, state) has up to COUNTER_SHARDS rows and a statement adds its delta to the row of
# its backend (``pg_backend_pid() % COUNTER_SHARDS``): two connections only meet on a row when
# their PIDs collide, and the rare statistics read sums at most COUNTER_SHARDS rows per state.
# Deltas are applied in (colony, state) order, one upsert per statement, so two statements that
# share a shard cannot deadlock on counter rows. A count(*) on read would cost nothing on
# writes but grows with every process ever kept (seconds at 10M), counters stay O(shards).
COUNTER_SHARDS = 64

_COUNTERS = f"""
CREATE TABLE process_counts (
    colonyname TEXT NOT NULL, state INTEGER NOT NULL, shard INTEGER NOT NULL, n BIGINT NOT NULL,
    PRIMARY KEY (colonyname, state, shard));
CREATE FUNCTION process_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO process_counts AS c (colonyname, state, shard, n)
        SELECT colonyname, state, pg_backend_pid() % {COUNTER_SHARDS}, count(*)
        FROM new_rows GROUP BY colonyname, state ORDER BY colonyname, state
        ON CONFLICT (colonyname, state, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO process_counts AS c (colonyname, state, shard, n)
        SELECT colonyname, state, pg_backend_pid() % {COUNTER_SHARDS}, -count(*)
        FROM old_rows GROUP BY colonyname, state ORDER BY colonyname, state
        ON CONFLICT (colonyname, state, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO process_counts AS c (colonyname, state, shard, n)
        SELECT colonyname, state, pg_backend_pid() % {COUNTER_SHARDS}, sum(d) FROM (
            SELECT n.colonyname, n.state, 1 AS d FROM new_rows AS n
            JOIN old_rows AS o USING (processid) WHERE o.state <> n.state
            UNION ALL
            SELECT o.colonyname, o.state, -1 FROM new_rows AS n
            JOIN old_rows AS o USING (processid) WHERE o.state <> n.state) AS deltas
        GROUP BY colonyname, state ORDER BY colonyname, state
        ON CONFLICT (colonyname, state, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER process_counts_insert AFTER INSERT ON processes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION process_counts_apply();
CREATE TRIGGER process_counts_delete AFTER DELETE ON processes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION process_counts_apply();
CREATE TRIGGER process_counts_update AFTER UPDATE ON processes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION process_counts_apply();
"""

# ``seq`` columns keep insertion order where SQLite lists by rowid; a replaced row takes a new
# ``seq`` (as SQLite's INSERT OR REPLACE gives it a new rowid).
_SCHEMA_1 = """
CREATE TABLE server (id INTEGER PRIMARY KEY CHECK (id = 1), serverid TEXT NOT NULL);
CREATE TABLE colonies (
    seq BIGSERIAL NOT NULL, name TEXT PRIMARY KEY, colonyid TEXT NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT false);
CREATE TABLE executors (
    seq BIGSERIAL NOT NULL, colonyname TEXT NOT NULL, executorname TEXT NOT NULL,
    executorid TEXT NOT NULL, state INTEGER NOT NULL, lastheard BIGINT NOT NULL DEFAULT 0,
    doc TEXT NOT NULL, PRIMARY KEY (colonyname, executorname));
CREATE INDEX executors_colony_id ON executors (colonyname, executorid);
CREATE INDEX executors_lastheard ON executors (lastheard) WHERE state <> 3;
CREATE TABLE users (
    seq BIGSERIAL NOT NULL, colonyname TEXT NOT NULL, name TEXT NOT NULL, userid TEXT NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (colonyname, name));
CREATE INDEX users_id ON users (colonyname, userid);
CREATE TABLE locations (
    colonyname TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (colonyname, name));
CREATE TABLE processes (
    processid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, executortype TEXT NOT NULL,
    executornames TEXT[] NOT NULL, locationname TEXT NOT NULL, label TEXT NOT NULL,
    initiatorid TEXT NOT NULL, initiatorname TEXT NOT NULL,
    state INTEGER NOT NULL, isassigned BOOLEAN NOT NULL, assignedexecutorid TEXT NOT NULL,
    prioritytime BIGINT NOT NULL, submissiontime BIGINT NOT NULL, starttime BIGINT NOT NULL,
    endtime BIGINT NOT NULL, waitdeadline BIGINT NOT NULL, execdeadline BIGINT NOT NULL,
    retries INTEGER NOT NULL, maxretries INTEGER NOT NULL, maxexectime BIGINT NOT NULL,
    cpu BIGINT NOT NULL, memory BIGINT NOT NULL, processgraphid TEXT NOT NULL,
    waitforparents BOOLEAN NOT NULL, parents TEXT NOT NULL, children TEXT NOT NULL,
    spec TEXT NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL, errors TEXT NOT NULL);
CREATE INDEX processes_assign ON processes (colonyname, executortype, prioritytime)
    WHERE state = 0 AND NOT isassigned AND NOT waitforparents;
CREATE INDEX processes_waiting ON processes (colonyname, prioritytime) WHERE state = 0;
CREATE INDEX processes_state_start ON processes (colonyname, state, starttime);
CREATE INDEX processes_state_end ON processes (colonyname, state, endtime);
CREATE INDEX processes_execdeadline ON processes (execdeadline)
    WHERE state = 1 AND execdeadline > 0;
CREATE INDEX processes_waitdeadline ON processes (waitdeadline)
    WHERE state = 0 AND waitdeadline > 0;
CREATE TABLE attributes (
    seq BIGSERIAL NOT NULL, attributeid TEXT PRIMARY KEY, targetid TEXT NOT NULL,
    doc TEXT NOT NULL);
CREATE INDEX attributes_target ON attributes (targetid, seq);
CREATE TABLE functions (
    seq BIGSERIAL NOT NULL, functionid TEXT PRIMARY KEY, colonyname TEXT NOT NULL,
    executorname TEXT NOT NULL, funcname TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX functions_colony ON functions (colonyname, executorname, funcname);
CREATE TABLE logs (
    seq BIGSERIAL PRIMARY KEY, processid TEXT NOT NULL, colonyname TEXT NOT NULL,
    executorname TEXT NOT NULL, ts BIGINT NOT NULL, message TEXT NOT NULL);
CREATE INDEX logs_process ON logs (processid, ts);
CREATE INDEX logs_executor ON logs (colonyname, executorname, ts);
"""

# Process graphs (workflows). ``processes.seq`` keeps insertion order for ``graph_processes``
# (SQLite's rowid). It is added without a default and then given one, both catalogue-only: a
# volatile default in ADD COLUMN would rewrite every process row under the migration lock.
# Rows from before keep a NULL seq; none of them belongs to a graph. Only workflow processes
# are indexed by graph (the queries repeat ``processgraphid <> ''`` so the planner can use the
# partial index): a plain submit pays nothing for it.
_SCHEMA_2 = """
CREATE TABLE processgraphs (
    seq BIGSERIAL NOT NULL, processgraphid TEXT PRIMARY KEY, colonyname TEXT NOT NULL,
    initiatorid TEXT NOT NULL, initiatorname TEXT NOT NULL, state INTEGER NOT NULL,
    submissiontime BIGINT NOT NULL, starttime BIGINT NOT NULL, endtime BIGINT NOT NULL,
    rootprocessids TEXT NOT NULL, processids TEXT NOT NULL);
CREATE INDEX processgraphs_state ON processgraphs (colonyname, state, submissiontime, seq);
CREATE SEQUENCE processes_seq;
ALTER TABLE processes ADD COLUMN seq BIGINT;
ALTER TABLE processes ALTER COLUMN seq SET DEFAULT nextval('processes_seq');
ALTER SEQUENCE processes_seq OWNED BY processes.seq;
CREATE INDEX processes_graph ON processes (processgraphid, seq) WHERE processgraphid <> '';
"""

# Crons and generators. ``nextrun`` and the queued generator args are columns: the leader's
# checkers query them and fire with a compare-and-set on them (``advance_cron``,
# ``consume_generator_args``), so replicas never fire one twice. ``seq`` keeps insertion order.
_SCHEMA_3 = """
CREATE TABLE crons (
    seq BIGSERIAL NOT NULL, cronid TEXT PRIMARY KEY, colonyname TEXT NOT NULL,
    name TEXT NOT NULL, nextrun BIGINT NOT NULL, lastrun BIGINT NOT NULL,
    prevprocessgraphid TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (colonyname, name));
CREATE INDEX crons_nextrun ON crons (nextrun);
CREATE TABLE generators (
    seq BIGSERIAL NOT NULL, generatorid TEXT PRIMARY KEY, colonyname TEXT NOT NULL,
    name TEXT NOT NULL, firstpack BIGINT NOT NULL, lastrun BIGINT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (colonyname, name));
CREATE TABLE generatorargs (
    seq BIGSERIAL PRIMARY KEY, argid TEXT NOT NULL UNIQUE, generatorid TEXT NOT NULL,
    arg TEXT NOT NULL, added BIGINT NOT NULL);
CREATE INDEX generatorargs_generator ON generatorargs (generatorid, seq);
"""

# ColonyFS (spec §4.9): file revisions (``seq`` is a revision's ``sequencenr``, the rest of a
# file its JSON document) and snapshots (``fileids`` a JSON list). Migration step 5.
_SCHEMA_5 = """
CREATE TABLE files (
    seq BIGSERIAL PRIMARY KEY, fileid TEXT NOT NULL UNIQUE, colonyname TEXT NOT NULL,
    label TEXT NOT NULL, name TEXT NOT NULL, added BIGINT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX files_name ON files (colonyname, label, name, seq);
CREATE TABLE snapshots (
    seq BIGSERIAL PRIMARY KEY, snapshotid TEXT NOT NULL UNIQUE, colonyname TEXT NOT NULL,
    label TEXT NOT NULL, name TEXT NOT NULL, added BIGINT NOT NULL, fileids TEXT NOT NULL,
    UNIQUE (colonyname, name));
"""

# --- channels (spec §4.10) ---
# One row per channel used so far; appends upsert it, and its row lock (held to commit)
# serialises one channel's appends across replicas, so ``idx`` (from 0) is dense in commit
# order. Entries go with their process: one statement-level trigger per process delete.
_SCHEMA_4_CHANNELS = """
CREATE TABLE channels (
    processid TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (processid, name));
CREATE TABLE channel_entries (
    processid TEXT NOT NULL, name TEXT NOT NULL, idx INTEGER NOT NULL,
    sequence BIGINT NOT NULL, inreplyto BIGINT NOT NULL, ts BIGINT NOT NULL,
    senderid TEXT NOT NULL, payload BYTEA NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (processid, name, idx));
CREATE FUNCTION channels_process_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM channel_entries WHERE processid IN (SELECT processid FROM gone_processes);
    DELETE FROM channels WHERE processid IN (SELECT processid FROM gone_processes);
    RETURN NULL;
END $$;
CREATE TRIGGER channels_process_delete AFTER DELETE ON processes
    REFERENCING OLD TABLE AS gone_processes
    FOR EACH STATEMENT EXECUTE FUNCTION channels_process_delete();
"""

# Blueprints (spec §4.11): definitions, blueprints (``status`` apart, so a reconciler's report
# replaces it alone) and their history; removed with their colony.
_SCHEMA_6_BLUEPRINTS = """
CREATE TABLE blueprintdefinitions (
    seq BIGSERIAL NOT NULL, definitionid TEXT PRIMARY KEY, colonyname TEXT NOT NULL,
    name TEXT NOT NULL, kind TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (colonyname, name));
CREATE TABLE blueprints (
    blueprintid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, locationname TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL,
    UNIQUE (colonyname, name));
CREATE TABLE blueprint_history (
    seq BIGSERIAL PRIMARY KEY, historyid TEXT NOT NULL, blueprintid TEXT NOT NULL,
    colonyname TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX blueprint_history_blueprint ON blueprint_history (blueprintid, seq);
"""

# (version, SQL): applied in order, each once, never edited once released (add a step instead).
MIGRATIONS: list[tuple[int, str]] = [
    (1, _SCHEMA_1 + _COUNTERS),
    (2, _SCHEMA_2),
    (3, _SCHEMA_3),
    (4, _SCHEMA_4_CHANNELS),
    (5, _SCHEMA_5),  # files and snapshots (ColonyFS)
    (6, _SCHEMA_6_BLUEPRINTS),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
# pg_advisory_xact_lock key for migrations: replicas starting together apply each step once.
MIGRATION_LOCK = 0x636F6C6F6E696573  # "colonies"

# A process row with its attributes (in insertion order), in one statement.
_PROCESS = (
    "processes.*, ARRAY(SELECT a.doc FROM attributes AS a "
    "WHERE a.targetid = processes.processid ORDER BY a.seq) AS attrs"
)

# The claim of ``assign`` (its parameters: see there), shown by EXPLAIN in the tests.
ASSIGN = (
    "UPDATE processes SET state = 1, isassigned = true, assignedexecutorid = %s, "
    "starttime = %s, execdeadline = CASE WHEN maxexectime > 0 "
    "THEN %s + maxexectime * %s ELSE 0 END "
    "WHERE processid = (SELECT p.processid FROM processes AS p "
    "WHERE p.colonyname = %s AND p.executortype = %s AND p.state = 0 "
    "AND NOT p.isassigned AND NOT p.waitforparents AND p.cpu <= %s AND p.memory <= %s "
    "AND (cardinality(p.executornames) = 0 OR %s = ANY (p.executornames)) "
    "AND (p.locationname = '' OR lower(p.locationname) = lower(%s)) "
    "ORDER BY p.prioritytime LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "AND EXISTS (SELECT 1 FROM executors AS e "
    "WHERE e.colonyname = %s AND e.executorid = %s AND e.state = 1 FOR KEY SHARE) "
    f"RETURNING {_PROCESS}"
)

# ``ProcessUpdate`` fields stored as JSON text (``input`` is the wire's "in").
_JSON_COLUMNS = ("output", "errors", "input", "parents", "children")

# The columns ``_process_row`` fills, in table order (``seq`` takes its default).
_INSERT_PROCESS = "INSERT INTO processes VALUES (" + ", ".join(["%s"] * 30) + ")"

_PROCESS_ORDER = {
    ProcessState.WAITING: "prioritytime ASC",
    ProcessState.RUNNING: "starttime ASC",
}

Conn = AsyncConnection[DictRow]


_dumps = jsoncodec.dumps_text  # compact JSON text (orjson when installed)


def _process(row: DictRow) -> Process:
    return Process(
        processid=row["processid"],
        initiatorid=row["initiatorid"],
        initiatorname=row["initiatorname"],
        assignedexecutorid=row["assignedexecutorid"],
        isassigned=row["isassigned"],
        state=row["state"],
        prioritytime=row["prioritytime"],
        submissiontime=format_ns(row["submissiontime"]),
        starttime=format_ns(row["starttime"]),
        endtime=format_ns(row["endtime"]),
        waitdeadline=format_ns(row["waitdeadline"]),
        execdeadline=format_ns(row["execdeadline"]),
        retries=row["retries"],
        attributes=[Attribute.from_dict(json.loads(a)) for a in row["attrs"]],
        spec=FunctionSpec.from_dict(json.loads(row["spec"])),
        waitforparents=row["waitforparents"],
        parents=json.loads(row["parents"]),
        children=json.loads(row["children"]),
        processgraphid=row["processgraphid"],
        input=json.loads(row["input"]),
        output=json.loads(row["output"]),
        errors=json.loads(row["errors"]),
    )


def _process_row(process: Process, cpu: int, memory: int) -> tuple[Any, ...]:
    """The values of ``_INSERT_PROCESS`` for a process."""
    spec = process.spec
    cond = spec.conditions
    names = [] if cond.executornames == ["*"] else cond.executornames
    return (
        process.processid,
        cond.colonyname,
        cond.executortype,
        names,
        cond.locationname,
        spec.label,
        process.initiatorid,
        process.initiatorname,
        process.state,
        process.isassigned,
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
        process.waitforparents,
        _dumps(process.parents),
        _dumps(process.children),
        _dumps(spec.to_dict()),
        _dumps(process.input),
        _dumps(process.output),
        _dumps(process.errors),
    )


def _graph(row: DictRow) -> ProcessGraph:
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


def _executor(row: DictRow | None) -> Executor | None:
    if row is None:
        return None
    executor = Executor.from_dict(json.loads(row["doc"]))
    executor.state = row["state"]
    executor.lastheardfromtime = format_ns(row["lastheard"])
    return executor


def _log(row: DictRow) -> Log:
    return Log(
        processid=row["processid"],
        colonyname=row["colonyname"],
        executorname=row["executorname"],
        message=row["message"],
        timestamp=row["ts"],
    )


class PostgresStore:
    """``Store`` on a PostgreSQL database (``postgresql://user@host:port/dbname``)."""

    def __init__(self, conninfo: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self.conninfo = conninfo
        self._min_size, self._max_size = min_size, max_size
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._migrated = False

    # --- connections

    async def _get_pool(self) -> AsyncConnectionPool[Conn]:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._pool_loop is loop:
            return self._pool
        if self._lock is None or self._lock_loop is not loop:  # a lock binds to one loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            if self._pool is not None and self._pool_loop is loop:
                return self._pool
            # A pool left open by a loop that has ended is unusable (its tasks died with it).
            pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                self.conninfo,
                connection_class=AsyncConnection[DictRow],
                kwargs={"autocommit": True, "row_factory": dict_row},
                min_size=self._min_size,
                max_size=self._max_size,
                open=False,
                name="colonies",
            )
            await pool.open()
            try:
                if not self._migrated:
                    async with pool.connection() as conn:
                        await _migrate(conn)
                    self._migrated = True
            except BaseException:
                await pool.close()
                raise
            self._pool, self._pool_loop = pool, loop
            return pool

    async def migrate(self) -> None:
        """Apply the schema steps this database lacks (also done on first use)."""
        pool = await self._get_pool()
        async with pool.connection() as conn:
            await _migrate(conn)

    async def close(self) -> None:
        pool, self._pool, self._pool_loop = self._pool, None, None
        if pool is not None:
            await pool.close()

    async def _one(self, query: str, args: Sequence[Any] = ()) -> DictRow | None:
        pool = await self._get_pool()
        async with pool.connection() as conn:
            cur = await conn.execute(query.encode(), args)
            return await cur.fetchone()

    async def _all(self, query: str, args: Sequence[Any] = ()) -> list[DictRow]:
        pool = await self._get_pool()
        async with pool.connection() as conn:
            cur = await conn.execute(query.encode(), args)
            return await cur.fetchall()

    async def _run(self, query: str, args: Sequence[Any] = ()) -> None:
        pool = await self._get_pool()
        async with pool.connection() as conn:
            await conn.execute(query.encode(), args)

    # --- server identity

    async def get_server_id(self) -> str:
        row = await self._one("SELECT serverid FROM server WHERE id = 1")
        return str(row["serverid"]) if row else ""

    async def set_server_id(self, serverid: str) -> None:
        await self._run(
            "INSERT INTO server (id, serverid) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET serverid = excluded.serverid",
            (serverid,),
        )

    # --- colonies

    async def add_colony(self, colony: Colony) -> None:
        try:
            await self._run(
                "INSERT INTO colonies (name, colonyid) VALUES (%s, %s)",
                (colony.name, colony.colonyid),
            )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"A Colony with name {colony.name} already exists") from None

    async def get_colony(self, name: str) -> Colony | None:
        row = await self._one("SELECT name, colonyid FROM colonies WHERE name = %s", (name,))
        return Colony(colonyid=row["colonyid"], name=row["name"]) if row else None

    async def get_colonies(self) -> list[Colony]:
        rows = await self._all("SELECT name, colonyid FROM colonies ORDER BY seq")
        return [Colony(colonyid=r["colonyid"], name=r["name"]) for r in rows]

    async def set_paused(self, colonyname: str, paused: bool) -> None:
        await self._run("UPDATE colonies SET paused = %s WHERE name = %s", (paused, colonyname))

    async def is_paused(self, colonyname: str) -> bool:
        row = await self._one("SELECT paused FROM colonies WHERE name = %s", (colonyname,))
        return bool(row and row["paused"])

    async def remove_colony(self, name: str) -> None:
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM attributes WHERE targetid IN "
                "(SELECT processid FROM processes WHERE colonyname = %s)",
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
            ):
                await conn.execute(f"DELETE FROM {table} = %s".encode(), (name,))
            await conn.execute(
                "DELETE FROM generatorargs WHERE generatorid IN "
                "(SELECT generatorid FROM generators WHERE colonyname = %s)",
                (name,),
            )
            await conn.execute("DELETE FROM generators WHERE colonyname = %s", (name,))
            for table in ("blueprintdefinitions", "blueprints", "blueprint_history"):  # §4.11
                await conn.execute(f"DELETE FROM {table} WHERE colonyname = %s".encode(), (name,))
            # --- files and snapshots (ColonyFS, spec §4.9) ---
            await conn.execute("DELETE FROM files WHERE colonyname = %s", (name,))
            await conn.execute("DELETE FROM snapshots WHERE colonyname = %s", (name,))

    # --- executors

    async def add_executor(self, executor: Executor, *, replace: bool = False) -> None:
        upsert = (
            " ON CONFLICT (colonyname, executorname) DO UPDATE SET seq = excluded.seq, "
            "executorid = excluded.executorid, state = excluded.state, "
            "lastheard = excluded.lastheard, doc = excluded.doc"
            if replace
            else ""
        )
        try:
            await self._run(
                "INSERT INTO executors (colonyname, executorname, executorid, state, lastheard, "
                "doc) VALUES (%s, %s, %s, %s, %s, %s)" + upsert,
                (
                    executor.colonyname,
                    executor.executorname,
                    executor.executorid,
                    executor.state,
                    parse_ns(executor.lastheardfromtime),
                    _dumps(executor.to_dict()),
                ),
            )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"Executor with name {executor.executorname} in Colony "
                f"{executor.colonyname} already exists"
            ) from None

    async def get_executor(self, colonyname: str, name: str) -> Executor | None:
        return _executor(
            await self._one(
                "SELECT * FROM executors WHERE colonyname = %s AND executorname = %s",
                (colonyname, name),
            )
        )

    async def get_executor_by_id(self, colonyname: str, executorid: str) -> Executor | None:
        return _executor(
            await self._one(
                "SELECT * FROM executors WHERE colonyname = %s AND executorid = %s "
                "ORDER BY state = 3, seq LIMIT 1",
                (colonyname, executorid),
            )
        )

    async def get_executors(self, colonyname: str) -> list[Executor]:
        rows = await self._all(
            "SELECT * FROM executors WHERE colonyname = %s ORDER BY seq", (colonyname,)
        )
        return [e for r in rows if (e := _executor(r)) is not None]

    async def set_executor_state(self, colonyname: str, name: str, state: int) -> None:
        # The row lock (FOR UPDATE) waits for assigns that hold it with FOR KEY SHARE, and makes
        # later ones re-check the new state: a rejection is atomic with assign as a removal is.
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT 1 FROM executors WHERE colonyname = %s AND executorname = %s FOR UPDATE",
                (colonyname, name),
            )
            await conn.execute(
                "UPDATE executors SET state = %s WHERE colonyname = %s AND executorname = %s",
                (state, colonyname, name),
            )

    async def mark_alive(
        self, colonyname: str, executorid: str, now: int, *, refresh: bool = False
    ) -> None:
        query = "UPDATE executors SET lastheard = %s WHERE colonyname = %s AND executorid = %s "
        query += "AND state <> 3 AND lastheard > 0" if refresh else "AND state <> 3"
        await self._run(query, (now, colonyname, executorid))

    async def stale_executors(self, heard_before: int, limit: int) -> list[Executor]:
        rows = await self._all(
            "SELECT * FROM executors WHERE state <> 3 AND lastheard > 0 AND lastheard < %s "
            "ORDER BY lastheard LIMIT %s",
            (heard_before, limit),
        )
        return [e for r in rows if (e := _executor(r)) is not None]

    async def unregister_executor(
        self, colonyname: str, name: str, now: int, *, heard_before: int | None = None
    ) -> list[str] | None:
        query = "SELECT executorid FROM executors WHERE colonyname = %s AND executorname = %s"
        args: tuple[Any, ...] = (colonyname, name)
        if heard_before is not None:
            query += " AND state <> 3 AND lastheard > 0 AND lastheard < %s"
            args = (colonyname, name, heard_before)
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            # FOR UPDATE: waits for an assign holding the row (its claim is then committed and
            # re-queued below) and re-checks ``heard_before`` against a concurrent heartbeat.
            cur = await conn.execute((query + " FOR UPDATE").encode(), args)
            row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute(
                "UPDATE executors SET state = %s WHERE colonyname = %s AND executorname = %s",
                (ExecutorState.UNREGISTERED, colonyname, name),
            )
            await conn.execute(
                "DELETE FROM functions WHERE colonyname = %s AND executorname = %s",
                (colonyname, name),
            )
            cur = await conn.execute(
                "UPDATE processes SET state = 0, isassigned = false, assignedexecutorid = '', "
                "starttime = 0, execdeadline = 0 WHERE state = 1 AND assignedexecutorid = %s "
                "AND colonyname = %s RETURNING processid",
                (row["executorid"], colonyname),
            )
            return [r["processid"] for r in await cur.fetchall()]

    async def count_executors(self, colonyname: str | None) -> ExecutorCounts:
        where, args = ("WHERE colonyname = %s", (colonyname,)) if colonyname else ("", ())
        row = await self._one(
            "SELECT count(*) AS total, count(*) FILTER (WHERE state = 1) AS active, "
            f"count(*) FILTER (WHERE state = 3) AS gone FROM executors {where}",
            args,
        )
        assert row is not None
        return ExecutorCounts(row["total"], row["active"], row["gone"])

    # --- users and locations

    async def add_user(self, user: User) -> None:
        try:
            await self._run(
                "INSERT INTO users (colonyname, name, userid, doc) VALUES (%s, %s, %s, %s)",
                (user.colonyname, user.name, user.userid, _dumps(user.to_dict())),
            )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"User with name {user.name} in Colony {user.colonyname} already exists"
            ) from None

    async def get_user(self, colonyname: str, name: str) -> User | None:
        row = await self._one(
            "SELECT doc FROM users WHERE colonyname = %s AND name = %s", (colonyname, name)
        )
        return User.from_dict(json.loads(row["doc"])) if row else None

    async def get_user_by_id(self, colonyname: str, userid: str) -> User | None:
        row = await self._one(
            "SELECT doc FROM users WHERE colonyname = %s AND userid = %s ORDER BY seq LIMIT 1",
            (colonyname, userid),
        )
        return User.from_dict(json.loads(row["doc"])) if row else None

    async def get_users(self, colonyname: str) -> list[User]:
        rows = await self._all(
            "SELECT doc FROM users WHERE colonyname = %s ORDER BY seq", (colonyname,)
        )
        return [User.from_dict(json.loads(r["doc"])) for r in rows]

    async def remove_user(self, colonyname: str, name: str) -> None:
        await self._run("DELETE FROM users WHERE colonyname = %s AND name = %s", (colonyname, name))

    async def add_location(self, location: Location) -> None:
        try:
            await self._run(
                "INSERT INTO locations (colonyname, name, doc) VALUES (%s, %s, %s)",
                (location.colonyname, location.name, _dumps(location.to_dict())),
            )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"Location with name {location.name} already exists") from None

    async def get_location(self, colonyname: str, name: str) -> Location | None:
        row = await self._one(
            "SELECT doc FROM locations WHERE colonyname = %s AND name = %s", (colonyname, name)
        )
        return Location.from_dict(json.loads(row["doc"])) if row else None

    async def get_locations(self, colonyname: str) -> list[Location]:
        rows = await self._all(  # byte order, as SQLite sorts
            'SELECT doc FROM locations WHERE colonyname = %s ORDER BY name COLLATE "C"',
            (colonyname,),
        )
        return [Location.from_dict(json.loads(r["doc"])) for r in rows]

    async def remove_location(self, colonyname: str, name: str) -> None:
        await self._run(
            "DELETE FROM locations WHERE colonyname = %s AND name = %s", (colonyname, name)
        )

    # --- ID rotation (spec §4.12) ---

    async def change_user_id(self, colonyname: str, old: str, new: str) -> None:
        await self._run(
            "UPDATE users SET userid = %s, "
            "doc = jsonb_set(doc::jsonb, '{userid}', to_jsonb(%s::text))::text "
            "WHERE colonyname = %s AND userid = %s",
            (new, new, colonyname, old),
        )

    async def change_executor_id(self, colonyname: str, old: str, new: str) -> None:
        args = {"new": new, "colony": colonyname, "old": old}
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE executors SET executorid = %(new)s, "
                "doc = jsonb_set(doc::jsonb, '{executorid}', to_jsonb(%(new)s::text))::text "
                "WHERE colonyname = %(colony)s AND executorid = %(old)s",
                args,
            )
            await conn.execute(
                "UPDATE processes SET assignedexecutorid = %(new)s "
                "WHERE colonyname = %(colony)s AND assignedexecutorid = %(old)s",
                args,
            )

    async def change_colony_id(self, colonyname: str, old: str, new: str) -> None:
        await self._run(
            "UPDATE colonies SET colonyid = %s WHERE name = %s AND colonyid = %s",
            (new, colonyname, old),
        )

    # --- processes

    async def add_process(self, process: Process, *, cpu: int, memory: int) -> None:
        row = _process_row(process, cpu, memory)
        insert = _INSERT_PROCESS.encode()
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn:
                if not process.attributes:  # the usual submit: one statement, one round trip
                    await conn.execute(insert, row)
                    return
                async with conn.transaction():
                    await conn.execute(insert, row)
                    for attribute in process.attributes:
                        query, args = _upsert_attribute(attribute)
                        await conn.execute(query.encode(), args)
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"Process with ID {process.processid} already exists") from None

    async def get_process(self, processid: str) -> Process | None:
        row = await self._one(
            f"SELECT {_PROCESS} FROM processes WHERE processid = %s", (processid,)
        )
        return _process(row) if row else None

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
        where, args = ["colonyname = %s", "state = %s"], [colonyname, state]
        for column, value in (
            ("executortype", executortype),
            ("label", label),
            ("initiatorid", initiatorid),
        ):
            if value:
                where.append(f"{column} = %s")
                args.append(value)
        order = _PROCESS_ORDER.get(ProcessState(state), "endtime DESC")
        rows = await self._all(
            f"SELECT {_PROCESS} FROM processes WHERE {' AND '.join(where)} "
            f"ORDER BY {order} LIMIT %s",
            (*args, count),
        )
        return [_process(r) for r in rows]

    async def process_history(
        self, colonyname: str, state: int, since: int, executorid: str = ""
    ) -> list[Process]:
        query = (
            f"SELECT {_PROCESS} FROM processes "
            "WHERE colonyname = %s AND state = %s AND submissiontime >= %s"
        )
        args: list[Any] = [colonyname, state, since]
        if executorid:
            query += " AND assignedexecutorid = %s"
            args.append(executorid)
        rows = await self._all(query + " ORDER BY submissiontime", args)
        return [_process(r) for r in rows]

    async def assign(
        self, executor: Executor, now: int, *, cpu: int, memory: int
    ) -> Process | None:
        # One statement: pick the oldest matching WAITING row not locked by another assigner
        # (SKIP LOCKED: concurrent assigners take different rows without waiting), claim it,
        # and only while the executor is APPROVED. FOR KEY SHARE on the executor row makes a
        # concurrent removal (which locks it FOR UPDATE) either wait for this claim to commit and
        # re-queue it, or commit first and make this statement see the executor gone.
        row = await self._one(
            ASSIGN,
            (
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
            ),
        )
        return _process(row) if row else None

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
        # ``waitforparents`` is in the predicate of the partial index ``processes_assign``: such
        # an update is never HOT, so PostgreSQL moves the row in or out of that index with it.
        sets = ", ".join(f"{k} = %s" for k in changes) or "processid = processid"
        where, args = "processid = %s", [*changes.values(), processid]
        if states:
            where += " AND state = ANY (%s)"
            args.append([int(s) for s in states])
        if executorid is not None:
            where += " AND assignedexecutorid = %s"
            args.append(executorid)
            if approved:  # same statement; the lock orders it with a removal or rejection
                where += (
                    " AND EXISTS (SELECT 1 FROM executors AS e WHERE e.colonyname = "
                    "processes.colonyname AND e.executorid = %s AND e.state = 1 FOR KEY SHARE)"
                )
                args.append(executorid)
        row = await self._one(
            f"UPDATE processes SET {sets} WHERE {where} RETURNING {_PROCESS}", args
        )
        return _process(row) if row else None

    async def remove_process(self, processid: str) -> None:
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM attributes WHERE targetid = %s", (processid,))
            await conn.execute("DELETE FROM processes WHERE processid = %s", (processid,))

    async def remove_processes(self, colonyname: str, state: int) -> None:
        where = "colonyname = %s AND processgraphid = ''"
        args: tuple[Any, ...] = (colonyname,)
        if state >= 0:
            where += " AND state = %s"
            args = (colonyname, state)
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM attributes WHERE targetid IN "
                f"(SELECT processid FROM processes WHERE {where})".encode(),
                args,
            )
            await conn.execute(f"DELETE FROM processes WHERE {where}".encode(), args)

    async def expired_processes(self, now: int, limit: int) -> list[Process]:
        rows = await self._all(
            f"(SELECT {_PROCESS} FROM processes "
            "WHERE state = 1 AND execdeadline > 0 AND execdeadline < %s) UNION ALL "
            f"(SELECT {_PROCESS} FROM processes "
            "WHERE state = 0 AND waitdeadline > 0 AND waitdeadline < %s ORDER BY prioritytime) "
            "LIMIT %s",
            (now, now, limit),
        )
        return [_process(r) for r in rows]

    async def count_processes(self, colonyname: str | None) -> ProcessCounts:
        where, args = ("WHERE colonyname = %s", (colonyname,)) if colonyname else ("", ())
        counts = dict.fromkeys(range(5), 0)
        for row in await self._all(
            f"SELECT state, sum(n) AS n FROM process_counts {where} GROUP BY state", args
        ):
            counts[row["state"]] = int(row["n"])
        return ProcessCounts(*(counts[s] for s in range(5)))

    # --- process graphs (workflows)

    async def add_processgraph(self, graph: ProcessGraph, processes: list[NewProcess]) -> None:
        attributes = [_upsert_attribute(a)[1] for new in processes for a in new.process.attributes]
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO processgraphs (processgraphid, colonyname, initiatorid, "
                    "initiatorname, state, submissiontime, starttime, endtime, rootprocessids, "
                    "processids) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
                async with conn.cursor() as cur:  # executemany: pipelined, one round trip
                    await cur.executemany(
                        _INSERT_PROCESS.encode(),
                        [_process_row(new.process, new.cpu, new.memory) for new in processes],
                    )
                    if attributes:
                        await cur.executemany(_UPSERT_ATTRIBUTE.encode(), attributes)
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"Process graph {graph.processgraphid} or one of its processes already exists"
            ) from None

    async def get_processgraph(self, processgraphid: str) -> ProcessGraph | None:
        row = await self._one(
            "SELECT * FROM processgraphs WHERE processgraphid = %s", (processgraphid,)
        )
        return _graph(row) if row else None

    async def get_processgraphs(
        self, colonyname: str, state: int, count: int
    ) -> list[ProcessGraph]:
        rows = await self._all(
            "SELECT * FROM processgraphs WHERE colonyname = %s AND state = %s "
            "ORDER BY submissiontime DESC, seq DESC LIMIT %s",
            (colonyname, state, count),
        )
        return [_graph(r) for r in rows]

    async def graph_processes(self, processgraphid: str) -> list[Process]:
        rows = await self._all(
            f"SELECT {_PROCESS} FROM processes "
            "WHERE processgraphid = %s AND processgraphid <> '' ORDER BY seq",
            (processgraphid,),
        )
        return [_process(r) for r in rows]

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
        row = await self._one(
            "UPDATE processgraphs SET state = %s, starttime = coalesce(%s::bigint, starttime), "
            "endtime = coalesce(%s::bigint, endtime), "
            "processids = coalesce(%s::text, processids) "
            "WHERE processgraphid = %s AND (%s OR state = ANY(%s)) RETURNING *",
            (
                state,
                starttime,
                endtime,
                None if processids is None else _dumps(processids),
                processgraphid,
                not states,
                list(states),
            ),
        )
        return _graph(row) if row else None

    async def remove_processgraph(self, processgraphid: str) -> None:
        await self._remove_graphs("processgraphid = %s", (processgraphid,))

    async def remove_processgraphs(self, colonyname: str, state: int) -> None:
        if state >= 0:
            await self._remove_graphs("colonyname = %s AND state = %s", (colonyname, state))
        else:
            await self._remove_graphs("colonyname = %s", (colonyname,))

    async def _remove_graphs(self, where: str, args: tuple[Any, ...]) -> None:
        """Remove the graphs matching ``where`` with their processes (and the processes'
        attributes) in one transaction, so no replica sees a graph without its processes. The
        graphs go first: their row locks order this with a concurrent update of the same
        graph, and the processes removed are those of the graphs actually removed."""
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"DELETE FROM processgraphs WHERE {where} RETURNING processgraphid".encode(), args
            )
            graphs = [r["processgraphid"] for r in await cur.fetchall()]
            if not graphs:
                return
            members = "processgraphid = ANY (%s) AND processgraphid <> ''"
            await conn.execute(
                "DELETE FROM attributes WHERE targetid IN "
                f"(SELECT processid FROM processes WHERE {members})".encode(),
                (graphs,),
            )
            await conn.execute(f"DELETE FROM processes WHERE {members}".encode(), (graphs,))

    async def count_processgraphs(self, colonyname: str | None) -> ProcessCounts:
        # A count over the graphs table (its (colonyname, state) index per colony): graphs are
        # far fewer than processes, so no trigger-kept counters as for processes.
        where, args = ("WHERE colonyname = %s", (colonyname,)) if colonyname else ("", ())
        counts = dict.fromkeys(range(5), 0)
        for row in await self._all(
            f"SELECT state, count(*) AS n FROM processgraphs {where} GROUP BY state", args
        ):
            counts[row["state"]] = int(row["n"])
        return ProcessCounts(*(counts[s] for s in range(5)))

    # --- attributes

    async def add_attribute(self, attribute: Attribute) -> None:
        await self._run(*_upsert_attribute(attribute))

    async def get_attribute(self, attributeid: str) -> Attribute | None:
        row = await self._one("SELECT doc FROM attributes WHERE attributeid = %s", (attributeid,))
        return Attribute.from_dict(json.loads(row["doc"])) if row else None

    # --- functions

    async def add_function(self, function: Function) -> None:
        await self._run(
            "INSERT INTO functions (functionid, colonyname, executorname, funcname, doc) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (functionid) DO UPDATE SET "
            "seq = excluded.seq, colonyname = excluded.colonyname, "
            "executorname = excluded.executorname, funcname = excluded.funcname, "
            "doc = excluded.doc",
            (
                function.functionid,
                function.colonyname,
                function.executorname,
                function.funcname,
                _dumps(function.to_dict()),
            ),
        )

    async def get_function(self, functionid: str) -> Function | None:
        row = await self._one("SELECT doc FROM functions WHERE functionid = %s", (functionid,))
        return Function.from_dict(json.loads(row["doc"])) if row else None

    async def find_function(
        self, colonyname: str, executorname: str, funcname: str
    ) -> Function | None:
        row = await self._one(
            "SELECT doc FROM functions WHERE colonyname = %s AND executorname = %s "
            "AND funcname = %s ORDER BY seq LIMIT 1",
            (colonyname, executorname, funcname),
        )
        return Function.from_dict(json.loads(row["doc"])) if row else None

    async def get_functions(self, colonyname: str, executorname: str = "") -> list[Function]:
        query, args = "SELECT doc FROM functions WHERE colonyname = %s", [colonyname]
        if executorname:
            query += " AND executorname = %s"
            args.append(executorname)
        rows = await self._all(query + " ORDER BY seq", args)
        return [Function.from_dict(json.loads(r["doc"])) for r in rows]

    async def update_function(self, function: Function) -> None:
        await self.add_function(function)

    async def remove_function(self, functionid: str) -> None:
        await self._run("DELETE FROM functions WHERE functionid = %s", (functionid,))

    # --- logs

    async def add_log(self, log: Log) -> None:
        await self._run(
            "INSERT INTO logs (processid, colonyname, executorname, ts, message) "
            "VALUES (%s, %s, %s, %s, %s)",
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
            where, args = "processid = %s AND ts > %s", [processid, since]
        else:
            where, args = (
                "colonyname = %s AND executorname = %s AND ts > %s",
                [colonyname, executorname, since],
            )
        order = "DESC" if latest else "ASC"
        rows = await self._all(
            f"SELECT * FROM logs WHERE {where} ORDER BY ts {order}, seq {order} LIMIT %s",
            (*args, count),
        )
        logs = [_log(r) for r in rows]
        return logs[::-1] if latest else logs

    async def search_logs(self, colonyname: str, text: str, since: int, count: int) -> list[Log]:
        rows = await self._all(
            "SELECT * FROM logs WHERE colonyname = %s AND ts > %s AND strpos(message, %s) > 0 "
            "ORDER BY ts, seq LIMIT %s",
            (colonyname, since, text, count),
        )
        return [_log(r) for r in rows]

    # --- crons and generators

    async def add_cron(self, cron: Cron) -> None:
        try:
            await self._run(
                "INSERT INTO crons (cronid, colonyname, name, nextrun, lastrun, "
                "prevprocessgraphid, doc) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"Cron with name <{cron.name}> in Colony <{cron.colonyname}> already exists"
            ) from None

    async def get_cron(self, cronid: str) -> Cron | None:
        row = await self._one("SELECT * FROM crons WHERE cronid = %s", (cronid,))
        return _cron(row) if row else None

    async def get_crons(self, colonyname: str, count: int) -> list[Cron]:
        rows = await self._all(
            "SELECT * FROM crons WHERE colonyname = %s ORDER BY seq LIMIT %s", (colonyname, count)
        )
        return [_cron(r) for r in rows]

    async def remove_cron(self, cronid: str) -> None:
        await self._run("DELETE FROM crons WHERE cronid = %s", (cronid,))

    async def advance_cron(
        self,
        cronid: str,
        *,
        expected_nextrun: int,
        nextrun: int,
        lastrun: int | None = None,
        prevprocessgraphid: str | None = None,
    ) -> bool:
        row = await self._one(
            "UPDATE crons SET nextrun = %s, lastrun = coalesce(%s::bigint, lastrun), "
            "prevprocessgraphid = coalesce(%s::text, prevprocessgraphid) "
            "WHERE cronid = %s AND nextrun = %s RETURNING cronid",
            (nextrun, lastrun, prevprocessgraphid, cronid, expected_nextrun),
        )
        return row is not None

    async def due_crons(self, now: int, limit: int) -> list[Cron]:
        rows = await self._all(
            "SELECT * FROM crons WHERE nextrun < %s ORDER BY nextrun LIMIT %s", (now, limit)
        )
        return [_cron(r) for r in rows]

    async def add_generator(self, generator: Generator) -> None:
        try:
            await self._run(
                "INSERT INTO generators (generatorid, colonyname, name, firstpack, lastrun, doc) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    generator.generatorid,
                    generator.colonyname,
                    generator.name,
                    parse_ns(generator.firstpack),
                    parse_ns(generator.lastrun),
                    _dumps(generator.to_dict()),
                ),
            )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"Generator with name <{generator.name}> in Colony <{generator.colonyname}> "
                "already exists"
            ) from None

    async def get_generator(self, generatorid: str) -> Generator | None:
        row = await self._one("SELECT * FROM generators WHERE generatorid = %s", (generatorid,))
        return _generator(row) if row else None

    async def get_generator_by_name(self, colonyname: str, name: str) -> Generator | None:
        row = await self._one(
            "SELECT * FROM generators WHERE colonyname = %s AND name = %s", (colonyname, name)
        )
        return _generator(row) if row else None

    async def get_generators(self, colonyname: str, count: int) -> list[Generator]:
        rows = await self._all(
            "SELECT * FROM generators WHERE colonyname = %s ORDER BY seq LIMIT %s",
            (colonyname, count),
        )
        return [_generator(r) for r in rows]

    async def remove_generator(self, generatorid: str) -> None:
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM generators WHERE generatorid = %s", (generatorid,))
            await conn.execute("DELETE FROM generatorargs WHERE generatorid = %s", (generatorid,))

    async def pack_generator_arg(self, generatorid: str, arg: str, now: int) -> bool:
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            # The row lock orders this with a concurrent removal: no arg outlives its generator.
            cur = await conn.execute(
                "UPDATE generators SET firstpack = CASE WHEN firstpack = 0 THEN %s "
                "ELSE firstpack END WHERE generatorid = %s RETURNING generatorid",
                (now, generatorid),
            )
            if await cur.fetchone() is None:
                return False
            await conn.execute(
                "INSERT INTO generatorargs (argid, generatorid, arg, added) "
                "VALUES (%s, %s, %s, %s)",
                (uuid.uuid4().hex, generatorid, arg, now),
            )
        return True

    async def generator_args(self, generatorid: str, limit: int) -> list[tuple[str, str]]:
        rows = await self._all(
            "SELECT argid, arg FROM generatorargs WHERE generatorid = %s ORDER BY seq LIMIT %s",
            (generatorid, limit),
        )
        return [(r["argid"], r["arg"]) for r in rows]

    async def count_generator_args(self, generatorid: str) -> int:
        row = await self._one(
            "SELECT count(*) AS n FROM generatorargs WHERE generatorid = %s", (generatorid,)
        )
        return int(row["n"]) if row else 0

    async def pending_generators(self, limit: int) -> list[Generator]:
        rows = await self._all(
            "SELECT * FROM generators WHERE generatorid IN "
            "(SELECT DISTINCT generatorid FROM generatorargs) ORDER BY seq LIMIT %s",
            (limit,),
        )
        return [_generator(r) for r in rows]

    async def consume_generator_args(
        self, generatorid: str, argids: list[str], lastrun: int
    ) -> list[str]:
        if not argids:
            return []
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "DELETE FROM generatorargs WHERE generatorid = %s AND argid = ANY (%s) "
                    "RETURNING argid, arg",
                    (generatorid, argids),
                )
                rows = await cur.fetchall()
                if len(rows) != len(set(argids)):
                    raise _Consumed  # rolls the deletes back
                await conn.execute(
                    "UPDATE generators SET lastrun = %s WHERE generatorid = %s",
                    (lastrun, generatorid),
                )
        except _Consumed:
            return []
        values = {r["argid"]: r["arg"] for r in rows}
        return [values[argid] for argid in argids]

    # --- files and snapshots (ColonyFS, spec §4.9) ---

    async def add_file(self, file: File) -> File:
        row = await self._one(
            "INSERT INTO files (fileid, colonyname, label, name, added, doc) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
            (
                file.fileid,
                file.colonyname,
                file.label,
                file.name,
                parse_ns(file.added),
                _dumps(file.to_dict()),
            ),
        )
        assert row is not None
        return _file(row)

    async def get_file(self, colonyname: str, fileid: str) -> File | None:
        row = await self._one(
            "SELECT * FROM files WHERE colonyname = %s AND fileid = %s", (colonyname, fileid)
        )
        return _file(row) if row else None

    async def get_files_by_name(
        self, colonyname: str, label: str, name: str, *, latest: bool = False
    ) -> list[File]:
        rows = await self._all(
            "SELECT * FROM files WHERE colonyname = %s AND label = %s AND name = %s "
            f"ORDER BY seq DESC{' LIMIT 1' if latest else ''}",
            (colonyname, label, name),
        )
        return [_file(r) for r in rows]

    async def _latest(self, colonyname: str, label: str) -> list[File]:
        rows = await self._all(
            "SELECT DISTINCT ON (name) * FROM files WHERE colonyname = %s AND label = %s "
            "ORDER BY name, seq DESC",
            (colonyname, label),
        )
        return sorted((_file(r) for r in rows), key=lambda f: f.name)

    async def get_file_data(self, colonyname: str, label: str) -> list[FileData]:
        return [
            FileData(f.name, f.checksum, f.size, f.ref.s3object.object)
            for f in await self._latest(colonyname, label)
        ]

    async def get_file_labels(
        self, colonyname: str, prefix: str = "", *, exact: bool = False
    ) -> list[Label]:
        rows = await self._all(
            "SELECT label, count(*) AS n FROM files WHERE colonyname = %s "
            'GROUP BY label ORDER BY label COLLATE "C"',
            (colonyname,),
        )
        return [Label(r["label"], r["n"]) for r in rows if label_matches(r["label"], prefix, exact)]

    async def remove_file(self, colonyname: str, fileid: str) -> None:
        await self._run(
            "DELETE FROM files WHERE colonyname = %s AND fileid = %s", (colonyname, fileid)
        )

    async def remove_files_by_name(self, colonyname: str, label: str, name: str) -> None:
        await self._run(
            "DELETE FROM files WHERE colonyname = %s AND label = %s AND name = %s",
            (colonyname, label, name),
        )

    async def create_snapshot(self, snapshot: Snapshot) -> Snapshot:
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "SELECT DISTINCT ON (label, name) label, name, fileid FROM files "
                    "WHERE colonyname = %s ORDER BY label, name, seq DESC",
                    (snapshot.colonyname,),
                )
                rows = await cur.fetchall()
                snapshot.fileids = [
                    r["fileid"]
                    for r in sorted(rows, key=lambda r: (r["label"], r["name"]))
                    if label_matches(r["label"], snapshot.label, True)
                ]
                await conn.execute(
                    "INSERT INTO snapshots (snapshotid, colonyname, label, name, added, fileids) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        snapshot.snapshotid,
                        snapshot.colonyname,
                        snapshot.label,
                        snapshot.name,
                        parse_ns(snapshot.added),
                        _dumps(snapshot.fileids),
                    ),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"Snapshot with name <{snapshot.name}> in Colony <{snapshot.colonyname}> "
                "already exists"
            ) from None
        return snapshot

    async def get_snapshot(self, colonyname: str, snapshotid: str) -> Snapshot | None:
        row = await self._one(
            "SELECT * FROM snapshots WHERE colonyname = %s AND snapshotid = %s",
            (colonyname, snapshotid),
        )
        return _snapshot(row) if row else None

    async def get_snapshot_by_name(self, colonyname: str, name: str) -> Snapshot | None:
        row = await self._one(
            "SELECT * FROM snapshots WHERE colonyname = %s AND name = %s", (colonyname, name)
        )
        return _snapshot(row) if row else None

    async def get_snapshots(self, colonyname: str) -> list[Snapshot]:
        rows = await self._all(
            "SELECT * FROM snapshots WHERE colonyname = %s ORDER BY added DESC, seq DESC",
            (colonyname,),
        )
        return [_snapshot(r) for r in rows]

    async def remove_snapshot(self, colonyname: str, snapshotid: str) -> None:
        await self._run(
            "DELETE FROM snapshots WHERE colonyname = %s AND snapshotid = %s",
            (colonyname, snapshotid),
        )

    async def remove_snapshot_by_name(self, colonyname: str, name: str) -> None:
        await self._run(
            "DELETE FROM snapshots WHERE colonyname = %s AND name = %s", (colonyname, name)
        )

    async def remove_snapshots(self, colonyname: str) -> None:
        await self._run("DELETE FROM snapshots WHERE colonyname = %s", (colonyname,))

    # --- blueprints (spec §4.11) ---

    async def add_blueprint_definition(self, definition: BlueprintDefinition) -> None:
        try:
            await self._run(
                "INSERT INTO blueprintdefinitions (definitionid, colonyname, name, kind, doc) "
                "VALUES (%s, %s, %s, %s, %s)",
                (
                    definition.blueprintdefinitionid,
                    definition.metadata.colonyname,
                    definition.metadata.name,
                    definition.spec.names.kind,
                    _dumps(definition.to_dict()),
                ),
            )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"BlueprintDefinition with name '{definition.metadata.name}' already exists "
                f"in colony '{definition.metadata.colonyname}' (duplicate key)"
            ) from None

    async def get_blueprint_definition(
        self, colonyname: str, name: str
    ) -> BlueprintDefinition | None:
        row = await self._one(
            "SELECT doc FROM blueprintdefinitions WHERE colonyname = %s AND name = %s",
            (colonyname, name),
        )
        return BlueprintDefinition.from_dict(json.loads(row["doc"])) if row else None

    async def get_blueprint_definitions(self, colonyname: str) -> list[BlueprintDefinition]:
        rows = await self._all(
            "SELECT doc FROM blueprintdefinitions WHERE colonyname = %s ORDER BY name, seq",
            (colonyname,),
        )
        return [BlueprintDefinition.from_dict(json.loads(r["doc"])) for r in rows]

    async def get_blueprint_definition_by_kind(
        self, colonyname: str, kind: str
    ) -> BlueprintDefinition | None:
        row = await self._one(
            "SELECT doc FROM blueprintdefinitions WHERE colonyname = %s AND kind = %s "
            "ORDER BY name, seq LIMIT 1",
            (colonyname, kind),
        )
        return BlueprintDefinition.from_dict(json.loads(row["doc"])) if row else None

    async def remove_blueprint_definition(self, colonyname: str, name: str) -> None:
        await self._run(
            "DELETE FROM blueprintdefinitions WHERE colonyname = %s AND name = %s",
            (colonyname, name),
        )

    _ADD_HISTORY = (
        "INSERT INTO blueprint_history (historyid, blueprintid, colonyname, doc) "
        "VALUES (%s, %s, %s, %s)"
    )

    @staticmethod
    def _history_row(history: BlueprintHistory) -> tuple[str, str, str, str]:
        return (
            history.historyid,
            history.blueprintid,
            history.namespace,
            _dumps(history.to_dict()),
        )

    @staticmethod
    def _blueprint_row(blueprint: Blueprint) -> tuple[str, str, str, str, str, str]:
        meta = blueprint.metadata
        return (
            meta.colonyname,
            meta.name,
            blueprint.kind,
            meta.locationname,
            _dumps(blueprint.status),
            _dumps(blueprint.to_dict()),
        )

    async def add_blueprint(self, blueprint: Blueprint, history: BlueprintHistory) -> None:
        meta = blueprint.metadata
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO blueprints (colonyname, name, kind, locationname, status, doc, "
                    "blueprintid) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (*self._blueprint_row(blueprint), blueprint.blueprintid),
                )
                await conn.execute(self._ADD_HISTORY.encode(), self._history_row(history))
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"blueprint with name '{meta.name}' already exists in colony '{meta.colonyname}'"
            ) from None

    @staticmethod
    def _blueprint(row: DictRow) -> Blueprint:
        blueprint = Blueprint.from_dict(json.loads(row["doc"]))
        blueprint.status = json.loads(row["status"])
        return blueprint

    async def get_blueprint(self, colonyname: str, name: str) -> Blueprint | None:
        row = await self._one(
            "SELECT status, doc FROM blueprints WHERE colonyname = %s AND name = %s",
            (colonyname, name),
        )
        return self._blueprint(row) if row else None

    async def get_blueprint_by_id(self, blueprintid: str) -> Blueprint | None:
        row = await self._one(
            "SELECT status, doc FROM blueprints WHERE blueprintid = %s", (blueprintid,)
        )
        return self._blueprint(row) if row else None

    async def get_blueprints(
        self, colonyname: str, kind: str = "", locationname: str = ""
    ) -> list[Blueprint]:
        query, args = "SELECT status, doc FROM blueprints WHERE colonyname = %s", [colonyname]
        if kind:
            query += " AND kind = %s"
            args.append(kind)
            if locationname:
                query += " AND lower(locationname) = lower(%s)"
                args.append(locationname)
        rows = await self._all(query + " ORDER BY name", args)
        return [self._blueprint(r) for r in rows]

    async def update_blueprint(
        self, blueprint: Blueprint, history: BlueprintHistory | None = None
    ) -> bool:
        meta = blueprint.metadata
        pool = await self._get_pool()
        try:
            async with pool.connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "UPDATE blueprints SET colonyname = %s, name = %s, kind = %s, "
                    "locationname = %s, status = %s, doc = %s WHERE blueprintid = %s",
                    (*self._blueprint_row(blueprint), blueprint.blueprintid),
                )
                if cur.rowcount != 1:
                    return False
                if history is not None:
                    await conn.execute(self._ADD_HISTORY.encode(), self._history_row(history))
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(
                f"blueprint with name '{meta.name}' already exists in colony '{meta.colonyname}'"
            ) from None
        return True

    async def update_blueprint_status(self, blueprintid: str, status: dict[str, Any]) -> bool:
        row = await self._one(
            "UPDATE blueprints SET status = %s WHERE blueprintid = %s RETURNING blueprintid",
            (_dumps(status), blueprintid),
        )
        return row is not None

    async def remove_blueprint(self, colonyname: str, name: str) -> None:
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM blueprint_history WHERE blueprintid IN "
                "(SELECT blueprintid FROM blueprints WHERE colonyname = %s AND name = %s)",
                (colonyname, name),
            )
            await conn.execute(
                "DELETE FROM blueprints WHERE colonyname = %s AND name = %s", (colonyname, name)
            )

    async def get_blueprint_history(self, blueprintid: str, limit: int) -> list[BlueprintHistory]:
        rows = await self._all(
            "SELECT doc FROM blueprint_history WHERE blueprintid = %s ORDER BY seq DESC LIMIT %s",
            (blueprintid, limit if limit > 0 else None),
        )
        return [BlueprintHistory.from_dict(json.loads(r["doc"])) for r in rows]

    # --- channels (spec §4.10) ---

    async def append_channel_entry(
        self, processid: str, name: str, entry: ChannelEntry, ts: int, max_entries: int
    ) -> int | None:
        pool = await self._get_pool()
        async with pool.connection() as conn, conn.transaction():
            # FOR KEY SHARE: a delete of the process waits for this append (and its trigger
            # then removes the entry), so no entry outlives its process.
            cur = await conn.execute(
                "SELECT 1 FROM processes WHERE processid = %s AND state < 2 FOR KEY SHARE",
                (processid,),
            )
            if await cur.fetchone() is None:
                raise LookupError(f"process {processid} is not running or waiting")
            cur = await conn.execute(
                "INSERT INTO channels AS c (processid, name, size) VALUES (%s, %s, 1) "
                "ON CONFLICT (processid, name) DO UPDATE SET size = c.size + 1 "
                "WHERE c.size < %s RETURNING size",
                (processid, name, max_entries),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            idx = int(row["size"]) - 1
            await conn.execute(
                "INSERT INTO channel_entries (processid, name, idx, sequence, inreplyto, ts, "
                "senderid, payload, type) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        rows = await self._all(
            "SELECT sequence, inreplyto, ts, senderid, payload, type FROM channel_entries "
            "WHERE processid = %s AND name = %s AND idx >= %s ORDER BY idx LIMIT %s",
            (processid, name, max(after, 0), limit if limit > 0 else None),
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


def _file(row: DictRow) -> File:  # ColonyFS (spec §4.9)
    file = File.from_dict(json.loads(row["doc"]))
    file.sequencenr = row["seq"]
    file.added = format_ns(row["added"])
    return file


def _snapshot(row: DictRow) -> Snapshot:  # ColonyFS (spec §4.9)
    return Snapshot(
        snapshotid=row["snapshotid"],
        colonyname=row["colonyname"],
        label=row["label"],
        name=row["name"],
        fileids=json.loads(row["fileids"]),
        added=format_ns(row["added"]),
    )


class _Consumed(Exception):
    """Some of the args to consume were taken meanwhile: undo the transaction."""


def _cron(row: DictRow) -> Cron:
    cron = Cron.from_dict(json.loads(row["doc"]))
    cron.nextrun = format_ns(row["nextrun"])
    cron.lastrun = format_ns(row["lastrun"])
    cron.prevprocessgraphid = row["prevprocessgraphid"]
    return cron


def _generator(row: DictRow) -> Generator:
    generator = Generator.from_dict(json.loads(row["doc"]))
    generator.firstpack = format_ns(row["firstpack"])
    generator.lastrun = format_ns(row["lastrun"])
    return generator


# Insert or replace an attribute; a replaced one moves last (as SQLite's new rowid).
_UPSERT_ATTRIBUTE = (
    "INSERT INTO attributes (attributeid, targetid, doc) VALUES (%s, %s, %s) "
    "ON CONFLICT (attributeid) DO UPDATE SET seq = excluded.seq, "
    "targetid = excluded.targetid, doc = excluded.doc"
)


def _upsert_attribute(attribute: Attribute) -> tuple[str, tuple[str, str, str]]:
    """``_UPSERT_ATTRIBUTE`` with its arguments for this attribute."""
    return (
        _UPSERT_ATTRIBUTE,
        (attribute.attributeid, attribute.targetid, _dumps(attribute.to_dict())),
    )


async def _migrate(conn: Conn) -> None:
    """Apply missing steps in one transaction under an advisory lock, so that replicas
    starting together wait for each other and each step runs once."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM schema_migrations")
        applied = {row["version"] for row in await cur.fetchall()}
        for version, step in MIGRATIONS:
            if version not in applied:
                await conn.execute(step.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                )


CONNECT_TIMEOUT = 10  # seconds: an unreachable server is reported, not waited for


def _admin_conninfo(conninfo: str) -> tuple[str, str]:
    """The maintenance database's conninfo on the same server, and the database named in
    ``conninfo``."""
    dbname = conninfo_to_dict(conninfo).get("dbname")
    if not dbname:
        raise ValueError(f"no database name in {conninfo!r}")
    return make_conninfo(conninfo, dbname="postgres"), str(dbname)


async def create_database(conninfo: str) -> bool:
    """Create the database named in ``conninfo`` unless it exists; whether it was created."""
    admin, dbname = _admin_conninfo(conninfo)
    async with await psycopg.AsyncConnection.connect(
        admin, autocommit=True, connect_timeout=CONNECT_TIMEOUT
    ) as conn:
        cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if await cur.fetchone():
            return False
        try:
            await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:  # another replica created it meanwhile
            return False
    return True


async def drop_database(conninfo: str) -> bool:
    """Drop the database named in ``conninfo`` (closing its connections); whether it existed."""
    admin, dbname = _admin_conninfo(conninfo)
    async with await psycopg.AsyncConnection.connect(
        admin, autocommit=True, connect_timeout=CONNECT_TIMEOUT
    ) as conn:
        cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if not await cur.fetchone():
            return False
        await conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
    return True
