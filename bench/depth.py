"""Queue depth and memory: assign latency with 1k .. 1M WAITING processes in the store, and the
server's RSS at idle and with those queues.

Submitting 1M processes through the API would take most of an hour, so ``seed`` writes them
straight into the SQLite file before the server starts. It does not restate the schema: it lets
``SQLiteStore.add_process`` write one real row and copies that row's exact column layout,
varying only the process ID, the times and the spec's argument.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import time
from pathlib import Path

from bench.common import (
    COLONY,
    Keys,
    Result,
    Run,
    Server,
    colonies_server,
    latency_result,
    log,
    megabytes,
    new_executors,
    summarize,
)
from colonies import crypto
from colonies.client import AsyncClient
from colonies.model import Conditions, FunctionSpec, Process, ProcessState
from colonies.server.runner import DB_FILE
from colonies.store.sqlite import SQLiteStore
from colonies.timeutil import format_ns, now_ns

DEPTH_TYPE = "depth"
ARG = "__BENCH_ARG__"
BATCH = 50_000
SPACING_NS = 1_000_000  # seeded processes were submitted 1 ms apart, the newest just now
WARMUP = 20


def _template(initiatorid: str) -> Process:
    """A typical process as ``submitfuncspecmsg`` stores it (no env, so no attribute rows)."""
    now = now_ns()
    spec = FunctionSpec(
        funcname="compute",
        args=[ARG, 42],
        kwargs={"mode": "fast", "retries": 3},
        label="bench-depth",
        conditions=Conditions(colonyname=COLONY, executortype=DEPTH_TYPE),
    )
    return Process(
        processid=crypto.sha3_hex(ARG),
        initiatorid=initiatorid,
        initiatorname="member",
        state=ProcessState.WAITING,
        prioritytime=now,
        submissiontime=format_ns(now),
        spec=spec,
    )


async def seed(db: Path, count: int, initiatorid: str) -> float:
    """Fill ``db`` (created with the store's schema) with ``count`` WAITING processes of type
    ``depth`` in colony ``dev``; the seconds it took. Indexes are dropped while inserting and
    rebuilt from their own SQL afterwards."""
    started = time.perf_counter()
    store = SQLiteStore(db)
    template = _template(initiatorid)
    await store.add_process(template, cpu=0, memory=0)
    await store.close()

    con = sqlite3.connect(db, isolation_level=None)
    try:
        cursor = con.execute("SELECT * FROM processes WHERE processid = ?", (template.processid,))
        row = list(cursor.fetchone())
        columns = [d[0] for d in cursor.description]
        con.execute("DELETE FROM processes WHERE processid = ?", (template.processid,))
        pid_at, prio_at, sub_at, spec_at = (
            columns.index(c) for c in ("processid", "prioritytime", "submissiontime", "spec")
        )
        spec_text = str(row[spec_at])
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'processes' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        insert = f"INSERT INTO processes VALUES ({','.join('?' * len(columns))})"
        first = now_ns() - count * SPACING_NS
        for start in range(0, count, BATCH):
            rows = []
            for i in range(start, min(count, start + BATCH)):
                values = row.copy()
                values[pid_at] = random.randbytes(32).hex()
                values[prio_at] = values[sub_at] = first + i * SPACING_NS
                values[spec_at] = spec_text.replace(ARG, f"dataset-{i:07d}")
                rows.append(values)
            con.execute("BEGIN")
            con.executemany(insert, rows)
            con.execute("COMMIT")
        for _, sql in indexes:
            con.execute(sql)
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()
    return time.perf_counter() - started


async def assign_samples(executor: AsyncClient, count: int) -> tuple[list[float], list[float]]:
    """``count`` x (assign with timeout 1, then close so the head of the queue moves): the
    assign and close round trips."""
    assigns: list[float] = []
    closes: list[float] = []
    async with asyncio.timeout(count * 5 + 30):
        for _ in range(count):
            t0 = time.perf_counter()
            process = await executor.assign(COLONY, 1)
            t1 = time.perf_counter()
            await executor.close(process.processid, ["done"])
            assigns.append(t1 - t0)
            closes.append(time.perf_counter() - t1)
    return assigns, closes


async def idle(server: Server, seconds: float) -> tuple[int, float]:
    """RSS and CPU share of the server while nobody calls it for ``seconds``."""
    with server.meter() as meter:
        await asyncio.sleep(seconds)
    return server.process.rss(), meter.window.server_share


async def colony_stats_ms(server: Server) -> float:
    """Median of 3 ``getcolonystatsmsg`` round trips (counts every process of the colony)."""
    times = []
    async with server.client() as client:
        for _ in range(3):
            t0 = time.perf_counter()
            await client.colony_statistics(COLONY)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def memory_row(params: str, rss: int, idle_share: float, seconds: float, notes: str = "") -> Result:
    return Result(
        "server memory (VmRSS)",
        params,
        megabytes(rss),
        "MiB",
        f"idle CPU {idle_share:.1%} over {seconds:.0f} s" + (f"; {notes}" if notes else ""),
        data={"rss_bytes": rss, "idle_cpu_share": idle_share},
    )


async def depth(run: Run) -> list[Result]:
    """Memory at idle on an empty store, then assign latency and memory at each depth."""
    rows = []
    idle_s = run.sizes.idle_seconds
    async with colonies_server(run, name="idle") as server, server.client() as client:
        for _ in range(run.sizes.warmup):
            await client.get_colony(COLONY)
        rss, share = await idle(server, idle_s)
        rows.append(
            memory_row("idle, empty store (after bootstrap and warm-up)", rss, share, idle_s)
        )

    count = run.sizes.depth_samples
    for n in run.sizes.depths:
        keys = Keys()
        data_dir = run.fresh_dir(f"depth-{n}")
        db = data_dir / DB_FILE
        seeded = n + count + WARMUP  # the queue never gets shorter than n while measuring
        log(f"depth: seeding {seeded:,} WAITING processes")
        seconds = await seed(db, seeded, crypto.id_from_private_key(keys.member))
        size = db.stat().st_size
        log(f"depth: seeded in {seconds:.1f} s ({megabytes(size):,.0f} MiB); measuring")
        async with colonies_server(run, data_dir, keys=keys, name=f"depth-{n}") as server:
            [key] = await new_executors(server, 1, DEPTH_TYPE)
            async with server.client(key) as executor:
                await assign_samples(executor, WARMUP)
                with server.meter() as meter:
                    assigns, closes = await assign_samples(executor, count)
            stats_ms = await colony_stats_ms(server)
            rss, share = await idle(server, idle_s)
        close = summarize(closes)
        rows.append(
            latency_result(
                "queue depth: assign latency",
                f"{n:,} WAITING, {count} x (assign timeout 1 → close)",
                assigns,
                f"close p50 {close['p50']:.2f} ms; getcolonystats {stats_ms:.0f} ms; "
                f"server started in {server.start_seconds:.1f} s; {meter.window.notes()}",
                depth=n,
                close_ms=close,
                colony_stats_ms=stats_ms,
                seed_seconds=seconds,
                db_bytes=size,
                server_start_s=server.start_seconds,
                **meter.window.data(),
            )
        )
        rows.append(
            memory_row(
                f"{n:,} WAITING processes",
                rss,
                share,
                idle_s,
                f"database {megabytes(size):,.0f} MiB, seeded in {seconds:.1f} s",
            )
        )
    return rows
