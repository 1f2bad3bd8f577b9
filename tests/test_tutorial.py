"""The tutorial's flow from a terminal, exactly as a user types it (issue: CLI + executors).

A real ``colonies dev`` on a random port, a real executor process, and the real ``colonies``
command: the outputs must be the tutorial's (spec §9.3), whichever executor serves them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pycolonies
import pytest

from colonies import crypto
from colonies.functions import ExecutionContext, FunctionError
from colonies.functions.tutorial import functions as tutorial
from colonies.model import FunctionSpec, Process
from conftest import free_port
from test_dev_command import DevServer

COLONIES = [sys.executable, "-m", "colonies.cli"]
TUTORIAL = [
    (["--func", "echo", "--args", "Hello from browser!"], "Hello from browser!"),
    (["--func", "add", "--args", "5", "--args", "3"], "8"),
    (["--func", "multiply", "--args", "7", "--args", "6"], "42"),
    (["--func", "greet", "--args", "World"], "Hello, World! Greetings from the WASM executor."),
]


def exec_function(dev: DevServer, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COLONIES, "function", "exec", *args, "--targettype", "wasm", "--wait", "--out"],
        env={**os.environ, **dev.env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path / "dev", free_port())
    yield server
    server.stop()


def test_tutorial_with_the_host_executor(dev: DevServer) -> None:
    executor = subprocess.Popen(
        [*COLONIES, "executor", "run", "--type", "wasm"],
        env={**os.environ, **dev.env},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for args, expected in TUTORIAL:
            result = exec_function(dev, args)
            assert (result.returncode, result.stdout) == (0, expected + "\n"), result.stderr
        info = exec_function(dev, ["--func", "browser_info"])
        assert info.returncode == 0 and info.stdout.startswith("User-Agent: Python/")
        unknown = exec_function(dev, ["--func", "launch_rockets"])
        assert unknown.returncode != 0 and unknown.stdout == ""
        assert "Unknown function 'launch_rockets'" in unknown.stderr
        bad = exec_function(dev, ["--func", "add", "--args", "five", "--args", "3"])
        assert bad.returncode != 0 and "expected a number" in bad.stderr
        listed = subprocess.run(
            [*COLONIES, "process", "psf", "--json"],
            env={**os.environ, **dev.env},
            capture_output=True,
            text=True,
        )
        assert len(json.loads(listed.stdout)) == 2
    finally:
        executor.send_signal(signal.SIGINT)
        _, stderr = executor.communicate(timeout=20)
    assert executor.returncode == 0, stderr
    assert "Stopped: 5 completed, 2 failed" in stderr


def _serve_with_pycolonies(dev: DevServer, stop_after: int) -> None:
    """An independent executor written with the upstream SDK, running our tutorial functions."""
    client = pycolonies.Colonies("127.0.0.1", dev.port)
    key = crypto.generate_private_key()
    colony, colony_key = dev.env["COLONIES_COLONY_NAME"], dev.env["COLONIES_COLONY_PRVKEY"]
    client.add_executor(
        {
            "executorname": "pycolonies-wasm",
            "executorid": crypto.id_from_private_key(key),
            "colonyname": colony,
            "executortype": "wasm",
        },
        colony_key,
    )
    client.approve_executor(colony, "pycolonies-wasm", colony_key)
    served = 0
    deadline = time.monotonic() + 60
    while served < stop_after and time.monotonic() < deadline:
        try:
            process = client.assign(colony, 2, key)
        except Exception:  # pycolonies raises plain exceptions for "no process available"
            continue
        ours = Process(
            spec=FunctionSpec(funcname=process.spec.funcname, args=list(process.spec.args))
        )
        try:
            output = tutorial.bind(
                process.spec.funcname,
                ours,
                ExecutionContext(ours, "pycolonies-wasm", "wasm", colony),
            )()
            client.close(process.processid, [output], key)
        except FunctionError as e:
            client.fail(process.processid, [str(e)], key)
        served += 1


def test_tutorial_with_an_independent_pycolonies_executor(dev: DevServer) -> None:
    import threading

    worker = threading.Thread(target=_serve_with_pycolonies, args=(dev, len(TUTORIAL) + 1))
    worker.start()
    try:
        for args, expected in TUTORIAL:
            result = exec_function(dev, args)
            assert (result.returncode, result.stdout) == (0, expected + "\n"), result.stderr
        unknown = exec_function(dev, ["--func", "nope"])
        assert unknown.returncode != 0 and "Unknown function 'nope'" in unknown.stderr
    finally:
        worker.join(60)
