"""Many connections (issue 13): N executors long-polling one server process at once, half on
``POST /api`` (one HTTP connection each) and half on ``/rpc`` (one WebSocket each).

Measured while they all wait: the server's memory, dispatch latency (one submit at a time),
``getcolonymsg`` round trips meanwhile (the server must keep answering everyone else), then a
burst's drain rate; every process must be assigned exactly once, or the scenario fails.

One load-generator process holds all N sockets: one aiohttp session without a connection
limit, requests signed with ``colonies.client._requests`` (the SDK's own bodies), each
executor's assign body signed once and re-sent (it carries no nonce). The executors' types are
``conn-api`` and ``conn-rpc`` after their transport, and submits alternate between them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp

from bench.common import (
    COLONY,
    CONCURRENCY,
    Result,
    Run,
    Server,
    Window,
    cancel_all,
    colonies_server,
    echo_spec,
    latency_result,
    log,
    megabytes,
    plural,
    raise_open_files,
    rate_timeout,
    rss_bytes,
    run_concurrently,
    summarize,
)
from colonies import crypto
from colonies.client import AsyncClient
from colonies.client import _requests as r
from colonies.errors import ColoniesError, NoProcessAvailable, ServerError
from colonies.model import Executor, Statistics

T = TypeVar("T")

# Executor i polls on TRANSPORTS[i % 2] and has that transport's executor type, so that
# submits can alternate between the two kinds (a wake-up goes to the oldest waiter of the type,
# and which kind reached the server first would otherwise decide every sample).
TRANSPORTS = ("api", "rpc")
POLL_TIMEOUT = 30  # s, each long-poll (a 404 "no process" then, and the executor polls again)
REPLY_MARGIN = 10.0  # s beyond the poll timeout before the client gives up on a reply
RAMP_BATCH = 500  # polls opened at a time (uvicorn's listen backlog is 2048)
RAMP_BATCH_TIMEOUT = 60.0  # s for one batch to be waiting on the server
ALL_WAITING_TIMEOUT = 60.0  # s for the server to count all N long-polls
REGISTER_CONCURRENCY = 32
RETRY_PAUSE = 1.0  # s before an executor that hit a transport error polls again
WARMUP_SAMPLES = 20
GAP = 0.005  # s between dispatch samples (as in ``dispatch``)
PROBE_GAP = 0.01  # s between getcolonymsg probes while the samples run
SAMPLE_TIMEOUT = 10.0  # s, any one dispatch sample
OPEN_FILES_MARGIN = 1024  # descriptors beyond one per executor (server: store, logs; client)
# Browsers offer permessage-deflate and the server accepts it (uvicorn's default), which costs
# the server a compressor per socket (~40 KiB measured): the /rpc executors offer it too.
DEFLATE_WINDOW_BITS = 15
CLIENT_BOUND = 0.9  # a client CPU share above this is called out in the notes


@dataclass
class Tally:
    """What the executors saw: assignments (with arrival times), closes, and replies by kind."""

    assigned: Counter[str] = field(default_factory=Counter)
    arrived: dict[str, float] = field(default_factory=dict)  # first arrival, perf_counter
    via: dict[str, str] = field(default_factory=dict)  # processid -> transport
    awaited: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    closed: int = 0
    last_closed: float = 0.0
    close_target: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    timeouts: int = 0  # 404 "no process": the normal end of an idle long-poll
    errors: Counter[str] = field(default_factory=Counter)

    def arrive(self, processid: str, transport: str) -> None:
        self.assigned[processid] += 1
        if processid in self.arrived:
            return
        at = time.perf_counter()
        self.arrived[processid] = at
        self.via[processid] = transport
        future = self.awaited.pop(processid, None)
        if future is not None and not future.done():
            future.set_result(at)

    def close(self) -> None:
        self.closed += 1
        self.last_closed = time.perf_counter()
        if self.close_target and self.closed >= self.close_target:
            self.drained.set()

    async def arrival(self, processid: str) -> float:
        """When ``processid``'s assign reply arrived (waiting for it, bounded)."""
        at = self.arrived.get(processid)
        if at is not None:
            return at
        future = asyncio.get_running_loop().create_future()
        self.awaited[processid] = future
        return await asyncio.wait_for(future, SAMPLE_TIMEOUT)


