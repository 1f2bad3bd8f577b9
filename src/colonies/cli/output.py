"""Shared CLI output: results on stdout, human text on stderr, one-line errors.

Every command group prints through these helpers, so tables, JSON, state names and the Go-style
rendering of process outputs look the same everywhere.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any, NoReturn

import typer
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from colonies.model import ExecutorState, ProcessState, Statistics
from colonies.timeutil import NS, parse_ns

# Human text on stderr: wrapped to a terminal's width, never when written to a pipe or a file
# (log lines and banners stay one line each, for grep).
err = Console(stderr=True, highlight=False, soft_wrap=not sys.stderr.isatty())

# Full 64-character IDs in list tables on a terminal too (``colonies --wide`` or
# ``COLONIES_WIDE=true``); otherwise a terminal shows their first SHORT_ID characters.
WIDE_ENV = "COLONIES_WIDE"
SHORT_ID = 12
_ID = re.compile(r"[0-9a-f]{64}")

# Width for tables written to a pipe or a file: wide enough that 64-char IDs are never cut.
_PIPE_WIDTH = 10_000

_PROCESS_STYLES = {
    ProcessState.WAITING: "yellow",
    ProcessState.RUNNING: "cyan",
    ProcessState.SUCCESS: "green",
    ProcessState.FAILED: "red",
    ProcessState.CANCELLED: "dim",
}
_EXECUTOR_STYLES = {
    ExecutorState.PENDING: "yellow",
    ExecutorState.APPROVED: "green",
    ExecutorState.REJECTED: "red",
    ExecutorState.UNREGISTERED: "dim",
}


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear error line on stderr and exit non-zero."""
    err.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def done(message: str) -> None:
    """A confirmation for the user (stderr, like the Go CLI's log lines), not a result."""
    err.print(message, soft_wrap=True, markup=False)


def print_json(data: Any) -> None:
    """Clean JSON on stdout and nothing else, for scripts and ``jq``."""
    typer.echo(json.dumps(data, indent=2))


class ListTable(Table):
    """A list's table. On a terminal, IDs are cut to their first characters so that rows stay
    one line; into a pipe or a file (and with ``--wide``) they are whole, for scripts. Without
    rows, ``print_table`` says ``empty`` (on stderr) instead of printing a bare header."""

    empty = "Nothing to list."

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        if short_ids():
            renderables = tuple(_short(cell) for cell in renderables)
        super().add_row(*renderables, **kwargs)


def short_ids() -> bool:
    wide = os.environ.get(WIDE_ENV, "").strip().lower() in ("1", "true", "yes")
    return sys.stdout.isatty() and not wide


def _short(cell: RenderableType | None) -> RenderableType | None:
    if isinstance(cell, str) and _ID.fullmatch(cell):
        return cell[:SHORT_ID] + "…"
    if isinstance(cell, Text) and _ID.fullmatch(cell.plain):
        return Text(cell.plain[:SHORT_ID] + "…", style=cell.style)
    return cell


def table(*columns: str, empty: str = "") -> Table:
    """A result table; cells fold rather than truncate (see ``ListTable`` for IDs and
    ``empty``, the sentence shown when it has no rows)."""
    result = ListTable(header_style="bold")
    if empty:
        result.empty = empty
    for column in columns:
        result.add_column(column, overflow="fold")
    return result


def fields(rows: Iterable[tuple[str, RenderableType]]) -> Table:
    """A two-column name/value table, for the ``get`` commands."""
    result = Table(show_header=False)
    result.add_column(style="bold")
    result.add_column(overflow="fold")
    for name, value in rows:
        result.add_row(name, value)
    return result


def print_table(renderable: Table) -> None:
    """Print a table on stdout; into a pipe or file (or with ``--wide``) it is as wide as it
    needs to be, so that each ID stays in one piece."""
    if isinstance(renderable, ListTable) and not renderable.row_count:
        done(renderable.empty)
        return
    width = None if short_ids() else _PIPE_WIDTH
    Console(highlight=False, markup=False, width=width).print(renderable)


def print_statistics(statistics: Statistics, as_json: bool) -> None:
    """Server-wide or per-colony counts (``server stats``, ``colony stats``)."""
    if as_json:
        print_json(statistics.to_dict())
        return
    s = statistics
    counts = [
        ("Colonies", s.colonies),
        ("Executors", s.executors),
        ("Active executors", s.activeexecutors),
        ("Unregistered executors", s.unregisteredexecutors),
        ("Waiting processes", s.waitingprocesses),
        ("Running processes", s.runningprocesses),
        ("Successful processes", s.successfulprocesses),
        ("Failed processes", s.failedprocesses),
        ("Cancelled processes", s.cancelledprocesses),
        ("Waiting workflows", s.waitingworkflows),
        ("Running workflows", s.runningworkflows),
        ("Successful workflows", s.successfulworkflows),
        ("Failed workflows", s.failedworkflows),
        ("Cancelled workflows", s.cancelledworkflows),
    ]
    print_table(fields((name, str(count)) for name, count in counts))


def _state(enum: type[IntEnum], styles: dict[Any, str], value: int) -> Text:
    try:
        member = enum(value)
    except ValueError:
        return Text(str(value))
    return Text(member.name, style=styles.get(member, ""))


def state_word(state: ProcessState) -> str:
    """The state as an adjective: waiting, running, successful, failed, cancelled."""
    return "successful" if state == ProcessState.SUCCESS else state.name.lower()


def process_state(value: int) -> Text:
    return _state(ProcessState, _PROCESS_STYLES, value)


def executor_state(value: int) -> Text:
    return _state(ExecutorState, _EXECUTOR_STYLES, value)


def format_time(text: str) -> str:
    """An RFC3339 wire time as local ``YYYY-MM-DD HH:MM:SS`` (the Go CLI's layout); "" if unset.

    Go's zero time in any zone (``0001-01-01T01:12:12+01:12`` from a server in Stockholm) is
    unset; a time that cannot be read or shown here is printed as the server wrote it.
    """
    try:
        ns = parse_ns(text)
        return datetime.fromtimestamp(ns / NS).strftime("%Y-%m-%d %H:%M:%S") if ns else ""
    except (ValueError, OverflowError, OSError):
        return text


def format_json(value: Any) -> str:
    """Compact JSON for table cells (args, kwargs)."""
    return json.dumps(value, ensure_ascii=False)


def go_sprint(value: Any) -> str:
    """``fmt.Sprint`` of a value as Go's ``encoding/json`` decodes it into ``interface{}``.

    The Go CLI prints process outputs this way, and scripts parse that text: strings as they
    are, every number as a float64 (``8`` and ``8.0`` print ``8``), ``true``/``false``,
    ``<nil>``, ``[a b]`` for lists and ``map[k:v]`` (keys sorted) for objects.
    """
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{k}:{go_sprint(value[k])}" for k in sorted(value))
        return "map[" + " ".join(items) + "]"
    return str(value)


def format_outputs(values: Iterable[Any]) -> str:
    """Outputs joined by single spaces, each as ``go_sprint`` renders it (``--out``)."""
    return " ".join(go_sprint(v) for v in values)


def _go_float(x: float) -> str:
    """Go's ``%v`` for a float64: the shortest digits, exponent form outside [1e-4, 1e6)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0"
    # repr() gives the shortest digits that round-trip, as Go's strconv does.
    _, digit_tuple, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent  # position of the decimal point within digits
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"
