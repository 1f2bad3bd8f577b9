"""Shared fixtures: a real server on a random loopback port with a fresh SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner, Result

from colonies import crypto
from colonies.model import Colony, Executor, ExecutorState
from colonies.server import ServerConfig, create_app
from colonies.store import Store
from colonies.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[1]
# Facts copied from the ColonyOS spec (keys, ids, signatures, request bodies): the tests stand on
# their own in a fresh clone. Only tests/interop reads ../shared (the Go reference).
VECTORS_PATH = Path(__file__).resolve().parent / "data" / "crypto-vectors.json"
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
# Without the networking flags Chromium tries to reach Google's hosts on this closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def static_site(site: Path) -> Iterator[str]:
    """A built static site (``colonies wasm build``) on its own loopback origin
    (``python -m http.server``), the way a user would host it; yields its URL."""
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(
        [*argv, "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(url + "/config.json")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Identity:
    prvkey: str

    @property
    def id(self) -> str:
        return crypto.id_from_private_key(self.prvkey)


@dataclass
class LiveServer:
    """A running server plus the keys of its owner, one colony and one member user."""

    url: str
    host: str
    port: int
    server: Identity
    colony: Identity
    colonyname: str
    app: object
    database: str = ""  # the SQLite file or PostgreSQL URL the server runs on

    @property
    def ctx(self):  # type: ignore[no-untyped-def]
        return self.app.state.ctx  # type: ignore[attr-defined]


class PromptServer(uvicorn.Server):
    """uvicorn whose main loop wakes as soon as it is told to stop, not on its next 0.1 s tick
    (a test suite stops thousands of servers)."""

    loop: asyncio.AbstractEventLoop | None = None
    woken: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self.loop, self.woken = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), 0.1)

    def stop_soon(self) -> None:
        self.should_exit = True
        if self.loop is not None and self.woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self.loop.call_soon_threadsafe(self.woken.set)


class ServerThread:
    """uvicorn in a background thread: real HTTP and WebSocket on 127.0.0.1."""

    def __init__(self, app: object, port: int) -> None:
        self.server = PromptServer(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",  # type: ignore[arg-type]
                timeout_graceful_shutdown=1,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop serving; ``keep_data`` (for a restart on the same data) matters only where the
        data would go with the server (``PostgresServerThread``)."""
        self.server.stop_soon()
        self.thread.join(10)


class PostgresServerThread(ServerThread):
    """A server on a database of its own, dropped when the server has stopped (unless it is
    kept for a restart: then the restarted server's thread drops it)."""

    def __init__(self, app: object, port: int, cleanup: Callable[[], None]) -> None:
        super().__init__(app, port)
        self.cleanup = cleanup

    def stop(self, *, keep_data: bool = False) -> None:
        super().stop()
        if not keep_data:
            self.cleanup()


def store_kind() -> str:
    """Which store the server-level tests run on: ``sqlite`` or ``postgres``."""
    return os.environ.get("COLONIES_TEST_STORE", "sqlite")


def start_server(db: Path | str, **config: object) -> tuple[LiveServer, ServerThread]:
    """A server on a fresh store: SQLite at ``db``, or with ``COLONIES_TEST_STORE=postgres`` a
    fresh PostgreSQL database (``tests/pg.py``; ``db`` unused), seeded with colony ``dev``."""
    server_key, colony_key = (
        Identity(crypto.generate_private_key()),
        Identity(crypto.generate_private_key()),
    )
    colony = Colony(colonyid=colony_key.id, name="dev")
    port = free_port()
    store: Store
    cleanup = contextlib.ExitStack()
    postgres = store_kind() == "postgres"
    if postgres:
        from colonies.store.postgres import PostgresStore
        from pg import fresh_database

        url = cleanup.enter_context(fresh_database())

        async def seed() -> None:  # its own pool, closed with this loop's end
            seeder = PostgresStore(url, min_size=1, max_size=1)
            try:
                await seeder.add_colony(colony)
            finally:
                await seeder.close()

        asyncio.run(seed())
        store = PostgresStore(url)
        database = url
    else:
        store = SQLiteStore(db)
        asyncio.run(store.add_colony(colony))
        database = str(db)
    app = create_app(store, ServerConfig(server_id=server_key.id, port=port, **config))  # type: ignore[arg-type]
    thread = PostgresServerThread(app, port, cleanup.close) if postgres else ServerThread(app, port)
    try:
        thread.start()
    except BaseException:
        cleanup.close()
        raise
    live = LiveServer(
        f"http://127.0.0.1:{port}", "127.0.0.1", port, server_key, colony_key, "dev", app, database
    )
    return live, thread


