"""The installable wheel (issue 12 §1), as a user meets it.

``python -m build`` makes an sdist and a wheel; the wheel carries the npm files the pages
load (Pyodide's, the dashboard's: those listed in ``runtime.toml`` and only those).
Installed into fresh virtualenvs (no system site packages) and run from a scratch directory
with no npm on PATH and no repository in sight:

- the base install is the portable SDK alone (no dependencies at all), and the ``colonies``
  command says in one line what to install;
- ``colonies[server]`` runs ``colonies dev``, serves ``/executor/`` and the Pyodide runtime,
  and a browser executor in Chromium runs the tutorial's functions submitted by that venv's CLI.

The build and the installs take about half a minute in all (pip reaches PyPI as it is set up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from colonies import web
from colonies.cli.dev import read_env_block
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, free_port
from test_browser import open_executor, start_executor, wait_for

pytestmark = pytest.mark.timeout(300)

# The wheel is ~6.7 MB, nearly all of it the Pyodide runtime (≈13.5 MB unpacked). A bound well
# under the 14 MB of node_modules/pyodide fails if unlisted files (source maps, the UMD loader,
# the console pages) or another package's whole folder slip in; the floor fails if the
# runtime is missing.
WHEEL_MIN_BYTES = 4_000_000
WHEEL_MAX_BYTES = 8_000_000
RUNTIME_LIST = REPO / "src" / "colonies" / "web" / "runtime.toml"
SERVER_ONLY = ("starlette", "uvicorn", "typer", "rich", "psycopg", "croniter")
PIP_SECONDS = 240


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run and fail the test with the command's own output if it fails."""
    result = subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result


def listed_runtime() -> dict[str, list[str]]:
    with RUNTIME_LIST.open("rb") as f:
        packages = tomllib.load(f)["packages"]
    return {name: list(entry["files"]) for name, entry in packages.items()}


@dataclass
class Dist:
    wheel: Path
    sdist: Path


