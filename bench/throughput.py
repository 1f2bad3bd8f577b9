"""Throughput: the request floor, submit alone, and end to end (submit -> assign -> close)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

from bench import floor_servers
from bench.common import (
    COLONY,
    CONCURRENCY,
    HOST,
    VIA_NAMES,
    Meter,
    Result,
    Run,
    Server,
    ServerProcess,
    Sizes,
    Via,
    Window,
    cancel_all,
    clients,
    colonies_server,
    echo_spec,
    free_port,
    latency_result,
    log,
    new_client,
    new_executors,
    plural,
    process_tree,
    rate_timeout,
    run_concurrently,
    until_set,
)
from colonies import crypto
from colonies.client import AsyncClient
from colonies.errors import NoProcessAvailable

PG_CPU_GOAL_MS = 1.0  # issue 9: PostgreSQL CPU per completed process (Go reference ~4.7 ms)
STALL = 30.0  # s without a single close before an end-to-end run is declared stuck
POLL_TIMEOUT = 1  # s, the executors' long-poll in the end-to-end runs
VIAS: tuple[Via, ...] = ("api", "rpc")  # submit and end-to-end run by each transport


async def flood(
    meter: Meter, count: int, warmup: int, op: Callable[[int], Awaitable[object]]
) -> Window:
    """``warmup`` then ``count`` calls of ``op`` with ``CONCURRENCY`` in flight; the window of
    the measured part."""
    await run_concurrently(warmup, CONCURRENCY, op, timeout=rate_timeout(warmup))
    with meter:
        await run_concurrently(count, CONCURRENCY, op, timeout=rate_timeout(count))
    return meter.window


def rate_row(scenario: str, params: str, count: int, window: Window, unit: str) -> Result:
    server_us = window.server_cpu / count * 1e6
    client_us = window.client_cpu / count * 1e6
    return Result(
        scenario,
        params,
        count / window.wall,
        unit,
        f"{window.notes()}; CPU per request: server {server_us:,.0f} µs, "
        f"client {client_us:,.0f} µs",
        data={
            **window.data(),
            "count": count,
            "server_cpu_us_per_request": server_us,
            "client_cpu_us_per_request": client_us,
        },
    )


async def round_trips(count: int, op: Callable[[], Awaitable[object]]) -> list[float]:
    """``count`` sequential calls (one in flight): their round trips in seconds."""
    times = []
    async with asyncio.timeout(count * 5 + 30):
        for _ in range(count):
            t0 = time.perf_counter()
            await op()
            times.append(time.perf_counter() - t0)
    return times


async def measure_get_colony(
    scenario: str, client: AsyncClient, pids: int | Sequence[int], sizes: Sizes
) -> list[Result]:
    """Request rate with ``CONCURRENCY`` in flight, then round trips one at a time; the notes
    add what the rest of the machine used meanwhile (other processes skew every number)."""
    rate = f"{sizes.requests:,} signed getcolonymsg, {CONCURRENCY} in flight"
    window = await flood(
        Meter(pids), sizes.requests, sizes.warmup, lambda i: client.get_colony(COLONY)
    )
    rtts = await round_trips(sizes.rtt_samples, lambda: client.get_colony(COLONY))
    row = rate_row(scenario, rate, sizes.requests, window, "req/s")
    others = max(0.0, window.machine_cpu - window.client_cpu - window.server_cpu) / window.wall
    row.notes += f"; other processes {others:.0%} of a core"
    row.data["other_cpu_share"] = others
    return [
        row,
        latency_result(
            scenario, f"{sizes.rtt_samples} getcolonymsg one at a time", rtts, "round trip"
        ),
    ]


async def floor(run: Run) -> list[Result]:
    """Signed getcolonymsg against each HTTP stack's bare floor (``bench/floor_servers.py``:
    uvicorn, granian, a raw asyncio protocol), then against the real server, in the same run."""
    sizes = run.sizes
    data_dir = run.fresh_dir("floor")
    rows: list[Result] = []
    for i, stack in enumerate(floor_servers.floors(sys.executable)):
        if stack.missing:
            log(f"floor: {stack.name} skipped: {stack.missing}")
            hint = f"{stack.missing} (.venv/bin/pip install -e '.[bench]')"
            rows.append(
                Result(stack.name, "", 0.0, "", hint, shown="skipped", data={"skipped": True})
            )
            continue
        port, log_path = free_port(), data_dir / f"floor-{i}.log"
        floor_app = ServerProcess(stack.name, stack.argv(HOST, port), port, log_path)
        pids: list[int] = []
        try:
            await floor_app.start()
            pids = process_tree(floor_app.pid)  # granian: supervisor + worker
            log(f"floor: {sizes.requests} requests to {stack.name}")
            async with new_client(floor_app.url, crypto.generate_private_key(), "api") as client:
                rows += await measure_get_colony(stack.name, client, pids, sizes)
        finally:
            floor_app.stop()
            for pid in pids[1:]:  # a worker its supervisor left behind (only after a SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    async with (
        colonies_server(run, name="getcolony") as server,
        new_client(server.url, server.keys.member, "api") as client,
    ):
        log(f"floor: {sizes.requests} getcolonymsg to the real server")
        rows += await measure_get_colony("getcolony (real server)", client, server.pid, sizes)
    return rows


async def submit(run: Run) -> list[Result]:
    """Submit alone: nobody assigns, the queue just grows (requests spread over replicas); by
    ``POST /api`` and by frames on ``/rpc``, each on a fresh server."""
    count = run.sizes.submit_processes
    rows = []
    for via in VIAS:
        async with colonies_server(run, name=f"submit-{via}") as server:
            members = [server.keys.member] * len(server.processes)
            async with clients(server, members, via) as submitters:
                log(f"submit: {count} processes by {VIA_NAMES[via]}")
                window = await flood(
                    server.meter(),
                    count,
                    run.sizes.warmup,
                    lambda i: submitters[i % len(submitters)].submit(echo_spec("nobody", i)),
                )
        params = f"{count:,} processes, {CONCURRENCY} in flight, {VIA_NAMES[via]}" + replicas_note(
            server
        )
        row = rate_row("submit throughput", params, count, window, "processes/s")
        row.data["via"] = via
        rows.append(row)
    return rows


def replicas_note(server: Server) -> str:
    n = len(server.processes)
    return f", {n} replicas (round-robin)" if n > 1 else ""


async def pipeline(
    submitter: AsyncClient | Sequence[AsyncClient],
    executors: list[AsyncClient],
    count: int,
    executortype: str,
    meter: Meter | None = None,
) -> None:
    """Submit ``count`` processes (``CONCURRENCY`` in flight) while every executor loops
    assign -> close; ``meter`` (if given) covers the first submit to the last close. Fails if
    nothing is closed for ``STALL`` seconds.

    Afterwards the executors finish their current long-poll instead of being cancelled: a
    long-poll whose client hangs up just as a process arrives can take that process with it
    (see docs/performance.md), which would strand a process of the next run.
    """
    submitters = [submitter] if isinstance(submitter, AsyncClient) else list(submitter)
    submitted = closed = 0
    finished = asyncio.Event()
    stopping = False

    async def submit(i: int) -> None:
        nonlocal submitted
        await submitters[i % len(submitters)].submit(echo_spec(executortype, i))
        submitted += 1

    async def work(client: AsyncClient) -> None:
        nonlocal closed
        while not stopping:
            try:
                process = await client.assign(COLONY, POLL_TIMEOUT)
            except NoProcessAvailable:
                continue
            await client.close(process.processid, list(process.spec.args))
            closed += 1
            if closed >= count:
                finished.set()

    async def watchdog() -> None:
        last, since = -1, time.monotonic()
        while True:
            await asyncio.sleep(1)
            if closed != last:
                last, since = closed, time.monotonic()
            elif time.monotonic() - since > STALL:
                raise TimeoutError(
                    f"no process closed for {STALL:.0f} s: {closed:,} of {count:,} closed, "
                    f"{submitted:,} submitted"
                )

    workers = [asyncio.create_task(work(c)) for c in executors]
    submitting = run_concurrently(count, CONCURRENCY, submit, timeout=rate_timeout(count))
    tasks = [asyncio.create_task(submitting), asyncio.create_task(watchdog())]
    try:
        with meter or contextlib.nullcontext():
            async with asyncio.timeout(rate_timeout(count)):
                await until_set(finished, [*tasks, *workers])
        await tasks[0]
        stopping = True
        async with asyncio.timeout(POLL_TIMEOUT + 5):
            await asyncio.gather(*workers)
    finally:
        await cancel_all([*tasks, *workers])


async def drain(
    server: Server,
    k: int,
    count: int,
    warmup: int,
    meter: Meter | None = None,
    via: Via = "api",
) -> Window:
    """``count`` processes through K fresh executors (executor ``i`` on replica ``i % N``, one
    submitter client per replica, requests spread round-robin); the measured window."""
    keys = await new_executors(server, k, "e2e")
    members = [server.keys.member] * len(server.processes)
    async with (
        clients(server, members, via) as submitters,
        clients(server, keys, via) as executors,
    ):
        await pipeline(submitters, executors, min(warmup, count), "e2e")
        log(f"e2e: {count} processes, K={k}, {plural(len(server.processes), 'replica')}")
        meter = meter or server.meter()
        await pipeline(submitters, executors, count, "e2e", meter)
    return meter.window


def drain_row(
    scenario: str, server: Server, k: int, count: int, window: Window, via: Via = "api"
) -> Result:
    pg_ms = window.pg_cpu / count * 1000
    notes = f"{window.notes()}; {window.per_process_ms(count)}"
    if server.pg is not None:
        notes += f" (goal PostgreSQL ≤ {PG_CPU_GOAL_MS:g} ms: {verdict(pg_ms <= PG_CPU_GOAL_MS)})"
    return Result(
        scenario,
        f"{count:,} processes, K = {plural(k, 'executor')}, {CONCURRENCY} submitters, "
        f"{VIA_NAMES[via]}" + replicas_note(server),
        count / window.wall,
        "processes/s",
        notes,
        data={
            **window.data(),
            "count": count,
            "executors": k,
            "replicas": len(server.processes),
            "via": via,
            "server_cpu_ms_per_process": window.server_cpu / count * 1000,
            "pg_cpu_ms_per_process": pg_ms,
        },
    )


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


async def e2e(run: Run) -> list[Result]:
    """End to end with K executors by each transport, each (K, transport) on a fresh server."""
    count = run.sizes.e2e_processes
    rows = []
    for via in VIAS:
        for k in run.sizes.e2e_executors:
            async with colonies_server(run, name=f"e2e-{k}-{via}") as server:
                window = await drain(server, k, count, run.sizes.warmup, via=via)
            scenario = "end-to-end (submit → assign → close)"
            rows.append(drain_row(scenario, server, k, count, window, via))
    return rows
