"""The dashboard at ``/dashboard/`` in real Chromium, against ``colonies dev`` in a subprocess.

A user's steps: open the link ``colonies dev`` prints (signed in, the key only in the URL
fragment), look at every view, watch processes appear and finish without reloading, submit a
function from the form, try a bad key, open a read-only link, and do it all on a phone-sized
screen too. The data the views show is made through the public SDK (executors, processes, logs,
attributes, a workflow, a cron), as real executors would. Screenshots go to
``test-artifacts/dashboard/`` (the README's ``docs/img/dashboard.png`` comes from
``docs/img/dashboard_screenshot.py``, over a busier colony).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from starlette.applications import Starlette

from colonies import crypto
from colonies.client import Client
from colonies.model import (
    Attribute,
    Conditions,
    Cron,
    Executor,
    Function,
    FunctionSpec,
    Generator,
    Process,
    WorkflowSpec,
)
from colonies.web import RuntimeNotFound
from colonies.web.dashboard_routes import DASHBOARD, content_security_policy, dashboard_routes
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, VECTORS_PATH, ServerThread, free_port
from test_dev_command import COLONIES, DevServer

ARTIFACTS = REPO / "test-artifacts" / "dashboard"
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LIVE_MS = 3_000  # "within a second": one refresh period, one in flight, and a busy CI machine
UI_MS = 15_000

pytestmark = pytest.mark.timeout(180)


# ---------------------------------------------------------------------------------------------
# Fixtures: one dev server and one browser for the module; a fresh browser context per test


class Colony:
    """The dev server plus SDK clients to make what the dashboard shows."""

    def __init__(self, dev: DevServer, link: str) -> None:
        self.dev, self.link = dev, link
        self.url = f"http://127.0.0.1:{dev.port}"
        self.base = f"{self.url}/dashboard/"
        self.prvkey = dev.env["COLONIES_PRVKEY"]
        self.member = Client(self.url, self.prvkey)
        self.owner = Client(self.url, dev.env["COLONIES_COLONY_PRVKEY"])
        self.workers: dict[str, tuple[str, Client]] = {}

    def worker(self, name: str, executortype: str, *functions: str) -> Client:
        """An approved executor with registered functions, as a real one would be."""
        if name not in self.workers:
            key = crypto.generate_private_key()
            self.owner.add_executor(
                Executor(
                    executorid=crypto.id_from_private_key(key),
                    executortype=executortype,
                    executorname=name,
                    colonyname="dev",
                )
            )
            self.owner.approve_executor("dev", name)
            client = Client(self.url, key)
            for funcname in functions:
                client.add_function(
                    Function(
                        executorname=name,
                        executortype=executortype,
                        colonyname="dev",
                        funcname=funcname,
                    )
                )
            self.workers[name] = (key, client)
        return self.workers[name][1]

    def submit(self, funcname: str, executortype: str, *args: Any, label: str = "") -> Process:
        spec = FunctionSpec(
            funcname=funcname,
            args=list(args),
            label=label,
            maxwaittime=-1,
            maxexectime=-1,
            conditions=Conditions(colonyname="dev", executortype=executortype),
        )
        return self.member.submit(spec)

    def run(self, worker: Client, *, out: list[Any] | None = None, error: str = "") -> Process:
        """Assign the next process to ``worker`` and close it (successfully, or with ``error``)."""
        process = worker.assign("dev", 5)
        if error:
            worker.fail(process.processid, [error])
        else:
            worker.close(process.processid, out)
        return process


@pytest.fixture(scope="module")
def colony(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Colony]:
    dev = DevServer(tmp_path_factory.mktemp("dashboard") / "dev", free_port())
    link = ""
    assert dev.proc.stderr is not None
    deadline = time.monotonic() + 10
    while not link and time.monotonic() < deadline:
        line = dev.proc.stderr.readline()
        if line.startswith("Dashboard: "):
            link = line.removeprefix("Dashboard: ").strip()
    assert link, "colonies dev printed no dashboard link"
    world = Colony(dev, link)
    yield world
    for _, client in world.workers.values():
        client.close_transport()
    world.member.close_transport()
    world.owner.close_transport()
    world.dev.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Browser, viewport: dict[str, int] = LAPTOP, scheme: str = "light") -> Page:
    context = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(UI_MS)
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.on(  # anything the Content-Security-Policy blocks is a bug of the page
        "console",
        lambda m: "Content Security Policy" in m.text and page.errors.append(m.text),  # type: ignore[attr-defined]
    )
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)
    yield page
    errors = page.errors  # type: ignore[attr-defined]
    page.context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def state(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("() => ({...window.dashboard})"))


def wait_for(page: Page, condition: str, timeout_ms: int = UI_MS) -> None:
    """Wait for a JS condition over ``dashboard`` (the page's model); fail with the model."""
    try:
        page.wait_for_function(f"() => window.dashboard && ({condition})", timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"timed out waiting for {condition}; the page's model: {state(page)}")


def sign_in(page: Page, colony: Colony, extra: str = "") -> None:
    """Open the link ``colonies dev`` printed (plus ``extra`` fragment parameters)."""
    page.goto(colony.link.replace("localhost", "127.0.0.1") + extra)
    wait_for(page, "dashboard.signedIn && dashboard.updates > 0")


def show(page: Page, route: str, text: str = "") -> None:
    """Go to a view and wait until it has been filled from the server at least once."""
    page.evaluate("(route) => { location.hash = route; }", route)
    view = route.removeprefix("#/").split("/")[0].split("?")[0]
    wait_for(page, f"dashboard.view === {json.dumps(view)}")
    before = int(page.evaluate("() => dashboard.updates"))
    wait_for(page, f"dashboard.updates > {before}")
    if text:
        expect(page.locator("#view")).to_contain_text(text)


def shot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------------------------------
# The server side: routes, headers, what is (not) served


@contextlib.contextmanager
def serving(routes: list[Any]) -> Iterator[httpx.Client]:
    """The routes alone on a real loopback server (uvicorn), and an HTTP client for it."""
    port = free_port()
    server = ServerThread(Starlette(routes=routes), port)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield http
    finally:
        server.stop()


def test_routes_and_headers(colony: Colony) -> None:
    with httpx.Client(base_url=colony.url, timeout=10) as http:
        root = http.get("/")
        assert root.status_code == 307 and root.headers["location"] == "/dashboard/"
        bare = http.get("/dashboard")
        assert bare.headers["location"] == "/dashboard/"
        page = http.get("/dashboard/")
        assert page.status_code == 200 and "ColonyOS dashboard" in page.text
        policy = page.headers["content-security-policy"]
        assert policy == content_security_policy((DASHBOARD / "index.html").read_text())
        assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy
        assert page.headers["referrer-policy"] == "no-referrer"
        signer = http.get("/dashboard/vendor/@noble/secp256k1/index.js")
        assert signer.status_code == 200
        assert signer.headers["content-type"].startswith("text/javascript")
        # Only the listed files of the npm packages, and only the page's own files.
        assert http.get("/dashboard/vendor/@noble/hashes/package.json").status_code == 404
        assert http.get("/dashboard/vendor/@noble/hashes/esm/blake3.js").status_code == 404
        assert http.get("/dashboard/dashboard_routes.py").status_code == 404
        assert http.get("/dashboard/style.css").status_code == 200
        # The browser executor still has its own page.
        assert http.get("/executor/").status_code in (200, 503)


def test_server_start_serves_the_dashboard(tmp_path: Path) -> None:
    port = free_port()
    argv = [*COLONIES, "server", "start", "--port", str(port), "--host", "127.0.0.1"]
    argv += ["--data-dir", str(tmp_path), "--serverid", crypto.id_from_private_key("ab" * 32)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.1)
            assert http.get("/").headers["location"] == "/dashboard/"
            page = http.get("/dashboard/")
            assert page.status_code == 200 and "content-security-policy" in page.headers
            assert http.get("/dashboard/signer.js").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)