class ApiChannel:
    """``POST /api`` on the shared session (no connection limit: one connection per poll)."""

    name = "api"

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.timeout = aiohttp.ClientTimeout(total=POLL_TIMEOUT + REPLY_MARGIN)

    async def send(self, body: str) -> tuple[int, str]:
        async with self.session.post(self.url + "/api", data=body, timeout=self.timeout) as reply:
            return reply.status, await reply.text()

    async def close(self) -> None:
        """Nothing of its own: the session closes the pool."""


class RpcChannel:
    """An executor's own ``/rpc`` WebSocket, one request in flight at a time; re-opened on
    the next request after an error."""

    name = "rpc"

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frame_id = 0

    async def connect(self) -> None:
        if self.ws is None or self.ws.closed:
            self.ws = await self.session.ws_connect(
                self.url + "/rpc", autoping=True, compress=DEFLATE_WINDOW_BITS
            )

    async def send(self, body: str) -> tuple[int, str]:
        await self.connect()
        assert self.ws is not None
        self.frame_id += 1
        try:
            await self.ws.send_str(json.dumps({"id": self.frame_id, "body": body}))
            message = await self.ws.receive(timeout=POLL_TIMEOUT + REPLY_MARGIN)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"/rpc socket ended ({message.type.name})")
            frame = json.loads(message.data)
            if frame.get("id") != self.frame_id:
                raise ConnectionError(f"/rpc reply to frame {frame.get('id')}, not {self.frame_id}")
        except BaseException:
            await self.close()
            raise
        return int(frame["status"]), str(frame["body"])

    async def close(self) -> None:
        if self.ws is not None:
            ws, self.ws = self.ws, None
            await ws.close()


Channel = ApiChannel | RpcChannel


async def call(channel: Channel, request: r.Call[T], prvkey: str) -> T:
    status, text = await channel.send(request.body(prvkey))
    return request.result(status, text)


async def serve(channel: Channel, prvkey: str, tally: Tally) -> None:
    """One executor: long-poll, close what it gets (empty output), poll again; until cancelled.
    A transport error is counted and the executor polls again after a pause."""
    assign = r.assign(COLONY, POLL_TIMEOUT)
    assign_body = assign.body(prvkey)
    transport = channel.name
    while True:
        try:
            status, text = await channel.send(assign_body)
            process = assign.result(status, text)
        except NoProcessAvailable:
            tally.timeouts += 1
            continue
        except (ColoniesError, aiohttp.ClientError, OSError, TimeoutError) as e:
            tally.errors[f"{transport} assign: {describe(e)}"] += 1
            await asyncio.sleep(RETRY_PAUSE)
            continue
        tally.arrive(process.processid, transport)
        try:
            await call(channel, r.close(process.processid, []), prvkey)
        except (ColoniesError, aiohttp.ClientError, OSError, TimeoutError) as e:
            tally.errors[f"{transport} close: {describe(e)}"] += 1
            await asyncio.sleep(RETRY_PAUSE)
            continue
        tally.close()


def executor_type(i: int) -> str:
    """The executor type of executor ``i``, and of the ``i``-th process submitted."""
    return f"conn-{TRANSPORTS[i % 2]}"


def describe(error: BaseException) -> str:
    if isinstance(error, ServerError):
        return f"{type(error).__name__} {error}"
    return type(error).__name__


async def register(server: Server, session: aiohttp.ClientSession, keys: list[str]) -> None:
    """Add and approve one executor per key, signed with the colony key, 32 at a time."""
    channel = ApiChannel(session, server.url)
    owner = server.keys.colony

    async def one(i: int) -> None:
        executortype = executor_type(i)
        name = f"{executortype}-{i}"
        executor = Executor(
            executorid=crypto.id_from_private_key(keys[i]),
            executortype=executortype,
            executorname=name,
            colonyname=COLONY,
        )
        await call(channel, r.add_executor(executor), owner)
        await call(channel, r.approve_executor(COLONY, name), owner)

    timeout = rate_timeout(2 * len(keys), slowest_rate=100)
    await run_concurrently(len(keys), REGISTER_CONCURRENCY, one, timeout=timeout)


