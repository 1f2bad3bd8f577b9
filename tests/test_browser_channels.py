"""Channels from the browser executor (spec §4.10): a function running in Pyodide (fetch
transport, no ``/pubsub``) streams on its process's channel; the submitter, a host client,
subscribes and reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from colonies.client import Client
from colonies.model import ChannelEntry, Conditions, FunctionSpec, ProcessState
from conftest import CHROMIUM, CHROMIUM_ARGS, free_port
from test_browser import open_executor, start_executor
from test_dev_command import COLONIES, read_env_block

pytestmark = pytest.mark.timeout(180)

FUNCTIONS = '''
from colonies.functions import ExecutionContext, FunctionSet

functions = FunctionSet()


@functions
async def stream(n: int, ctx: ExecutionContext) -> list[str]:
    """Send n chunks and an end marker to the submitter; return what the channel holds."""
    for i in range(n):
        await ctx.channel_append("out", f"chunk {i}")
    await ctx.channel_end("out")
    return [entry.payload.decode() for entry in await ctx.channel_read("out")]
'''


class Dev:
    """``colonies dev`` serving the page with the streaming function module above."""

    def __init__(self, tmp: Path) -> None:
        (tmp / "channel_functions.py").write_text(FUNCTIONS)
        self.port = free_port()
        data = tmp / "dev"
        argv = [*COLONIES, "dev", "--port", str(self.port), "--data-dir", str(data)]
        self.proc = subprocess.Popen(
            [*argv, "--module", "channel_functions"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp), *sys.path])},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"colonies dev did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        self.env = read_env_block((data / "dev.env").read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    server = Dev(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser: Browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context().new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, errors


def test_a_browser_function_streams_to_its_submitter(dev: Dev, page: Page) -> None:
    open_executor(page, dev)  # type: ignore[arg-type]  # needs only .port
    start_executor(page)
    url = f"http://127.0.0.1:{dev.port}"
    spec = FunctionSpec(
        funcname="stream",
        args=[3],
        conditions=Conditions(colonyname=dev.env["COLONIES_COLONY_NAME"], executortype="wasm"),
        channels=["out"],
    )
    with Client(url, dev.env["COLONIES_PRVKEY"]) as client:
        process = client.submit(spec)
        got: list[ChannelEntry] = []

        def listen() -> None:
            with Client(url, dev.env["COLONIES_PRVKEY"]) as listener:
                for entry in listener.subscribe_channel(process.processid, "out", timeout=60):
                    got.append(entry)
                    if entry.type == "end":
                        return

        thread = threading.Thread(target=listen)
        thread.start()
        done = client.wait(process.processid, 60)
        thread.join(30)
    assert done.state == ProcessState.SUCCESS, done.errors
    assert done.output == ["chunk 0", "chunk 1", "chunk 2", ""]  # a list return is the output
    assert [(e.sequence, e.payload, e.type) for e in got] == [
        (1, b"chunk 0", "data"),
        (2, b"chunk 1", "data"),
        (3, b"chunk 2", "data"),
        (4, b"", "end"),
    ]
    assert {e.senderid for e in got} == {done.assignedexecutorid}
