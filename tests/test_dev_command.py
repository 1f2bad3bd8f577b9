"""``colonies dev`` as a user runs it: a real subprocess, killed with SIGKILL and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from colonies import crypto
from colonies.cli.dev import read_env_block
from colonies.client import Client
from colonies.errors import TransportError
from colonies.model import Conditions, Executor, FunctionSpec, ProcessState
from conftest import free_port

COLONIES = [sys.executable, "-m", "colonies.cli"]


class DevServer:
    def __init__(self, data_dir: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.data_dir, self.port = data_dir, port
        self.proc = subprocess.Popen(
            [*COLONIES, "dev", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"colonies dev did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        self.env = read_env_block((data_dir / "dev.env").read_text())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path / "dev", free_port())
    yield server
    server.stop()


def test_prints_a_working_environment(dev: DevServer) -> None:
    env = dev.env
    assert env["COLONIES_COLONY_NAME"] == "dev" and env["COLONIES_TLS"] == "false"
    assert env["COLONIES_SERVER_PORT"] == str(dev.port)
    for key in ("SERVER", "COLONY", ""):
        prefix = f"COLONIES_{key}_" if key else "COLONIES_"
        assert crypto.id_from_private_key(env[prefix + "PRVKEY"]) == env[prefix + "ID"]
    with Client(f"http://127.0.0.1:{dev.port}", env["COLONIES_PRVKEY"]) as client:
        assert client.get_colony("dev").colonyid == env["COLONIES_COLONY_ID"]
        assert [c.name for c in client.get_colonies(prvkey=env["COLONIES_SERVER_PRVKEY"])] == [
            "dev"
        ]
        process = client.submit(
            FunctionSpec(
                funcname="echo", conditions=Conditions(colonyname="dev", executortype="cli")
            )
        )
        assert client.assign("dev", timeout=2).processid == process.processid


def test_sigkill_and_restart_keeps_every_process(dev: DevServer) -> None:
    env = dev.env
    url = f"http://127.0.0.1:{dev.port}"
    executor_key = crypto.generate_private_key()
    with Client(url, env["COLONIES_PRVKEY"]) as client:
        client.add_executor(
            Executor(
                executorid=crypto.id_from_private_key(executor_key),
                executortype="w",
                executorname="w1",
                colonyname="dev",
            ),
            prvkey=env["COLONIES_COLONY_PRVKEY"],
        )
        client.approve_executor("dev", "w1", prvkey=env["COLONIES_COLONY_PRVKEY"])
        specs = [
            FunctionSpec(
                funcname=f"f{i}",
                args=[i],
                conditions=Conditions(colonyname="dev", executortype="w"),
            )
            for i in range(6)
        ]
        ids = [client.submit(s).processid for s in specs]
        ok = client.assign("dev", 2, prvkey=executor_key)
        client.close(ok.processid, ["done", 1], prvkey=executor_key)
        bad = client.assign("dev", 2, prvkey=executor_key)
        client.fail(bad.processid, ["broken"], prvkey=executor_key)
        running = client.assign("dev", 2, prvkey=executor_key)
        before = {p: client.get_process(p) for p in ids}
    dev.kill()
    with pytest.raises(TransportError), Client(url, env["COLONIES_PRVKEY"]) as client:
        client.get_colony("dev")

    again = DevServer(dev.data_dir, dev.port)
    try:
        assert again.env == env  # same keys, same colony
        with Client(url, env["COLONIES_PRVKEY"]) as client:
            after = {p: client.get_process(p) for p in ids}
            assert after == before
            assert after[ok.processid].state == ProcessState.SUCCESS
            assert after[ok.processid].output == ["done", 1]
            assert after[bad.processid].errors == ["broken"]
            assert after[running.processid].state == ProcessState.RUNNING
            waiting = client.get_processes("dev", ProcessState.WAITING)
            assert len(waiting) == 3
            # the queue still works after the restart
            assert client.assign("dev", 2, prvkey=executor_key).processid == waiting[0].processid
    finally:
        again.stop()


def test_environment_keys_win(tmp_path: Path) -> None:
    keys = {
        name: crypto.generate_private_key()
        for name in ("COLONIES_SERVER_PRVKEY", "COLONIES_COLONY_PRVKEY", "COLONIES_PRVKEY")
    }
    server = DevServer(tmp_path / "dev", free_port(), env=keys)
    try:
        for name, key in keys.items():
            assert server.env[name] == key
    finally:
        server.stop()


def test_security_commands() -> None:
    out = subprocess.run(
        [*COLONIES, "security", "generate"], capture_output=True, text=True, check=True
    ).stdout
    lines = dict(line.split(": ") for line in out.strip().splitlines())
    assert crypto.id_from_private_key(lines["PrvKey"]) == lines["Id"]
    derived = subprocess.run(
        [*COLONIES, "security", "id", "--prvkey", lines["PrvKey"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert derived == lines["Id"]
    bad = subprocess.run(
        [*COLONIES, "security", "id", "--prvkey", "xyz"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "Invalid private key" in bad.stderr


def test_server_start_needs_a_server_id(tmp_path: Path) -> None:
    result = subprocess.run(
        [*COLONIES, "server", "start", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "COLONIES_SERVER_ID"},
    )
    assert result.returncode != 0 and "COLONIES_SERVER_ID" in result.stderr


def test_ctrl_c_with_a_long_poll_is_quick_and_quiet(dev: DevServer) -> None:
    """Ctrl-C ends a waiting assign with a clean "no process" reply (not a cancelled request)
    and the server exits without a traceback."""
    import threading

    from colonies.errors import NoProcessAvailable

    env = dev.env
    outcome: list[BaseException] = []

    def long_poll() -> None:
        with Client(f"http://127.0.0.1:{dev.port}", env["COLONIES_PRVKEY"]) as client:
            try:
                client.assign("dev", timeout=60)
            except BaseException as e:
                outcome.append(e)

    poller = threading.Thread(target=long_poll)
    poller.start()
    deadline = time.monotonic() + 10
    while (
        "colonies_longpolls_open 1.0" not in httpx.get(f"http://127.0.0.1:{dev.port}/metrics").text
    ):
        assert time.monotonic() < deadline, "the long-poll never started"
        time.sleep(0.05)
    dev.proc.send_signal(signal.SIGINT)
    _, stderr = dev.proc.communicate(timeout=10)
    poller.join(10)
    assert dev.proc.returncode in (0, 130)  # 130: ended by SIGINT, as shells report Ctrl-C
    assert "Traceback" not in stderr and "CancelledError" not in stderr
    assert len(outcome) == 1 and isinstance(outcome[0], NoProcessAvailable), outcome
