"""``function exec --wait`` as a user meets it: what would make a wait long is said, once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from colonies.client import Client
from colonies.model import ProcessState
from conftest import Identity, LiveServer, add_executor, restart_server, start_server


class Waiting:
    """``colonies function exec … --wait`` running in a subprocess; stderr read as it comes."""

    def __init__(self, live: LiveServer, member: Identity, *args: str, **env: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        environ.update(
            COLONIES_SERVER_HOST="127.0.0.1",
            COLONIES_SERVER_PORT=str(live.port),
            COLONIES_TLS="false",
            COLONIES_COLONY_NAME=live.colonyname,
            COLONIES_PRVKEY=member.prvkey,
            **env,
        )
        argv = [sys.executable, "-m", "colonies.cli", "function", "exec", *args, "--wait", "--out"]
        self.proc = subprocess.Popen(
            argv, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, fragment: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if fragment in line:
                    return line
            assert time.monotonic() < deadline, f"never said {fragment!r}: {self.lines}"
            time.sleep(0.05)

    def finish(self) -> str:
        stdout, _ = self.proc.communicate(timeout=30)
        self.reader.join(5)
        assert self.proc.returncode == 0, self.lines
        return stdout


def run_one(live: LiveServer, executortype: str) -> None:
    worker = add_executor(live, f"w-{executortype}", executortype)
    with Client(live.url, worker.prvkey) as client:
        process = client.assign(live.colonyname, timeout=10)
        client.close(process.processid, ["done"])


def test_no_executor_of_the_type_is_said_once(live: LiveServer) -> None:
    member = add_executor(live, "member", "cli")
    waiting = Waiting(live, member, "--func", "f", "--targettype", "nobody")
    line = waiting.said("no approved executor of type nobody")
    assert "colony dev" in line and "COLONIES_EXECUTOR_TYPE" not in line
    run_one(live, "nobody")
    assert waiting.finish().strip() == "done"
    assert sum("no approved executor" in line for line in waiting.lines) == 1


def test_the_type_from_the_environment_is_named(live: LiveServer) -> None:
    member = add_executor(live, "member", "cli")
    waiting = Waiting(live, member, "--func", "f", COLONIES_EXECUTOR_TYPE="fromenv")
    assert "(from COLONIES_EXECUTOR_TYPE)" in waiting.said("no approved executor of type fromenv")
    run_one(live, "fromenv")
    waiting.finish()


def test_a_served_type_waits_quietly(live: LiveServer) -> None:
    member = add_executor(live, "member", "cli")
    add_executor(live, "ready-worker", "ready")
    waiting = Waiting(live, member, "--func", "f", "--targettype", "ready")
    waiting.said("Waiting for process")
    with Client(live.url, member.prvkey) as client:
        process = client.get_processes(live.colonyname, ProcessState.WAITING)[0]
    worker_key = add_executor(live, "second", "ready")
    with Client(live.url, worker_key.prvkey) as client:
        assert client.assign(live.colonyname, timeout=10).processid == process.processid
        client.close(process.processid, ["ok"])
    assert waiting.finish().strip() == "ok"
    assert not any("Warning" in line for line in waiting.lines), waiting.lines


@pytest.fixture
def stoppable(tmp_path: Path) -> Iterator[tuple[LiveServer, list[object]]]:
    live, thread = start_server(tmp_path / "colonies.db")
    threads: list[object] = [thread]
    yield live, threads
    threads[-1].stop()  # type: ignore[attr-defined]


def test_an_unreachable_server_is_said_and_waited_for(
    stoppable: tuple[LiveServer, list[object]],
) -> None:
    live, threads = stoppable
    member = add_executor(live, "member", "cli")
    add_executor(live, "worker", "py")
    waiting = Waiting(live, member, "--func", "f", "--targettype", "py")
    waiting.said("Waiting for process")
    threads[0].stop(keep_data=True)  # type: ignore[attr-defined]
    line = waiting.said("cannot reach the server at")
    assert "still waiting" in line
    threads.append(restart_server(live))
    run_one(live, "py")
    assert waiting.finish().strip() == "done"
    assert sum("cannot reach" in line for line in waiting.lines) == 1
