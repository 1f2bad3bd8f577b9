"""The browser executor end to end: ``colonies dev`` in a subprocess, the /executor/ page in
headless Chromium (Pyodide in a Web Worker) and the real ``colonies`` CLI submitting work.

These are the tutorial's steps as a user takes them, so everything goes through the public
surfaces: the page's form and ``window.colonies`` model, and the CLI's stdout, stderr and exit
code. Pyodide boots in several seconds per page load, so each test loads as few pages as it can
and checks several things on one page.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from colonies import crypto, jointoken
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, free_port
from test_dev_command import COLONIES, DevServer

ARTIFACTS = REPO / "test-artifacts"
READY_MS = 60_000  # Pyodide boot on a slow, busy CI machine
STATE_MS = 30_000  # registration, errors and reconnection
CLI_SECONDS = 60

# The tutorial's commands and their exact outputs (browser_info is checked separately).
TUTORIAL = [
    ("echo", ["Hello from browser!"], "Hello from browser!"),
    ("add", ["5", "3"], "8"),
    ("multiply", ["7", "6"], "42"),
    ("greet", ["World"], "Hello, World! Greetings from the WASM executor."),
]

pytestmark = pytest.mark.timeout(180)


# ---------------------------------------------------------------------------------------------
# Helpers


def cli(dev: DevServer, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``colonies ARGS`` as a separate process with the environment ``colonies dev`` printed,
    exactly as a user in another shell would after ``source dev.env``."""
    return subprocess.run(
        [*COLONIES, *args],
        env={**os.environ, **dev.env},
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
    )


