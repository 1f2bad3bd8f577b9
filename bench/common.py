"""What every scenario shares: sizes, result rows, the server under test in its own process,
identities, CPU and memory meters, and bounded load loops."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

import aiohttp
from rich.console import Console

from colonies import crypto
from colonies.client import AsyncClient, AsyncHTTPTransport, AsyncSocketTransport
from colonies.model import Colony, Conditions, Executor, FunctionSpec

# How a load generator's client sends its requests (``new_client``).
Via = Literal["api", "rpc"]
REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
COLONY = "dev"
# In-flight requests of one load generator (submitters, request floods): enough to keep a
# single-process server busy on 2 cores without turning the client into the bottleneck.
CONCURRENCY = 16
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 120.0  # a server on a 1M-process database, on a busy machine
# The PostgreSQL server of ``--store postgres`` (a database of its own per server under test).
POSTGRES_ADMIN_URL = os.environ.get(
    "COLONIES_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)

progress = Console(stderr=True, highlight=False, soft_wrap=True)


def log(message: str) -> None:
    """One progress line on stderr (stdout is for the table or the JSON)."""
    progress.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}")


# --- sizes, results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does; ``QUICK`` is the smoke run."""

    requests: int = 5000  # floor and getcolony, each
    rtt_samples: int = 500  # the same, one at a time
    submit_processes: int = 5000
    e2e_processes: int = 5000
    e2e_executors: tuple[int, ...] = (1, 10, 50)
    dispatch_samples: int = 500
    dispatch_executors: tuple[int, ...] = (1, 10, 50)
    wait_samples: int = 300
    depths: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    depth_samples: int = 300
    browser_processes: int = 2000
    browser_reloads: int = 3  # page loads after the first, for "ready" with warm caches
    large_items: int = 1_000_000  # integers in one large submit's args (~7 MB of JSON)
    large_concurrent: int = 4  # large submits in flight while /health is probed
    warmup: int = 200
    idle_seconds: float = 3.0  # memory and CPU of a server nobody calls
    quiet_patience: float = 60.0  # s to wait for other processes to calm down, per scenario
    connections: int = 10_000  # executors long-polling at once (half /api, half /rpc)
    connections_samples: int = 500  # dispatch samples while they wait
    connections_burst: int = 2000  # processes submitted at once, drained by them


FULL = Sizes()
QUICK = Sizes(
    requests=500,
    rtt_samples=100,
    submit_processes=500,
    e2e_processes=300,
    e2e_executors=(1, 10, 50),
    dispatch_samples=100,
    dispatch_executors=(10,),
    wait_samples=50,
    depths=(1_000, 10_000),
    depth_samples=100,
    browser_processes=200,
    browser_reloads=1,
    large_items=300_000,
    large_concurrent=2,
    warmup=30,
    idle_seconds=1.0,
    quiet_patience=1.0,
    connections=500,
    connections_samples=50,
    connections_burst=200,
)


@dataclass
class Result:
    """One row of the table: ``value`` in ``unit``; ``shown`` overrides how the value prints
    (latencies show p50 / p95 / p99); ``data`` holds the details for ``--json``."""

    scenario: str
    params: str
    value: float
    unit: str
    notes: str = ""
    shown: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    goal: str = ""  # set by bench.goals.judge: each goal for this row, ✓ or ✗
    met: bool | None = None  # None: no goal applies

    def display(self) -> str:
        if self.shown:
            return self.shown
        return f"{self.value:,.0f}" if self.value >= 100 else f"{self.value:,.2f}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "params": self.params,
            "value": self.value,
            "unit": self.unit,
            "shown": self.display(),
            "notes": self.notes,
            "goal": self.goal,
            "met": self.met,
            **self.data,
        }


def summarize(samples_s: Sequence[float]) -> dict[str, float]:
    """Nearest-rank percentiles of latencies given in seconds, reported in milliseconds."""
    ordered = sorted(samples_s)
    if not ordered:
        raise ValueError("no samples")

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000

    return {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "mean": sum(ordered) / len(ordered) * 1000,
        "min": ordered[0] * 1000,
        "max": ordered[-1] * 1000,
    }


