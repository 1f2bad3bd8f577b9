"""The browser executor: ``colonies dev`` and its /executor/ page in one headless Chromium tab.

Measures what a user waits for (page load -> Python ready, Start -> registered) and how many
echo processes per second one tab completes. The page's ``window.colonies`` model gives the
times (``performance.now()`` values, i.e. ms since navigation start) and the counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import (
    CONCURRENCY,
    HOST,
    Meter,
    Result,
    Run,
    ServerProcess,
    Window,
    cpu_seconds,
    echo_spec,
    free_port,
    log,
    process_tree,
    python_module,
    rate_timeout,
    read_stat,
    run_concurrently,
    summarize,
)
from colonies.browser import CONCURRENCY as SLOTS
from colonies.cli.dev import read_env_block
from colonies.client import AsyncClient

CHROMIUM = "/usr/bin/chromium"
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
WASM = "wasm"
READY_TIMEOUT_MS = 60_000
REGISTERED_MS = 30_000
SAMPLE_EVERY = 0.1  # s between reads of the page's counters
FETCH_SAMPLES = 100
# The tab's own floor: sequential fetch() round trips from the page to the server's /health.
FETCH_PROBE = """async (n) => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await (await fetch("/health", { cache: "no-store" })).text();
    times.push(performance.now() - t0);
  }
  return times;
}"""
# A 50 ms interval on the page's main thread: the gaps between its ticks while Pyodide boots (in
# the Web Worker) show whether the page stayed responsive.
TICKS = "window.__ticks = []; setInterval(() => window.__ticks.push(performance.now()), 50);"


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of one process ("main" for its main thread)."""
    totals: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            name, seconds = read_stat(task / "stat")
            name = "main" if task.name == str(pid) else name
            totals[name] = totals.get(name, 0.0) + seconds
    return totals


def chromium_cpu() -> dict[str, float]:
    """CPU seconds of our Chromium processes by ``--type`` (browser, renderer, utility, …); the
    renderer is split into the page's main thread, the Web Worker and the rest."""
    totals: dict[str, float] = {}

    def add(label: str, seconds: float) -> None:
        totals[label] = totals.get(label, 0.0) + seconds

    for pid in process_tree(os.getpid())[1:]:
        with contextlib.suppress(OSError):  # gone meanwhile
            # Chromium rewrites its command line into one space-separated string
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "chrom" not in command.split(" ", 1)[0]:
                continue
            match = re.search(r"--type=(\S+)", command)
            kind = match.group(1) if match else "browser"
            if kind != "renderer":
                add(kind, cpu_seconds(pid))
                continue
            threads = thread_cpu(pid)
            add("page main thread", threads.pop("main", 0.0))
            add("Web Worker", threads.pop("DedicatedWorker", 0.0))
            add("renderer other", sum(threads.values()))
    return totals


async def wait_js(page: Any, condition: str, timeout_ms: int) -> None:
    """Wait until ``condition`` (JS over ``colonies``) holds; fail with the page's error."""
    await page.wait_for_function(
        f"() => window.colonies && (({condition}) || colonies.state === 'error')",
        timeout=timeout_ms,
    )
    state = await page.evaluate("colonies.state")
    if state == "error":
        raise RuntimeError(f"the page shows an error: {await page.evaluate('colonies.error')}")


def steady_rate(samples: list[tuple[float, int]], total: int) -> float:
    """Completions per second between 10% and 90% of ``total`` (skips ramp-up and the tail)."""
    low = next(s for s in samples if s[1] >= total * 0.1)
    high = next(s for s in samples if s[1] >= total * 0.9)
    if high[0] <= low[0]:
        return 0.0
    return (high[1] - low[1]) / (high[0] - low[0])


@dataclass
class TabRun:
    """What one tab measured: the page's timings, the counter samples, CPU and fetch times."""

    count: int
    loaded: dict[str, Any] = field(default_factory=dict)  # colonies.timings once ready
    boot_ticks: list[float] = field(default_factory=list)  # main-thread ticks until ready
    reloads: list[dict[str, Any]] = field(default_factory=list)  # the same after reloads
    started: dict[str, Any] = field(default_factory=dict)  # colonies.timings once registered
    fetch_ms: list[float] = field(default_factory=list)
    samples: list[tuple[float, int]] = field(default_factory=list)  # (s, completed)
    failed: int = 0
    window: Window | None = None
    chromium: dict[str, float] = field(default_factory=dict)  # CPU s by process type

    def results(self) -> list[Result]:
        assert self.window is not None
        window = self.window
        fetch = summarize([ms / 1000 for ms in self.fetch_ms])
        shares = ", ".join(
            f"{kind} {seconds / window.wall:.0%}"
            for kind, seconds in sorted(self.chromium.items(), key=lambda item: -item[1])
            if seconds / window.wall >= 0.01
        )
        rate = steady_rate(self.samples, self.count)
        first = next(s for s in self.samples if s[1] > 0)
        last = self.samples[-1]
        overall = (last[1] - first[1]) / max(last[0] - first[0], 1e-9)
        registered = float(self.started["registeredAt"]) - float(self.started["startClickedAt"])
        return [
            Result(
                "browser: echo throughput (one tab)",
                f"{self.count:,} pre-submitted echo processes, {SLOTS} polling slots in the tab",
                rate,
                "processes/s",
                f"steady part (10-90%); overall {overall:.0f}/s; "
                f"{self.failed} failed; page fetch() round trip p50 {fetch['p50']:.1f} ms; "
                f"{window.notes()}; Chromium: {shares}",
                data={
                    **window.data(),
                    "overall_rate": overall,
                    "failed": self.failed,
                    "slots": SLOTS,
                    "chromium_cpu_share": {k: v / window.wall for k, v in self.chromium.items()},
                    "fetch_rtt_ms": fetch,
                },
            ),
            ready_row("first load, empty browser cache", [self.loaded]),
            freeze_row(self.boot_ticks, float(self.loaded.get("bootMs") or 0)),
            ready_row(
                f"reload, warm HTTP and code caches (median of {len(self.reloads)})",
                self.reloads,
            ),
            Result(
                "browser: Start → registered",
                "one start; join token: register, announce functions",
                registered,
                "ms",
            ),
        ]


