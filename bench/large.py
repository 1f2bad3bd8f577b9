"""Large requests: what one ~7 MB submit costs the server, and how long ``GET /health`` waits
while several are in flight (the event loop must keep answering everyone else)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bench.common import COLONY, Result, Run, colonies_server, latency_result, log, megabytes
from colonies import rpc

HEALTH_GAP = 0.01  # s between /health probes while the large submits run
TIMEOUT = 300.0  # s for the whole scenario (a regression makes it slow, never hung)


def large_submit(prvkey: str, items: int) -> str:
    """A signed submit whose ``args`` is one list of ``items`` integers (the codec's worst
    case: many small values)."""
    spec = {
        "funcname": "large",
        "args": list(range(items)),
        "conditions": {"colonyname": COLONY, "executortype": "nobody"},
    }
    return rpc.build_request({"msgtype": "submitfuncspecmsg", "spec": spec}, prvkey)


async def post(session: aiohttp.ClientSession, url: str, body: str) -> None:
    async with session.post(url + "/api", data=body) as reply:
        await reply.read()
        if reply.status != 200:
            raise RuntimeError(f"large submit answered {reply.status}")


async def large(run: Run) -> list[Result]:
    sizes = run.sizes
    async with colonies_server(run, name="large") as server, aiohttp.ClientSession() as session:
        body = large_submit(server.keys.member, sizes.large_items)
        params = f"{megabytes(len(body)):.1f} MB body ({sizes.large_items:,} integers in args)"
        log(f"large: one submit of {params}")
        async with asyncio.timeout(TIMEOUT):
            await post(session, server.url, body)  # warm-up: codecs built, pages cached
            with server.meter() as meter:
                await post(session, server.url, body)
            one = meter.window
            concurrent = sizes.large_concurrent
            log(f"large: {concurrent} at once, /health every {HEALTH_GAP * 1000:.0f} ms")
            probes: list[float] = []
            submits = asyncio.gather(*(post(session, server.url, body) for _ in range(concurrent)))
            with server.meter() as meter:
                while not submits.done():
                    sent = time.perf_counter()
                    async with session.get(server.url + "/health") as reply:
                        await reply.read()
                    probes.append(time.perf_counter() - sent)
                    await asyncio.sleep(HEALTH_GAP)
                await submits
    rows = [
        Result(
            "large submit",
            params,
            one.server_cpu * 1000,
            "ms server CPU",
            f"round trip {one.wall * 1000:,.0f} ms",
            data={"server_cpu_ms": one.server_cpu * 1000, "wall_ms": one.wall * 1000},
        ),
        latency_result(
            "/health during large submits",
            f"{concurrent} such submits at once, done in {meter.window.wall:.1f} s",
            probes,
            f"max {max(probes) * 1000:,.0f} ms",
            all_submits_s=meter.window.wall,
        ),
    ]
    return rows
