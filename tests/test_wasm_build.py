"""``colonies wasm build``: a static folder any web server hosts, talking to a remote server.

The page comes from one origin (``python3 -m http.server``) and calls the ColonyOS server on
another, so this also proves the CORS headers, and that users' own functions ship in the page.
"""

from __future__ import annotations

import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from colonies import jointoken
from colonies.cli import app
from colonies.client import Client
from colonies.model import Conditions, FunctionSpec, ProcessState
from conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, static_site

USER_FUNCTIONS = textwrap.dedent('''
    """Functions of our own, shipped into the browser page."""
    from colonies.functions import FunctionSet

    functions = FunctionSet()

    @functions
    def shout(text):
        return text.upper() + "!"

    @functions.named("word-count")
    def word_count(*words):
        return len(" ".join(words).split())
''')


@pytest.fixture
def site(tmp_path: Path, live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "myfuncs.py").write_text(USER_FUNCTIONS)
    monkeypatch.syspath_prepend(str(tmp_path))
    token = jointoken.create(live.colony.prvkey, "dev", "wasm", 600)
    dest = tmp_path / "site"
    result = CliRunner().invoke(
        app,
        [
            "wasm",
            "build",
            str(dest),
            "--module",
            "myfuncs",
            "--module",
            "colonies.functions.tutorial",
            "--server-url",
            live.url,
            "--token",
            token,
        ],
    )
    assert result.exit_code == 0, result.output
    return dest


@pytest.fixture
def static_server(site: Path) -> Iterator[str]:
    with static_site(site) as url:
        yield url


def test_build_writes_a_self_contained_site(site: Path, live: LiveServer) -> None:
    names = {p.name for p in site.iterdir()}
    assert {
        "index.html",
        "app.js",
        "style.css",
        "worker.mjs",
        "colonies.zip",
        "config.json",
        "pyodide",
    } <= names
    assert (site / "pyodide" / "pyodide.asm.wasm").stat().st_size > 1_000_000
    with zipfile.ZipFile(site / "colonies.zip") as archive:
        files = set(archive.namelist())
    assert {
        "myfuncs.py",
        "colonies_functions.py",
        "colonies/executor.py",
        "colonies/crypto/_pure.py",
        "colonies/client/_transports/fetch.py",
    } <= files
    assert not any("_coincurve" in f or "server/" in f for f in files)
    for path in (site / "index.html", site / "app.js", site / "worker.mjs"):
        assert "cdn" not in path.read_text().lower()


def test_static_server_serves_wasm_with_the_right_type(static_server: str) -> None:
    reply = httpx.get(static_server + "/pyodide/pyodide.asm.wasm")
    assert reply.headers["content-type"] == "application/wasm"


def test_page_from_another_origin_runs_user_functions(static_server: str, live: LiveServer) -> None:
    from conftest import add_executor

    member = add_executor(live, "submitter", executortype="cli")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        own_origin_misses: list[str] = []
        page.on(
            "response",
            lambda r: (
                own_origin_misses.append(r.url)
                if r.url.startswith(static_server) and r.status >= 400
                else None
            ),
        )
        page.goto(static_server + "/")
        page.wait_for_function(
            "window.colonies && window.colonies.state === 'ready'", timeout=60_000
        )
        assert page.input_value("#server-url") == live.url  # from config.json
        assert own_origin_misses == []  # no /health probe of the static server (404)
        assert page.is_checked("#auth-token")  # a join token, never the colony key, by default
        page.click("button.fn[data-fn='shout']")  # a user function: placeholders for its args
        try_it = " ".join(page.inner_text("#try-cmd").split())
        assert (
            try_it
            == "colonies function exec --func shout --args TEXT --targettype wasm --wait --out"
        )
        assert page.inner_text("button.fn[data-fn='shout'] .fn-args") == "(text)"
        page.click("#start")
        page.wait_for_function("window.colonies.state === 'polling'", timeout=30_000)
        with Client(live.url, member.prvkey) as client:
            for funcname, args, expected in (
                ("shout", ["hello"], ["HELLO!"]),
                ("word-count", ["a b", "c"], [3]),
                ("add", ["5", "3"], ["8"]),
            ):
                process = client.submit(
                    FunctionSpec(
                        funcname=funcname,
                        args=args,
                        conditions=Conditions(colonyname="dev", executortype="wasm"),
                    )
                )
                done = client.wait(process.processid, timeout=30)
                assert done.state == ProcessState.SUCCESS, done.errors
                assert done.output == expected
        browser.close()


def test_build_without_pyodide_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["wasm", "build", str(tmp_path / "x"), "--pyodide-dir", str(tmp_path / "nowhere")],
        env={"COLONIES_PYODIDE_DIR": ""},
    )
    assert result.exit_code != 0


def test_an_error_is_shown_once(static_server: str) -> None:
    """A join token the server refuses: one error box, not the same text in three places."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(static_server + "/")
        page.wait_for_function(
            "window.colonies && window.colonies.state === 'ready'", timeout=60_000
        )
        page.fill("#join-token", "not-a-join-token")
        page.click("#start")
        page.wait_for_function("window.colonies.state === 'error'", timeout=60_000)
        message = page.evaluate("window.colonies.error.message")
        body = page.inner_text("body")
        assert body.count(message[:40]) <= 1
        assert page.locator("#error-box").is_visible()
        browser.close()