async def open_long_polls(session: aiohttp.ClientSession, url: str) -> int:
    """The server's ``colonies_longpolls_open`` gauge (``/metrics``)."""
    async with session.get(url + "/metrics") as reply:
        text = await reply.text()
    for line in text.splitlines():
        if line.startswith("colonies_longpolls_open "):
            return int(float(line.split()[1]))
    raise RuntimeError("/metrics has no colonies_longpolls_open")


async def until_waiting(
    session: aiohttp.ClientSession, url: str, count: int, timeout: float, tally: Tally
) -> int:
    """Wait until the server counts at least ``count`` open long-polls; the count seen."""
    deadline = time.monotonic() + timeout
    while (seen := await open_long_polls(session, url)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{seen:,} of {count:,} long-polls open after {timeout:.0f} s; "
                f"client errors: {dict(tally.errors) or 'none'}"
            )
        await asyncio.sleep(0.1)
    return seen


async def dispatch_samples(
    submitter: AsyncClient, tally: Tally, count: int
) -> dict[str, list[float]]:
    """``count`` submits one at a time, alternating between the transports' executor types;
    per sample, submit returned -> assign reply arrived, by transport."""
    samples: dict[str, list[float]] = {transport: [] for transport in TRANSPORTS}
    async with asyncio.timeout(count * SAMPLE_TIMEOUT):
        for i in range(count):
            process = await submitter.submit(echo_spec(executor_type(i), i))
            returned = time.perf_counter()
            at = await tally.arrival(process.processid)
            samples[tally.via[process.processid]].append(at - returned)
            await asyncio.sleep(GAP)
    return samples


async def probe(client: AsyncClient, stop: asyncio.Event, rtts: list[tuple[float, float]]) -> None:
    """``getcolonymsg`` round trips one at a time, ``PROBE_GAP`` apart, until ``stop``: (when
    sent, round trip) pairs."""
    while not stop.is_set():
        sent = time.perf_counter()
        await client.get_colony(COLONY)
        rtts.append((sent, time.perf_counter() - sent))
        await asyncio.sleep(PROBE_GAP)


def between(rtts: list[tuple[float, float]], start: float, end: float) -> list[float]:
    """The round trips of the probes sent from ``start`` to ``end``."""
    return [rtt for sent, rtt in rtts if start <= sent < end]


async def burst(submitter: AsyncClient, tally: Tally, count: int) -> tuple[float, float]:
    """Submit ``count`` processes at ``CONCURRENCY`` in flight; seconds until all were
    submitted and until the executors had closed them all."""
    tally.close_target = tally.closed + count
    tally.drained.clear()
    started = time.perf_counter()

    async def one(i: int) -> None:
        await submitter.submit(echo_spec(executor_type(i), i))

    await run_concurrently(count, CONCURRENCY, one, timeout=rate_timeout(count))
    submitted = time.perf_counter() - started
    async with asyncio.timeout(rate_timeout(count)):
        await tally.drained.wait()
    return submitted, tally.last_closed - started


def transport_split(samples: dict[str, list[float]]) -> str:
    """p50 / p99 of the samples per transport, for the notes."""
    parts = []
    for transport, mine in samples.items():
        if mine:
            stats = summarize(mine)
            parts.append(
                f"/{transport} p50 {stats['p50']:.2f} / p99 {stats['p99']:.2f} ms ({len(mine)})"
            )
    return "; ".join(parts)


def client_note(client_share: float) -> str:
    if client_share < CLIENT_BOUND:
        return ""
    return f"; the load generator is CPU-bound ({client_share:.0%} of a core)"


