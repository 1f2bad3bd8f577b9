"""What only the PostgreSQL store has: migrations under concurrent replicas, a pool that follows
the event loop, SKIP LOCKED claims under many claimers, the plan of ``assign``, creating and
dropping the database, and the CLI and server start on it. The behaviour shared with SQLite is
in test_store_contract.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from colonies.model import Colony, Conditions, Executor, ExecutorState, FunctionSpec, Process
from colonies.server.runner import DatabaseSettings, open_server_store
from colonies.store import open_store
from colonies.store.postgres import (
    ASSIGN,
    MIGRATIONS,
    SCHEMA_VERSION,
    PostgresStore,
    create_database,
    drop_database,
)
from colonies.store.sqlite import SQLiteStore
from conftest import assert_error
from pg import ADMIN_URL, database_url, fresh_database

NS = 10**9


def unique_name() -> str:
    return f"colonies_test_{uuid.uuid4().hex[:12]}"


def make(i: int, executortype: str = "t") -> Process:
    return Process(
        processid=f"{i:064x}",
        prioritytime=i,
        spec=FunctionSpec(funcname="f", conditions=Conditions("dev", executortype=executortype)),
    )


def executor(i: int) -> Executor:
    return Executor(
        executorid=f"{i:064x}",
        executorname=f"e{i}",
        executortype="t",
        colonyname="dev",
        state=ExecutorState.APPROVED,
    )


@pytest.fixture
async def url() -> AsyncIterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(url)
    await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
    yield store
    await store.close()


async def rows(url: str, query: str) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        cur = await conn.execute(query.encode())
        return await cur.fetchall()


# --- migrations and the pool


async def test_replicas_starting_together_apply_each_migration_once(url: str) -> None:
    replicas = [PostgresStore(url, min_size=1) for _ in range(4)]
    await asyncio.gather(*(r.get_colonies() for r in replicas))  # each migrates on first use
    applied = await rows(url, "SELECT version, applied_at FROM schema_migrations ORDER BY 1")
    assert [r["version"] for r in applied] == [v for v, _ in MIGRATIONS]
    assert applied[-1]["version"] == SCHEMA_VERSION
    await replicas[0].migrate()  # again: nothing to do
    late = PostgresStore(url)
    await late.migrate()
    await late.close()
    assert await rows(url, "SELECT version, applied_at FROM schema_migrations ORDER BY 1") == (
        applied
    )
    for replica in replicas:
        await replica.close()


def test_a_closed_store_opens_again_in_another_loop_and_thread() -> None:
    """The test servers seed a store in one ``asyncio.run`` and serve it in a thread's loop."""
    with fresh_database() as url:
        store = PostgresStore(url)

        async def seed() -> None:
            await store.add_colony(Colony(colonyid="a" * 64, name="dev"))
            await store.close()

        asyncio.run(seed())  # built outside any loop, opened lazily inside this one
        found: list[Colony | None] = []

        def serve() -> None:
            async def read() -> None:
                found.append(await store.get_colony("dev"))
                await store.close()

            asyncio.run(read())

        thread = threading.Thread(target=serve)
        thread.start()
        thread.join(30)
        assert found == [Colony(colonyid="a" * 64, name="dev")]


# --- assign


async def test_fifty_claimers_take_five_thousand_processes_each_exactly_once(url: str) -> None:
    seeder = PostgresStore(url, min_size=1, max_size=4)
    await seeder.add_colony(Colony(colonyid="a" * 64, name="dev"))
    executors = [executor(i) for i in range(50)]
    for e in executors:
        await seeder.add_executor(e)
    total = 5000
    await asyncio.gather(
        *(
            asyncio.gather(
                *(seeder.add_process(make(i), cpu=0, memory=0) for i in range(k, total, 4))
            )
            for k in range(4)
        )
    )
    await seeder.close()
    store = PostgresStore(url, min_size=50, max_size=50)  # 50 statements in flight at once
    claimed: list[list[str]] = [[] for _ in executors]

    async def claimer(k: int) -> None:
        while process := await store.assign(executors[k], NS, cpu=1000, memory=10**9):
            assert process.assignedexecutorid == executors[k].executorid
            claimed[k].append(process.processid)

    await asyncio.gather(*(claimer(k) for k in range(50)))
    everything = [p for ids in claimed for p in ids]
    assert len(everything) == total and len(set(everything)) == total
    assert sum(1 for ids in claimed if ids) > 1  # the claims were spread, not serialised
    counts = await store.count_processes("dev")
    assert (counts.waiting, counts.running) == (0, total)
    await store.close()