def test_without_the_signing_packages_the_page_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def not_installed(package: str) -> Path:
        raise RuntimeNotFound(package, [tmp_path])

    monkeypatch.setattr("colonies.web.dashboard_routes.find_npm_package", not_installed)
    with serving(dashboard_routes()) as http:
        page = http.get("/dashboard/")
        assert page.status_code == 503
        assert "npm ci --prefix web" in page.text and "@noble/secp256k1" in page.text
        assert http.get("/").headers["location"] == "/dashboard/"
    empty = tmp_path / "empty"
    empty.mkdir()
    with serving(dashboard_routes(signing={"@noble/secp256k1": empty})) as http:
        assert http.get("/dashboard/vendor/@noble/secp256k1/index.js").status_code == 404


def test_the_dev_link_keeps_the_key_in_the_fragment(colony: Colony) -> None:
    assert colony.link.startswith(f"http://localhost:{colony.dev.port}/dashboard/#")
    fragment = dict(p.split("=", 1) for p in colony.link.split("#", 1)[1].split("&"))
    assert fragment["prvkey"] == colony.prvkey and fragment["colony"] == "dev"
    server_id = colony.dev.env["COLONIES_SERVER_ID"]
    assert crypto.id_from_private_key(fragment["serverprvkey"]) == server_id


