"""Throughput: the request floor, submit alone, and end to end (submit -> assign -> close)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bench.common import (
    COLONY,
    CONCURRENCY,
    HOST,
    Meter,
    Result,
    Run,
    ServerProcess,
    Window,
    cancel_all,
    clients,
    colonies_server,
    echo_spec,
    free_port,
    log,
    new_executors,
    python_module,
    rate_timeout,
    run_concurrently,
    until_set,
)
from colonies import crypto
from colonies.client import AsyncClient
from colonies.errors import NoProcessAvailable


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
    per_request_us = window.server_cpu / count * 1e6
    return Result(
        scenario,
        params,
        count / window.wall,
        unit,
        f"{window.notes()}; server {per_request_us:,.0f} µs CPU/request",
        data={**window.data(), "count": count, "server_cpu_us_per_request": per_request_us},
    )


async def floor(run: Run) -> list[Result]:
    """Signed getcolonymsg: the bare floor app, then the real server, in the same run."""
    sizes = run.sizes
    params = f"{sizes.requests:,} signed getcolonymsg, {CONCURRENCY} in flight"
    data_dir = run.fresh_dir("floor")
    port = free_port()
    floor_app = ServerProcess(
        "floor",
        python_module("bench.floor", "--host", HOST, "--port", str(port)),
        port,
        data_dir / "floor.log",
    )
    rows: list[Result] = []
    try:
        await floor_app.start()
        log(f"floor: {sizes.requests} requests to the bare Starlette app")
        async with AsyncClient(floor_app.url, crypto.generate_private_key()) as client:
            window = await flood(
                Meter(floor_app.pid),
                sizes.requests,
                sizes.warmup,
                lambda i: client.get_colony(COLONY),
            )
        rows.append(
            rate_row("floor: bare ASGI + signature", params, sizes.requests, window, "req/s")
        )
    finally:
        floor_app.stop()
    async with colonies_server(run, name="getcolony") as server, server.client() as client:
        log(f"floor: {sizes.requests} getcolonymsg to the real server")
        window = await flood(
            server.meter(), sizes.requests, sizes.warmup, lambda i: client.get_colony(COLONY)
        )
        rows.append(rate_row("getcolony (real server)", params, sizes.requests, window, "req/s"))
    return rows


async def submit(run: Run) -> list[Result]:
    """Submit alone: nobody assigns, the queue just grows."""
    count = run.sizes.submit_processes
    async with colonies_server(run, name="submit") as server, server.client() as client:
        log(f"submit: {count} processes")
        window = await flood(
            server.meter(),
            count,
            run.sizes.warmup,
            lambda i: client.submit(echo_spec("nobody", i)),
        )
    params = f"{count:,} processes, {CONCURRENCY} in flight"
    return [rate_row("submit throughput", params, count, window, "processes/s")]


async def pipeline(
    submitter: AsyncClient, executors: list[AsyncClient], count: int, executortype: str
) -> None:
    """Submit ``count`` processes (``CONCURRENCY`` in flight) while every executor loops
    assign -> close; returns once all ``count`` are closed."""
    closed = 0
    finished = asyncio.Event()

    async def work(client: AsyncClient) -> None:
        nonlocal closed
        while True:
            try:
                process = await client.assign(COLONY, 1)
            except NoProcessAvailable:
                continue
            await client.close(process.processid, list(process.spec.args))
            closed += 1
            if closed >= count:
                finished.set()

    workers = [asyncio.create_task(work(c)) for c in executors]
    submitting = asyncio.create_task(
        run_concurrently(
            count,
            CONCURRENCY,
            lambda i: submitter.submit(echo_spec(executortype, i)),
            timeout=rate_timeout(count),
        )
    )
    try:
        async with asyncio.timeout(rate_timeout(count)):
            await until_set(finished, [submitting, *workers])
            await submitting
    finally:
        await cancel_all([submitting, *workers])


async def e2e(run: Run) -> list[Result]:
    """End to end with K executors, each K on a fresh server."""
    count = run.sizes.e2e_processes
    rows = []
    for k in run.sizes.e2e_executors:
        async with colonies_server(run, name=f"e2e-{k}") as server:
            keys = await new_executors(server, k, "e2e")
            async with server.client() as submitter, clients(server.url, keys) as executors:
                await pipeline(submitter, executors, min(run.sizes.warmup, count), "e2e")
                log(f"e2e: {count} processes, {k} executors")
                with server.meter() as meter:
                    await pipeline(submitter, executors, count, "e2e")
        window = meter.window
        rows.append(
            Result(
                "end-to-end (submit → assign → close)",
                f"{count:,} processes, K={k} executors, {CONCURRENCY} submitters",
                count / window.wall,
                "processes/s",
                window.notes(),
                data={**window.data(), "count": count, "executors": k},
            )
        )
    return rows