def run_function(dev: DevServer, funcname: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``colonies function exec --func F --args … --targettype wasm --wait --out``: submit to the
    browser executor and print its output (or fail with its error)."""
    argv = [arg for value in args for arg in ("--args", value)]
    return cli(
        dev,
        *("function", "exec", "--func", funcname, *argv),
        *("--targettype", "wasm", "--wait", "--out"),
    )


def assert_output(result: subprocess.CompletedProcess[str], expected: str) -> None:
    """The command succeeded and printed exactly ``expected``."""
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected}\n", result.stderr


def model(page: Page) -> dict[str, Any]:
    """The page's ``window.colonies`` (state, counters, timings, error, …) as plain data."""
    return page.evaluate(
        "() => ({state: colonies.state, status: colonies.status, detail: colonies.statusDetail,"
        " running: colonies.running, error: colonies.error, counters: colonies.counters,"
        " executorId: colonies.executorId, log: colonies.log.slice(-8).map(e => e.message)})"
    )


def wait_for(page: Page, condition: str, timeout_ms: int = STATE_MS) -> None:
    """Wait until the JS expression ``condition`` (over ``colonies``) holds; on timeout, fail
    with what the page shows instead, which is what one needs to see in a CI log."""
    try:
        page.wait_for_function(f"() => window.colonies && ({condition})", timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"timed out waiting for {condition}; the page shows {model(page)}")


def wait_state(page: Page, *states: str, timeout_ms: int = STATE_MS) -> str:
    """Wait for one of ``states``; an "error" state fails at once unless it is expected."""
    wanted = [*states] if "error" in states else [*states, "error"]
    wait_for(page, f"{json.dumps(wanted)}.includes(colonies.state)", timeout_ms)
    state = str(page.evaluate("colonies.state"))
    assert state in states, model(page)
    return state


def open_executor(page: Page, dev: DevServer) -> None:
    """Load /executor/ from the dev server and wait until Python has booted in the worker."""
    page.goto(f"http://127.0.0.1:{dev.port}/executor/")
    wait_state(page, "ready", timeout_ms=READY_MS)
    expect(page.locator("#start")).to_be_enabled()


def click_start(page: Page) -> None:
    """Click "Start executor" and make sure the page took it (the button ignores clicks while a
    previous run is still winding down)."""
    before = page.evaluate("colonies.timings.startClickedAt")
    page.click("#start")
    wait_for(page, f"colonies.timings.startClickedAt !== {json.dumps(before)}")


def start_executor(page: Page) -> str:
    """Start with whatever the form holds and wait until it long-polls; the executor ID."""
    click_start(page)
    wait_state(page, "polling")
    return str(page.evaluate("colonies.executorId"))


def start_refused(page: Page) -> str:
    """Start, expect the page to give up with an error, and return the error box's text."""
    click_start(page)
    wait_for(page, "colonies.state === 'error' && !colonies.running")
    box = page.locator("#error-box")
    expect(box).to_be_visible()
    return box.inner_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (empty localStorage) per test; uncaught page errors fail the test."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevServer]:
    """``colonies dev`` on a free port with its own data directory (one per test, so no
    executor from an earlier page can take another test's processes)."""
    server = DevServer(tmp_path / "dev", free_port())
    yield server
    server.stop()


# ---------------------------------------------------------------------------------------------
# Tests


def test_tutorial_with_the_default_join_token(dev: DevServer, page: Page) -> None:
    """The tutorial as written: open the page, press Start (it comes pre-filled with a join
    token), then run its five commands from a terminal and one unknown function."""
    open_executor(page, dev)
    assert page.is_checked("#auth-token")
    assert page.input_value("#colony-name") == "dev"
    assert page.input_value("#executor-type") == "wasm"
    assert page.input_value("#join-token")
    name = page.input_value("#executor-name")

    executor_id = start_executor(page)

    for funcname, args, expected in TUTORIAL:
        assert_output(run_function(dev, funcname, *args), expected)
    info = run_function(dev, "browser_info")
    assert info.returncode == 0, info.stderr
    assert "HeadlessChrome" in info.stdout
    assert f"Executor: {name}" in info.stdout

    unknown = run_function(dev, "no_such_function")
    assert unknown.returncode != 0
    assert "Unknown function" in unknown.stderr

    wait_for(page, "colonies.counters.completed === 5 && colonies.counters.failed === 1")
    expect(page.locator("#count-completed")).to_have_text("5")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#mean-unit")).to_be_visible()  # a mean run time is shown

    # The executor's key is kept in the browser, and it is the key of the ID shown.
    prvkey = page.evaluate("localStorage.getItem('colonies.executorPrvKey')")
    assert prvkey and crypto.id_from_private_key(prvkey) == executor_id
    expect(page.locator("#executor-id")).to_have_text(f"{executor_id[:16]}…")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-executor.png"), full_page=True)


def test_reload_keeps_the_executor_identity(dev: DevServer, page: Page) -> None:
    """A reloaded tab is the same executor: the stored key is shown before Start and registers
    again under the same ID, and the executor serves."""
    open_executor(page, dev)
    executor_id = start_executor(page)

    page.reload()
    wait_state(page, "ready", timeout_ms=READY_MS)
    expect(page.locator("#executor-id")).to_have_text(f"{executor_id[:16]}…")
    assert start_executor(page) == executor_id
    assert_output(run_function(dev, "add", "5", "3"), "8")


def test_a_reload_starts_python_from_the_saved_snapshot(dev: DevServer, page: Page) -> None:
    """The first load saves a snapshot of Pyodide's memory; a reload restores it instead of
    booting, and the restored runtime runs functions, JS globals included (browser_info reads
    ``navigator``)."""
    open_executor(page, dev)
    wait_for(page, "colonies.snapshot === 'saved'")
    page.reload()
    wait_state(page, "ready", timeout_ms=READY_MS)
    wait_for(page, "colonies.snapshot === 'restored'")
    start_executor(page)
    info = run_function(dev, "browser_info")
    assert info.returncode == 0, info.stderr
    assert "HeadlessChrome" in info.stdout
    assert_output(run_function(dev, "add", "5", "3"), "8")


def test_colony_private_key(dev: DevServer, page: Page) -> None:
    """The tutorial's original way: register and self-approve with the colony private key. A key
    that is not the colony owner's is refused first, with a message that says so."""
    open_executor(page, dev)
    page.check("#auth-key")
    expect(page.locator("#colony-prvkey")).to_be_visible()
    expect(page.locator("#join-token")).to_be_hidden()

    page.fill("#colony-prvkey", crypto.generate_private_key())
    assert "not the owner key of colony 'dev'" in start_refused(page)

    page.fill("#colony-prvkey", dev.env["COLONIES_COLONY_PRVKEY"])
    start_executor(page)
    expect(page.locator("#error-box")).to_be_hidden()
    assert_output(run_function(dev, "add", "5", "3"), "8")


def test_join_token_created_by_the_cli(dev: DevServer, page: Page) -> None:
    """The colony owner hands out a token from ``colonies executor token create``; pasted into
    the page it registers the executor without the colony key."""
    created = cli(dev, "executor", "token", "create", "--type", "wasm", "--ttl", "1h")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    open_executor(page, dev)
    assert page.input_value("#join-token") != token
    page.fill("#join-token", token)
    start_executor(page)
    assert_output(run_function(dev, "multiply", "7", "6"), "42")


def test_refused_credentials_and_unreachable_server(dev: DevServer, page: Page) -> None:
    """What a user sees when the settings are wrong: the page stops with an explanation (or,
    for a server that does not answer, keeps retrying and says why), and Start works again."""
    prvkey = dev.env["COLONIES_COLONY_PRVKEY"]
    gpu = cli(dev, "executor", "token", "create", "--type", "gpu", "--ttl", "1h")
    assert gpu.returncode == 0, gpu.stderr
    expired = jointoken.create(prvkey, "dev", "wasm", 60, now=time.time() - 3600)
    stranger = jointoken.create(crypto.generate_private_key(), "dev", "wasm", 3600)

    open_executor(page, dev)
    good = page.input_value("#join-token")
    refusals = [
        (gpu.stdout.strip(), "join token is for executor type 'gpu', not 'wasm'"),
        (expired, "join token has expired"),
        (stranger, "join token was not signed by the owner of colony 'dev'"),
    ]
    for token, reason in refusals:
        page.fill("#join-token", token)
        text = start_refused(page)
        assert text.startswith("Join token refused"), text
        assert "join token was refused" in text and reason in text, text
        expect(page.locator("#start")).to_be_enabled()

    page.fill("#join-token", good)
    page.fill("#colony-name", "nope")
    text = start_refused(page)
    assert text.startswith("Unknown colony"), text
    assert "Colony nope does not exist on this server." in text, text

    # Nothing listens there: the executor keeps retrying (the server may just be restarting),
    # shows "reconnecting…" with the failed request as detail, and explains it in the box.
    page.fill("#colony-name", "dev")
    nowhere = f"http://127.0.0.1:{free_port()}"
    page.fill("#server-url", nowhere)
    click_start(page)
    wait_state(page, "reconnecting")
    expect(page.locator("#status")).to_have_text("reconnecting…")
    detail = page.locator("#status-detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text(f"register failed (POST {nowhere}/api failed:")
    expect(detail).to_contain_text("Failed to fetch")
    expect(page.locator("#error-box")).to_be_visible()
    expect(page.locator("#error-box")).to_contain_text(
        f"Cannot reach the ColonyOS server at {nowhere}"
    )
    page.click("#stop")
    wait_state(page, "stopped")

    # The same page, with the right settings again, serves.
    page.fill("#server-url", f"http://127.0.0.1:{dev.port}")
    start_executor(page)
    assert_output(run_function(dev, "add", "5", "3"), "8")


def test_server_restart_under_the_page(dev: DevServer, page: Page) -> None:
    """The server goes away (SIGKILL) and comes back on the same data directory and port: the
    page shows "reconnecting" meanwhile and then serves again without anyone touching it."""
    open_executor(page, dev)
    start_executor(page)
    assert_output(run_function(dev, "add", "5", "3"), "8")

    dev.kill()
    wait_state(page, "reconnecting")
    expect(page.locator("#status-detail")).to_contain_text("assign failed")
    again = DevServer(dev.data_dir, dev.port)
    try:
        assert_output(run_function(again, "multiply", "7", "6"), "42")
        wait_state(page, "polling", "running")
        wait_for(page, "colonies.counters.completed === 2 && colonies.counters.failed === 0")
    finally:
        again.stop()


def test_ui_keeps_ticking_while_python_boots(dev: DevServer, page: Page) -> None:
    """Pyodide boots in the Web Worker: a 50 ms interval on the page's main thread keeps firing
    through the boot, and the page itself never loaded the WebAssembly runtime."""
    page.add_init_script(
        "window.__ticks = []; setInterval(() => window.__ticks.push(performance.now()), 50);"
    )
    open_executor(page, dev)
    ready_at, ticks, boot_ms = page.evaluate(
        "[colonies.timings.readyAt, window.__ticks, colonies.timings.bootMs]"
    )
    # The main thread kept running while the worker booted. How smoothly (the longest gap
    # between ticks) is a measurement, not a pass/fail: bench/browser.py reports it.
    during = [t for t in ticks if t <= ready_at]
    assert len(during) >= 2 and during[-1] - during[0] > 0, (boot_ms, during)

    # The page's own fetches: the worker's module script shows up, but the runtime it then
    # loads (the WebAssembly binary, the stdlib, our SDK) is fetched inside the worker.
    fetched = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert any(url.endswith("/worker.mjs") for url in fetched), fetched
    for runtime in ("pyodide.asm.wasm", "python_stdlib.zip", "colonies.zip"):
        assert not any(url.endswith(runtime) for url in fetched), fetched
    assert page.evaluate("typeof globalThis.loadPyodide") == "undefined"


def test_workflow_steps_run_in_the_browser(dev: DevServer, page: Page, tmp_path: Path) -> None:
    """A two-step workflow submitted from the CLI runs in the page, which shows each step's
    workflow ID."""
    open_executor(page, dev)
    start_executor(page)
    conditions = {"colonyname": "dev", "executortype": "wasm"}
    specs = [
        {"nodename": "first", "funcname": "echo", "args": ["one"], "conditions": conditions},
        {
            "nodename": "second",
            "funcname": "echo",
            "args": ["two"],
            "conditions": {**conditions, "dependencies": ["first"]},
        },
    ]
    spec = tmp_path / "workflow.json"
    spec.write_text(json.dumps(specs))
    submitted = cli(dev, "workflow", "submit", "--spec", str(spec), "--wait")
    assert submitted.returncode == 0, submitted.stderr
    graphid = submitted.stdout.split()[0]
    wait_for(page, "colonies.counters.completed === 2")
    badges = page.locator(".log-graph")
    expect(badges).to_have_count(2)
    expect(badges.first).to_have_text(f"wf {graphid[:8]}")
    assert page.locator(".log-graph").first.get_attribute("title") == (
        f"Step of workflow {graphid}"
    )
