"""The Go ``colonies`` CLI against our server, side by side with the Go server.

Every command runs twice, against the Go server and against ours, in a colony that exists on
both with the same name and keys (``interop.twin``); exit code, stdout and stderr must be the
same once IDs, times, durations and the port are masked (and table padding, which follows the
widths of what was masked). Where the servers differ on purpose, the test pins both answers and
README.md ("Differences from the Go server") says why.

The tutorial's processes are served by our host executor (``colonies executor run``), one
against each server, so the whole tutorial flow of the Go CLI runs against our server.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from interop.conftest import GO_CLI, GoCLI, Server, unique
from interop.twin import (
    Keys,
    Twin,
    assign,
    close_connections,
    make_twin,
    ours_module,
)

__all__ = ["close_connections", "ours_module"]  # fixtures used here

LOG_TIME = re.compile(r'time="[^"]*" ')
ID = re.compile(r"\b[0-9a-f]{64}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
SECONDS = re.compile(r"\b\d+\.\d{6} s\b")  # function statistics
DURATION = re.compile(r"(?<![\w.])(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s)\b")  # Go's Duration
NANOSECONDS = re.compile(r"\b\d{18,19}\b")  # prioritytime
PROCESS_ID = re.compile(r"ProcessId=([0-9a-f]{64})")
COUNTER = re.compile(r"│ Call counter │ \d+ │\n")
TUTORIAL = [
    (["--func", "echo", "--args", "Hello from browser!"], "Hello from browser!"),
    (["--func", "add", "--args", "5", "--args", "3"], "8"),
    (["--func", "multiply", "--args", "7", "--args", "6"], "42"),
    (["--func", "greet", "--args", "World"], "Hello, World! Greetings from the WASM executor."),
]


@dataclass(frozen=True)
class Run:
    """One CLI run, with what legitimately differs between two servers masked."""

    rc: int
    out: str
    err: str
    raw_out: str  # unmasked
    raw_err: str


def mask(text: str, port: int) -> str:
    text = LOG_TIME.sub("", text)
    text = ID.sub("<id>", text)
    text = TIME.sub(lambda m: m[0] if m[0].startswith("0001-01-01") else "<time>", text)
    text = SECONDS.sub(lambda m: m[0] if m[0] == "0.000000 s" else "<seconds>", text)
    text = DURATION.sub(lambda m: m[0] if m[0] == "0s" else "<duration>", text)
    text = NANOSECONDS.sub("<ns>", text)
    text = text.replace(str(port), "<port>")
    return re.sub("─+", "─", re.sub(" {2,}", " ", text))


@dataclass
class Side:
    """The Go CLI pointed at one server, signing as the twin colony's user."""

    cli: GoCLI
    ids: dict[str, str]  # Go process ID -> this server's (identity on the Go side)
    rerun: set[str] = field(default_factory=set)  # functions run twice (see below)

    def __call__(self, *args: str, stdin: str = "") -> Run:
        server = self.cli.server
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            **server.env,
            **self.cli.overrides,
        }
        args = tuple(self.ids.get(a, a) for a in args)
        # The Go server misses a process that ends while `--wait` subscribes (it reads the state
        # before it adds the listener), and our executor ends one within a millisecond: there
        # `--wait` would hang for 100 s. Against Go only, such a run is tried once more, after
        # removing the process it left (so that the lists stay comparable).
        racy = server.kind == "go" and "--wait" in args
        for attempt in (1, 2):
            try:
                done = subprocess.run(
                    [str(GO_CLI), *args],
                    env=env,
                    input=stdin,
                    capture_output=True,
                    text=True,
                    timeout=15 if racy else 60,
                )
                break
            except subprocess.TimeoutExpired as e:
                stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else e.stderr or ""
                if not racy or attempt == 2:
                    message = f"against the {server.kind} server: {e}\n{stderr}"
                    pytest.fail(message, pytrace=False)
                for processid in PROCESS_ID.findall(stderr):
                    remove = [str(GO_CLI), "process", "remove", "-p", processid]
                    subprocess.run(remove, env=env, capture_output=True, timeout=60, check=True)
                self.rerun.add(args[args.index("--func") + 1])
        port = server.port
        out, err = mask(done.stdout, port), mask(done.stderr, port)
        return Run(done.returncode, out, err, done.stdout, done.stderr)