async def open_polls(
    session: aiohttp.ClientSession,
    url: str,
    keys: list[str],
    tally: Tally,
    channels: list[Channel],
    executors: list[asyncio.Task[None]],
) -> int:
    """Start one executor per key (``/api`` and ``/rpc`` alternately) into ``channels`` and
    ``executors``, ``RAMP_BATCH`` at a time, each batch waiting on the server before the next;
    the long-polls the server counts at the end.

    After each batch this process's objects so far are frozen out of the garbage collector:
    with 10,000 sockets a full collection of the load generator takes ~0.5 s, a pause that
    would otherwise land in what is measured (the server's own pauses are what is measured)."""
    n = len(keys)
    for first in range(0, n, RAMP_BATCH):
        batch: list[Channel] = [
            (ApiChannel if i % 2 == 0 else RpcChannel)(session, url)
            for i in range(first, min(n, first + RAMP_BATCH))
        ]
        channels.extend(batch)
        executors.extend(
            asyncio.create_task(serve(c, keys[first + j], tally)) for j, c in enumerate(batch)
        )
        await until_waiting(session, url, len(executors), RAMP_BATCH_TIMEOUT, tally)
        gc.freeze()
    return await until_waiting(session, url, n, ALL_WAITING_TIMEOUT, tally)


@dataclass
class Measured:
    """What one run of the scenario measured, for the rows."""

    executors: int
    registered_s: float
    ramp_s: float
    idle_rss: int
    waiting_rss: int
    after_rss: int
    client_rss: int
    samples: dict[str, list[float]]
    dispatch: Window
    probes_dispatch: list[float]
    probes_burst: list[float]
    burst: int
    submit_s: float
    drain_s: float
    burst_window: Window
    expected: int


async def connections(run: Run) -> list[Result]:
    sizes = run.sizes
    n = sizes.connections
    limit = raise_open_files(n + OPEN_FILES_MARGIN)  # before the server starts: it inherits it
    keys = [crypto.generate_private_key() for _ in range(n)]
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    channels: list[Channel] = []
    executors: list[asyncio.Task[None]] = []
    async with (
        colonies_server(run, name="connections") as server,
        aiohttp.ClientSession(connector=connector) as session,
        server.client() as submitter,
        server.client() as prober,
    ):
        try:
            log(f"connections: registering {n:,} executors (open-files limit {limit:,})")
            started = time.perf_counter()
            await register(server, session, keys)
            registered_s = time.perf_counter() - started
            idle_rss = server.process.rss()

            log(f"connections: opening {n:,} long-polls, {RAMP_BATCH} at a time")
            started = time.perf_counter()
            seen = await open_polls(session, server.url, keys, tally, channels, executors)
            ramp_s = time.perf_counter() - started
            waiting_rss = server.process.rss()
            log(f"connections: {seen:,} waiting; server RSS {megabytes(waiting_rss):.0f} MiB")

            await dispatch_samples(submitter, tally, WARMUP_SAMPLES)
            count = sizes.connections_samples
            log(f"connections: {count} dispatch samples, getcolonymsg probes alongside")
            rtts: list[tuple[float, float]] = []
            stop = asyncio.Event()
            probing = asyncio.create_task(probe(prober, stop, rtts))
            with server.meter() as dispatch:
                samples = await dispatch_samples(submitter, tally, count)
            dispatch_end = time.perf_counter()

            total = sizes.connections_burst
            log(f"connections: burst of {total:,} processes, getcolonymsg probes alongside")
            with server.meter() as burst_meter:
                submit_s, drain_s = await burst(submitter, tally, total)
            stop.set()
            await probing
            expected = WARMUP_SAMPLES + count + total
            async with asyncio.timeout(rate_timeout(expected)):
                while tally.closed < expected:
                    await asyncio.sleep(0.05)
            stats = await submitter.colony_statistics(COLONY)
            measured = Measured(
                n,
                registered_s,
                ramp_s,
                idle_rss,
                waiting_rss,
                server.process.rss(),
                rss_bytes(os.getpid()),
                samples,
                dispatch.window,
                between(rtts, 0.0, dispatch_end),
                between(rtts, dispatch_end, math.inf),
                total,
                submit_s,
                drain_s,
                burst_meter.window,
                expected,
            )
        finally:
            await cancel_all(executors)
            await asyncio.gather(*(c.close() for c in channels), return_exceptions=True)
            gc.unfreeze()
    check_once(tally, stats, expected)
    return rows(measured, tally)


