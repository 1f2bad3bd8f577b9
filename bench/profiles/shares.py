"""Where a py-spy raw profile's samples go, by component (the table in docs/performance.md,
"Profiles, 2026-12-01"). Usage:

    .venv/bin/python -m bench.profiles.shares bench/profiles/e2e-sqlite-k10.txt.gz 1058

The second argument is the server CPU per unit (µs per process or request, measured without
py-spy); each share is printed with that many µs. A sample goes to the component of its
innermost frame that matches one (py-spy sees Python frames only, so time in C — sqlite3,
libpq, socket writes — counts for the Python line that called it).
"""

from __future__ import annotations

import collections
import gzip
import re
import sys
from collections.abc import Callable

Frame = tuple[str, str, int]  # function, file, line
FRAME = re.compile(r"(.*) \((.*?):(\d+)\)$")

COMPONENTS: list[tuple[str, Callable[[str, str], bool]]] = [
    (
        "metrics (prometheus_client, server/metrics.py)",
        lambda fn, f: f.startswith("prometheus_client/") or f == "colonies/server/metrics.py",
    ),
    ("logging", lambda fn, f: f.startswith("logging/") or f == "colonies/server/logs.py"),
    ("JSON decode/encode", lambda fn, f: f.startswith("json/")),
    ("base64", lambda fn, f: f == "base64.py"),
    ("signature recovery", lambda fn, f: f.startswith(("coincurve/", "colonies/crypto/"))),
    ("timeutil (format_ns, parse_ns)", lambda fn, f: f == "colonies/timeutil.py"),
    (
        "model codec",
        lambda fn, f: (
            f
            in (
                "colonies/model.py",
                "dataclasses.py",
                "colonies/server/specs.py",
                "colonies/units.py",
            )
        ),
    ),
    ("SQLite store", lambda fn, f: f == "colonies/store/sqlite.py" or f.startswith("sqlite3/")),
    (
        "psycopg + PostgreSQL store",
        lambda fn, f: (
            f.startswith("psycopg")
            or f in ("colonies/store/postgres.py", "colonies/server/pgsignals.py")
        ),
    ),
    ("uvicorn/httptools", lambda fn, f: f.startswith(("uvicorn/", "httptools"))),
    ("starlette", lambda fn, f: f.startswith("starlette/")),
    ("rpc envelope (rpc.py)", lambda fn, f: f == "colonies/rpc.py"),
    (
        "server glue (app, calls, auth, handlers, lifecycle)",
        lambda fn, f: f.startswith("colonies/server/"),
    ),
    ("asyncio/uvloop", lambda fn, f: f.startswith("asyncio/") or f == "contextlib.py"),
]


def parse(path: str) -> list[tuple[list[Frame], int]]:
    opener = gzip.open if path.endswith(".gz") else open
    samples = []
    with opener(path, "rt") as lines:
        for line in lines:
            stack, count = line.rstrip("\n").rsplit(" ", 1)
            frames: list[Frame] = []
            for text in stack.split(";"):
                m = FRAME.match(text)
                frames.append((m.group(1), m.group(2), int(m.group(3))) if m else (text, "", 0))
            samples.append((frames, int(count)))
    return samples


def component(frames: list[Frame]) -> str:
    for fn, f, _ in reversed(frames):
        for name, matches in COMPONENTS:
            if matches(fn, f):
                return name
    return "other"


def main(path: str, cpu_us: float) -> None:
    samples = parse(path)
    total = sum(n for _, n in samples)
    print(f"{path}: {total} samples, {cpu_us:g} µs of server CPU per unit")
    shares: collections.Counter[str] = collections.Counter()
    record = 0
    for frames, n in samples:
        shares[component(frames)] += n
        if any(fn == "record" and f == "colonies/server/calls.py" for fn, f, _ in frames):
            record += n
    for name, n in shares.most_common():
        print(f"{n / total:6.1%} {n / total * cpu_us:7.0f} µs  {name}")
    print(f"{record / total:6.1%} {record / total * cpu_us:7.0f} µs  calls.record (inclusive)")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
