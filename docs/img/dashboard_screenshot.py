"""Make docs/img/dashboard.png: the dashboard's overview over a busy colony.

    .venv/bin/python docs/img/dashboard_screenshot.py   # about two minutes

Starts ``colonies dev`` in a temporary folder, registers a few executors that take and finish
work while a submitter sends bursts of processes (a few fail), opens the link ``colonies dev``
printed in headless Chromium (1440x900) and takes the screenshot once the charts hold about 85 s
of samples. Needs what the browser tests need: web/node_modules and /usr/bin/chromium.
"""

from __future__ import annotations

import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from colonies import crypto
from colonies.cli.dev import read_env_block
from colonies.client import Client
from colonies.model import Conditions, Executor, Function, FunctionSpec, WorkflowSpec

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "img" / "dashboard.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SECONDS = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    port = free_port()
    folder = Path(tempfile.mkdtemp()) / "dev"
    colonies = [sys.executable, "-m", "colonies.cli"]
    dev = subprocess.Popen(
        [*colonies, "dev", "--port", str(port), "--data-dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert dev.stderr is not None
        link = ""
        while not link:
            line = dev.stderr.readline()
            if not line:
                raise SystemExit("colonies dev stopped before printing the dashboard link")
            if line.startswith("Dashboard: "):
                link = line.removeprefix("Dashboard: ").strip().replace("localhost", "127.0.0.1")
        time.sleep(1)
        scenario(port, read_env_block((folder / "dev.env").read_text()), link)
    finally:
        dev.terminate()
        dev.wait(10)


def scenario(port: int, env: dict[str, str], link: str) -> None:
    url = f"http://127.0.0.1:{port}"
    owner = Client(url, env["COLONIES_COLONY_PRVKEY"])
    member = Client(url, env["COLONIES_PRVKEY"])
    workers = []
    for name, kind, funcs in [
        ("render-node-1", "render", ["render_frame"]),
        ("render-node-2", "render", ["render_frame"]),
        ("gpu-a100", "gpu", ["train", "infer"]),
        ("etl-worker", "etl", ["extract", "clean", "load"]),
    ]:
        key = crypto.generate_private_key()
        owner.add_executor(
            Executor(
                executorid=crypto.id_from_private_key(key),
                executortype=kind,
                executorname=name,
                colonyname="dev",
            )
        )
        owner.approve_executor("dev", name)
        client = Client(url, key)
        for funcname in funcs:
            client.add_function(
                Function(executorname=name, executortype=kind, colonyname="dev", funcname=funcname)
            )
        workers.append((name, kind, client))
    stop = threading.Event()  # set once the screenshot is taken

    def spec(funcname: str, kind: str, *args: object) -> FunctionSpec:
        return FunctionSpec(
            funcname=funcname,
            args=list(args),
            maxwaittime=-1,
            maxexectime=-1,
            conditions=Conditions(colonyname="dev", executortype=kind),
        )

    def submitter() -> None:
        tick = 0
        while not stop.is_set():
            tick += 1
            for _ in range(1 + int(3 * (1 + math.sin(tick / 6)))):
                member.submit(spec("render_frame", "render", tick))
            if tick % 5 == 0:
                member.submit(spec("infer", "gpu", "batch", tick))
            time.sleep(1.0)

    def work(name: str, client: Client, speed: float) -> None:
        while not stop.is_set():
            try:
                process = client.assign("dev", 2)
            except Exception:
                continue
            client.add_log(process.processid, f"{name}: {process.spec.funcname}")
            time.sleep(speed * random.uniform(0.6, 1.4))
            if random.random() < 0.07:
                client.fail(process.processid, ["RuntimeError: out of memory"])
            else:
                client.close(process.processid, [f"frame-{process.spec.args[-1]}.png"])

    threads = [threading.Thread(target=submitter, daemon=True)]
    for name, kind, client in workers[:3]:
        speed = 1.1 if kind == "render" else 2.5
        threads.append(threading.Thread(target=work, args=(name, client, speed), daemon=True))
    for thread in threads:
        thread.start()

    def step(node: str, *deps: str) -> FunctionSpec:
        return FunctionSpec(
            nodename=node,
            funcname=node,
            conditions=Conditions(colonyname="dev", executortype="etl", dependencies=list(deps)),
        )

    member.submit_workflow(
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
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="light")
        page.goto(link)
        page.wait_for_function("() => window.dashboard && dashboard.updates > 0")
        time.sleep(SECONDS - 15)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT))
        browser.close()
    stop.set()
    for thread in threads:
        thread.join(10)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