async def test_assign_plans_on_the_partial_index_over_many_waiting_rows(
    store: PostgresStore, url: str
) -> None:
    e = executor(1)
    await store.add_executor(e)
    await store.add_process(make(0), cpu=0, memory=0)  # a row in the application's format
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO processes SELECT lpad(to_hex(i), 64, '0'), 'dev', "
            "CASE WHEN i % 10 = 0 THEN 't' ELSE 'other' END, '{}', '', '', '', '', "
            "CASE WHEN i % 3 = 0 THEN 0 ELSE 2 END, false, '', i, i, 0, 0, 0, 0, 0, 0, 0, 0, "
            "0, '', false, '[]', '[]', spec, 'null', '[]', '[]' "
            "FROM generate_series(1, 300000) AS i, (SELECT spec FROM processes LIMIT 1) AS s"
        )
        await conn.execute("ANALYZE processes")
        waiting = await (
            await conn.execute("SELECT count(*) FROM processes WHERE state = 0")
        ).fetchone()
        assert waiting is not None and waiting[0] >= 100_000
        cur = await conn.execute(
            ("EXPLAIN (FORMAT JSON) " + ASSIGN).encode(),
            (e.executorid, NS, NS, NS, "dev", "t", 1000, 10**9, "e1", "", "dev", e.executorid),
        )
        found = await cur.fetchone()
    assert found is not None
    plan = json.dumps(found[0])
    assert '"Index Name": "processes_assign"' in plan, plan
    assert '"Node Type": "LockRows"' in plan and "Seq Scan" not in plan, plan
    claimed = await store.assign(e, NS, cpu=1000, memory=10**9)
    assert claimed is not None and claimed.processid == f"{0:064x}"


async def test_a_removal_in_progress_holds_back_assign_until_it_commits(
    store: PostgresStore, url: str
) -> None:
    """The executor row lock makes assign wait for a removal (or rejection) in flight, then see
    the executor gone: nothing is claimed that no one would re-queue."""
    e = executor(1)
    await store.add_executor(e)
    await store.add_process(make(1), cpu=0, memory=0)
    async with await psycopg.AsyncConnection.connect(url) as remover:
        await remover.execute("SELECT 1 FROM executors WHERE executorname = 'e1' FOR UPDATE")
        await remover.execute("UPDATE executors SET state = 3 WHERE executorname = 'e1'")
        claim = asyncio.ensure_future(store.assign(e, NS, cpu=1000, memory=10**9))
        await asyncio.sleep(0.3)
        assert not claim.done()
        await remover.commit()
        assert await asyncio.wait_for(claim, 10) is None
    assert (await store.count_processes("dev")).waiting == 1


async def test_a_removal_waits_for_a_claim_in_flight_and_requeues_it(
    store: PostgresStore, url: str
) -> None:
    e = executor(1)
    await store.add_executor(e)
    await store.add_process(make(1), cpu=0, memory=0)
    async with await psycopg.AsyncConnection.connect(url) as claimer:
        await claimer.execute(  # an assign that has locked the executor and not yet committed
            "SELECT 1 FROM executors WHERE executorname = 'e1' FOR KEY SHARE"
        )
        await claimer.execute(
            "UPDATE processes SET state = 1, isassigned = true, assignedexecutorid = %s",
            (e.executorid,),
        )
        removal = asyncio.ensure_future(store.unregister_executor("dev", "e1", NS))
        await asyncio.sleep(0.3)
        assert not removal.done()
        await claimer.commit()
        assert await asyncio.wait_for(removal, 10) == [f"{1:064x}"]
    counts = await store.count_processes("dev")
    assert (counts.waiting, counts.running) == (1, 0)


# --- the database itself


async def test_create_and_drop_the_database() -> None:
    target = database_url(unique_name())
    try:
        assert await create_database(target) is True
        assert await create_database(target) is False
        store = PostgresStore(target)
        await store.add_colony(Colony(colonyid="a" * 64, name="dev"))  # left open: FORCE
        assert await drop_database(target) is True
        assert await drop_database(target) is False
        await store.close()
    finally:
        await drop_database(target)


async def test_a_name_that_needs_quoting() -> None:
    target = database_url('colonies test "quoted"').replace(" ", "%20").replace('"', "%22")
    try:
        assert await create_database(target) is True
        store = PostgresStore(target)
        assert await store.get_colonies() == []
        await store.close()
    finally:
        assert await drop_database(target) is True


def test_open_store_dispatches_on_the_url(tmp_path: Path) -> None:
    assert isinstance(open_store("postgresql://u@h/db"), PostgresStore)
    assert isinstance(open_store("postgres://u@h/db"), PostgresStore)
    assert open_store("postgres://u@h/db").conninfo == "postgres://u@h/db"  # type: ignore[attr-defined]
    assert isinstance(open_store(tmp_path / "a.db"), SQLiteStore)
    assert isinstance(open_store(str(tmp_path / "b.db")), SQLiteStore)