def latency_result(
    scenario: str, params: str, samples_s: Sequence[float], notes: str, **data: Any
) -> Result:
    """A latency row: p50 as the value, p50 / p95 / p99 shown."""
    stats = summarize(samples_s)
    return Result(
        scenario,
        params,
        stats["p50"],
        "ms p50/p95/p99",
        notes,
        shown=f"{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['p99']:.2f}",
        data={"latency_ms": stats, **data},
    )


def plural(n: int, word: str) -> str:
    """``plural(1, "executor")`` -> "1 executor", ``plural(10, …)`` -> "10 executors"."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def megabytes(n: int) -> float:
    return n / (1024 * 1024)


# --- /proc meters -------------------------------------------------------------------------


def read_stat(path: Path) -> tuple[str, float]:
    """The name and utime + stime (fields 2, 14 and 15) of a /proc/<pid>[/task/<tid>]/stat."""
    text = path.read_text()
    name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
    utime, stime = fields.split()[11:13]
    return name, (int(utime) + int(stime)) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    return read_stat(Path(f"/proc/{pid}/stat"))[1]


def rss_bytes(pid: int) -> int:
    """VmRSS of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def raise_open_files(needed: int) -> int:
    """Raise this process's soft open-files limit (``ulimit -n``) to ``needed``, so that it and
    the servers it starts afterwards (children inherit it) can hold that many sockets; the
    limit now in force. A hard limit below ``needed`` is a RuntimeError that says so."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"the open-files hard limit is {hard}, {needed} are needed: raise it "
            "(ulimit -Hn, LimitNOFILE=, docker --ulimit nofile=...; docs/deploy.md)"
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return needed
    return soft


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian's or ``--workers``' workers, Chromium's helpers),
    from the parent IDs in /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited meanwhile
            continue
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += parents.get(tree[-1], [])
    return tree


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine has spent not idle (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


async def quiet_machine(limit: float = 0.3, patience: float = 30.0) -> float:
    """Wait (up to ``patience`` s) until other processes use less than ``limit`` of a core;
    returns what they used over the last half second (it skews every number, so it is
    reported)."""
    deadline = time.monotonic() + patience
    warned = False
    while True:
        busy, own = machine_busy_seconds(), time.process_time()
        await asyncio.sleep(0.5)
        others = max(0.0, machine_busy_seconds() - busy - (time.process_time() - own)) / 0.5
        if others < limit or time.monotonic() > deadline:
            if others >= limit:
                log(f"[yellow]other processes still use {others:.0%} of a core; going on[/]")
            return others
        if not warned:
            log(f"other processes use {others:.0%} of a core; waiting up to {patience:.0f} s")
            warned = True


@dataclass(frozen=True)
class Window:
    """Wall time and CPU time over one measurement window."""

    wall: float
    client_cpu: float
    server_cpu: float  # all server processes (every replica)
    machine_cpu: float
    pg_cpu: float = 0.0  # PostgreSQL backends serving the bench's database (0 on SQLite)

    @property
    def client_share(self) -> float:
        return self.client_cpu / self.wall

    @property
    def server_share(self) -> float:
        return self.server_cpu / self.wall

    def notes(self) -> str:
        cores = os.cpu_count() or 1
        pg = f", PostgreSQL {self.pg_cpu / self.wall:.0%}" if self.pg_cpu else ""
        return (
            f"CPU: client {self.client_share:.0%}, server {self.server_share:.0%}{pg}, "
            f"machine {self.machine_cpu / self.wall:.0%} of {cores * 100}%"
        )

    def data(self) -> dict[str, float]:
        return {
            "wall_s": self.wall,
            "client_cpu_share": self.client_share,
            "server_cpu_share": self.server_share,
            "machine_cpu_share": self.machine_cpu / self.wall,
            "pg_cpu_share": self.pg_cpu / self.wall,
        }

    def per_process_ms(self, count: int) -> str:
        """Server and PostgreSQL CPU per completed process, for the notes."""
        text = f"CPU per process: server {self.server_cpu / count * 1000:.2f} ms"
        if self.pg_cpu:
            text += f", PostgreSQL {self.pg_cpu / count * 1000:.2f} ms"
        return text


class PostgresCpu:
    """CPU seconds of the PostgreSQL backends of one database (``pg_stat_activity.datname``),
    read from /proc (PostgreSQL runs on this machine). ``admin_url`` is a connection to another
    database of the same cluster, so the meter's own query is not counted. A backend that
    starts inside a window counts from zero; one that exits inside it keeps its last reading
    (pooled connections live as long as the server, so that is rare)."""

    def __init__(self, admin_url: str, datname: str) -> None:
        self.admin_url, self.datname = admin_url, datname
        self._seen: dict[int, float] = {}

    def backend_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.datname,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def sample(self) -> float:
        """The sum over every backend seen so far (the last reading of exited ones)."""
        for pid in self.backend_pids():
            with contextlib.suppress(OSError, ValueError):
                self._seen[pid] = cpu_seconds(pid)
        return sum(self._seen.values())


class Meter:
    """``with Meter(pid) as m: ...`` then ``m.window``: wall, this process's CPU
    (``time.process_time``), the server's CPU (/proc; the sum over all ``pids``: replicas),
    the machine's, and with ``pg`` the PostgreSQL backends' (/proc)."""

    def __init__(self, server_pid: int | Sequence[int], pg: PostgresCpu | None = None) -> None:
        self.pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)
        self.pg = pg
        self._start = (0.0, 0.0, 0.0, 0.0, 0.0)
        self.window = Window(0.0, 0.0, 0.0, 0.0)

    @property
    def pid(self) -> int:
        return self.pids[0]

    def _now(self) -> tuple[float, float, float, float, float]:
        return (
            time.perf_counter(),
            time.process_time(),
            sum(cpu_seconds(pid) for pid in self.pids),
            machine_busy_seconds(),
            self.pg.sample() if self.pg else 0.0,
        )

    def __enter__(self) -> Self:
        self._start = self._now()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = self._now()
        self.window = Window(*(b - a for a, b in zip(self._start, end, strict=True)))


# --- the server under test ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This environment without COLONIES_* (a sourced dev.env must not leak into a server)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}


class ServerProcess:
    """A server (ours, or the floor app) as a child process, logging to ``log_path``."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path) -> None:
        self.name, self.argv, self.port, self.log_path = name, argv, port, log_path
        self.url = f"http://{HOST}:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start and wait for ``GET /health``; the seconds that took."""
        started = time.perf_counter()
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=clean_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches only the bench
        )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.poll() is not None:
                    tail = self.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{tail}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url + "/health") as reply:
                        if reply.status == 200:
                            return time.perf_counter() - started
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} did not answer /health in {timeout:.0f} s")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        """SIGINT (graceful), then SIGKILL if it does not exit in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def rss(self) -> int:
        return rss_bytes(self.pid)