@dataclass
class Venv:
    root: Path
    cwd: Path  # a scratch directory: no checkout, no web/node_modules

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def env(self) -> dict[str, str]:
        """Only the venv on PATH (so no npm), and nothing that points back at the checkout."""
        return {"PATH": str(self.bin), "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}

    def python(self, code: str) -> str:
        return run([str(self.bin / "python"), "-c", code], cwd=self.cwd, env=self.env).stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """``python -m build``: the sdist, then the wheel built from that sdist (as a release)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], cwd=out, timeout=300)
    (wheel,) = out.glob("colonies-*.whl")
    (sdist,) = out.glob("colonies-*.tar.gz")
    return Dist(wheel, sdist)


def make_venv(tmp_path_factory: pytest.TempPathFactory, name: str, *install: str) -> Venv:
    """A fresh venv (no system site packages) with ``install`` pip-installed into it."""
    base = tmp_path_factory.mktemp(name)
    venv = Venv(base / "venv", base / "cwd")
    venv.cwd.mkdir()
    run([sys.executable, "-m", "venv", str(venv.root)], cwd=venv.cwd)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run(
        [str(venv.bin / "python"), "-m", "pip", "install", "--quiet", *install],
        cwd=venv.cwd,
        env=env,
        timeout=PIP_SECONDS,
    )
    return venv


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory, dist: Dist) -> Venv:
    return make_venv(tmp_path_factory, "base", "--no-index", str(dist.wheel))


@pytest.fixture(scope="module")
def server_venv(tmp_path_factory: pytest.TempPathFactory, dist: Dist) -> Venv:
    constraints = ("--constraint", str(REPO / "requirements.lock"))
    return make_venv(tmp_path_factory, "server", *constraints, f"{dist.wheel}[server]")


# ---------------------------------------------------------------------------------------------
# The artefacts


def test_wheel_carries_exactly_the_listed_runtime(
    dist: Dist, record_property: Callable[[str, object], None]
) -> None:
    size = dist.wheel.stat().st_size
    record_property("wheel_bytes", size)
    print(f"\n{dist.wheel.name}: {size:,} bytes")
    assert WHEEL_MIN_BYTES < size < WHEEL_MAX_BYTES, size

    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
        manifest = json.loads(wheel.read("colonies/web/runtime/manifest.json"))
        metadata = wheel.read(f"{dist.wheel.name.split('-py3')[0]}.dist-info/METADATA").decode()
    listed = listed_runtime()
    expected = {
        f"colonies/web/runtime/{package}/{file}"
        for package, files in listed.items()
        for file in files
    }
    runtime = {n for n in names if n.startswith("colonies/web/runtime/")}
    assert runtime == expected | {"colonies/web/runtime/manifest.json"}
    lock = json.loads((REPO / "web" / "package-lock.json").read_text())["packages"]
    assert manifest == {
        package: {"version": lock[f"node_modules/{package}"]["version"], "files": files}
        for package, files in listed.items()
    }
    # Every file of the package that is not Python (pages, runtime.toml, py.typed) is in it.
    package = REPO / "src" / "colonies"
    data = {
        f"colonies/{path.relative_to(package)}"
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    assert data <= names, data - names
    # The base install needs nothing: every dependency belongs to an extra.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all("extra ==" in line for line in requires), requires


def test_sdist_builds_offline(dist: Dist) -> None:
    """The sdist holds the listed npm files and the lock, so a wheel builds from it without npm
    (``python -m build`` built the wheel above from this very sdist)."""
    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"setup.py", "web/package.json", "web/package-lock.json"} <= names
    for package, files in listed_runtime().items():
        assert {f"web/node_modules/{package}/{file}" for file in files} <= names


def test_lookup_prefers_the_packaged_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed wheel's copy wins over a checkout's node_modules; an incomplete copy does
    not count; an explicit folder is the only place looked at, and its error says where."""
    monkeypatch.delenv("COLONIES_PYODIDE_DIR", raising=False)
    packaged = tmp_path / "runtime"
    monkeypatch.setattr(web, "RUNTIME", packaged)
    checkout = REPO / "web" / "node_modules" / "pyodide"
    assert web.find_pyodide() == checkout.resolve()  # no packaged copy: the checkout's
    (packaged / "pyodide").mkdir(parents=True)
    for name in web.PYODIDE_FILES[:-1]:
        (packaged / "pyodide" / name).write_bytes(b"")
    assert web.find_pyodide() == checkout.resolve()  # one file short: not a runtime
    (packaged / "pyodide" / web.PYODIDE_FILES[-1]).write_bytes(b"")
    assert web.find_pyodide() == (packaged / "pyodide").resolve()
    assert web.find_npm_package("pyodide") == (packaged / "pyodide").resolve()

    with pytest.raises(web.RuntimeNotFound) as missing:
        web.find_pyodide(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(missing.value)
    assert "npm ci --prefix web" in str(missing.value)


# ---------------------------------------------------------------------------------------------
# The base install: the portable SDK alone


def test_base_install_is_the_sdk_alone(base_venv: Venv) -> None:
    out = base_venv.python(
        "import json, sys, importlib.util\n"
        "import colonies, colonies.client, colonies.executor, colonies.model, colonies.workflow\n"
        f"server = {SERVER_ONLY!r} + ('httpx', 'aiohttp', 'websockets', 'coincurve', 'orjson')\n"
        "print(json.dumps({'file': colonies.__file__,\n"
        "  'loaded': sorted(m for m in sys.modules if m.split('.')[0] in server),\n"
        "  'installed': [m for m in server if importlib.util.find_spec(m)]}))\n"
    )
    facts = json.loads(out)
    assert facts["file"].startswith(str(base_venv.root)), facts
    assert facts["loaded"] == [] and facts["installed"] == [], facts
    listed = json.loads(
        run(
            [str(base_venv.bin / "python"), "-m", "pip", "list", "--format=json"],
            cwd=base_venv.cwd,
            env=base_venv.env,
        ).stdout
    )
    assert {p["name"] for p in listed} <= {"colonies", "pip", "setuptools"}, listed


def test_base_install_says_what_to_install(base_venv: Venv) -> None:
    """The HTTP transport and the command line each name the extra they need, in one line."""
    cli = subprocess.run(
        [str(base_venv.bin / "colonies"), "process", "ps"],
        cwd=base_venv.cwd,
        env=base_venv.env,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 1
    assert cli.stdout == ""
    assert cli.stderr.count("\n") == 1, cli.stderr
    assert "pip install 'colonies[server]'" in cli.stderr

    out = base_venv.python(
        "from colonies.client import Client\n"
        "try:\n"
        "    Client('http://127.0.0.1:1', '0' * 63 + '1')\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    assert "pip install 'colonies[client]'" in out, out


# ---------------------------------------------------------------------------------------------
# colonies[server]: colonies dev and the browser executor from the wheel


class VenvDev:
    """``colonies dev`` run by the venv's own console script in its scratch directory."""

    def __init__(self, venv: Venv) -> None:
        self.venv, self.port = venv, free_port()
        self.proc = subprocess.Popen(
            [str(venv.bin / "colonies"), "dev", "--port", str(self.port)],
            cwd=venv.cwd,
            env=venv.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"colonies dev did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        # The default data directory: ./.colonies-dev
        self.dev_env = read_env_block((venv.cwd / ".colonies-dev" / "dev.env").read_text())

    def colonies(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv.bin / "colonies"), *args],
            cwd=self.venv.cwd,
            env={**self.venv.env, **self.dev_env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def venv_dev(server_venv: Venv) -> Iterator[VenvDev]:
    dev = VenvDev(server_venv)
    yield dev
    dev.stop()
    assert dev.proc.stderr is not None
    dev.proc.stderr.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser: Browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, errors


def test_server_install_serves_the_packaged_runtime(server_venv: Venv) -> None:
    """Every listed npm package is found in the installed wheel, not in a checkout."""
    facts = json.loads(
        server_venv.python(
            "import json, colonies\n"
            "from colonies.web import find_npm_package, find_pyodide, runtime_files\n"
            "print(json.dumps({'colonies': colonies.__file__,\n"
            "  'find_pyodide': str(find_pyodide()),\n"
            "  **{name: str(find_npm_package(name)) for name in runtime_files()}}))\n"
        )
    )
    runtime = server_venv.root / "lib"
    assert facts["colonies"].startswith(str(runtime)), facts
    for name in listed_runtime():
        assert facts[name].startswith(str(runtime)), facts
        assert facts[name].endswith(f"colonies/web/runtime/{name}"), facts
    assert facts["find_pyodide"] == facts["pyodide"]


def test_browser_executor_runs_the_tutorial_from_the_wheel(venv_dev: VenvDev, page: Page) -> None:
    base = f"http://127.0.0.1:{venv_dev.port}/executor"
    index = httpx.get(f"{base}/")
    assert index.status_code == 200 and "<title>" in index.text
    for file, mime in (("pyodide.asm.wasm", "application/wasm"), ("pyodide.mjs", "javascript")):
        reply = httpx.get(f"{base}/pyodide/{file}")
        assert reply.status_code == 200, file
        assert mime in reply.headers["content-type"], reply.headers
    assert httpx.get(f"{base}/pyodide/pyodide.js.map").status_code == 404  # lean: not carried

    open_executor(page, venv_dev)  # it needs only .port
    start_executor(page)
    for funcname, args, expected in (
        ("echo", ["Hello from browser!"], "Hello from browser!"),
        ("add", ["5", "3"], "8"),
    ):
        argv = [arg for value in args for arg in ("--args", value)]
        result = venv_dev.colonies(
            "function", "exec", "--func", funcname, *argv, "--targettype", "wasm", "--wait", "--out"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"{expected}\n", result.stderr
    wait_for(page, "colonies.counters.completed === 2")


def test_dashboard_signs_in_from_the_wheel(venv_dev: VenvDev, page: Page) -> None:
    """The dashboard and its signing modules come from the installed wheel too (no npm)."""
    base = f"http://127.0.0.1:{venv_dev.port}/dashboard/"
    assert httpx.get(base).status_code == 200
    assert httpx.get(base + "vendor/@noble/secp256k1/index.js").status_code == 200
    env = venv_dev.dev_env
    page.goto(f"{base}#prvkey={env['COLONIES_PRVKEY']}&colony=dev")
    page.wait_for_function("() => window.dashboard && dashboard.signedIn && dashboard.updates > 0")
    assert "prvkey" not in page.url
