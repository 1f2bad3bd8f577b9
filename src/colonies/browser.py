"""The browser executor's Python side, run inside Pyodide by ``web/static/worker.mjs``.

The worker imports this module from the ``colonies.zip`` archive the server (or
``colonies wasm build``) ships, and calls ``start``/``stop`` when the page asks. Events go back
to the page through ``post`` (the worker's ``postMessage``) as plain dicts. The executor itself is
the same ``colonies.executor.Executor`` that runs on hosts; only the transport differs.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from typing import Any

from colonies import crypto
from colonies.executor import Executor, ExecutorEvent, RegistrationError
from colonies.functions import FunctionSet, load

Post = Callable[[dict[str, Any]], None]

# Slots polling at once: each request waits a few milliseconds on the browser and the server,
# so many in flight keep the tab busy (measured here: 4 slots ~160/s, 8 ~230/s, 16 ~270/s).
CONCURRENCY = 16
# Slots when every call is a fetch (servers without /rpc, like Go's). Browsers open at most 6
# HTTP/1.1 connections to one server, and each long-poll holds one for up to its timeout: with
# more slots than that, the close of a finished process queued behind the polls (measured with
# 16 slots against the Go server: 20 s from submit to result, for a function of microseconds).
FETCH_CONCURRENCY = 4

STATUS_INTERVAL = 0.1  # seconds between "polling"/"running" updates to the page
_FREQUENT = ("polling", "running")

_running: Executor | None = None


def function_modules() -> list[str]:
    """The function modules this bundle was built with (``colonies_functions.MODULES``)."""
    try:
        import colonies_functions  # type: ignore[import-not-found]  # generated into the bundle
    except ImportError:
        return ["colonies.functions.tutorial"]
    return list(colonies_functions.MODULES)


def offered() -> list[str]:
    return list(load(function_modules()))


def parameters() -> dict[str, list[str]]:
    """Each offered function's required parameters, for the page's "Try it" command."""
    required: dict[str, list[str]] = {}
    functions = load(function_modules())
    for name in functions:
        signature = inspect.signature(functions.get(name))
        required[name] = [
            p.name
            for p in signature.parameters.values()
            if p.name != "ctx"
            and p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    return required


def python_version() -> str:
    return sys.version.split()[0]


async def start(settings: dict[str, Any], post: Post) -> None:
    """Register and serve until ``stop()``; reports through ``post`` (see the page protocol)."""
    global _running
    from colonies.client import AsyncClient
    from colonies.client._transports.fetch import SocketTransport

    functions: FunctionSet = load(function_modules())
    executor_ref: list[Executor] = []  # the reporter needs the executor it reports for
    reporter = _Reporter(executor_ref, post)
    prvkey = str(settings.get("executorPrvKey") or "") or crypto.generate_private_key()
    url = str(settings["serverUrl"]).rstrip("/")
    transport = SocketTransport()
    concurrency = CONCURRENCY
    if not await transport.probe(url + "/api"):
        concurrency = FETCH_CONCURRENCY
        reporter(ExecutorEvent("log", f"no /rpc socket at {url}: calls go by fetch"))
    executor = Executor(
        AsyncClient(url, transport=transport),
        functions,
        colonyname=str(settings["colonyName"]),
        executorname=str(settings["executorName"]),
        executortype=str(settings["executorType"]),
        prvkey=prvkey,
        colony_prvkey=str(settings.get("colonyPrvKey") or "") or None,
        join_token=str(settings.get("joinToken") or "") or None,
        concurrency=int(settings.get("concurrency") or concurrency),
        on_event=reporter,
    )
    executor_ref.append(executor)
    _running = executor
    try:
        await executor.run()
    except RegistrationError as e:
        post({"type": "error", "message": str(e)})
    except Exception as e:  # anything else is still shown in the page, never swallowed
        post({"type": "error", "message": f"{type(e).__name__}: {e}"})
    finally:
        _running = None
        reporter.flush()  # what is batched goes out before "stopped"
        post({"type": "stopped", "completed": executor.completed, "failed": executor.failed})


def stop() -> None:
    if _running is not None:
        _running.stop()


class _Reporter:
    """Forward executor events to the page, without flooding it.

    Under load the executor says "polling" and "running fn" for every process (hundreds a
    second); the page only needs the latest of those, so they are sent at most every
    ``STATUS_INTERVAL`` seconds, the last one always (on a timer). Completions are batched on
    the same timer; everything else goes at once, after what is pending.
    """

    def __init__(self, executor_ref: list[Executor], post: Post) -> None:
        self._executor = executor_ref
        self._post = post
        self._last_sent = 0.0
        self._pending: dict[str, Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._results: list[dict[str, Any]] = []

    def __call__(self, event: ExecutorEvent) -> None:
        if event.kind == "registered":
            executor = self._executor[0]
            self._post(
                {
                    "type": "registered",
                    "executorId": executor.executorid,
                    "executorPrvKey": executor.prvkey,
                    "executorName": executor.executorname,
                }
            )
        message = {
            "type": "event",
            # the page logs the registration itself (with the ID) from the message above
            "kind": "status" if event.kind == "registered" else event.kind,
            "message": "registered" if event.kind == "registered" else event.message,
            "processid": event.processid,
            "funcname": event.funcname,
            "seconds": event.seconds,
            "processgraphid": event.processgraphid,
        }
        if event.kind == "status" and event.message.startswith(_FREQUENT):
            self._throttle(message)
        elif event.kind in ("completed", "failed"):
            self._batch(message)
        else:
            self.flush()
            self._post(message)

    def _batch(self, message: dict[str, Any]) -> None:
        """Completions go out together, at most every ``STATUS_INTERVAL`` (one message, one
        structured clone and one page update for dozens of processes)."""
        self._results.append(message)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(STATUS_INTERVAL, self.flush)

    def _throttle(self, message: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_sent >= STATUS_INTERVAL:
            self._pending = None
            self._last_sent = loop.time()
            self._post(message)
            return
        self._pending = message
        if self._timer is None:
            self._timer = loop.call_later(STATUS_INTERVAL, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._results:
            self._post({"type": "events", "events": self._results})
            self._results = []
        if self._pending is not None:
            self._last_sent = asyncio.get_running_loop().time()
            self._post(self._pending)
            self._pending = None
