"""``colonies wasm build DIR``: the browser executor as a static folder (like ``wasm-pack build``).

The folder holds the page, the Pyodide runtime (from the npm package, no CDN) and our SDK with
the chosen function modules as ``colonies.zip``. Any static server can host it, e.g.
``python3 -m http.server 8080 --directory DIR``; the page then talks to the ColonyOS server at
``--server-url`` (colonies servers send the CORS headers this needs).
"""

from __future__ import annotations

from pathlib import Path

import typer

from colonies.cli.output import err, fail
from colonies.web import TUTORIAL, PyodideNotFound, WebBundle, find_pyodide

app = typer.Typer(help="Build the browser (WebAssembly) executor.", no_args_is_help=True)


@app.command()
def build(
    dest: Path = typer.Argument(..., help="Folder to write the static site to."),
    modules: list[str] = typer.Option(
        [TUTORIAL], "--module", "-m", help="Python module of functions to include (repeatable)."
    ),
    server_url: str = typer.Option(
        "http://localhost:50080", "--server-url", help="ColonyOS server the page connects to."
    ),
    colonyname: str = typer.Option("dev", "--colony", envvar="COLONIES_COLONY_NAME"),
    executortype: str = typer.Option("wasm", "--type", help="Executor type of the page."),
    token: str = typer.Option(
        "", "--token", help="Pre-fill a join token (colonies executor token create)."
    ),
    pyodide_dir: Path | None = typer.Option(
        None,
        "--pyodide-dir",
        envvar="COLONIES_PYODIDE_DIR",
        help="node_modules/pyodide to copy (default: the repository's web/node_modules).",
    ),
) -> None:
    """Write the browser executor page, the Pyodide runtime and the SDK to DEST."""
    config = {"serverUrl": server_url, "colonyName": colonyname, "executorType": executortype}
    if token:
        config["joinToken"] = token
    try:
        bundle = WebBundle(find_pyodide(pyodide_dir), modules, config=config)
    except (PyodideNotFound, ImportError) as e:
        fail(str(e))
    bundle.write(dest)
    err.print(
        f"Browser executor written to [bold]{dest}[/] (functions: {', '.join(modules)}).\n"
        f"Serve it with: [bold]python3 -m http.server 8080 --directory {dest}[/] "
        "and open http://localhost:8080/"
    )
    if not token:
        err.print(
            "The page asks for a join token: make one with [bold]colonies executor token create"
            "[/] (or rebuild with --token)."
        )