# ---------------------------------------------------------------------------------------------
# Signing in the browser


def test_the_browser_signer_matches_the_crypto_vectors(colony: Colony, page: Page) -> None:
    vectors = json.loads(VECTORS_PATH.read_text())
    page.goto(colony.base)
    wait_for(page, "dashboard.booted")
    got = page.evaluate(
        """async (keys) => {
            const s = await import('./signer.js');
            return keys.map((k) => ({
                id: s.idFromPrivateKey(k.prvkey),
                pub: s.publicKey(k.prvkey),
                sig: s.sign(k.signed_string, k.prvkey),
                recovered: s.recoverId(k.signed_string, k.signature),
                hello: s.sign('hello', k.prvkey),
            }));
        }""",
        vectors["keys"],
    )
    for key, mine in zip(vectors["keys"], got, strict=True):
        assert mine["id"] == key["id"] and mine["pub"] == key["pubkey_uncompressed"]
        assert mine["sig"] == key["signature"]  # RFC6979 nonces: the same bytes as pycolonies
        assert mine["recovered"] == key["id"]
        assert mine["hello"] == key["signature_of_'hello'"]
    hello = vectors["known_vectors_from_upstream"]["sign_hello"]
    go_signature = hello[
        "go_interop_signature (Go signature_test.go TestInterop; different nonce, same signer)"
    ]
    assert (
        page.evaluate(
            "async ([m, s]) => (await import('./signer.js')).recoverId(m, s)",
            ["hello", go_signature],
        )
        == hello["id"]
    )
    assert (
        page.evaluate("async () => (await import('./signer.js')).sha3Hex('hello world')")
        == (vectors["known_vectors_from_upstream"]["sha3_256('hello world')"])
    )
    # A request signed in the page is accepted by the server as the dev member's.
    body = page.evaluate(
        "async (key) => (await import('./signer.js')).buildRequest("
        "{msgtype: 'getcolonymsg', colonyname: 'dev'}, key)",
        colony.prvkey,
    )
    reply = httpx.post(f"{colony.url}/api", content=body, timeout=10)
    assert reply.status_code == 200, reply.text
    # Non-ASCII text is base64 of its UTF-8 bytes, as the Go server reads it.
    body = page.evaluate(
        "async (key) => (await import('./signer.js')).buildRequest("
        "{msgtype: 'getcolonymsg', colonyname: 'dév ☃'}, key)",
        colony.prvkey,
    )
    envelope = json.loads(body)
    assert json.loads(base64.b64decode(envelope["payload"]))["colonyname"] == "dév ☃"
    reply = httpx.post(f"{colony.url}/api", content=body, timeout=10)
    failure = json.loads(base64.b64decode(reply.json()["payload"]))
    assert "<dév ☃> does not exist" in failure["message"]  # the server read the name intact