@dataclass
class Pair:
    twin: Twin
    go: Side
    ours: Side

    def both(self, *args: str, stdin: str = "") -> tuple[Run, Run]:
        go, ours = self.go(*args, stdin=stdin), self.ours(*args, stdin=stdin)
        go_ids, our_ids = PROCESS_ID.findall(go.raw_err), PROCESS_ID.findall(ours.raw_err)
        for go_id, our_id in zip(go_ids, our_ids, strict=True):
            self.ours.ids[go_id] = our_id
            self.twin.compare.go_to_ours[go_id] = our_id
        return go, ours

    def same(self, *args: str, stdin: str = "") -> Run:
        """Run on both; everything but the masked parts must be equal. Returns Go's run."""
        go, ours = self.both(*args, stdin=stdin)
        if (ours.rc, ours.out, ours.err) != (go.rc, go.out, go.err):
            diff = difflib.unified_diff(
                f"rc={go.rc}\n{go.out}{go.err}".splitlines(),
                f"rc={ours.rc}\n{ours.out}{ours.err}".splitlines(),
                "go",
                "ours",
                lineterm="",
            )
            pytest.fail(f"colonies {' '.join(args)}:\n" + "\n".join(diff), pytrace=False)
        return go

    def same_tables(self, *args: str) -> Run:
        """Like ``same`` for commands printing one table per item in no defined order (the Go
        server keeps no order for functions: an updated row moves in PostgreSQL's heap)."""
        go, ours = self.both(*args)
        assert (ours.rc, ours.err) == (go.rc, go.err), args
        go_tables, our_tables = tables(go.out), tables(ours.out)
        for funcname in self.go.rerun:  # a rerun counted twice on Go: leave its counter out
            go_tables = [COUNTER.sub("", t) if funcname in t else t for t in go_tables]
            our_tables = [COUNTER.sub("", t) if funcname in t else t for t in our_tables]
        assert sorted(our_tables) == sorted(go_tables), args
        return go

    def same_rows(self, *args: str) -> Run:
        """Like ``same`` for a command printing one list table whose rows come in the Go
        server's PostgreSQL heap order (other tests on the shared Go server free space that a
        new row may take: seen, the newest executor listed first). Ours lists in insertion
        order; both must print the same lines in some order."""
        go, ours = self.both(*args)
        assert (ours.rc, ours.err) == (go.rc, go.err), args
        assert sorted(ours.out.splitlines()) == sorted(go.out.splitlines()), args
        return go

    def submitted(self, run: Run) -> str:
        """The Go process ID a ``function exec``/``submit`` printed."""
        (processid,) = set(PROCESS_ID.findall(run.raw_err))
        return processid


def tables(out: str) -> list[str]:
    return ["╭" + table for table in out.split("╭")[1:]]


def cli_json(run: Run) -> Any:
    """The JSON a ``--json`` command printed (the Go CLI adds its nil error: ``} <nil>``)."""
    return json.loads(run.raw_out.strip().removesuffix("<nil>"))


@pytest.fixture
def pair(goserver: Server, ours_module: Server) -> Pair:
    twin = make_twin(goserver, ours_module)
    env = {
        "COLONIES_COLONY_NAME": twin.colony,
        "COLONIES_COLONY_PRVKEY": twin.owner.prvkey,
        "COLONIES_PRVKEY": twin.user.prvkey,
    }
    return Pair(twin, Side(GoCLI(goserver, env), {}), Side(GoCLI(ours_module, env), {}))