@dataclass(frozen=True)
class Keys:
    """The run's identities: server owner, colony owner and a member (an approved executor)."""

    server: str = field(default_factory=crypto.generate_private_key)
    colony: str = field(default_factory=crypto.generate_private_key)
    member: str = field(default_factory=crypto.generate_private_key)


@dataclass
class Server:
    """A running, bootstrapped server: colony ``dev`` and an approved member. On PostgreSQL it
    may be several replicas (processes on one database); ``url``/``pid`` are the first one's,
    ``url_for(i)`` spreads clients round-robin, and ``meter()`` adds up every replica's CPU
    and the database's PostgreSQL backends'."""

    processes: list[ServerProcess]
    keys: Keys
    start_seconds: float = 0.0
    pg: PostgresCpu | None = None

    @property
    def process(self) -> ServerProcess:
        return self.processes[0]

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    def url_for(self, i: int) -> str:
        """Replica ``i % N``: client ``i`` of a group goes there."""
        return self.processes[i % len(self.processes)].url

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def pids(self) -> list[int]:
        """Every server process: each replica and, under ``--workers``, its workers."""
        return [pid for p in self.processes for pid in process_tree(p.pid)]

    def client(self, prvkey: str | None = None, replica: int = 0, via: Via = "rpc") -> AsyncClient:
        return new_client(self.url_for(replica), prvkey or self.keys.member, via)

    def meter(self) -> Meter:
        return Meter(self.pids, self.pg)