def test_the_dev_link_signs_in_and_the_key_never_leaves_the_page(
    colony: Colony, page: Page
) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url + " " + (r.post_data or "")))
    page.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))),
    )
    sign_in(page, colony)
    assert "prvkey" not in page.url and page.url.endswith("#/overview")
    assert state(page)["id"] == crypto.id_from_private_key(colony.prvkey)
    # about:blank and the dashboard: the entry with the key was replaced in place.
    assert page.evaluate("() => history.length") == 2
    show(page, "#/executors", "myexecutor")
    assert len(sent) > 3
    for text in sent:
        assert colony.prvkey not in text
        assert colony.dev.env["COLONIES_SERVER_PRVKEY"] not in text
    # A reload keeps the session (sessionStorage, this tab only).
    page.reload()
    wait_for(page, "dashboard.signedIn && dashboard.updates > 0")
    assert state(page)["view"] == "executors"


def test_a_bad_key_is_refused_with_a_clear_message(colony: Colony, page: Page) -> None:
    page.goto(colony.base)
    expect(page.locator("#signin")).to_be_visible()
    page.fill("#signin-colony", "dev")
    page.fill("#signin-prvkey", "not-a-key")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_contain_text("64 hexadecimal characters")
    stranger = crypto.generate_private_key()
    page.fill("#signin-prvkey", stranger)
    page.click("#signin-submit")
    error = page.locator("#signin-error")
    expect(error).to_contain_text('is not a member of colony "dev"')
    expect(error).to_contain_text(crypto.id_from_private_key(stranger)[:8])
    expect(page.locator("#shell")).to_be_hidden()
    shot(page, "signin-bad-key")
    page.fill("#signin-colony", "nosuchcolony")
    page.fill("#signin-prvkey", colony.prvkey)
    page.click("#signin-submit")
    expect(error).to_have_text('There is no colony named "nosuchcolony" on this server.')
    assert not state(page)["signedIn"]
    # A link with a bad key lands on the sign-in screen with the reason, key wiped from the URL.
    page.goto(f"{colony.base}#prvkey={stranger}&colony=dev")
    expect(error).to_contain_text("is not a member")
    assert stranger not in page.url
    # A wrong server key is named as such.
    page.goto(f"{colony.base}#prvkey={colony.prvkey}&colony=dev&serverprvkey={stranger}")
    expect(error).to_contain_text("not the server owner's key")
    # And the right keys sign in from the form.
    page.fill("#signin-colony", "dev")
    page.fill("#signin-prvkey", colony.prvkey)
    page.click("#signin-submit")
    wait_for(page, "dashboard.signedIn && dashboard.updates > 0")


# ---------------------------------------------------------------------------------------------
# Every view, filled with real data