async def loaded(page: Any) -> dict[str, Any]:
    """The page's timings once its worker has said what became of the Python snapshot
    (``snapshot``: restored from it, saved for the next load, or unsaved)."""
    await wait_js(page, "colonies.snapshot !== null", READY_TIMEOUT_MS)
    return dict(await page.evaluate("({...colonies.timings, snapshot: colonies.snapshot})"))


def ready_row(params: str, loads: list[dict[str, Any]]) -> Result:
    """Page load -> Python ready (the median load): ``timings.readyAt`` is ms since navigation
    start."""
    timings = sorted(loads, key=lambda t: float(t["readyAt"]))[len(loads) // 2]
    boot = timings.get("bootMs")
    return Result(
        "browser: page load → ready",
        f"{params}; Pyodide boots in a Web Worker",
        float(timings["readyAt"]),
        "ms",
        (f"worker boot {float(boot):.0f} ms; " if boot is not None else "")
        + f"Python snapshot: {', '.join(str(t.get('snapshot')) for t in loads)}",
        data={
            "boot_ms": boot,
            "ready_ms_all": [float(t["readyAt"]) for t in loads],
            "snapshot": [t.get("snapshot") for t in loads],
        },
    )


def freeze_row(ticks: list[float], boot_ms: float) -> Result:
    """The longest gap between the page's 50 ms ticks during the first boot."""
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    span_s = (ticks[-1] - ticks[0]) / 1000 if len(ticks) > 1 else 0.0
    rate = (len(ticks) - 1) / span_s if span_s else 0.0
    return Result(
        "browser: main thread during boot",
        f"longest gap between 50 ms interval ticks while the worker boots ({boot_ms:.0f} ms)",
        max(gaps, default=0.0),
        "ms",
        f"{rate:.1f} ticks/s (20 if never held up)",
        data={"ticks_per_s": rate, "ticks": len(ticks)},
    )


async def browser(run: Run) -> list[Result]:
    """Load the page, pre-submit the echo processes, press Start, watch the counters."""
    from playwright.async_api import async_playwright

    tab = TabRun(run.sizes.browser_processes)
    root = run.fresh_dir("browser")
    data_dir = root / "dev"
    port = free_port()
    dev = ServerProcess(
        "colonies dev",
        python_module(
            "colonies.cli",
            *("dev", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir)),
        ),
        port,
        root / "dev.log",
    )
    try:
        await dev.start()
        member = read_env_block((data_dir / "dev.env").read_text())["COLONIES_PRVKEY"]
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                page = await chromium.new_page()
                await page.add_init_script(TICKS)
                log("browser: loading /executor/")
                await page.goto(f"{dev.url}/executor/")
                await wait_js(page, "colonies.state === 'ready'", READY_TIMEOUT_MS)
                tab.loaded = await loaded(page)
                tab.boot_ticks = await page.evaluate(
                    "window.__ticks.filter((t) => t <= colonies.timings.readyAt)"
                )
                for _ in range(run.sizes.browser_reloads):
                    # Warm: the page's files in the HTTP cache and the worker's Python
                    # snapshot saved in IndexedDB (``loaded`` waits for it to be written).
                    log("browser: reloading (warm HTTP and code caches, Python snapshot)")
                    await page.reload()
                    await wait_js(page, "colonies.state === 'ready'", READY_TIMEOUT_MS)
                    tab.reloads.append(await loaded(page))
                tab.fetch_ms = await page.evaluate(FETCH_PROBE, FETCH_SAMPLES)

                log(f"browser: submitting {tab.count} echo processes")
                async with AsyncClient(dev.url, member) as client:
                    await run_concurrently(
                        tab.count,
                        CONCURRENCY,
                        lambda i: client.submit(echo_spec(WASM, i)),
                        timeout=rate_timeout(tab.count),
                    )

                log("browser: Start; draining")
                await page.click("#start")
                before = chromium_cpu()
                with Meter(dev.pid) as meter:
                    await wait_js(page, "colonies.timings.registeredAt !== null", REGISTERED_MS)
                    tab.started = await page.evaluate("colonies.timings")
                    await drain(page, tab)
                tab.window = meter.window
                tab.chromium = {k: v - before.get(k, 0.0) for k, v in chromium_cpu().items()}
            finally:
                await chromium.close()
        return tab.results()
    finally:
        dev.stop()
        if data_dir.exists():
            run.cleanup(data_dir)


async def drain(page: Any, tab: TabRun) -> None:
    """Read the page's counters every ``SAMPLE_EVERY`` s until all processes are done."""
    t0 = time.perf_counter()
    deadline = t0 + rate_timeout(tab.count, slowest_rate=10)
    while True:
        counters = await page.evaluate("colonies.counters")
        completed, tab.failed = int(counters["completed"]), int(counters["failed"])
        tab.samples.append((time.perf_counter() - t0, completed))
        if completed + tab.failed >= tab.count:
            return
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the tab completed {completed} of {tab.count} in time")
        await asyncio.sleep(SAMPLE_EVERY)