@pytest.fixture
def tutorial_executors(pair: Pair, tmp_path: Path) -> Iterator[str]:
    """Our host executor serving the tutorial's functions, one against each server."""
    executortype = unique("wasm")
    executors = []
    for server in (pair.twin.go, pair.twin.ours):
        env = {
            **os.environ,
            "COLONIES_SERVER_HOST": server.host,
            "COLONIES_SERVER_PORT": str(server.port),
            "COLONIES_COLONY_NAME": pair.twin.colony,
            "COLONIES_COLONY_PRVKEY": pair.twin.owner.prvkey,
        }
        command = [sys.executable, "-m", "colonies.cli", "executor", "run"]
        options = ["--type", executortype, "--name", "wasm-executor", "--poll-timeout", "5"]
        log = tmp_path / f"executor-{server.kind}.log"
        with log.open("w") as stderr:
            executors.append((subprocess.Popen([*command, *options], env=env, stderr=stderr), log))
    yield executortype
    for executor, _ in executors:
        executor.send_signal(signal.SIGINT)
    for executor, log in executors:
        assert executor.wait(timeout=30) == 0, log.read_text()


def test_tutorial_flow(pair: Pair, tutorial_executors: str) -> None:
    """``function exec ... --targettype wasm --wait --out`` for every tutorial function."""
    exec_ = ["function", "exec", "--targettype", tutorial_executors, "--wait", "--out"]
    for args, expected in TUTORIAL:
        run = pair.same(*exec_, *args)
        assert (run.rc, run.out) == (0, expected + "\n"), run.err
        assert "Process finished successfully" in run.err
    info = pair.same(*exec_, "--func", "browser_info")
    assert info.rc == 0 and info.out.startswith("User-Agent: Python/"), info
    assert info.out.endswith(", Executor: wasm-executor\n")
    unknown = pair.same(*exec_, "--func", "launch_rockets")
    assert unknown.rc != 0 and unknown.out == ""
    assert "Process failed" in unknown.err and "Unknown function 'launch_rockets'" in unknown.err
    bad = pair.same(*exec_, "--func", "add", "--args", "five", "--args", "3")
    assert bad.rc != 0 and "add: expected a number, got 'five'" in bad.err
    # What the tutorial left behind, as the process commands show it.
    successful = pair.same("process", "pss")
    names = [line.split("│")[1].strip() for line in successful.out.splitlines()[3:-1]]
    assert names == ["browser_info", "greet", "multiply", "add", "echo"]
    failed = pair.same("process", "psf", "--count", "5")
    assert failed.rc == 0 and "launch_rockets" in failed.out and "five 3" in failed.out
    pair.same("process", "pss", "--count", "2")
    pair.same("process", "ps")
    pair.same("process", "psw")
    pair.same("process", "psc")
    again = pair.submitted(pair.same(*exec_, "--func", "echo", "--args", "again"))
    pair.same("process", "get", "-p", again)
    assert pair.same("process", "get", "-p", again, "--out").out == "again\n"
    go_json, our_json = pair.both("process", "get", "-p", again, "--json")
    assert go_json.rc == our_json.rc == 0
    pair.twin.compare(cli_json(go_json), cli_json(our_json))
    functions = pair.same_tables("function", "ls")
    assert functions.rc == 0 and "Function: multiply" in functions.out
    stats = pair.same("colony", "stats")
    assert re.search(r"Successful processes │ 6 │", stats.out), stats.out


