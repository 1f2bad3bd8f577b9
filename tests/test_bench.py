"""The benchmark suite's smoke run: every scenario still runs end to end (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

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
