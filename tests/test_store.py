"""What is SQLite's own in the SQLite store: its file, its connection, its counters' migration.

Every method's contract, which PostgreSQL must meet too, is in ``test_store_contract.py``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from colonies.model import Colony, Conditions, FunctionSpec, Process
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