def test_process_commands(pair: Pair) -> None:
    """ps/psw/pss/psf/psc with filters, get, cancel, remove, removeall; refusals."""
    twin = pair.twin
    idle = unique("idle")  # no executor of this type: its processes wait
    submit = ["function", "exec", "--targettype", idle, "--func"]
    waiting = [
        pair.submitted(pair.same(*submit, name, "--args", "x", "--label", label))
        for name, label in (("first", "a"), ("second", "b"), ("third", "a"))
    ]
    pair.same("process", "psw")
    pair.same("process", "psw", "--count", "2")
    pair.same("process", "psw", "--label", "a")
    pair.same("process", "psw", "--executortype", idle)
    pair.same("process", "psw", "--initiator", "alice")
    unknown_initiator = pair.same("process", "psw", "--initiator", "nobody")
    assert unknown_initiator.rc != 0 and "User <nobody> does not exist" in unknown_initiator.err
    go_json, our_json = pair.both("process", "psw", "--json")
    twin.compare(cli_json(go_json), cli_json(our_json))
    pair.same("process", "get", "-p", waiting[0])
    assert pair.same("process", "get", "-p", waiting[0], "--out").out == "\n"
    # Running and failed: the twin's executor "worker" takes one, fails another.
    work = ["function", "exec", "--targettype", twin.executortype, "--func"]
    running = pair.submitted(pair.same(*work, "long"))
    pair.submitted(pair.same(*work, "doomed"))
    assign(twin)
    doomed, _ = assign(twin)
    fail = {"msgtype": "closefailedmsg", "processid": doomed["processid"], "errors": ["boom"]}
    twin.same("executor", fail)
    ps = pair.same("process", "ps")
    assert "long" in ps.out and "worker" in ps.out
    assert "doomed" in pair.same("process", "psf").out
    pair.same("process", "get", "-p", running)
    # Cancel and remove.
    pair.same("process", "cancel", "-p", waiting[1])
    assert "second" in pair.same("process", "psc").out
    pair.same("process", "remove", "-p", waiting[1])
    gone = pair.same("process", "get", "-p", waiting[1])
    assert gone.rc != 0 and "Failed to get process, process not found" in gone.err
    refused = pair.same("process", "remove", "-p", running)
    assert refused.rc != 0 and "cannot remove a running process" in refused.err
    # Not-found answers differ in words only where Go says "... is nil" (README).
    go, ours = pair.both("process", "cancel", "-p", "0" * 64)
    assert go.rc == ours.rc != 0
    assert "Failed to cancel process, process is nil" in go.err
    assert "Failed to get process, process not found" in ours.err
    pair.same("process", "removeall", stdin="YES\n")  # the colony key; WAITING only
    assert "No waiting processes found" in pair.same("process", "psw").err
    pair.same("process", "ps")
    pair.same("colony", "stats")


def test_executor_commands(pair: Pair) -> None:
    keys = Keys()
    name, executortype = "cli-executor", unique("clitype")
    add = ["executor", "add", "--executorid", keys.id, "--name", name, "--type", executortype]
    assert "Executor added" in pair.same(*add).err
    pair.same_rows("executor", "ls")
    pair.same("executor", "get", "--name", name)
    go_json, our_json = pair.both("executor", "get", "--name", name, "--json")
    pair.twin.compare(cli_json(go_json), cli_json(our_json))
    for verb, state in (("approve", "Approved"), ("reject", "Rejected"), ("approve", "Approved")):
        assert pair.same("executor", verb, "--name", name).rc == 0
        assert state in pair.same("executor", "get", "--name", name).out
    pair.same_rows("executor", "ls", "--type", executortype)
    pair.same("executor", "remove", "--name", name)
    assert "Unregistered" in pair.same("executor", "get", "--name", name).out
    assert name not in pair.same_rows("executor", "ls").out
    assert name in pair.same_rows("executor", "ls", "--all").out
    # A removed name can be taken again, approved at once.
    again = Keys()
    readd = ["executor", "add", "--executorid", again.id, "--name", name, "--type", executortype]
    assert pair.same(*readd, "--approve").rc == 0
    assert "Approved" in pair.same("executor", "get", "--name", name).out
    # Unknown names: Go answers 500 "... is nil" (README); the exit code is the same.
    for verb in ("get", "approve", "reject", "remove"):
        go, ours = pair.both("executor", verb, "--name", "nobody")
        assert go.rc == ours.rc != 0, verb
        assert "executor is nil" in go.err
        assert "Failed to get executor, executor with name nobody not found" in ours.err
    # Signed by a user instead of the colony owner.
    user_key = {"COLONIES_COLONY_PRVKEY": pair.twin.user.prvkey}
    pair.go.cli.overrides.update(user_key)
    pair.ours.cli.overrides.update(user_key)
    denied = pair.same("executor", "add", "--executorid", Keys().id, "--name", "x", "--type", "t")
    assert denied.rc != 0 and "Access denied, not colony owner" in denied.err


