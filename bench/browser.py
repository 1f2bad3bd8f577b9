"""The browser executor: ``colonies dev`` and its /executor/ page in one headless Chromium tab.

Measures what a user waits for (page load -> Python ready, Start -> registered) and how many
echo processes per second one tab completes. The page's ``window.colonies`` model gives the
times (``performance.now()`` values, i.e. ms since navigation start) and the counters.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CONCURRENCY,
    HOST,
    Meter,
    Result,
    Run,
    ServerProcess,
    cpu_seconds,
    echo_spec,
    free_port,
    log,
    python_module,
    rate_timeout,
    run_concurrently,
    summarize,
)
from colonies.browser import CONCURRENCY as SLOTS
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
GOALS = {"rate": 200.0, "ready_ms": 3500.0, "registered_ms": 1000.0}


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Playwright's driver, Chromium and its helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def chromium_cpu() -> dict[str, float]:
    """CPU seconds of our Chromium processes by ``--type`` (renderer, gpu-process, …)."""
    totals: dict[str, float] = {}
    for pid in descendants(os.getpid()):
        try:
            # Chromium rewrites its command line into one space-separated string
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            seconds = cpu_seconds(pid)
        except OSError:
            continue
        if "chrom" not in command.split(" ", 1)[0]:
            continue
        match = re.search(r"--type=(\S+)", command)
        kind = match.group(1) if match else "browser"
        totals[kind] = totals.get(kind, 0.0) + seconds
    return totals


def parse_exports(text: str) -> dict[str, str]:
    """The ``export K="V"`` lines ``colonies dev`` writes to dev.env."""
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip('"')
    return env


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


async def browser(run: Run) -> list[Result]:
    from playwright.async_api import async_playwright

    count = run.sizes.browser_processes
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
        member = parse_exports((data_dir / "dev.env").read_text())["COLONIES_PRVKEY"]
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                page = await chromium.new_page()
                log("browser: loading /executor/")
                await page.goto(f"{dev.url}/executor/")
                await wait_js(page, "colonies.state === 'ready'", READY_TIMEOUT_MS)
                loaded = await page.evaluate("colonies.timings")
                fetch_ms = await page.evaluate(FETCH_PROBE, FETCH_SAMPLES)

                log(f"browser: submitting {count} echo processes")
                async with AsyncClient(dev.url, member) as client:
                    await run_concurrently(
                        count,
                        CONCURRENCY,
                        lambda i: client.submit(echo_spec(WASM, i)),
                        timeout=rate_timeout(count),
                    )

                log("browser: Start; draining")
                await page.click("#start")
                before = chromium_cpu()
                with Meter(dev.pid) as meter:
                    await wait_js(page, "colonies.timings.registeredAt !== null", REGISTERED_MS)
                    started = await page.evaluate("colonies.timings")
                    samples, failed = await drain(page, count)
                after = chromium_cpu()
                used = {k: v - before.get(k, 0.0) for k, v in after.items()}
            finally:
                await chromium.close()
        return results(count, loaded, started, samples, failed, meter, used, fetch_ms)
    finally:
        dev.stop()
        if data_dir.exists():
            run.cleanup(data_dir)


async def drain(page: Any, count: int) -> tuple[list[tuple[float, int]], int]:
    """Read the page's counters every ``SAMPLE_EVERY`` s until ``count`` processes are done:
    (seconds, completed) samples and the number that failed."""
    samples: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    deadline = t0 + rate_timeout(count, slowest_rate=10)
    while True:
        counters = await page.evaluate("colonies.counters")
        completed, failed = int(counters["completed"]), int(counters["failed"])
        samples.append((time.perf_counter() - t0, completed))
        if completed + failed >= count:
            return samples, failed
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the tab completed {completed} of {count} in time")
        await asyncio.sleep(SAMPLE_EVERY)


def results(
    count: int,
    loaded: dict[str, Any],
    started: dict[str, Any],
    samples: list[tuple[float, int]],
    failed: int,
    meter: Meter,
    chromium: dict[str, float],
    fetch_ms: list[float],
) -> list[Result]:
    window = meter.window
    fetch = summarize([ms / 1000 for ms in fetch_ms])
    shares = ", ".join(
        f"{kind} {seconds / window.wall:.0%}"
        for kind, seconds in sorted(chromium.items(), key=lambda item: -item[1])
        if seconds / window.wall >= 0.01
    )
    rate = steady_rate(samples, count)
    first = next(s for s in samples if s[1] > 0)
    overall = (samples[-1][1] - first[1]) / max(samples[-1][0] - first[0], 1e-9)
    ready_ms = float(loaded["readyAt"])
    registered_ms = float(started["registeredAt"]) - float(started["startClickedAt"])
    boot = loaded.get("bootMs")
    return [
        Result(
            "browser: echo throughput (one tab)",
            f"{count:,} pre-submitted echo processes, {SLOTS} polling slots in the tab",
            rate,
            "processes/s",
            f"goal ≥ {GOALS['rate']:.0f}; steady part (10-90%); overall {overall:.0f}/s; "
            f"{failed} failed; page fetch() round trip p50 {fetch['p50']:.1f} ms; "
            f"{window.notes()}; Chromium: {shares}",
            data={
                **window.data(),
                "overall_rate": overall,
                "failed": failed,
                "slots": SLOTS,
                "chromium_cpu_share": {k: v / window.wall for k, v in chromium.items()},
                "fetch_rtt_ms": fetch,
            },
        ),
        Result(
            "browser: page load → ready",
            "Pyodide boot in a Web Worker, timings.readyAt",
            ready_ms,
            "ms",
            f"goal ≤ {GOALS['ready_ms']:.0f}"
            + (f"; worker boot {float(boot):.0f} ms" if boot is not None else ""),
            data={"boot_ms": boot},
        ),
        Result(
            "browser: Start → registered",
            "join token; register, approve, announce functions",
            registered_ms,
            "ms",
            f"goal ≤ {GOALS['registered_ms']:.0f}",
        ),
    ]