@dataclass
class Run:
    """One invocation: sizes and a scratch directory for data dirs and logs."""

    sizes: Sizes
    root: Path
    keep: bool = False  # keep data dirs (databases) for a look afterwards
    store: str = "sqlite"  # or "postgres": a fresh database per server, on POSTGRES_ADMIN_URL
    replicas: int = 1  # server processes on one database (PostgreSQL only)

    def describe(self) -> str:
        """How the servers of this run are set up, for the table's title."""
        if self.store == "sqlite":
            return "SQLite"
        return f"PostgreSQL, {plural(self.replicas, 'replica')}"

    def fresh_dir(self, name: str) -> Path:
        path = self.root / name
        n = 1
        while path.exists():
            n += 1
            path = self.root / f"{name}-{n}"
        path.mkdir(parents=True)
        return path

    def cleanup(self, data_dir: Path) -> None:
        """Drop a data dir as soon as its scenario is done (1M-process databases are big),
        unless the run keeps everything."""
        if self.keep:
            return
        for item in data_dir.iterdir():
            if item.name.endswith(".log"):
                continue
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


@contextlib.contextmanager
def bench_database(keep: bool = False) -> Iterator[str]:
    """A fresh PostgreSQL database on ``POSTGRES_ADMIN_URL``'s server; its URL. Dropped
    afterwards (closing what is still connected) unless ``keep``."""
    import psycopg

    name = f"colonies_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    log(f"database {name} created")
    try:
        yield database_url(name)
    finally:
        if keep:
            log(f"database kept: {name}")
        else:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def database_name(url: str) -> str:
    return url.rpartition("/")[2].split("?", 1)[0]


@contextlib.asynccontextmanager
async def colonies_server(
    run: Run,
    data_dir: Path | None = None,
    *,
    keys: Keys | None = None,
    name: str = "server",
    store: str | None = None,
    replicas: int | None = None,
    workers: int = 1,
) -> AsyncIterator[Server]:
    """``colonies server start`` on 127.0.0.1 with a fresh (or pre-seeded) data dir, or with
    ``store="postgres"`` (default: the run's) on a fresh PostgreSQL database, ``replicas``
    processes on it (each with ``--workers``); then the API bootstrap: colony ``dev`` (server
    key) and an approved member (colony key)."""
    store = store or run.store
    replicas = replicas or (run.replicas if store == "postgres" else 1)
    if store != "postgres" and (replicas != 1 or workers != 1):
        raise ValueError("replicas and workers need the PostgreSQL store")
    data_dir = data_dir or run.fresh_dir(name)
    keys = keys or Keys()
    async with contextlib.AsyncExitStack() as stack:
        url = stack.enter_context(bench_database(run.keep)) if store == "postgres" else None
        if url is None:
            stack.callback(run.cleanup, data_dir)  # after the server has stopped
        processes = []
        for i in range(replicas):
            port = free_port()
            where = ("--database", url) if url else ("--data-dir", str(data_dir))
            argv = python_module(
                "colonies.cli",
                *("server", "start", "--serverid", crypto.id_from_private_key(keys.server)),
                *("--host", HOST, "--port", str(port), *where),
                *(("--workers", str(workers)) if workers > 1 else ()),
            )
            log_name = "server.log" if replicas == 1 else f"server-{i}.log"
            processes.append(ServerProcess(f"{name}-{i}", argv, port, data_dir / log_name))
            stack.callback(processes[-1].stop)
        # the first replica creates the schema; the others then start side by side
        seconds = await processes[0].start()
        await asyncio.gather(*(p.start() for p in processes[1:]))
        pg = PostgresCpu(POSTGRES_ADMIN_URL, database_name(url)) if url else None
        server = Server(processes, keys, seconds, pg)
        await bootstrap(server)
        yield server


