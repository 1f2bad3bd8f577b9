"""``bench/run [--quick] [--json] [--only NAME[,NAME]] [--keep]``: run the scenarios, print a table.

Progress goes to stderr; stdout gets the table (or, with ``--json``, one JSON document).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import browser, connections, depth, large, latency, replicas, throughput
from bench.common import FULL, QUICK, REPO, Result, Run, log, quiet_machine
from bench.goals import judge
from colonies import crypto

Scenario = Callable[[Run], Coroutine[Any, Any, list[Result]]]

SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "floor": (throughput.floor, "bare Starlette+uvicorn signed endpoint vs the real getcolonymsg"),
    "submit": (throughput.submit, "submit throughput alone"),
    "e2e": (throughput.e2e, "end-to-end throughput with K = 1, 10, 50 executors"),
    "dispatch": (latency.dispatch, "submit -> idle long-polling executor latency"),
    "wait": (latency.wait_latency, "close -> wait() over /pubsub latency"),
    "large": (large.large, "one ~7 MB submit, and /health latency while several run"),
    "depth": (depth.depth, "assign latency and memory with 1k/100k/1M WAITING (alias: memory)"),
    "browser": (browser.browser, "one headless Chromium tab: ready, registered, processes/s"),
    "connections": (
        connections.connections,
        "10,000 (--quick 500) executors long-polling at once on /api and /rpc",
    ),
    "go": (replicas.go, "drain K = 10, 50 on ours (--store, --replicas) and the Go reference"),
    "scale": (
        replicas.scale,
        "drain K = 10, 50 on PostgreSQL: 1 process vs N replicas vs --workers N (N = 2)",
    ),
    "xdispatch": (replicas.xdispatch, "dispatch across replicas: long-poll on B, submit on A"),
}
# Scenarios that are not part of a default run (they need PostgreSQL or the Go reference).
OPT_IN = {"go", "scale", "xdispatch"}
# Scenarios that only exist on SQLite (a seeded SQLite file; ``colonies dev``).
SQLITE_ONLY = {"depth", "browser"}
ALIASES = {"memory": "depth"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    listing = "\n".join(f"  {name:9} {about}" for name, (_, about) in SCENARIOS.items())
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description="Benchmark a colonies server on 127.0.0.1 (see docs/performance.md).",
        epilog=f"scenarios:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (< 1 min)")
    parser.add_argument("--keep", action="store_true", help="keep scratch dir, logs, databases")
    parser.add_argument("--save", type=Path, help="also write the JSON document to this file")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the servers' store: SQLite data dirs, or a fresh PostgreSQL database per server "
        "on 127.0.0.1:5432 (COLONIES_BENCH_POSTGRES overrides the admin URL), dropped after",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="server processes on one database (PostgreSQL); clients spread round-robin",
    )
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if args.replicas > 1 and args.store != "postgres":
        parser.error("--replicas needs --store postgres")
    return args


def selected(only: str, store: str = "sqlite") -> list[str]:
    if not only:
        skip = OPT_IN | (SQLITE_ONLY if store != "sqlite" else set())
        return [n for n in SCENARIOS if n not in skip]
    names = [ALIASES.get(n.strip(), n.strip()) for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if store != "sqlite" and (wrong := [n for n in names if n in SQLITE_ONLY]):
        raise SystemExit(f"{', '.join(wrong)}: SQLite only (drop --store {store})")
    return [n for n in SCENARIOS if n in names]


def machine() -> dict[str, Any]:
    """What the numbers depend on."""
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "crypto_backend": crypto.BACKEND,
        "uvloop": find_spec("uvloop") is not None,
        "httptools": find_spec("httptools") is not None,
        "source": source_state(),
    }


def source_state() -> str:
    """The commit under test, and whether src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted src/ changes' if dirty else ''}"


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop for the load generators too, when installed (less client CPU per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_all(
    run: Run, names: list[str], background: dict[str, float]
) -> tuple[list[Result], list[str]]:
    """Each scenario in turn (after waiting for a quiet machine); a failure is a row."""
    results: list[Result] = []
    failed: list[str] = []
    with asyncio.Runner(loop_factory=new_loop) as runner:
        for name in names:
            log(f"[bold]{name}[/]: {SCENARIOS[name][1]}")
            background[name] = round(
                runner.run(quiet_machine(patience=run.sizes.quiet_patience)), 3
            )
            started = time.perf_counter()
            try:
                results.extend(runner.run(SCENARIOS[name][0](run)))
            except Exception as e:
                traceback.print_exc()
                failed.append(name)
                error = f"{type(e).__name__}: {e}"
                row = Result(name, "", 0.0, "", error, shown="FAILED", data={"failed": True})
                results.append(row)
            log(f"{name}: done in {time.perf_counter() - started:.1f} s")
    return results, failed


def table(results: list[Result], facts: dict[str, Any], quick: bool) -> Table:
    """The Rich table printed at the end."""
    title = (
        f"colonies benchmarks{' (--quick)' if quick else ''} — {facts['date']}, "
        f"{facts['cpus']} CPUs ({facts['cpu']}), Python {facts['python']}, "
        f"crypto {facts['crypto_backend']}, store {facts['store']}, source {facts['source']}"
    )
    out = Table(title=title, title_justify="left", show_lines=False)
    out.add_column("Scenario", overflow="fold")
    out.add_column("Parameters", overflow="fold")
    out.add_column("Result", justify="right", no_wrap=True)
    out.add_column("Unit", no_wrap=True)
    out.add_column("Goal", overflow="fold")
    out.add_column("Notes", overflow="fold")
    for r in results:
        goal = r.goal if r.met is None else f"[{'green' if r.met else 'red'}]{r.goal}[/]"
        out.add_row(r.scenario, r.params, r.display(), r.unit, goal, r.notes)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = selected(args.only, args.store)
    if crypto.BACKEND != "coincurve":
        log("[red]coincurve is not available: the load generators would be the bottleneck[/]")
        return 2
    facts = machine()
    facts["background_cores"] = {}  # what other processes used before each scenario
    root = Path(tempfile.mkdtemp(prefix="colonies-bench-"))
    run = Run(
        QUICK if args.quick else FULL,
        root,
        keep=args.keep,
        store=args.store,
        replicas=args.replicas,
    )
    facts["store"] = run.describe()
    started = time.perf_counter()
    try:
        results, failed = run_all(run, names, facts["background_cores"])
    finally:
        if args.keep:
            log(f"scratch dir kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    judge(results)
    facts["total_seconds"] = round(time.perf_counter() - started, 1)
    log(f"all done in {facts['total_seconds']:.0f} s")
    document = {"machine": facts, "quick": args.quick, "results": [r.to_dict() for r in results]}
    text = json.dumps(document, indent=2, default=str)
    if args.save:
        args.save.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        console = Console(width=None if sys.stdout.isatty() else 200)
        console.print(table(results, facts, args.quick))
    if failed:
        log(f"[red]failed: {', '.join(failed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
