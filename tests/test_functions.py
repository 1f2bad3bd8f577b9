"""The tutorial's functions and the FunctionSet plumbing, without a server."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colonies.functions import (
    ExecutionContext,
    FunctionError,
    FunctionSet,
    check_output,
    load,
    output_of,
)
from colonies.functions.tutorial import functions, rust_f64
from colonies.model import FunctionSpec, Process


def run(name: str, *args: object, executorname: str = "host-1") -> object:
    process = Process(spec=FunctionSpec(funcname=name, args=list(args)))
    ctx = ExecutionContext(process, executorname, "wasm", "dev")
    return functions.bind(name, process, ctx)()


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("echo", ["Hello from browser!"], "Hello from browser!"),
        ("echo", [], ""),
        ("add", ["5", "3"], "8"),
        ("add", ["1.5", "2"], "3.5"),
        ("add", ["0.1", "0.2"], "0.30000000000000004"),
        ("add", [5, 3], "8"),
        ("multiply", ["7", "6"], "42"),
        ("greet", ["World"], "Hello, World! Greetings from the WASM executor."),
        ("greet", [], "Hello, World! Greetings from the WASM executor."),
    ],
)
def test_tutorial_outputs(name: str, args: list[object], expected: str) -> None:
    assert run(name, *args) == expected


def test_browser_info_names_the_executor() -> None:
    info = str(run("browser_info", executorname="exec-7"))
    assert info.startswith("User-Agent: Python/") and info.endswith(", Executor: exec-7")
    assert ", Language: " in info


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("add", ["5"], "add needs two numbers"),
        ("add", ["five", "3"], "expected a number"),
        ("multiply", [], "multiply needs two numbers"),
        ("nope", [], "Unknown function 'nope'"),
    ],
)
def test_bad_calls_raise_function_errors(name: str, args: list[object], message: str) -> None:
    with pytest.raises(FunctionError, match=message):
        run(name, *args)


def test_signature_is_checked_before_the_call() -> None:
    fs = FunctionSet()

    @fs
    def one(x: int) -> int:
        return x

    process = Process(spec=FunctionSpec(funcname="one", args=[1, 2]))
    with pytest.raises(FunctionError, match="Bad arguments for one"):
        fs.bind("one", process, ExecutionContext(process, "e", "t", "c"))


def test_named_registration_and_load() -> None:
    fs = FunctionSet()

    @fs.named("shout-it")
    def shout(text: str) -> str:
        return text.upper()

    assert list(fs) == ["shout-it"] and "shout-it" in fs and len(fs) == 1
    loaded = load(["colonies.functions.tutorial"])
    assert list(loaded) == ["add", "browser_info", "echo", "greet", "multiply"]
    with pytest.raises(FunctionError, match="defines no FunctionSet"):
        load(["json"])


def test_output_shapes() -> None:
    assert output_of(None) == [] and output_of((1, 2)) == [1, 2] and output_of("x") == ["x"]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_rust_format_round_trips_and_never_uses_exponents(value: float) -> None:
    text = rust_f64(value)
    assert "e" not in text and float(text) == value
    assert not text.endswith(".0")


def test_check_output_accepts_what_json_carries_and_names_what_it_does_not() -> None:
    check_output("f", [None, True, 2**70, -1.5, "é", [1, {"a": [2]}], {"k": None}])
    loop: list[object] = []
    loop.append(loop)
    for output, kind in (
        ([{1, 2}], "set"),
        ([{"when": datetime.date(2026, 12, 2)}], "date"),
        ([float("inf")], "float"),
        ([b"bytes"], "bytes"),
        ([loop], "Circular reference detected"),
    ):
        with pytest.raises(FunctionError) as refused:
            check_output("f", output)
        assert str(refused.value).startswith(f"f returned what JSON cannot carry ({kind})")