def check_once(tally: Tally, stats: Statistics, expected: int) -> None:
    """Raise unless each of the ``expected`` processes was assigned exactly once (as the
    executors saw it) and the server holds them all as successful."""
    duplicates = sum(1 for times in tally.assigned.values() if times > 1)
    missing = expected - len(tally.assigned)
    server = (stats.successfulprocesses, stats.waitingprocesses, stats.runningprocesses)
    if duplicates or missing or server != (expected, 0, 0):
        raise RuntimeError(
            f"{expected:,} submitted: {duplicates} assigned more than once, {missing} never "
            f"assigned; server: {stats.successfulprocesses:,} successful, "
            f"{stats.waitingprocesses} waiting, {stats.runningprocesses} running"
        )


def rows(m: Measured, tally: Tally) -> list[Result]:
    n = m.executors
    params = f"{n:,} executors long-polling ({n // 2:,} on /api, {n - n // 2:,} on /rpc)"
    per_waiter = (m.waiting_rss - m.idle_rss) / n
    all_samples = [s for mine in m.samples.values() for s in mine]
    dispatch_max = max(all_samples) * 1000
    burst_probes = summarize(m.probes_burst) if m.probes_burst else None
    errors = ", ".join(f"{kind}: {times}" for kind, times in tally.errors.most_common())
    return [
        Result(
            "connections: server memory (VmRSS)",
            params,
            megabytes(m.waiting_rss),
            "MiB",
            f"{megabytes(m.idle_rss):.0f} MiB idle with them registered, "
            f"≈ {per_waiter / 1024:.0f} KiB per waiting executor; after the burst "
            f"{megabytes(m.after_rss):.0f} MiB; load generator {megabytes(m.client_rss):.0f} "
            f"MiB; registered in {m.registered_s:.1f} s, all waiting {m.ramp_s:.1f} s later",
            data={
                "idle_rss_mib": megabytes(m.idle_rss),
                "waiting_rss_mib": megabytes(m.waiting_rss),
                "after_burst_rss_mib": megabytes(m.after_rss),
                "per_waiter_kib": per_waiter / 1024,
                "client_rss_mib": megabytes(m.client_rss),
                "register_s": m.registered_s,
                "ramp_s": m.ramp_s,
                "executors": n,
            },
        ),
        latency_result(
            "connections: dispatch latency (submit returned → assign reply arrived)",
            f"{plural(n, 'idle executor')}, {len(all_samples)} samples one at a time",
            all_samples,
            f"max {dispatch_max:.1f} ms; {transport_split(m.samples)}; "
            f"{m.dispatch.notes()}{client_note(m.dispatch.client_share)}",
            executors=n,
            by_transport_ms={t: summarize(s) for t, s in m.samples.items() if s},
            **m.dispatch.data(),
        ),
        latency_result(
            "connections: getcolony round trip meanwhile",
            f"one at a time every {PROBE_GAP * 1000:.0f} ms during the dispatch samples",
            m.probes_dispatch,
            f"max {max(m.probes_dispatch) * 1000:.1f} ms"
            + (
                f"; during the burst p50 {burst_probes['p50']:.2f} / p99 "
                f"{burst_probes['p99']:.2f} / max {burst_probes['max']:.1f} ms"
                if burst_probes
                else ""
            ),
            executors=n,
            burst_ms=burst_probes,
        ),
        Result(
            "connections: burst drain",
            f"{m.burst:,} processes submitted ({CONCURRENCY} in flight) to {n:,} waiting executors",
            m.burst / m.drain_s,
            "processes/s",
            f"submitted in {m.submit_s:.2f} s, all closed after {m.drain_s:.2f} s; "
            f"{m.burst_window.notes()}{client_note(m.burst_window.client_share)}",
            data={"submit_s": m.submit_s, "drain_s": m.drain_s, **m.burst_window.data()},
        ),
        Result(
            "connections: each process assigned once",
            f"{m.expected:,} processes over the run",
            float(m.expected),
            "processes",
            f"0 duplicates, 0 missing; server: all successful; long-polls ended empty (404) "
            f"{tally.timeouts:,}; client errors: {errors or 'none'}",
            data={
                "timeouts": tally.timeouts,
                "errors": dict(tally.errors),
                "duplicates": 0,  # checked above: the scenario fails otherwise
                "missing": 0,
            },
        ),
    ]