@pytest.fixture(scope="module")
def seeded(colony: Colony) -> dict[str, Any]:
    """Executors with functions; processes in every state with output, errors, logs and
    attributes; a workflow; a cron and a generator."""
    echo = colony.worker("echo-worker", "cli", "echo", "add")
    gpu = colony.worker("gpu-worker", "gpu", "train")
    done = colony.submit("echo", "cli", "Hello", label="greetings")
    colony.run(echo, out=["Hello"])
    failed = colony.submit("add", "cli", 1, "two")
    colony.run(echo, error="TypeError: unsupported operand type(s) for +: 'int' and 'str'")
    running = colony.submit("train", "gpu", "resnet", label="ml")
    assigned = gpu.assign("dev", 5)
    assert assigned.processid == running.processid
    for line in ("loading data", "epoch 1/3 loss=0.91", "epoch 2/3 loss=0.55"):
        gpu.add_log(running.processid, line)
    gpu.add_attribute(
        Attribute(
            targetid=running.processid,
            targetcolonyname="dev",
            attributetype=1,
            key="accuracy",
            value="0.87",
        )
    )
    waiting = colony.submit("echo", "cli", "later")
    cancelled = colony.submit("echo", "cli", "never")
    colony.member.cancel(cancelled.processid)

    def step(node: str, *deps: str) -> FunctionSpec:
        return FunctionSpec(
            nodename=node,
            funcname=node,
            conditions=Conditions(colonyname="dev", executortype="etl", dependencies=list(deps)),
        )

    graph = colony.member.submit_workflow(
        WorkflowSpec(
            colonyname="dev",
            functionspecs=[
                step("extract"),
                step("clean", "extract"),
                step("enrich", "extract"),
                step("load", "clean", "enrich"),
            ],
        )
    )
    etl = colony.worker("etl-worker", "etl", "extract", "clean", "enrich", "load")
    extract = etl.assign("dev", 5)
    etl.close(extract.processid, ["rows: 1200"])
    workflow = WorkflowSpec(colonyname="dev", functionspecs=[step("nightly")])
    cron = colony.member.add_cron(
        Cron(colonyname="dev", name="nightly-report", cronexpression="0 0 3 * * *", interval=-1),
        workflow,
    )
    generator = colony.member.add_generator(
        Generator(colonyname="dev", name="batch-inbox", trigger=10, timeout=3600), workflow
    )
    colony.member.pack_generator(generator.generatorid, "first-arg")
    return {
        "done": done,
        "failed": failed,
        "running": running,
        "waiting": waiting,
        "cancelled": cancelled,
        "graph": graph,
        "cron": cron,
    }


def test_every_view_on_a_laptop(colony: Colony, seeded: dict[str, Any], page: Page) -> None:
    sign_in(page, colony)
    expect(page.locator("#ov-cards")).to_contain_text("Waiting")
    expect(page.locator("#ov-running")).to_contain_text("train")
    expect(page.locator("#ov-failed")).to_contain_text("add")
    expect(page.locator("#ov-queue svg.chart")).to_be_visible()
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    time.sleep(3)  # a few samples for the chart
    shot(page, "laptop-overview")

    show(page, "#/processes/running", "train")
    expect(page.locator("#pr-list")).to_contain_text("gpu")
    expect(page.locator("#pr-tabs .tab.active")).to_contain_text("running")
    shot(page, "laptop-processes")
    show(page, "#/processes/successful", "echo")
    show(page, "#/processes/failed", "add")
    show(page, "#/processes/cancelled", "echo")

    running = seeded["running"].processid
    show(page, f"#/process/{running}", "train")
    expect(page.locator("#p-logs")).to_contain_text("epoch 2/3 loss=0.55")
    expect(page.locator("#p-attributes")).to_contain_text("accuracy")
    expect(page.locator("#p-attributes")).to_contain_text("0.87")
    expect(page.locator("#p-head")).to_contain_text("gpu-worker")
    expect(page.locator("#p-spec")).to_contain_text('"resnet"')
    shot(page, "laptop-process-running")
    show(page, f"#/process/{seeded['failed'].processid}", "unsupported operand")
    expect(page.locator("#p-errors")).to_contain_text("TypeError")
    shot(page, "laptop-process-failed")
    show(page, f"#/process/{seeded['done'].processid}")
    expect(page.locator("#p-output")).to_contain_text('"Hello"')

    graph = seeded["graph"].processgraphid
    show(page, "#/workflows/running", graph[:8])
    page.click(f"#wf-list a[href='#/workflow/{graph}']")
    wait_for(page, "dashboard.view === 'workflow'")
    expect(page.locator("svg.graph .node")).to_have_count(4)
    expect(page.locator("svg.graph .edge")).to_have_count(4)
    expect(page.locator("svg.graph .node.successful")).to_contain_text("extract")
    expect(page.locator("svg.graph .node.waiting").first).to_be_visible()
    expect(page.locator("#wf-steps tbody tr")).to_have_count(4)
    expect(page.locator("#wf-steps")).to_contain_text("enrich")
    shot(page, "laptop-workflow")
    page.locator("svg.graph .node.successful").click()
    wait_for(page, "dashboard.view === 'process'")
    expect(page.locator("#p-output")).to_contain_text("rows: 1200")

    show(page, "#/executors", "gpu-worker")
    expect(page.locator("#ex-list")).to_contain_text("train")
    expect(page.locator("#ex-list")).to_contain_text("approved")
    page.fill("#ex-search", "resnet-nothing")
    expect(page.locator("#ex-list")).to_contain_text("No executors match")
    page.fill("#ex-search", "etl")
    expect(page.locator("#ex-list")).to_contain_text("enrich")
    expect(page.locator("#ex-list")).not_to_contain_text("gpu-worker")
    page.fill("#ex-search", "")
    shot(page, "laptop-executors")

    show(page, "#/crons", "nightly-report")
    expect(page.locator("#cr-list")).to_contain_text("0 0 3 * * *")
    expect(page.locator("#gen-list")).to_contain_text("batch-inbox")
    expect(page.locator("#gen-list")).to_contain_text("10 args")
    shot(page, "laptop-crons")

    show(page, "#/colonies", "dev")
    expect(page.locator("#co-body")).to_contain_text(
        crypto.id_from_private_key(colony.dev.env["COLONIES_COLONY_PRVKEY"])
    )
    shot(page, "laptop-colonies")

    show(page, "#/submit")
    expect(page.locator("#s-registered")).to_contain_text("train")
    shot(page, "laptop-submit")


