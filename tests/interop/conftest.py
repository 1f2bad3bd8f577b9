"""Interop fixtures: the upstream Go server and CLI (v1.9.12) from ``../shared/reference``.

The reference sits beside the repository (or where ``COLONIES_REFERENCE_DIR`` points). Without
it the whole interop suite is skipped with one line saying why — except under ``CI=true``,
where a missing reference is an error: CI must prove interoperability on every change.

``goserver`` / ``goserver_tz`` are the Go server (UTC, and ``TZ=Europe/Stockholm`` as upstream's
``docker-compose.env`` runs it), one per test session each. ``ours`` is our server on a random
loopback port, set up the way ``goserver`` sets up the Go one (colony ``dev``, user ``myuser``),
so the same test body runs against both. ``GoCLI`` runs the Go ``colonies`` binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from colonies import crypto
from colonies.client import Client
from colonies.model import User
from conftest import REPO, LiveServer, start_server

REFERENCE = Path(os.environ.get("COLONIES_REFERENCE_DIR") or REPO.parent / "shared" / "reference")
GOSERVER = REFERENCE / "goserver"
GO_CLI = REFERENCE / "colonies-go"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing() -> str | None:
    """Why the reference cannot run here, or None."""
    for path in (GOSERVER, GO_CLI):
        if not os.access(path, os.X_OK):
            return f"{path} not found (set COLONIES_REFERENCE_DIR to the Go reference folder)"
    if not Path(os.environ.get("GOSERVER_PG_BIN", "/usr/lib/postgresql/15/bin")).is_dir():
        return "PostgreSQL 15 binaries not found (Debian's postgresql-15 package)"
    return None


MISSING = _missing()


def pytest_report_header() -> str:
    if MISSING is None:
        return f"interop: Go reference at {REFERENCE}"
    return f"interop: SKIPPED, {MISSING}"


SKIPPED: list[pytest.Item] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the reference (and not in CI) the interop tests are left out, said in one line."""
    if MISSING is None or IN_CI:
        return
    here = Path(__file__).parent
    SKIPPED.extend(item for item in items if here in Path(str(item.fspath)).parents)
    if SKIPPED:
        items[:] = [item for item in items if item not in SKIPPED]
        config.hook.pytest_deselected(items=SKIPPED)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SKIPPED:
        terminalreporter.write_line(
            f"interop: {len(SKIPPED)} tests skipped, the Go reference is missing: {MISSING}"
        )


@dataclass
class Server:
    """A ColonyOS server (ours or Go's) and the keys set up in it, as ``COLONIES_*`` values."""

    kind: str  # "go" or "ours"
    env: dict[str, str]
    live: LiveServer | None = None  # ours only: the in-process server
    statedir: Path | None = None  # go only

    @property
    def host(self) -> str:
        return self.env["COLONIES_SERVER_HOST"]

    @property
    def port(self) -> int:
        return int(self.env["COLONIES_SERVER_PORT"])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def colonyname(self) -> str:
        return self.env["COLONIES_COLONY_NAME"]

    @property
    def server_prvkey(self) -> str:
        return self.env["COLONIES_SERVER_PRVKEY"]

    @property
    def colony_prvkey(self) -> str:
        return self.env["COLONIES_COLONY_PRVKEY"]

    @property
    def user_prvkey(self) -> str:
        return self.env["COLONIES_PRVKEY"]

    def client(self, prvkey: str | None = None) -> Client:
        return Client(self.url, prvkey or self.user_prvkey)


def _read_env(statedir: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (statedir / "env").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip().strip("'\"")
    return env


def _start_go(tz: str) -> Server:
    if MISSING is not None:
        pytest.fail(f"CI=true but the interop suite cannot run: {MISSING}", pytrace=False)
    env = {**os.environ, "GOSERVER_TZ": tz, "GOSERVER_PG_OPTS": "-c fsync=off"}
    for name in ("COLONIES_SERVER_PRVKEY", "COLONIES_COLONY_PRVKEY", "COLONIES_PRVKEY"):
        env.pop(name, None)
    started = subprocess.run(
        [str(GOSERVER), "start"], env=env, capture_output=True, text=True, timeout=120
    )
    if started.returncode != 0:
        pytest.fail(f"goserver start failed:\n{started.stderr[-4000:]}", pytrace=False)
    statedir = Path(started.stdout.strip().splitlines()[-1])
    return Server("go", _read_env(statedir), statedir=statedir)


def _stop_go(server: Server) -> None:
    assert server.statedir is not None
    subprocess.run(
        [str(GOSERVER), "stop", "--dir", str(server.statedir), "--rm"],
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def goserver() -> Iterator[Server]:
    """The Go server in UTC, shared by the session: use fresh names (``unique``) per test."""
    server = _start_go("UTC")
    yield server
    _stop_go(server)


@pytest.fixture(scope="session")
def goserver_tz() -> Iterator[Server]:
    """The Go server in ``Europe/Stockholm``: it writes zero times as ``…+01:12``."""
    server = _start_go("Europe/Stockholm")
    yield server
    _stop_go(server)


def our_server(db: Path) -> Iterator[Server]:
    live, thread = start_server(db, sweep_interval=0.2, allow_executor_reregister=True)
    user = crypto.generate_private_key()
    with Client(live.url, live.colony.prvkey) as client:
        client.add_user(
            User(
                colonyname=live.colonyname,
                userid=crypto.id_from_private_key(user),
                name="myuser",
                email="",
                phone="",
            )
        )
    env = {
        "COLONIES_SERVER_HOST": live.host,
        "COLONIES_SERVER_PORT": str(live.port),
        "COLONIES_TLS": "false",
        "COLONIES_COLONY_NAME": live.colonyname,
        "COLONIES_SERVER_PRVKEY": live.server.prvkey,
        "COLONIES_SERVER_ID": live.server.id,
        "COLONIES_COLONY_PRVKEY": live.colony.prvkey,
        "COLONIES_COLONY_ID": live.colony.id,
        "COLONIES_PRVKEY": user,
        "COLONIES_ID": crypto.id_from_private_key(user),
    }
    try:
        yield Server("ours", env, live=live)
    finally:
        thread.stop()


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[Server]:
    """Our server, fresh per test, set up as ``goserver`` sets up the Go one."""
    yield from our_server(tmp_path / "colonies.db")


@pytest.fixture(params=["go", "ours"])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """Each test body once against the Go server and once against ours."""
    if request.param == "go":
        yield request.getfixturevalue("goserver")
    else:
        yield from our_server(tmp_path / "colonies.db")


@dataclass
class GoCLI:
    """The Go ``colonies`` CLI pointed at a server; ``env`` overrides per call."""

    server: Server
    overrides: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, *args: str, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        full = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            **self.server.env,
            **self.overrides,
            **env,
        }
        return subprocess.run(
            [str(GO_CLI), *args], env=full, capture_output=True, text=True, timeout=timeout
        )


@pytest.fixture
def go_cli_ours(ours: Server) -> GoCLI:
    return GoCLI(ours)


def unique(prefix: str) -> str:
    """A name no earlier test in the shared Go server used."""
    return f"{prefix}-{crypto.generate_private_key()[:10]}"


def have_chromium() -> bool:
    return shutil.which("chromium") is not None or Path("/usr/bin/chromium").exists()
