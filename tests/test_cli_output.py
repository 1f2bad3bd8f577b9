"""How CLI output looks where a user meets it: a terminal (a real pty) or a pipe."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from colonies.client import Client
from colonies.model import Conditions, FunctionSpec
from conftest import LiveServer, add_executor

COLONIES = str(Path(sys.executable).with_name("colonies"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ID = re.compile(r"\b[0-9a-f]{64}\b")


def env_for(live: LiveServer, prvkey: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(
        COLONIES_SERVER_HOST="127.0.0.1",
        COLONIES_SERVER_PORT=str(live.port),
        COLONIES_TLS="false",
        COLONIES_COLONY_NAME=live.colonyname,
        COLONIES_PRVKEY=prvkey,
        COLUMNS="80",
        LINES="40",
        **extra,
    )
    return env


def on_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run a command with stdout and stderr on an 80-column pseudo-terminal; its text."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(leader)
    return ANSI.sub("", b"".join(chunks).decode(errors="replace"))


def submit_two(live: LiveServer) -> tuple[str, list[str]]:
    key = add_executor(live, "worker", "py")
    spec = FunctionSpec(
        funcname="add", conditions=Conditions(colonyname=live.colonyname, executortype="py")
    )
    with Client(live.url, key.prvkey) as client:
        ids = [client.submit(spec).processid for _ in range(2)]
    return key.prvkey, ids


def test_a_terminal_gets_short_ids_and_one_line_rows(live: LiveServer) -> None:
    prvkey, ids = submit_two(live)
    text = on_terminal([COLONIES, "process", "psw"], env_for(live, prvkey))
    assert not ID.search(text), text
    for processid in ids:
        assert processid[:12] + "…" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_wide_shows_whole_ids_on_a_terminal(live: LiveServer) -> None:
    prvkey, ids = submit_two(live)
    for argv, extra in (
        ([COLONIES, "--wide", "process", "psw"], {}),
        ([COLONIES, "process", "psw"], {"COLONIES_WIDE": "true"}),
    ):
        text = on_terminal(argv, env_for(live, prvkey, **extra))
        assert set(ID.findall(text.replace("\r\n", "").replace("\n", ""))) >= set(ids), text


def test_a_pipe_gets_whole_ids_and_unwrapped_lines(live: LiveServer) -> None:
    prvkey, ids = submit_two(live)
    env = env_for(live, prvkey)
    result = subprocess.run(
        [COLONIES, "process", "psw"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert set(ID.findall(result.stdout)) == set(ids)
    # A long error line stays one line in a pipe (grep finds it whole).
    env["COLONIES_SERVER_PORT"] = "9"
    result = subprocess.run(
        [COLONIES, "process", "get", "-p", ids[0]],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) > 80, result.stderr
    assert lines[0].startswith("Error: cannot reach the ColonyOS server at http://127.0.0.1:9")


def test_version_flag() -> None:
    result = subprocess.run([COLONIES, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert re.fullmatch(r"colonies \d+\.\d+\.\d+\S*\n", result.stdout)


def test_wait_on_a_terminal_shows_a_spinner_with_the_time_waited(live: LiveServer) -> None:
    import threading

    member = add_executor(live, "member", "cli")
    worker = add_executor(live, "worker", "py")

    def serve() -> None:
        with Client(live.url, worker.prvkey) as client:
            process = client.assign(live.colonyname, timeout=20)
            time.sleep(1.5)  # long enough for the spinner to draw a few frames
            client.close(process.processid, ["ok"])

    server = threading.Thread(target=serve)
    server.start()
    argv = [COLONIES, "function", "exec", "--func", "f", "--targettype", "py", "--wait", "--out"]
    text = on_terminal(argv, env_for(live, member.prvkey))
    server.join(10)
    assert re.search(r"Waiting for process [0-9a-f]{12}… .*0:00:0\d", text), text
    assert text.rstrip().endswith("ok")