def restart_server(live: LiveServer, **config: object) -> ServerThread:
    """Start the server again on the data of ``live`` (stopped with ``keep_data=True``): same
    port, keys and store; the returned thread's ``stop`` drops what ``live``'s would have."""
    from colonies.store import open_store

    app = create_app(
        open_store(live.database),
        ServerConfig(server_id=live.server.id, port=live.port, **config),  # type: ignore[arg-type]
    )
    if store_kind() == "postgres":
        from pg import drop_database

        thread: ServerThread = PostgresServerThread(
            app, live.port, lambda: drop_database(live.database)
        )
    else:
        thread = ServerThread(app, live.port)
    thread.start()
    return thread


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server, thread = start_server(tmp_path / "colonies.db", sweep_interval=0.2)
    yield server
    thread.stop()


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers with the given ``ServerConfig`` fields, stopped after the test. Async tests
    call it through ``asyncio.to_thread`` (it runs an event loop of its own to seed the store)."""
    threads: list[ServerThread] = []

    def make(**config: object) -> LiveServer:
        server, thread = start_server(tmp_path / f"configured-{len(threads)}.db", **config)
        threads.append(thread)
        return server

    yield make
    for thread in threads:
        thread.stop()


def add_executor(
    live: LiveServer, name: str, executortype: str = "test", approve: bool = True
) -> Identity:
    """Register (and approve) an executor through the real API, signed by the colony key."""
    from colonies.client import Client

    key = Identity(crypto.generate_private_key())
    with Client(live.url, live.colony.prvkey) as client:
        client.add_executor(
            Executor(
                executorid=key.id,
                executortype=executortype,
                executorname=name,
                colonyname=live.colonyname,
            )
        )
        if approve:
            client.approve_executor(live.colonyname, name)
    return key


# One TLS context for the tests' httpx calls: httpx makes one per call (~25 ms) otherwise.
TLS = httpx.create_ssl_context()


def post(live: LiveServer, body: str | bytes) -> httpx.Response:
    return httpx.post(live.url + "/api", content=body, timeout=10, verify=TLS)


class CLI:
    """Runs ``colonies`` commands in-process against the live server, configured the way a user
    would be: ``COLONIES_*`` variables for the server, the colony and all three keys, and an
    approved executor as the member key. ``env`` overrides per call (``None`` unsets).
    """

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.member = add_executor(live, "cli-member", "cli")
        self.env: dict[str, str | None] = {
            "COLONIES_SERVER_HOST": live.host,
            "COLONIES_SERVER_PORT": str(live.port),
            "COLONIES_SERVER_HTTP_PORT": None,
            "COLONIES_TLS": "false",
            "COLONIES_COLONY_NAME": live.colonyname,
            "COLONIES_PRVKEY": self.member.prvkey,
            "COLONIES_COLONY_PRVKEY": live.colony.prvkey,
            "COLONIES_SERVER_PRVKEY": live.server.prvkey,
            "COLONIES_EXECUTOR_TYPE": "wasm",
        }

    def __call__(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        from colonies.cli import app

        return CliRunner().invoke(app, list(args), input=input, env={**self.env, **env})


@pytest.fixture
def cli(live: LiveServer) -> CLI:
    return CLI(live)


def assert_error(result: Result, *fragments: str) -> str:
    """A failed command: non-zero exit, one "Error:" line on stderr (after any progress line),
    no traceback; returns that line."""
    assert result.exit_code != 0, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error: "), result.stderr
    assert not any(line.startswith("Error: ") for line in lines[:-1]), result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
    return lines[-1]


__all__ = [
    "CLI",
    "ExecutorState",
    "Identity",
    "LiveServer",
    "add_executor",
    "assert_error",
    "free_port",
    "post",
    "static_site",
]
