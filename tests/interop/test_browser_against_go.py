"""The browser executor page against the Go server (issue 8 §1): the page from our static
build (``colonies wasm build --server-url <Go>``), served from its own origin, in headless
Chromium; it registers with the colony key (Go has no join tokens) and runs the tutorial's
functions as the Go CLI submits them.

Go has no ``/rpc`` socket, so the worker must fall back to ``fetch`` for every call, and Go's
CORS (gin-contrib/cors ``Default()``: any origin) must let the page's origin in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from typer.testing import CliRunner

from colonies.cli import app
from colonies.client import Client
from colonies.model import ExecutorState
from conftest import CHROMIUM, CHROMIUM_ARGS, static_site
from interop.conftest import GoCLI, Server, unique

READY_MS = 60_000  # Pyodide boot on a slow, busy CI machine
STATE_MS = 30_000

# The tutorial's commands and their exact outputs.
TUTORIAL = [
    ("echo", ["Hello from browser!"], "Hello from browser!"),
    ("add", ["5", "3"], "8"),
    ("multiply", ["7", "6"], "42"),
    ("greet", ["World"], "Hello, World! Greetings from the WASM executor."),
]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def executortype() -> str:
    return unique("wasm")


@pytest.fixture(scope="module")
def site(goserver: Server, executortype: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``colonies wasm build`` pointed at the Go server, for this module's executor type."""
    dest = tmp_path_factory.mktemp("go-site") / "site"
    args = ["wasm", "build", str(dest), "--server-url", goserver.url]
    args += ["--colony", goserver.colonyname, "--type", executortype]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return dest


@pytest.fixture(scope="module")
def static_url(site: Path) -> Iterator[str]:
    """The built site on its own origin, not the Go server's."""
    with static_site(site) as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh page; uncaught page errors fail the test."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, errors


def model(page: Page) -> dict[str, Any]:
    """What the page's ``window.colonies`` shows, for failure messages."""
    return dict(
        page.evaluate(
            "() => ({state: colonies.state, status: colonies.status, error: colonies.error,"
            " counters: colonies.counters, log: colonies.log.slice(-8).map(e => e.message)})"
        )
    )


def wait_state(page: Page, state: str, timeout_ms: int = STATE_MS) -> None:
    """Wait for ``state``; an error state fails at once, with what the page shows."""
    condition = f"['{state}', 'error'].includes(colonies.state)"
    try:
        page.wait_for_function(f"() => window.colonies && {condition}", timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"timed out waiting for {state}; the page shows {model(page)}")
    assert page.evaluate("colonies.state") == state, model(page)


def go_exec(go_cli: GoCLI, executortype: str, funcname: str, *args: str) -> Any:
    """``colonies-go function exec --func F --args … --targettype T --wait --out``."""
    argv = [arg for value in args for arg in ("--args", value)]
    return go_cli(
        *("function", "exec", "--func", funcname, *argv),
        *("--targettype", executortype, "--wait", "--out"),
        timeout=120,
    )


def test_go_cors_lets_another_origin_in(goserver: Server, static_url: str) -> None:
    """The page's POSTs are CORS "simple requests" (text/plain), and preflights, if a
    browser sends one, are answered too."""
    preflight = httpx.options(
        goserver.url + "/api",
        headers={"Origin": static_url, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] in ("*", static_url)
    post = httpx.post(goserver.url + "/api", content="{}", headers={"Origin": static_url})
    assert post.headers["access-control-allow-origin"] in ("*", static_url)


def test_page_runs_the_tutorial_for_the_go_cli(
    goserver: Server, static_url: str, executortype: str, page: Page
) -> None:
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.url.startswith(goserver.url) and request.method == "POST":
            posts.append(request.url)

    page.context.on("request", on_request)
    page.goto(static_url + "/")
    wait_state(page, "ready", READY_MS)
    assert page.input_value("#server-url") == goserver.url  # from the build's config.json
    assert page.input_value("#executor-type") == executortype
    name = unique("browser")
    page.fill("#executor-name", name)
    page.check("#auth-key")
    page.fill("#colony-prvkey", goserver.colony_prvkey)
    page.click("#start")
    wait_state(page, "polling")

    with Client(goserver.url, goserver.user_prvkey) as client:
        executor = client.get_executor(goserver.colonyname, name)
    assert executor.state == ExecutorState.APPROVED and executor.executortype == executortype
    executorid = page.evaluate("colonies.executorId")
    assert executor.executorid == executorid

    go_cli = GoCLI(goserver)
    for funcname, args, expected in TUTORIAL:
        started = time.monotonic()
        result = go_exec(go_cli, executortype, funcname, *args)
        assert result.returncode == 0, (funcname, result.stderr, model(page))
        assert result.stdout.strip() == expected, funcname
        # Well under one long-poll (10 s): a close never queues behind the page's polls.
        assert time.monotonic() - started < 8, (funcname, time.monotonic() - started)
    info = go_exec(go_cli, executortype, "browser_info")
    assert info.returncode == 0, info.stderr
    assert "HeadlessChrome" in info.stdout and f"Executor: {name}" in info.stdout
    unknown = go_exec(go_cli, executortype, "no_such_function")
    assert unknown.returncode != 0

    page.wait_for_function(
        "() => colonies.counters.completed === 5 && colonies.counters.failed === 1",
        timeout=STATE_MS,
    )
    # No /rpc on Go: every call went out as a fetch POST to its /api, and the page says so.
    assert posts and set(posts) == {goserver.url + "/api"}, sorted(set(posts))
    log = page.evaluate("colonies.log.map(e => e.message)")
    assert f"no /rpc socket at {goserver.url}: calls go by fetch" in log
    page.click("#stop")
    wait_state(page, "stopped")
    assert "Traceback" not in json.dumps(page.evaluate("colonies.log.map(e => e.message)"))
