"""Waiting in tests for a condition to hold, instead of sleeping for a guessed time.

Each wait polls a cheap predicate and fails the test when ``timeout`` passes: the timeout is a
bound for "this never happened", not a performance claim.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

from conftest import LiveServer

STEP = 0.01


def until(predicate: Callable[[], bool], timeout: float = 10, what: str = "") -> None:
    """Block until ``predicate()`` is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(STEP)


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10, what: str = ""
) -> None:
    """``until`` for async tests (the predicate may be async): the loop runs while it waits."""
    deadline = time.monotonic() + timeout
    while not await _value(predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(STEP)


async def _value(result: bool | Awaitable[bool]) -> bool:
    return bool(await result) if inspect.isawaitable(result) else bool(result)


def pollers_waiting(live: LiveServer) -> int:
    """How many long-polls the server has waiting for a wake-up.

    Read from the test's thread while the server's thread may be changing the dispatcher: a
    dict that changes size under the count is read again.
    """
    while True:
        try:
            return int(live.ctx.dispatcher.waiting())
        except RuntimeError:  # dictionary changed size during iteration
            continue


def subscriptions(live: LiveServer) -> int:
    """How many ``/pubsub`` subscriptions the server holds (read again, like ``pollers_waiting``,
    when the server's thread changes the registry under the count)."""
    while True:
        try:
            return len(live.ctx.events)
        except RuntimeError:  # dictionary changed size during iteration
            continue
