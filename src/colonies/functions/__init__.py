"""Functions an executor offers, collected with a decorator.

A module of functions declares a ``FunctionSet`` and decorates plain Python functions with it::

    from colonies.functions import FunctionSet

    functions = FunctionSet()

    @functions
    def shout(text: str) -> str:
        return text.upper()

Arguments come from the process's ``spec.args`` (positional) and ``spec.kwargs``. A function that
declares a parameter named ``ctx`` also gets an ``ExecutionContext`` (the process, the executor,
``add_child`` for steps of a workflow, ``channel_append``/``channel_read`` to stream to the
submitter on the process's channels). The return value becomes the
process output: ``None`` -> ``[]``, a list or tuple as is, anything else as a one-element list.
An exception fails the process with its message. Stdlib only (runs in Pyodide).
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

from colonies.model import ChannelEntry, FunctionSpec, Process

F = TypeVar("F", bound=Callable[..., Any])


class FunctionError(Exception):
    """A process cannot run: unknown function or arguments that do not fit it."""


AddChild = Callable[..., Awaitable[Process]]
ChannelAppend = Callable[..., Awaitable[None]]  # AsyncClient.channel_append with the key bound
ChannelRead = Callable[..., Awaitable[list[ChannelEntry]]]  # AsyncClient.channel_read, likewise


@dataclass(frozen=True)
class ExecutionContext:
    """What a function may want to know about the run it is part of, and what it may do to it:
    a step of a workflow may add steps below itself (a dynamic workflow)."""

    process: Process
    executorname: str
    executortype: str
    colonyname: str
    adder: AddChild | None = None
    # --- channels (spec §4.10): stream to (and hear from) the process's submitter
    appender: ChannelAppend | None = None
    reader: ChannelRead | None = None
    sequences: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    async def channel_append(
        self, name: str, payload: bytes | str, *, payloadtype: str = "", inreplyto: int = 0
    ) -> int:
        """Append a message to channel ``name`` of this process (declared in the submitted
        ``spec.channels``); the submitter reads or subscribes to it. Messages are numbered
        1, 2, ... per channel (the returned sequence). ``payloadtype="end"`` marks the end of
        a stream (``channel_end``), ``"error"`` an error. Call from an ``async def`` function."""
        if self.appender is None:
            raise FunctionError("channel_append: this executor cannot use channels")
        sequence = self.sequences.get(name, 0) + 1
        await self.appender(
            self.process.processid,
            name,
            sequence,
            payload,
            inreplyto=inreplyto,
            payloadtype=payloadtype,
        )
        self.sequences[name] = sequence
        return sequence

    async def channel_end(self, name: str, payload: bytes | str = b"") -> int:
        """Append the end-of-stream marker (type "end") to channel ``name``."""
        return await self.channel_append(name, payload, payloadtype="end")

    async def channel_read(
        self, name: str, afterseq: int = 0, limit: int = 0
    ) -> list[ChannelEntry]:
        """The entries of channel ``name`` from index ``afterseq`` on (``limit`` 0: all), the
        submitter's messages included."""
        if self.reader is None:
            raise FunctionError("channel_read: this executor cannot use channels")
        return await self.reader(self.process.processid, name, afterseq, limit)

    async def add_child(
        self, spec: FunctionSpec, *, nodename: str = "", insert: bool = False
    ) -> Process:
        """Add a step below this (running) process of a workflow; it runs once this one has
        succeeded, with this one's output as its ``in``. ``insert=True`` puts it between this
        process and its children (they then wait for the new step). Call from an ``async def``
        function (a plain function may use ``asyncio.run_coroutine_threadsafe`` on a host)."""
        if not self.process.processgraphid:
            raise FunctionError("add_child: this process is not part of a workflow")
        if self.adder is None:
            raise FunctionError("add_child: this executor cannot add workflow steps")
        return await self.adder(
            self.process.processgraphid,
            self.process.processid,
            "",
            spec,
            nodename or spec.nodename,
            insert,
        )


class FunctionSet:
    """A named collection of functions; also the decorator that fills it."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., Any]] = {}

    def __call__(self, fn: F, /) -> F:
        """Register ``fn`` under its own name (use as ``@functions``)."""
        self._functions[fn.__name__] = fn
        return fn

    def named(self, name: str) -> Callable[[F], F]:
        """Register under another name (use as ``@functions.named("my-func")``)."""

        def register(fn: F) -> F:
            self._functions[name] = fn
            return fn

        return register

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._functions))

    def __len__(self) -> int:
        return len(self._functions)

    def get(self, name: str) -> Callable[..., Any]:
        try:
            return self._functions[name]
        except KeyError:
            offered = ", ".join(self) or "none"
            raise FunctionError(
                f"Unknown function {name!r} (this executor offers: {offered})"
            ) from None

    def update(self, other: FunctionSet) -> None:
        self._functions.update(other._functions)

    def bind(self, name: str, process: Process, ctx: ExecutionContext) -> Callable[[], Any]:
        """The call to make for ``process``, with its arguments checked against the signature."""
        fn = self.get(name)
        args, kwargs = list(process.spec.args), dict(process.spec.kwargs)
        signature = inspect.signature(fn)
        if "ctx" in signature.parameters:
            kwargs["ctx"] = ctx
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise FunctionError(f"Bad arguments for {name}: {e}") from None
        return lambda: fn(*bound.args, **bound.kwargs)


def output_of(result: Any) -> list[Any]:
    """A function's return value as a process output list."""
    if result is None:
        return []
    if isinstance(result, list | tuple):
        return list(result)
    return [result]


def check_output(funcname: str, output: list[Any]) -> None:
    """Raise ``FunctionError`` unless the standard library's ``json`` can write ``output``
    (no NaN: Go's decoder refuses it). Checked with ``json`` everywhere, so that a function
    fails the same way on a host (where orjson would also write a datetime) and in Pyodide,
    instead of its report failing in the client."""

    def refuse(value: object) -> None:
        raise TypeError(type(value).__name__)

    try:
        json.dumps(output, allow_nan=False, default=refuse)
    except (TypeError, ValueError) as e:
        kind = "float" if isinstance(e, ValueError) and "float" in str(e) else str(e)
        raise FunctionError(
            f"{funcname} returned what JSON cannot carry ({kind}): return None, booleans, "
            "numbers, strings, lists or dicts of them"
        ) from None


def load(modules: Iterable[str | ModuleType]) -> FunctionSet:
    """Every ``FunctionSet`` defined in the given modules (names or module objects), merged."""
    merged = FunctionSet()
    for module in modules:
        mod = importlib.import_module(module) if isinstance(module, str) else module
        found = [v for v in vars(mod).values() if isinstance(v, FunctionSet)]
        if not found:
            raise FunctionError(f"module {mod.__name__} defines no FunctionSet")
        for functions in found:
            merged.update(functions)
    return merged
