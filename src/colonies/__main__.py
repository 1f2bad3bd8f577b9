"""The ``colonies`` command (and ``python -m colonies``): the CLI, or a one-line hint.

The base install is the portable SDK only; the CLI comes with ``colonies[server]``. Without it,
the command says so in one line instead of a traceback. Stdlib only.
"""

from __future__ import annotations

import sys

# Import names of the packages that colonies[server] brings and the CLI imports.
SERVER_EXTRA = frozenset(
    {
        "aiohttp",
        "anyio",
        "click",
        "coincurve",
        "croniter",
        "httptools",
        "httpx",
        "prometheus_client",
        "psycopg",
        "psycopg_pool",
        "rich",
        "starlette",
        "typer",
        "uvicorn",
        "uvloop",
        "websockets",
    }
)
HINT = "pip install 'colonies[server]'"


def main() -> None:
    try:
        from colonies.cli import main as cli_main
    except ModuleNotFoundError as e:
        missing = (e.name or "").partition(".")[0]
        if missing not in SERVER_EXTRA:
            raise
        print(
            f"colonies: the command line needs the server extra ({missing} is not installed): "
            f"{HINT}",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    cli_main()


if __name__ == "__main__":
    main()
