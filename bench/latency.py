"""Latency: dispatch (submit -> an idle long-polling executor has it) and wait (close -> the
waiting client's ``wait()`` returns, via the /pubsub WebSocket)."""

from __future__ import annotations

import asyncio
import time

from bench.common import (
    COLONY,
    Result,
    Run,
    cancel_all,
    clients,
    colonies_server,
    echo_spec,
    latency_result,
    log,
    new_executors,
    plural,
    summarize,
)
from colonies.client import AsyncClient
from colonies.errors import NoProcessAvailable
from colonies.model import ProcessState

POLL_TIMEOUT = 10  # s, the executors' long-poll
SETTLE = 0.5  # s for new executors to be long-polling (and the server to drop cancelled polls)
GAP = 0.005  # s between samples, for the executor that just closed to poll again
SUBSCRIBE_GRACE = 0.05  # s for wait() to connect and subscribe before the close
SAMPLE_TIMEOUT = 10.0  # s, any one sample


async def dispatch_samples(
    submitter: AsyncClient, executors: list[AsyncClient], count: int
) -> tuple[list[float], list[float]]:
    """``count`` sequential submits to idle long-polling executors; per sample, the time from
    submit returning (and from submit being sent) to the executor's assign returning."""
    assigned: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    async def serve(client: AsyncClient) -> None:
        while True:
            try:
                process = await client.assign(COLONY, POLL_TIMEOUT)
            except NoProcessAvailable:
                continue
            at = time.perf_counter()
            await client.close(process.processid, [])
            assigned.put_nowait((process.processid, at))

    workers = [asyncio.create_task(serve(c)) for c in executors]
    from_return: list[float] = []
    from_send: list[float] = []
    try:
        await asyncio.sleep(SETTLE)
        async with asyncio.timeout(count * SAMPLE_TIMEOUT):
            for i in range(count):
                sent = time.perf_counter()
                process = await submitter.submit(echo_spec("dispatch", i))
                returned = time.perf_counter()
                processid, at = await asyncio.wait_for(assigned.get(), SAMPLE_TIMEOUT)
                if processid != process.processid:
                    raise RuntimeError(f"expected {process.processid}, an executor got {processid}")
                from_return.append(at - returned)
                from_send.append(at - sent)
                await asyncio.sleep(GAP)
    finally:
        await cancel_all(workers)
    return from_return, from_send


async def dispatch(run: Run) -> list[Result]:
    rows = []
    count = run.sizes.dispatch_samples
    for k in run.sizes.dispatch_executors:
        async with colonies_server(run, name=f"dispatch-{k}") as server:
            keys = await new_executors(server, k, "dispatch")
            async with server.client() as submitter, clients(server.url, keys) as executors:
                await dispatch_samples(submitter, executors, min(run.sizes.warmup, 50))
                log(f"dispatch: {count} samples, {k} idle executors")
                with server.meter() as meter:
                    from_return, from_send = await dispatch_samples(submitter, executors, count)
        sent = summarize(from_send)
        early = sum(1 for s in from_return if s < 0)
        rows.append(
            latency_result(
                "dispatch latency (submit returned → assign returned)",
                f"{plural(k, 'idle executor')} long-polling, {count} samples, one at a time",
                from_return,
                f"from submit sent: p50 {sent['p50']:.2f} / p99 {sent['p99']:.2f} ms"
                + (f"; {early} samples negative (assign first)" if early else "")
                + f"; {meter.window.notes()}",
                from_send_ms=sent,
                executors=k,
                **meter.window.data(),
            )
        )
    return rows


async def wait_samples(
    member: AsyncClient, executor: AsyncClient, count: int
) -> tuple[list[float], list[float], list[float]]:
    """Per sample: submit, assign, start ``wait()``, let it subscribe, close. Returns the times
    close sent -> wait returned, close returned -> wait returned, and the close round trips."""
    from_send: list[float] = []
    from_return: list[float] = []
    close_rtt: list[float] = []
    async with asyncio.timeout(count * SAMPLE_TIMEOUT):
        for i in range(count):
            await member.submit(echo_spec("waitlat", i))
            process = await executor.assign(COLONY, 5)
            waiting = asyncio.create_task(member.wait(process.processid, SAMPLE_TIMEOUT))
            await asyncio.sleep(SUBSCRIBE_GRACE)
            if waiting.done():
                raise RuntimeError(f"wait() returned before the close: {waiting.result()}")
            sent = time.perf_counter()
            await executor.close(process.processid, ["done"])
            returned = time.perf_counter()
            done = await waiting
            end = time.perf_counter()
            if done.state != ProcessState.SUCCESS:
                raise RuntimeError(f"wait() returned {done.state}, expected SUCCESS")
            from_send.append(end - sent)
            from_return.append(end - returned)
            close_rtt.append(returned - sent)
    return from_send, from_return, close_rtt


async def wait_latency(run: Run) -> list[Result]:
    count = run.sizes.wait_samples
    async with colonies_server(run, name="wait") as server:
        [key] = await new_executors(server, 1, "waitlat")
        async with server.client() as member, server.client(key) as executor:
            await wait_samples(member, executor, 10)
            log(f"wait: {count} samples")
            with server.meter() as meter:
                from_send, from_return, close_rtt = await wait_samples(member, executor, count)
    after_close, rtt = summarize(from_return), summarize(close_rtt)
    return [
        latency_result(
            "wait latency (close sent → wait() returned)",
            f"{count} samples, wait() subscribed {SUBSCRIBE_GRACE * 1000:.0f} ms before close",
            from_send,
            f"close round trip p50 {rtt['p50']:.2f} ms; close returned → wait() returned "
            f"p50 {after_close['p50']:.2f} / p99 {after_close['p99']:.2f} ms "
            "(wait() re-reads the process after the event)",
            from_close_return_ms=after_close,
            close_rtt_ms=rtt,
            **meter.window.data(),
        )
    ]