async def bootstrap(server: Server) -> None:
    async with AsyncClient(server.url, server.keys.server) as owner:
        colonyid = crypto.id_from_private_key(server.keys.colony)
        await owner.add_colony(Colony(colonyid=colonyid, name=COLONY))
    await register_executors(server, [server.keys.member], "member", ["member"])


async def register_executors(
    server: Server, prvkeys: Sequence[str], executortype: str, names: Sequence[str]
) -> None:
    """Register and approve one executor per key and name, signed by the colony key."""
    async with AsyncClient(server.url, server.keys.colony) as owner:

        async def one(i: int) -> None:
            name = names[i]
            await owner.add_executor(
                Executor(
                    executorid=crypto.id_from_private_key(prvkeys[i]),
                    executortype=executortype,
                    executorname=name,
                    colonyname=COLONY,
                )
            )
            await owner.approve_executor(COLONY, name)

        await run_concurrently(len(prvkeys), 8, one, timeout=60)


async def new_executors(server: Server, count: int, executortype: str) -> list[str]:
    """``count`` fresh approved executors of ``executortype``; their private keys."""
    keys = [crypto.generate_private_key() for _ in range(count)]
    names = [f"{executortype}-{i}" for i in range(count)]
    await register_executors(server, keys, executortype, names)
    return keys


@contextlib.asynccontextmanager
async def clients(
    url: str | Server, prvkeys: Iterable[str], via: Via = "rpc"
) -> AsyncIterator[list[AsyncClient]]:
    """One ``AsyncClient`` (own connection pool) per key, closed afterwards. Given a
    ``Server``, client ``i`` goes to replica ``i % N``."""
    prvkeys = list(prvkeys)
    urls = [url.url_for(i) if isinstance(url, Server) else url for i in range(len(prvkeys))]
    opened = [new_client(u, key, via) for u, key in zip(urls, prvkeys, strict=True)]
    try:
        yield opened
    finally:
        await asyncio.gather(*(c.close_transport() for c in opened), return_exceptions=True)


def new_client(url: str, prvkey: str, via: Via = "rpc") -> AsyncClient:
    """An ``AsyncClient`` pinned to one transport: ``"rpc"`` frames on the ``/rpc`` WebSocket
    (the SDK's default; a server without it gets ``POST /api``), ``"api"`` every request a
    ``POST /api`` (what the Go CLI and pycolonies send)."""
    transport = AsyncSocketTransport() if via == "rpc" else AsyncHTTPTransport()
    return AsyncClient(url, prvkey, transport=transport)


VIA_NAMES: dict[Via, str] = {"api": "POST /api", "rpc": "/rpc WebSocket"}


def echo_spec(executortype: str, i: int = 0) -> FunctionSpec:
    """A small, typical process: ``echo`` with one argument, no time limits (-1: the Go
    reference expires a process with ``maxexectime`` 0 after about a second; ours treats 0
    and -1 alike)."""
    return FunctionSpec(
        funcname="echo",
        args=[f"hello {i}"],
        conditions=Conditions(colonyname=COLONY, executortype=executortype),
        maxwaittime=-1,
        maxexectime=-1,
    )


# --- bounded loops ------------------------------------------------------------------------


async def run_concurrently(
    count: int, concurrency: int, op: Callable[[int], Awaitable[Any]], *, timeout: float
) -> None:
    """``op(0) … op(count-1)`` with at most ``concurrency`` in flight, within ``timeout`` s."""
    indexes = iter(range(count))

    async def worker() -> None:
        for i in indexes:  # one iterator shared by all workers
            await op(i)

    async with asyncio.timeout(timeout):
        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))


async def until_set(event: asyncio.Event, tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Wait for ``event``; if one of ``tasks`` ends first, re-raise its error."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        pending: set[asyncio.Future[Any]] = {waiter, *tasks}
        while not event.is_set():
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if waiter not in pending and not event.is_set():
                break
    finally:
        waiter.cancel()


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def rate_timeout(count: int, slowest_rate: float = 20.0, slack: float = 60.0) -> float:
    """A generous bound for ``count`` operations (never hang a benchmark)."""
    return count / slowest_rate + slack