def test_process_filters_and_search(colony: Colony, seeded: dict[str, Any], page: Page) -> None:
    colony.submit("echo", "cli", "filter-me", label="batch-7")
    sign_in(page, colony)
    show(page, "#/processes/waiting", "batch-7")
    page.fill("#pr-label", "batch-7")
    expect(page.locator("#pr-list")).to_contain_text("echo")
    expect(page.locator("#pr-list tbody tr")).to_have_count(1)
    assert "label=batch-7" in page.url  # filters live in the URL: links can be shared
    page.fill("#pr-label", "")
    page.select_option("#pr-type", "cli")
    assert "type=cli" in page.url
    cli = colony.member.get_processes("dev", 0, executortype="cli")
    assert 2 <= len(cli) < len(colony.member.get_processes("dev", 0))
    expect(page.locator("#pr-list tbody tr")).to_have_count(len(cli))
    page.fill("#pr-search", "no-such-process-anywhere")
    expect(page.locator("#pr-list")).to_contain_text("No waiting processes match")
    page.fill("#pr-search", "filter-me")
    expect(page.locator("#pr-list tbody tr")).to_have_count(1)
    page.fill("#pr-search", "")
    page.fill("#pr-initiator", "nobody-by-that-name")
    expect(page.locator("#pr-list .error-box")).to_contain_text("nobody-by-that-name")


# ---------------------------------------------------------------------------------------------
# Live: changes arrive without a reload