def test_colony_commands(pair: Pair) -> None:
    name, owner = unique("clicolony"), Keys()
    assert pair.same("colony", "add", "--name", name, "--colonyid", owner.id).rc == 0
    duplicate = pair.same("colony", "add", "--name", name, "--colonyid", owner.id)
    assert duplicate.rc != 0 and f"A Colony with name <{name}> already exists" in duplicate.err
    pair.same("colony", "check", "--name", name)
    missing = pair.same("colony", "check", "--name", "nope-no-such-colony")
    assert (
        missing.rc != 0 and "Colony with name <nope-no-such-colony> does not exists" in missing.err
    )
    pair.same("colony", "stats")
    # colony ls: the Go server is shared, so compare the row of this colony only.
    go, ours = pair.both("colony", "ls")
    assert go.rc == ours.rc == 0
    row = [line for line in go.raw_out.splitlines() if f" {name} " in line]
    assert row and row == [line for line in ours.raw_out.splitlines() if f" {name} " in line]
    go, ours = pair.both("colony", "ls", "--json")
    go_colony = [c for c in cli_json(go) if c["name"] == name]
    assert go_colony == [c for c in cli_json(ours) if c["name"] == name] != []
    # An ID of the wrong length: refused by both, in different words (README).
    go, ours = pair.both("colony", "add", "--name", unique("bad"), "--colonyid", "abc")
    assert go.rc == ours.rc != 0
    assert "invalid colony Id length" in go.err and "must be 64 lowercase hex" in ours.err
    pair.same("colony", "remove", "--name", name, stdin="YES\n")
    assert pair.same("colony", "check", "--name", name).rc != 0


def test_user_commands(pair: Pair) -> None:
    bob = Keys()
    add = ["user", "add", "--name", "bob", "--userid", bob.id, "--email", "b@x", "--phone", "1"]
    assert pair.same(*add).rc == 0
    duplicate = pair.same(*add)
    assert duplicate.rc != 0 and "A user with name <bob> already exists" in duplicate.err
    assert [line for line in pair.same_rows("user", "ls").out.splitlines() if "│" in line]
    assert "b@x" in pair.same("user", "get", "--name", "bob").out
    pair.same("user", "remove", "--name", "bob")  # no YES: nothing removed
    pair.same("user", "get", "--name", "bob")
    pair.same("user", "remove", "--name", "bob", stdin="YES\n")
    go, ours = pair.both("user", "get", "--name", "bob")
    assert go.rc == ours.rc != 0
    assert "Failed to get user, user is nil" in go.err
    assert "Failed to get user, user with name bob not found" in ours.err
    pair.same_rows("user", "ls")
    pair.same("user", "remove", "--name", "bob", stdin="YES\n")


def test_log_get(pair: Pair) -> None:
    twin = pair.twin
    work = ["function", "exec", "--targettype", twin.executortype, "--func", "chatty"]
    processid = pair.submitted(pair.same(*work))
    assign(twin)
    for message in ("first line\n", "second line\n", "third line\n"):
        twin.same("executor", {"msgtype": "addlogmsg", "processid": processid, "message": message})
    logs = pair.same("log", "get", "-p", processid)
    assert logs.rc == 0 and "first line" in logs.out and "third line" in logs.out
    pair.same("log", "get", "-p", processid, "--count", "2")
    pair.same("log", "get", "-p", processid, "--count", "2", "--first")
    # By executor name Go returns "worker"'s logs from every colony (README); ours this one's.
    go, ours = pair.both("log", "get", "-e", "worker")
    assert go.rc == ours.rc == 0
    assert ours.out == logs.out and go.out.endswith(logs.out)
    go, ours = pair.both("log", "get", "-p", "0" * 64)
    assert go.rc == ours.rc != 0
    assert go.err == ours.err  # same words; Go answers 500, ours 404


def test_server_commands(pair: Pair) -> None:
    assert pair.ours.cli.server.live is not None
    pair.ours.cli.server.live.ctx.config.host = "127.0.0.1"  # what goserver advertises
    status = pair.same("server", "status")
    assert status.rc == 0 and "<port>" in status.out
    # Statistics: the Go server is shared by the session, so only the shape is compared.
    go, ours = pair.both("server", "stats")
    assert go.rc == ours.rc == 0
    assert re.sub(r"\d+", "N", go.out) == re.sub(r"\d+", "N", ours.out)
    user = {"COLONIES_SERVER_PRVKEY": pair.twin.user.prvkey}
    pair.go.cli.overrides.update(user)
    pair.ours.cli.overrides.update(user)
    denied = pair.same("server", "stats")
    assert denied.rc != 0 and "Access denied, not server owner" in denied.err
