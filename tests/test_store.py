"""What is SQLite's own in the SQLite store: its file, its connection, its counters' migration.

Every method's contract, which PostgreSQL must meet too, is in ``test_store_contract.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from colonies.model import Colony, Conditions, Executor, FunctionSpec, Process, ProcessState
from colonies.store.base import AlreadyExists, WriteCancelled
from colonies.store.sqlite import SQLiteStore


def process(i: int) -> Process:
    return Process(
        processid=f"{i:064x}",
        prioritytime=i,
        spec=FunctionSpec(funcname="f", conditions=Conditions(colonyname="dev", executortype="t")),
    )


def counted(db: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(db) as raw:
        return sorted(
            raw.execute(
                "SELECT colonyname, state, count(*) FROM processes GROUP BY 1, 2"
            ).fetchall()
        )


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


async def test_settings_of_the_connection(tmp_path: Path) -> None:
    """WAL with synchronous=NORMAL (a commit survives a killed server), and usable from another
    thread than the one that opened it (the tests' and uvicorn's threads both use one store)."""
    store = SQLiteStore(tmp_path / "s.db")
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    colony = await asyncio.to_thread(lambda: asyncio.run(store.get_colony("dev")))
    assert colony is not None and colony.name == "dev"
    await store.close()
    full = SQLiteStore(tmp_path / "s.db", synchronous="FULL")
    assert full._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    await full.close()


async def test_a_commit_survives_the_server_being_killed(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    writer = (
        "import asyncio, os, signal, sys\n"
        "from colonies.model import Colony\n"
        "from colonies.store.sqlite import SQLiteStore\n"
        "store = SQLiteStore(sys.argv[1])\n"
        "asyncio.run(store.add_colony(Colony(colonyid='a' * 64, name='dev')))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"  # no close, no checkpoint
    )
    killed = subprocess.run([sys.executable, "-c", writer, str(db)], timeout=60)
    assert killed.returncode == -9
    reopened = SQLiteStore(db)
    assert await reopened.get_colony("dev") == Colony(colonyid="a" * 64, name="dev")
    await reopened.close()


async def test_stores_in_memory_are_each_their_own() -> None:
    store, other = SQLiteStore(":memory:"), SQLiteStore(":memory:")
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    assert [c.name for c in await store.get_colonies()] == ["dev"]
    assert await other.get_colonies() == []
    await store.close()
    await other.close()


# --- group commit: the process writes of one event-loop turn share one transaction


def committed_ids(db: Path) -> set[str]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(db) as raw:
        return {row[0] for row in raw.execute("SELECT processid FROM processes")}


async def test_writes_of_one_loop_turn_share_one_commit_and_are_committed_on_return(
    tmp_path: Path,
) -> None:
    db = tmp_path / "g.db"
    store = SQLiteStore(db)
    commits: list[str] = []
    store._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    await asyncio.gather(*(store.add_process(process(i), cpu=0, memory=0) for i in range(8)))
    assert len(commits) == 1
    assert committed_ids(db) == {process(i).processid for i in range(8)}
    await store.close()


async def test_a_failed_write_in_a_batch_fails_alone(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    store = SQLiteStore(db)
    await store.add_process(process(1), cpu=0, memory=0)
    results = await asyncio.gather(
        store.add_process(process(0), cpu=0, memory=0),
        store.add_process(process(1), cpu=0, memory=0),  # a duplicate ID
        store.add_process(process(2), cpu=0, memory=0),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], AlreadyExists)
    assert committed_ids(db) == {process(i).processid for i in range(3)}
    await store.close()


async def test_another_write_commits_the_open_batch_first(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    store = SQLiteStore(db)
    writing = asyncio.create_task(store.add_process(process(0), cpu=0, memory=0))
    await asyncio.sleep(0)  # the insert ran; its commit is pending
    assert committed_ids(db) == set()
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))  # its own transaction
    assert committed_ids(db) == {process(0).processid}
    await writing
    await store.close()


async def test_a_claim_cancelled_while_committing_stands_and_says_so(tmp_path: Path) -> None:
    """A long-poll cancelled in that moment learns which process it claimed (to give it back)."""
    db = tmp_path / "g.db"
    store = SQLiteStore(db)
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    executor = Executor(
        executorid="e" * 64, executortype="t", executorname="x", colonyname="dev", state=1
    )
    await store.add_executor(executor)
    await store.add_process(process(0), cpu=0, memory=0)
    claim = asyncio.create_task(store.assign(executor, 1, cpu=10**9, memory=10**12))
    await asyncio.sleep(0)  # claimed; the commit is pending
    claim.cancel()
    with pytest.raises(WriteCancelled) as raised:
        await claim
    assert raised.value.processid == process(0).processid
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT state FROM processes").fetchone()[0] == ProcessState.RUNNING
    await store.close()
