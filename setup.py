"""The build step that puts the browser pages' npm runtime into the wheel (issue 12 §1).

Everything else is in pyproject.toml. The files come from the one list in
``src/colonies/web/runtime.toml``, taken from ``web/node_modules`` as pinned by
``web/package-lock.json``: ``npm ci --prefix web`` runs here, at build time, when they are
missing or not the locked version, never when colonies runs. The sdist carries the same files
(under ``web/node_modules``), so a wheel builds from it with no npm and no network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
LIST = ROOT / "src" / "colonies" / "web" / "runtime.toml"
TARGET = Path("colonies") / "web" / "runtime"  # inside the wheel (build_lib)
MANIFEST = "manifest.json"


def runtime_files() -> dict[str, list[str]]:
    """npm package name -> the files of it that the pages load."""
    with LIST.open("rb") as f:
        packages = tomllib.load(f)["packages"]
    return {name: list(entry["files"]) for name, entry in packages.items()}


def locked_version(name: str) -> str:
    lock = json.loads((WEB / "package-lock.json").read_text())
    entry = lock["packages"].get(f"node_modules/{name}")
    if entry is None:
        raise SystemExit(
            f"error: {LIST.name} lists npm package {name!r}, which web/package-lock.json "
            "does not lock: add it to web/package.json and run npm install --prefix web"
        )
    return str(entry["version"])


def problems() -> list[str]:
    """What is missing or stale in web/node_modules for the listed files."""
    found = []
    for name, files in runtime_files().items():
        folder = WEB / "node_modules" / name
        meta = folder / "package.json"
        want = locked_version(name)
        have = json.loads(meta.read_text()).get("version") if meta.is_file() else None
        if have != want:
            found.append(f"{name} {have or 'absent'} (locked: {want})")
        found += [f"{name}/{f} missing" for f in files if not (folder / f).is_file()]
    return found


def ensure_node_modules() -> None:
    """The listed files at the locked versions in web/node_modules, by ``npm ci`` if needed."""
    if not problems():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "error: building colonies needs the browser runtime files ("
            + "; ".join(problems())
            + "): install npm, or build from the sdist, which carries them"
        )
    subprocess.run(
        [npm, "ci", "--prefix", str(WEB), "--no-audit", "--no-fund", "--loglevel=error"],
        check=True,
    )
    if left := problems():
        raise SystemExit(f"error: after npm ci: {'; '.join(left)} (fix {LIST.name})")


class BuildPy(build_py):
    """The usual build_py, then the runtime files into ``colonies/web/runtime/<package>/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable checkout serves web/node_modules itself
            return
        ensure_node_modules()
        dest = Path(self.build_lib) / TARGET
        shutil.rmtree(dest, ignore_errors=True)
        manifest = {}
        for name, files in runtime_files().items():
            for file in files:
                target = dest / name / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(WEB / "node_modules" / name / file, target)
            manifest[name] = {"version": locked_version(name), "files": files}
        (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


class Sdist(sdist):
    """The usual sdist plus the npm lock files and the listed runtime files."""

    def make_distribution(self) -> None:
        ensure_node_modules()
        self.filelist.extend(["web/package.json", "web/package-lock.json"])
        for name, files in runtime_files().items():
            self.filelist.append(f"web/node_modules/{name}/package.json")
            self.filelist.extend(f"web/node_modules/{name}/{file}" for file in files)
        super().make_distribution()


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