def test_live_updates_without_reloading(colony: Colony, seeded: dict[str, Any], page: Page) -> None:
    worker = colony.worker("live-worker", "live", "tick")
    sign_in(page, colony)
    show(page, "#/processes/waiting")
    page.evaluate("() => { window.__sameDocument = true; }")
    process = colony.submit("tick", "live", 1)
    started = time.monotonic()
    row = page.locator(f"#pr-list a[href='#/process/{process.processid}']")
    expect(row).to_be_visible(timeout=LIVE_MS)
    appeared = time.monotonic() - started
    page.click(f"#pr-list a[href='#/process/{process.processid}']")
    wait_for(page, "dashboard.view === 'process'")
    expect(page.locator("#p-head .badge")).to_have_text("waiting")
    assigned = worker.assign("dev", 5)
    expect(page.locator("#p-head .badge")).to_have_text("running", timeout=LIVE_MS)
    worker.add_log(assigned.processid, "tick tock")
    expect(page.locator("#p-logs")).to_contain_text("tick tock", timeout=LIVE_MS)
    worker.close(assigned.processid, ["tock"])
    expect(page.locator("#p-head .badge")).to_have_text("successful", timeout=LIVE_MS)
    expect(page.locator("#p-output")).to_contain_text('"tock"', timeout=LIVE_MS)
    assert page.evaluate("() => window.__sameDocument") is True  # no reload happened
    assert appeared < LIVE_MS / 1000
    # The overview's counters follow too.
    show(page, "#/overview")
    before = int(page.locator(".stat.waiting .stat-value").inner_text())
    colony.submit("tick", "live", 2)
    expect(page.locator(".stat.waiting .stat-value")).to_have_text(str(before + 1), timeout=LIVE_MS)


def test_submitting_from_the_form(colony: Colony, seeded: dict[str, Any], page: Page) -> None:
    worker = colony.worker("form-worker", "form", "greet")
    sign_in(page, colony)
    show(page, "#/submit", "greet")
    page.click("#s-registered tr:has-text('form-worker')")  # a registered function fills the form
    expect(page.locator("#s-funcname")).to_have_value("greet")
    expect(page.locator("#s-type")).to_have_value("form")
    page.fill("#s-args", '["World", 3]')
    page.fill("#s-kwargs", "{not json")
    page.click("#s-submit")
    expect(page.locator("#submit-error")).to_contain_text("Keyword arguments: not valid JSON")
    page.fill("#s-kwargs", '{"loud": true}')
    page.fill("#s-label", "from-the-form")
    page.click("#s-submit")
    wait_for(page, "dashboard.view === 'process'")
    expect(page.locator("#p-head")).to_contain_text("greet")
    expect(page.locator("#p-head .badge")).to_have_text("waiting")
    processid = page.url.rsplit("/", 1)[1]
    process = colony.member.get_process(processid)
    assert process.spec.args == ["World", 3] and process.spec.kwargs == {"loud": True}
    assert process.spec.label == "from-the-form"
    assert process.initiatorid == crypto.id_from_private_key(colony.prvkey)
    show(page, "#/processes/waiting", "greet")
    page.click(f"#pr-list a[href='#/process/{processid}']")
    wait_for(page, "dashboard.view === 'process'")
    worker.assign("dev", 5)
    expect(page.locator("#p-head .badge")).to_have_text("running", timeout=LIVE_MS)
    page.click("[data-action=cancel]")
    expect(page.locator("#p-head .badge")).to_have_text("cancelled", timeout=LIVE_MS)
    # Refused by the server: the reason is shown.
    show(page, "#/submit")
    page.fill("#s-funcname", "greet")
    page.fill("#s-type", "form")
    page.fill("#s-priority", "999999")
    page.click("#s-submit")
    expect(page.locator("#submit-error")).to_contain_text("The server refused the process")


