"""SQLite store details the API tests do not show: the statistics counters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from colonies.model import Colony, Conditions, Executor, ExecutorState, FunctionSpec, Process
from colonies.store.base import ProcessUpdate
from colonies.store.sqlite import SQLiteStore
from colonies.timeutil import now_ns


def process(i: int, colony: str = "dev") -> Process:
    return Process(
        processid=f"{i:064x}",
        prioritytime=i,
        spec=FunctionSpec(funcname="f", conditions=Conditions(colonyname=colony, executortype="t")),
    )


def counted(db: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(db) as raw:
        return sorted(
            raw.execute(
                "SELECT colonyname, state, count(*) FROM processes GROUP BY 1, 2"
            ).fetchall()
        )


async def test_counters_follow_every_change(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store = SQLiteStore(db)
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    for i in range(6):
        await store.add_process(process(i), cpu=0, memory=0)
    await store.add_process(process(99, "other"), cpu=0, memory=0)
    executor = Executor(
        executorid="b" * 64,
        executorname="e",
        executortype="t",
        colonyname="dev",
        state=ExecutorState.APPROVED,
    )
    first = await store.assign(executor, now_ns(), cpu=10**9, memory=10**12)
    second = await store.assign(executor, now_ns(), cpu=10**9, memory=10**12)
    assert first and second
    await store.update_process(first.processid, ProcessUpdate(state=2), states=[1])
    await store.remove_process(f"{5:064x}")
    counts = await store.count_processes("dev")
    assert (counts.waiting, counts.running, counts.successful) == (3, 1, 1)
    assert (await store.count_processes(None)).waiting == 4
    await store.remove_processes("dev", -1)
    assert (await store.count_processes("dev")).waiting == 0
    assert (await store.count_processes(None)).waiting == 1
    await store.close()


async def test_counters_are_built_for_an_older_database(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = SQLiteStore(db)
    for i in range(4):
        await store.add_process(process(i), cpu=0, memory=0)
    await store.close()
    with sqlite3.connect(db) as raw:  # as a database made before the counters existed
        raw.executescript(
            "DROP TABLE process_counts; DROP TRIGGER process_counts_insert;"
            "DROP TRIGGER process_counts_delete; DROP TRIGGER process_counts_update;"
        )
    reopened = SQLiteStore(db)
    assert (await reopened.count_processes("dev")).waiting == 4 == counted(db)[0][2]
    await reopened.close()
