"""The benchmark suite's smoke run: every scenario still runs end to end (no timing asserted)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import psycopg

from conftest import REPO
from pg import ADMIN_URL

SCENARIOS = {
    "floor",
    "getcolony",
    "submit",
    "end-to-end",
    "dispatch",
    "wait",
    "server memory",
    "queue depth",
    "large submit",
    "/health during large submits",
    "browser: echo",
    "browser: page load",
    "browser: Start",
    "connections: ",
}


def test_quick_run_measures_every_scenario() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout)["results"]
    for result in results:
        assert isinstance(result["value"], int | float) and result["value"] > 0, result
    seen = {name for name in SCENARIOS if any(r["scenario"].startswith(name) for r in results)}
    assert seen == SCENARIOS


def test_postgres_store_with_replicas() -> None:
    """``--store postgres --replicas 2``: a fresh database, two server processes on it, the
    submits spread over both, PostgreSQL's CPU measured, and the database dropped after."""
    args = ["--quick", "--json", "--only", "submit", "--store", "postgres", "--replicas", "2"]
    run = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLONIES_BENCH_POSTGRES": ADMIN_URL},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    document = json.loads(run.stdout)
    assert document["machine"]["store"] == "PostgreSQL, 2 replicas"
    results = document["results"]
    assert [r["via"] for r in results] == ["api", "rpc"]  # POST /api, then /rpc frames
    for result in results:
        assert result["scenario"] == "submit throughput" and result["value"] > 0
        assert "2 replicas" in result["params"]
        assert result["pg_cpu_share"] > 0  # the backends of the bench's database did the writes
    created = set(re.findall(r"database (colonies_bench_\w+) created", run.stderr))
    assert len(created) == 2
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        left = admin.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (list(created),)
        ).fetchall()
    assert left == []  # dropped again


def test_goals_are_judged_on_the_rows_they_apply_to() -> None:
    """``bench.goals.judge`` marks each row a goal applies to, ✓ or ✗, and leaves the rest."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from bench.common import Result
    from bench.goals import judge

    e2e = "end-to-end (submit → assign → close)"
    fast = Result(e2e, "", 1300.0, "processes/s", data={"via": "api", "executors": 10})
    fast.data["server_cpu_ms_per_process"] = 0.5
    slow_rpc = Result(e2e, "", 900.0, "processes/s", data={"via": "rpc", "executors": 50})
    slow_rpc.data["server_cpu_ms_per_process"] = 1.2
    one = Result(e2e, "", 400.0, "processes/s", data={"via": "api", "executors": 1})
    depth = "queue depth: assign latency"
    shallow = Result(depth, "", 1.0, "ms", data={"depth": 1000})
    deep = Result(depth, "", 2.5, "ms", data={"depth": 1_000_000})
    other = Result("getcolony (real server)", "", 5000.0, "req/s")
    rows = [fast, slow_rpc, one, shallow, deep, other]
    judge(rows)
    assert (fast.met, fast.goal) == (True, "≤ 0.6 ms server CPU/process ✓; ≥ 1,200/s ✓")
    assert (slow_rpc.met, slow_rpc.goal) == (False, "≤ 0.6 ms server CPU/process ✗; ≥ 2,000/s ✗")
    assert one.goal == "" and one.met is None  # K = 1 has no rate goal, nor CPU data here
    assert (shallow.met, deep.met, deep.goal) == (None, False, "≤ 2x the 1k p50 ✗")
    assert (other.met, other.goal) == (None, "")
