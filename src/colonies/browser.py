"""The browser executor's Python side, run inside Pyodide by ``web/static/worker.mjs``.

The worker imports this module from the ``colonies.zip`` archive the server (or
``colonies wasm build``) ships, and calls ``start``/``stop`` when the page asks. Events go back
to the page through ``post`` (the worker's ``postMessage``) as plain dicts. The executor itself is
the same ``colonies.executor.Executor`` that runs on hosts; only the transport differs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from colonies import crypto
from colonies.executor import Executor, ExecutorEvent, RegistrationError
from colonies.functions import FunctionSet, load

Post = Callable[[dict[str, Any]], None]

# Slots polling at once: a browser's fetch costs ~5 ms of round trip even on loopback, so a
# few requests in flight keep the tab busy instead of waiting.
CONCURRENCY = 4

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


def python_version() -> str:
    return sys.version.split()[0]


async def start(settings: dict[str, Any], post: Post) -> None:
    """Register and serve until ``stop()``; reports through ``post`` (see the page protocol)."""
    global _running
    from colonies.client import AsyncClient
    from colonies.client._transports.fetch import FetchTransport

    functions: FunctionSet = load(function_modules())
    prvkey = str(settings.get("executorPrvKey") or "") or crypto.generate_private_key()
    executor = Executor(
        AsyncClient(str(settings["serverUrl"]).rstrip("/"), transport=FetchTransport()),
        functions,
        colonyname=str(settings["colonyName"]),
        executorname=str(settings["executorName"]),
        executortype=str(settings["executorType"]),
        prvkey=prvkey,
        colony_prvkey=str(settings.get("colonyPrvKey") or "") or None,
        join_token=str(settings.get("joinToken") or "") or None,
        concurrency=int(settings.get("concurrency") or CONCURRENCY),
        on_event=lambda event: _report(event, executor, post),
    )
    _running = executor
    try:
        await executor.run()
    except RegistrationError as e:
        post({"type": "error", "message": str(e)})
    except Exception as e:  # anything else is still shown in the page, never swallowed
        post({"type": "error", "message": f"{type(e).__name__}: {e}"})
    finally:
        _running = None
        post({"type": "stopped", "completed": executor.completed, "failed": executor.failed})


def stop() -> None:
    if _running is not None:
        _running.stop()


def _report(event: ExecutorEvent, executor: Executor, post: Post) -> None:
    if event.kind == "registered":
        post(
            {
                "type": "registered",
                "executorId": executor.executorid,
                "executorPrvKey": executor.prvkey,
                "executorName": executor.executorname,
            }
        )
    post(
        {
            "type": "event",
            # the page logs the registration itself (with the ID) from the message above
            "kind": "status" if event.kind == "registered" else event.kind,
            "message": "registered" if event.kind == "registered" else event.message,
            "processid": event.processid,
            "funcname": event.funcname,
            "seconds": event.seconds,
        }
    )