def test_sqlite_users_do_not_load_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys; from colonies.store import open_store; "
        f"open_store({str(tmp_path / 'c.db')!r}); print('psycopg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- configuration, CLI and server start


def test_the_go_server_variables_select_postgresql() -> None:
    env = {
        "COLONIES_DB_HOST": "db.example",
        "COLONIES_DB_PORT": "6543",
        "COLONIES_DB_USER": "postgres",
        "COLONIES_DB_PASSWORD": "p@ss/word",
    }
    assert DatabaseSettings.from_env(env).postgres_url() == (
        "postgresql://postgres:p%40ss%2Fword@db.example:6543/colonies"
    )
    assert DatabaseSettings.from_env({**env, "COLONIES_DB_NAME": "x"}).postgres_url() == (
        "postgresql://postgres:p%40ss%2Fword@db.example:6543/x"
    )
    url = "postgresql://u@h/d"
    assert DatabaseSettings.from_env({**env, "COLONIES_DATABASE_URL": url}).postgres_url() == url
    assert DatabaseSettings.from_env({}).postgres_url() is None  # SQLite
    assert (
        DatabaseSettings(host="::1").postgres_url() == "postgresql://postgres@[::1]:5432/colonies"
    )
    with pytest.raises(ValueError, match="COLONIES_DB_PORT"):
        DatabaseSettings.from_env({"COLONIES_DB_PORT": "x"})


def test_server_start_creates_the_database_and_its_schema(tmp_path: Path) -> None:
    host, port = ADMIN_URL.split("@", 1)[1].split("/")[0].split(":")
    name = unique_name()
    settings = DatabaseSettings(host=host, port=int(port), user="postgres", name=name)
    try:
        store, serverid = open_server_store(settings, tmp_path)
        assert isinstance(store, PostgresStore) and serverid == ""
        assert not (tmp_path / "colonies.db").exists()
        found = asyncio.run(
            rows(database_url(name), "SELECT max(version) AS v FROM schema_migrations")
        )
        assert found == [{"v": SCHEMA_VERSION}]
    finally:
        asyncio.run(drop_database(database_url(name)))


def run_cli(*args: str, **env: str | None) -> Any:
    from typer.testing import CliRunner

    from colonies.cli import app

    unset = dict.fromkeys(
        [
            "COLONIES_DATABASE_URL",
            "COLONIES_DB_HOST",
            "COLONIES_DB_PORT",
            "COLONIES_DB_USER",
            "COLONIES_DB_PASSWORD",
            "COLONIES_DB_NAME",
        ]
    )
    return CliRunner().invoke(app, list(args), env={**unset, **env})


def test_cli_database_create_and_drop() -> None:
    name = unique_name()
    target = database_url(name)
    try:
        created = run_cli("database", "create", "--database", target)
        assert created.exit_code == 0, created.stderr
        assert f"/{name} created" in created.stderr
        again = run_cli("database", "create", COLONIES_DATABASE_URL=target)
        assert again.exit_code == 0 and "exists already" in again.stderr
        host, port = ADMIN_URL.split("@", 1)[1].split("/")[0].split(":")
        dropped = run_cli("database", "drop", "--dbhost", host, "--dbport", port, "--dbname", name)
        assert dropped.exit_code == 0, dropped.stderr
        assert f"{host}:{port}/{name} dropped" in dropped.stderr
        gone = run_cli("database", "drop", "--database", target)
        assert gone.exit_code == 0 and "does not exist" in gone.stderr
    finally:
        asyncio.run(drop_database(target))


def test_cli_database_errors_are_one_line() -> None:
    down = run_cli("database", "create", "--dbhost", "127.0.0.1", "--dbport", "1")
    assert_error(down, "cannot use PostgreSQL at 127.0.0.1:1/colonies")
    assert_error(run_cli("database", "drop", "--database", "x.db"), "postgresql:// URL")


def test_server_start_on_an_unreachable_database_is_one_error_line() -> None:
    serverid = "ab" * 32
    bad = "postgresql://nobody@127.0.0.1:1/x"
    result = run_cli("server", "start", "--database", bad, "--serverid", serverid)
    assert_error(result, "cannot use PostgreSQL at 127.0.0.1:1/x")
    result = run_cli("server", "start", "--serverid", serverid, COLONIES_DB_HOST="127.0.0.1",
                     COLONIES_DB_PORT="1")  # fmt: skip
    assert_error(result, "cannot use PostgreSQL at 127.0.0.1:1/colonies")
