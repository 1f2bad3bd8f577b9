"""The tutorial's functions (wasm-executor-tutorial.md, spec §9.3), with its exact outputs.

The same module serves the host executor (``colonies executor run``) and the browser executor in
Pyodide. Arguments arrive as strings from the CLI; numbers from SDK callers work too.
"""

from __future__ import annotations

import locale
import math
import platform
import sys
from decimal import Decimal
from typing import Any

from colonies.functions import ExecutionContext, FunctionError, FunctionSet

functions = FunctionSet()


def rust_f64(value: float) -> str:
    """Format like Rust's ``f64::to_string``: shortest digits, never an exponent, no ``.0``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FunctionError(f"{name}: expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise FunctionError(f"{name}: expected a number, got {value!r}") from None


def _two_numbers(funcname: str, args: tuple[Any, ...]) -> tuple[float, float]:
    if len(args) < 2:
        raise FunctionError(f"{funcname} needs two numbers, got {len(args)} argument(s)")
    return _number(funcname, args[0]), _number(funcname, args[1])


@functions
def echo(*args: Any) -> str:
    """The first argument back, or an empty string."""
    return str(args[0]) if args else ""


@functions
def add(*args: Any) -> str:
    """a + b, formatted like the Rust executor (``add 5 3`` -> ``8``)."""
    a, b = _two_numbers("add", args)
    return rust_f64(a + b)


@functions
def multiply(*args: Any) -> str:
    """a * b, formatted like the Rust executor (``multiply 7 6`` -> ``42``)."""
    a, b = _two_numbers("multiply", args)
    return rust_f64(a * b)


@functions
def greet(*args: Any) -> str:
    name = str(args[0]) if args else "World"
    return f"Hello, {name}! Greetings from the WASM executor."


def _user_agent_and_language() -> tuple[str, str]:
    """The browser's ``navigator`` in Pyodide; the Python runtime's equivalent elsewhere."""
    if sys.platform == "emscripten":
        import js  # type: ignore[import-not-found]  # Pyodide's bridge to the JS globals

        return str(js.navigator.userAgent), str(js.navigator.language)
    agent = f"Python/{platform.python_version()} ({platform.system()} {platform.machine()})"
    language = (locale.getlocale()[0] or "en_US").replace("_", "-")
    return agent, language


@functions
def browser_info(*args: Any, ctx: ExecutionContext) -> str:
    agent, language = _user_agent_and_language()
    return f"User-Agent: {agent}, Language: {language}, Executor: {ctx.executorname}"