def test_read_only_mode_hides_every_control(
    colony: Colony, seeded: dict[str, Any], page: Page
) -> None:
    sign_in(page, colony, "&readonly=1")
    assert state(page)["readonly"] is True
    expect(page.locator("#nav a[data-view=submit]")).to_be_hidden()
    expect(page.locator("#readonly-toggle")).to_be_disabled()
    show(page, f"#/process/{seeded['waiting'].processid}", "echo")
    expect(page.locator("[data-action=cancel]")).to_be_hidden()
    expect(page.locator("[data-action=remove]")).to_be_hidden()
    show(page, "#/crons", "nightly-report")
    expect(page.locator("[data-run]")).to_be_hidden()
    page.evaluate("() => { location.hash = '#/submit'; }")
    wait_for(page, "dashboard.view === 'overview'")
    shot(page, "laptop-readonly")
    # Without the link's lock, the toggle switches read-only on and off.
    page.evaluate("() => sessionStorage.clear()")
    sign_in(page, colony)
    expect(page.locator("#nav a[data-view=submit]")).to_be_visible()
    page.click("#readonly-toggle")
    expect(page.locator("#nav a[data-view=submit]")).to_be_hidden()
    page.click("#readonly-toggle")
    expect(page.locator("#nav a[data-view=submit]")).to_be_visible()


# ---------------------------------------------------------------------------------------------
# A phone, and the dark theme


def test_on_a_phone(colony: Colony, seeded: dict[str, Any], browser: Browser) -> None:
    page = new_page(browser, PHONE)
    try:
        sign_in(page, colony)

        def fits() -> None:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{state(page)['view']} is {width}px wide"

        fits()
        shot(page, "phone-overview")
        show(page, "#/processes/running", "train")
        fits()
        shot(page, "phone-processes")
        show(page, f"#/process/{seeded['running'].processid}", "epoch")
        fits()
        shot(page, "phone-process")
        show(page, f"#/workflow/{seeded['graph'].processgraphid}")
        expect(page.locator("svg.graph .node")).to_have_count(4)
        fits()  # a wide graph scrolls inside its card, not the page
        shot(page, "phone-workflow")
        show(page, "#/executors", "gpu-worker")
        fits()
        shot(page, "phone-executors")
        show(page, "#/submit")
        fits()
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()


def test_the_dark_theme(colony: Colony, seeded: dict[str, Any], browser: Browser) -> None:
    page = new_page(browser, LAPTOP, scheme="dark")
    try:
        sign_in(page, colony)
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(14, 17, 23)"
        time.sleep(2)
        path = shot(page, "laptop-overview-dark")
        assert path.stat().st_size > 10_000
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()


def test_the_link_in_a_terminal_is_one_line(colony: Colony) -> None:
    assert re.fullmatch(r"http://localhost:\d+/dashboard/#[\w=&]+", colony.link)


def test_cancelling_a_workflow(colony: Colony, seeded: dict[str, Any], page: Page) -> None:
    graph = colony.member.submit_workflow(
        WorkflowSpec(
            colonyname="dev",
            functionspecs=[
                FunctionSpec(
                    nodename="only",
                    funcname="only",
                    conditions=Conditions(colonyname="dev", executortype="nobody"),
                )
            ],
        )
    )
    sign_in(page, colony)
    show(page, f"#/workflow/{graph.processgraphid}", "only")
    page.click("#wf-head [data-action=cancel]")
    expect(page.locator("#wf-head .badge")).to_have_text("cancelled", timeout=LIVE_MS)
    expect(page.locator("svg.graph .node.cancelled")).to_have_count(1, timeout=LIVE_MS)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#wf-head [data-action=remove]")
    wait_for(page, "dashboard.view === 'workflows'")
    show(page, f"#/workflow/{graph.processgraphid}")
    expect(page.locator("#wf-head .error-box")).to_be_visible()


def test_a_server_restart_shows_and_recovers(colony: Colony, page: Page) -> None:
    """Last in this module: the server goes away and comes back on the same data; the page says
    so and carries on without a reload."""
    sign_in(page, colony)
    page.evaluate("() => { window.__sameDocument = true; }")
    colony.dev.stop()
    expect(page.locator("#live")).not_to_have_attribute("data-state", "live", timeout=UI_MS)
    colony.dev = DevServer(colony.dev.data_dir, colony.dev.port)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=UI_MS)
    before = int(page.evaluate("() => dashboard.updates"))
    wait_for(page, f"dashboard.updates > {before}")
    assert page.evaluate("() => window.__sameDocument") is True
