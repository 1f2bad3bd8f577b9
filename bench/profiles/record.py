"""Record py-spy profiles of the server process under a bench load (docs/performance.md,
"Profiles, 2026-12-01"). Needs the ``bench`` extra (py-spy). Usage, from the repository root:

    .venv/bin/python -m bench.profiles.record e2e sqlite 14000 10 e2e-sqlite-k10
    .venv/bin/python -m bench.profiles.record e2e postgres 9000 10 e2e-postgres-k10
    .venv/bin/python -m bench.profiles.record submit sqlite 45000 0 submit-sqlite
    .venv/bin/python -m bench.profiles.record e2e sqlite 14000 10 e2e-sqlite-k10-rpc rpc

The optional sixth argument is how the load generator's clients send: ``api`` (``POST /api``,
the default) or ``rpc`` (frames on the ``/rpc`` WebSocket).

A fresh server (bench.common.colonies_server), 300 warm-up processes, then py-spy attached to
the server's pid (``record -r 200``: a flame graph SVG and the raw collapsed stacks) for the
measured window only. ``NOSPY=1`` runs the same load without py-spy (for CPU per process);
``METRICS=1`` adds the server's ``colonies_requests_total`` lines to the JSON printed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench import throughput
from bench.common import (
    Run,
    Sizes,
    Via,
    Window,
    clients,
    colonies_server,
    echo_spec,
    new_executors,
)

OUT = Path(__file__).parent
PYSPY = str(Path(sys.executable).with_name("py-spy"))


def spy(pid: int, name: str) -> list[subprocess.Popen[bytes]]:
    if os.environ.get("NOSPY"):
        return []
    return [
        subprocess.Popen(
            [
                PYSPY,
                "record",
                "--pid",
                str(pid),
                "-r",
                "200",
                "-f",
                fmt,
                "-o",
                str(OUT / f"{name}.{ext}"),
            ],
            stdout=subprocess.DEVNULL,
        )
        for fmt, ext in (("flamegraph", "svg"), ("raw", "txt"))
    ]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    for p in procs:
        p.wait(60)


async def main(scenario: str, store: str, count: int, k: int, name: str, via: Via) -> None:
    run = Run(Sizes(), Path(tempfile.mkdtemp(prefix="profile-")), store=store)
    result: dict[str, Any] = {
        "scenario": scenario,
        "store": store,
        "count": count,
        "k": k,
        "via": via,
    }
    async with colonies_server(run, name=scenario) as server:
        window: Window
        if scenario == "e2e":
            keys = await new_executors(server, k, "e2e")
            members = [server.keys.member]
            async with (
                clients(server, members, via) as subs,
                clients(server, keys, via) as executors,
            ):
                await throughput.pipeline(subs, executors, 300, "e2e")
                procs = spy(server.pid, name)
                await asyncio.sleep(0.5)  # py-spy attached
                meter = server.meter()
                await throughput.pipeline(subs, executors, count, "e2e", meter)
                stop(procs)
                window = meter.window
        else:
            async with clients(server, [server.keys.member], via) as subs:

                async def submit(i: int) -> None:
                    await subs[0].submit(echo_spec("nobody", i))

                await throughput.flood(server.meter(), 300, 0, submit)
                procs = spy(server.pid, name)
                await asyncio.sleep(0.5)
                window = await throughput.flood(server.meter(), count, 0, submit)
                stop(procs)
        if os.environ.get("METRICS"):
            body = urllib.request.urlopen(server.url + "/metrics").read().decode()
            result["requests"] = [
                line for line in body.splitlines() if line.startswith("colonies_requests_total")
            ]
    result.update(window.data())
    result["server_cpu_s"] = window.server_cpu
    result["server_us_per_unit"] = window.server_cpu / count * 1e6
    result["rate_per_s"] = count / window.wall
    print(json.dumps(result))


if __name__ == "__main__":
    scenario, store, count, k, name = sys.argv[1:6]
    via: Via = "rpc" if sys.argv[6:7] == ["rpc"] else "api"
    asyncio.run(main(scenario, store, int(count), int(k), name, via))
