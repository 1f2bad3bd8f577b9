"""The performance goals (issue 13), judged against the rows they apply to.

One place lists them, so the table's Goal column and ``--json`` (``goal``, ``met``) say the same
thing and a goal changes in one line. A goal applies to a row by its scenario and data; rows no
goal applies to show nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.common import Result

CPU_MS_PER_PROCESS = 0.6  # server CPU of submit + assign + close, SQLite and PostgreSQL
DRAIN_API = 1200.0  # processes/s at K = 10 and 50 by POST /api
DRAIN_RPC = 2000.0  # processes/s by the /rpc WebSocket
SUBMIT_API = 3500.0  # submits/s by POST /api
BROWSER_RATE = 300.0  # processes/s in one tab
BROWSER_READY_MS = 2500.0  # page load -> ready, warm caches
BROWSER_REGISTERED_MS = 1000.0  # Start -> registered (issue 6)
BROWSER_FREEZE_MS = 1500.0  # longest main-thread stall during boot (issue 6)
DISPATCH_P50_MS, DISPATCH_P99_MS = 1.0, 3.0  # at K = 50
DEPTH_RATIO = 2.0  # assign p50 at the deepest queue / at 1k
CONNECTIONS_RSS_MIB = 1024.0
CONNECTIONS_P99_MS = 10.0


@dataclass(frozen=True)
class Goal:
    text: str
    applies: Callable[[Result], bool]
    met: Callable[[Result, Sequence[Result]], bool]


def _scenario(prefix: str, **data: object) -> Callable[[Result], bool]:
    """Rows whose scenario starts with ``prefix`` and whose data has these values."""

    def applies(r: Result) -> bool:
        return r.scenario.startswith(prefix) and all(r.data.get(k) == v for k, v in data.items())

    return applies


def _at_least(limit: float, unit: str, applies: Callable[[Result], bool]) -> Goal:
    """The row's value must reach ``limit`` (``unit`` as printed after it: "/s")."""
    return Goal(f"≥ {limit:,.0f}{unit}", applies, lambda r, _: r.value >= limit)


def _at_most(limit: float, unit: str, applies: Callable[[Result], bool]) -> Goal:
    """The row's value must stay at or under ``limit`` (``unit``: " ms", " MiB")."""
    return Goal(f"≤ {limit:,.0f}{unit}", applies, lambda r, _: r.value <= limit)


def _p(r: Result, percentile: str) -> float:
    return float(r.data["latency_ms"][percentile])


def _depth_ratio(r: Result, rows: Sequence[Result]) -> bool:
    shallow = [x for x in rows if x.scenario == r.scenario and x.data.get("depth") == 1000]
    return bool(shallow) and r.value <= DEPTH_RATIO * shallow[0].value


E2E = "end-to-end"
GOALS = [
    Goal(
        f"≤ {CPU_MS_PER_PROCESS:g} ms server CPU/process",
        lambda r: r.scenario.startswith(E2E) and "server_cpu_ms_per_process" in r.data,
        lambda r, _: r.data["server_cpu_ms_per_process"] <= CPU_MS_PER_PROCESS,
    ),
    *(
        _at_least(
            rate,
            "/s",
            lambda r, via=via: _scenario(E2E, via=via)(r) and r.data.get("executors") in (10, 50),
        )
        for via, rate in (("api", DRAIN_API), ("rpc", DRAIN_RPC))
    ),
    _at_least(SUBMIT_API, "/s", _scenario("submit throughput", via="api")),
    Goal(
        f"p50 ≤ {DISPATCH_P50_MS:g}, p99 ≤ {DISPATCH_P99_MS:g} ms",
        _scenario("dispatch latency", executors=50),
        lambda r, _: _p(r, "p50") <= DISPATCH_P50_MS and _p(r, "p99") <= DISPATCH_P99_MS,
    ),
    Goal(
        f"≤ {DEPTH_RATIO:g}x the 1k p50",
        lambda r: r.scenario == "queue depth: assign latency" and r.data.get("depth", 0) > 1000,
        _depth_ratio,
    ),
    _at_least(BROWSER_RATE, "/s", _scenario("browser: echo throughput")),
    _at_most(
        BROWSER_READY_MS,
        " ms",
        lambda r: r.scenario == "browser: page load → ready" and "warm" in r.params,
    ),
    _at_most(BROWSER_REGISTERED_MS, " ms", _scenario("browser: Start → registered")),
    _at_most(BROWSER_FREEZE_MS, " ms", _scenario("browser: main thread during boot")),
    _at_most(CONNECTIONS_RSS_MIB, " MiB", _scenario("connections: server memory")),
    Goal(
        f"p99 ≤ {CONNECTIONS_P99_MS:g} ms",
        _scenario("connections: dispatch latency"),
        lambda r, _: _p(r, "p99") <= CONNECTIONS_P99_MS,
    ),
    Goal(
        "none dropped or twice",
        _scenario("connections: each process assigned once"),
        lambda r, _: r.data.get("duplicates") == 0 and r.data.get("missing") == 0,
    ),
]


def judge(rows: Sequence[Result]) -> None:
    """Set each row's ``goal`` (what it must reach, ✓ or ✗) and ``met`` from ``GOALS``."""
    for row in rows:
        if row.data.get("failed") or row.data.get("skipped"):
            continue
        verdicts = [(g.text, g.met(row, rows)) for g in GOALS if g.applies(row)]
        if verdicts:
            row.goal = "; ".join(f"{text} {'✓' if met else '✗'}" for text, met in verdicts)
            row.met = all(met for _, met in verdicts)
