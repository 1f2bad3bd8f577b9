"""The browser executor's files: the page, the Pyodide runtime and our SDK as ``colonies.zip``.

Served by the server at ``/executor/`` (``colonies dev``) or written to a folder any static server
can host (``colonies wasm build DIR``). Pyodide comes only from the npm package ``pyodide`` pinned
in ``web/package.json``: no CDN anywhere. The files the pages load are listed once, in
``runtime.toml``; a wheel carries them in ``runtime/`` (copied by setup.py at build time), a
checkout serves them from ``web/node_modules`` (``npm ci --prefix web``).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"
PACKAGE = Path(__file__).resolve().parents[1]  # src/colonies
RUNTIME = Path(__file__).parent / "runtime"  # in an installed wheel: <npm package>/<file>
RUNTIME_LIST = Path(__file__).parent / "runtime.toml"


def runtime_files() -> dict[str, tuple[str, ...]]:
    """npm package name -> the files of it that the pages load (``runtime.toml``)."""
    with RUNTIME_LIST.open("rb") as f:
        packages = tomllib.load(f)["packages"]
    return {name: tuple(entry["files"]) for name, entry in packages.items()}


PYODIDE_FILES = runtime_files()["pyodide"]
# The portable part of the package: what the browser executor imports (stdlib only).
PORTABLE = (
    "__init__.py",
    "model.py",
    "rpc.py",
    "jsoncodec.py",
    "errors.py",
    "timeutil.py",
    "units.py",
    "executor.py",
    "browser.py",
    "jointoken.py",
    "crypto/__init__.py",
    "crypto/_pure.py",
    "functions/__init__.py",
    "fs/__init__.py",  # colonies.client imports ColonyFS (stdlib only; boto3 only when used)
    "fs/ops.py",
    "fs/storage.py",
    "client/__init__.py",
    "client/_base.py",
    "client/_requests.py",
    "client/_sync.py",
    "client/_async.py",
    "client/_transports/__init__.py",
    "client/_transports/base.py",
    "client/_transports/default.py",
    "client/_transports/mock.py",
    "client/_transports/fetch.py",
)
TUTORIAL = "colonies.functions.tutorial"
ARCHIVE = "colonies.zip"


class RuntimeNotFound(FileNotFoundError):
    def __init__(self, package: str, looked: list[Path]) -> None:
        where = ", ".join(str(p) for p in looked)
        hint = ", or set COLONIES_PYODIDE_DIR to a node_modules/pyodide folder"
        super().__init__(
            f"the {package} runtime files are not installed: install colonies from its wheel "
            "(which carries them), or run `npm ci --prefix web` in a colonies checkout"
            f"{hint if package == 'pyodide' else ''} (looked in: {where})"
        )


PyodideNotFound = RuntimeNotFound


def find_npm_package(package: str, explicit: Path | None = None) -> Path:
    """The folder to serve ``package``'s listed files from (every one of them present).

    An explicit folder is the only place looked at; otherwise the copy an installed wheel
    carries, then a checkout's ``web/node_modules``, then the working directory's.
    """
    files = runtime_files()[package]
    candidates = (
        [explicit]
        if explicit
        else [
            RUNTIME / package,  # an installed wheel
            PACKAGE.parents[1] / "web" / "node_modules" / package,  # a source checkout
            Path.cwd() / "web" / "node_modules" / package,
            Path.cwd() / "node_modules" / package,
        ]
    )
    for candidate in candidates:
        if all((candidate / f).is_file() for f in files):
            return candidate.resolve()
    raise RuntimeNotFound(package, candidates)


def find_pyodide(explicit: Path | None = None) -> Path:
    """The folder to serve the Pyodide runtime from; ``COLONIES_PYODIDE_DIR`` is explicit too."""
    env = os.environ.get("COLONIES_PYODIDE_DIR")
    return find_npm_package("pyodide", explicit or (Path(env) if env else None))


def _module_files(module: str) -> list[tuple[str, Path]]:
    """(archive name, file) pairs for a function module or package of the user's."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ImportError(f"cannot find function module {module!r} (is it on PYTHONPATH?)")
    origin = Path(spec.origin)
    base = module.replace(".", "/")
    if origin.name == "__init__.py":
        return [
            (f"{base}/{p.relative_to(origin.parent)}", p)
            for p in sorted(origin.parent.rglob("*.py"))
        ]
    parents = module.split(".")[:-1]  # package __init__ files the import needs
    files = [(f"{base}.py", origin)]
    for depth in range(1, len(parents) + 1):
        init = origin.parents[len(parents) - depth] / "__init__.py"
        if init.is_file():
            files.append(("/".join(parents[:depth]) + "/__init__.py", init))
    return files


def python_archive(function_modules: list[str]) -> bytes:
    """``colonies.zip``: the portable SDK, the function modules and their manifest."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        written: set[str] = set()

        def add(name: str, data: bytes) -> None:
            if name not in written:
                written.add(name)
                archive.writestr(name, data)

        for name in PORTABLE:
            add(f"colonies/{name}", (PACKAGE / name).read_bytes())
        for module in function_modules:
            for name, path in _module_files(module):
                add(name, path.read_bytes())
        add("colonies_functions.py", f"MODULES = {function_modules!r}\n".encode())
    return buffer.getvalue()


@dataclass
class WebBundle:
    """Everything the page needs; ``config`` pre-fills its settings form (``config.json``)."""

    pyodide_dir: Path
    function_modules: list[str] = field(default_factory=lambda: [TUTORIAL])
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.archive = python_archive(self.function_modules)

    def write(self, dest: Path) -> None:
        """A self-contained static site: host it with any static file server."""
        dest.mkdir(parents=True, exist_ok=True)
        for item in STATIC.iterdir():
            if item.is_file():
                shutil.copy2(item, dest / item.name)
        (dest / "pyodide").mkdir(exist_ok=True)
        for name in PYODIDE_FILES:
            shutil.copy2(self.pyodide_dir / name, dest / "pyodide" / name)
        (dest / ARCHIVE).write_bytes(self.archive)
        (dest / "config.json").write_text(json.dumps(self.config, indent=2) + "\n")
