"""ColonyFS operations (upload, download, delete, sync, clean, snapshots) written once as flows.

A flow is a generator that yields steps: a ``Call`` (an RPC to the ColonyOS server) or a
``Blocking`` function (object-store and local-disk work). ``run`` performs the steps with a
blocking client, ``run_async`` with an ``AsyncClient`` (blocking steps in a worker thread), so
``Client`` and ``AsyncClient`` share every line of this logic. A step that fails is thrown back
into the flow, which may clean up (an upload whose metadata is refused removes its object).

Sync follows the Go CLI (``pkg/fs``): every directory under the synced one is a label under the
given label (``/photos`` and ``/photos/2024``); a file missing on one side is copied to it, and
a file whose SHA-256 differs is a conflict, resolved by keeping the local copy (a new remote
revision) or the remote one. Each synced directory gets the Go CLI's ``.cfs`` file, naming its
label.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from colonies import crypto
from colonies.client import _requests as r
from colonies.errors import ColoniesError
from colonies.fs.storage import ObjectStore, ProgressFn, StorageError
from colonies.model import File, Label, Snapshot

T = TypeVar("T")

CFS_FILE = ".cfs"  # the Go CLI's marker: {"label": ...} in every synced directory
CHECKSUM_ALG = "SHA256"
WORKERS = 8  # concurrent object transfers in one sync plan


class FsError(ColoniesError):
    """A ColonyFS request that cannot be done as asked (an unsafe name, a missing label...)."""


@dataclass(frozen=True)
class Blocking(Generic[T]):
    """A step that blocks (object store, disk): run in a thread by the async driver."""

    fn: Callable[[], T]


Step = r.Call[Any] | Blocking[Any]
FsFlow = Generator[Step, Any, T]


class Progress(Protocol):
    """Where transfers report: ``task`` starts a bar of ``total`` bytes and returns the
    function that advances it (called from worker threads)."""

    def task(self, description: str, total: int) -> ProgressFn: ...


def run(send: Callable[[r.Call[Any]], Any], flow: FsFlow[T]) -> T:
    """Perform ``flow`` with a blocking ``send`` (a client's RPC)."""
    reply: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = flow.throw(failure) if failure is not None else flow.send(reply)
        except StopIteration as done:
            result: T = done.value
            return result
        reply, failure = None, None
        try:
            reply = send(step) if isinstance(step, r.Call) else step.fn()
        except Exception as e:
            failure = e


async def run_async(send: Callable[[r.Call[Any]], Awaitable[Any]], flow: FsFlow[T]) -> T:
    """Perform ``flow`` with an awaitable ``send``; blocking steps run in a worker thread."""
    reply: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = flow.throw(failure) if failure is not None else flow.send(reply)
        except StopIteration as done:
            result: T = done.value
            return result
        reply, failure = None, None
        try:
            if isinstance(step, r.Call):
                reply = await send(step)
            else:
                reply = await asyncio.to_thread(step.fn)
        except Exception as e:
            failure = e


# --- names, labels and paths -----------------------------------------------------------------


def new_object_name() -> str:
    """A fresh object name: SHA3-256 of a random UUID, like the Go CLI's."""
    return crypto.sha3_hex(str(uuid.uuid4()))


def checksum_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _entries(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def _same(path: Path, checksum: str) -> bool:
    return path.is_file() and checksum_file(path) == checksum


def normalize_label(label: str) -> str:
    """``photos/``, ``/photos`` -> ``/photos`` (the Go CLI's form of a sync label)."""
    return "/" + label.strip("/")


def join_label(label: str, parts: list[str]) -> str:
    return "/".join([label.rstrip("/"), *parts]) if parts else label


def check_name(name: str) -> str:
    """A file name from the server becomes a path only if it is one plain name."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise FsError(f"refusing unsafe file name {name!r}")
    return name


def label_parts(root: str, label: str) -> list[str]:
    """The directories leading from the label ``root`` to ``label`` below it (checked)."""
    root = root.rstrip("/")
    if label.rstrip("/") == root:
        return []
    if not label.startswith(root + "/"):
        raise FsError(f"label {label} is not below {root or '/'}")
    return [check_name(part) for part in label[len(root) + 1 :].rstrip("/").split("/")]


def read_cfs(directory: Path) -> str:
    """The label in the directory's ``.cfs`` file ("" if it has none)."""
    path = directory / CFS_FILE
    if not path.is_file():
        return ""
    try:
        label = json.loads(path.read_text()).get("label", "")
    except (ValueError, AttributeError) as e:
        raise FsError(f"{path} is not a .cfs file: {e}") from None
    return str(label)


# --- single files ----------------------------------------------------------------------------


def _track(progress: Progress | None, description: str, total: int) -> ProgressFn | None:
    return progress.task(description, total) if progress is not None else None


def upload(
    colonyname: str,
    label: str,
    name: str,
    source: Path | bytes,
    store: ObjectStore,
    progress: Progress | None = None,
) -> FsFlow[File]:
    """Store ``source`` (a file or bytes) and add it as the newest revision of ``name``."""
    check_name(name)

    def measure() -> tuple[int, str]:
        if isinstance(source, bytes):
            return len(source), hashlib.sha256(source).hexdigest()
        if not source.is_file():
            raise FsError(f"{source} is not a file")
        return source.stat().st_size, checksum_file(source)

    size, checksum = yield Blocking(measure)
    objname = new_object_name()
    advance = _track(progress, f"Uploading {name}", size)
    yield Blocking(lambda: store.put(objname, source, advance))
    file = File(
        colonyname=colonyname,
        label=label,
        name=name,
        size=size,
        checksum=checksum,
        checksumalg=CHECKSUM_ALG,
        ref=store.reference(objname),
    )
    try:
        added: File = yield r.add_file(file)
    except Exception:
        yield Blocking(lambda: store.delete(objname))
        raise
    return added


def find(
    colonyname: str, *, fileid: str = "", label: str = "", name: str = "", latest: bool = True
) -> FsFlow[File]:
    """The file with ``fileid``, or the newest revision of ``label`` + ``name``."""
    if fileid and name:
        raise FsError("give a file ID or a label and a name, not both")
    if not fileid and not (label and name):
        raise FsError("give a file ID, or a label and a name")
    files: list[File] = yield r.get_file(
        colonyname, fileid=fileid, label=label, name=name, latest=latest
    )
    if not files:
        raise FsError("file not found")
    return files[0]


def _fetch(store: ObjectStore, file: File, dest: Path, advance: ProgressFn | None) -> None:
    """Object -> ``dest``. An empty file may have no object (the Go CLI stores none)."""
    try:
        store.get(file.ref.s3object.object, dest, advance)
    except StorageError:
        if file.size != 0:
            raise
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"")


def download(
    file: File, directory: Path, store: ObjectStore, progress: Progress | None = None
) -> FsFlow[Path]:
    dest = Path(directory) / check_name(file.name)
    advance = _track(progress, f"Downloading {file.name}", file.size)
    yield Blocking(lambda: _fetch(store, file, dest, advance))
    return dest


def read(file: File, store: ObjectStore) -> FsFlow[bytes]:
    def get() -> bytes:
        try:
            return store.read(file.ref.s3object.object)
        except StorageError:
            if file.size == 0:
                return b""
            raise

    data: bytes = yield Blocking(get)
    return data


def delete(
    colonyname: str, store: ObjectStore, *, fileid: str = "", label: str = "", name: str = ""
) -> FsFlow[int]:
    """Remove a file revision (``fileid``) or every revision of ``label`` + ``name``: their
    objects, then their metadata. Returns how many revisions were removed."""
    if fileid and name:
        raise FsError("give a file ID or a label and a name, not both")
    if not fileid and not (label and name):
        raise FsError("give a file ID, or a label and a name")
    files: list[File] = yield r.get_file(colonyname, fileid=fileid, label=label, name=name)
    for file in files:
        yield Blocking(partial(store.delete, file.ref.s3object.object))
        yield r.remove_file(colonyname, fileid=file.fileid)
    return len(files)


def remove_label(
    colonyname: str, label: str, store: ObjectStore, progress: Progress | None = None
) -> FsFlow[int]:
    """Remove every revision of every file whose label starts with ``label`` (the Go CLI's
    ``fs label remove``), objects included. Returns how many revisions were removed."""
    labels: list[Label] = yield r.get_file_labels(colonyname, label, False)
    advance = _track(progress, "Removing files", sum(lab.files for lab in labels))
    removed = 0
    for lab in labels:
        for data in (yield r.get_files(colonyname, lab.name)):
            files: list[File] = yield r.get_file(colonyname, label=lab.name, name=data.name)
            for file in files:
                yield Blocking(partial(store.delete, file.ref.s3object.object))
                if advance is not None:
                    advance(1)
            yield r.remove_file(colonyname, label=lab.name, name=data.name)
            removed += len(files)
    return removed


# --- sync ------------------------------------------------------------------------------------


@dataclass
class FileInfo:
    name: str
    checksum: str
    size: int
    object: str = ""  # the remote revision's object (downloads)


@dataclass
class SyncPlan:
    """What syncing one directory with one label does."""

    dir: Path
    label: str
    keeplocal: bool
    local_missing: list[FileInfo] = field(default_factory=list)  # to download
    remote_missing: list[FileInfo] = field(default_factory=list)  # to upload
    conflicts: list[FileInfo] = field(default_factory=list)  # the side that wins

    @property
    def empty(self) -> bool:
        return not (self.local_missing or self.remote_missing or self.conflicts)

    @property
    def uploads(self) -> list[FileInfo]:
        return self.remote_missing + (self.conflicts if self.keeplocal else [])

    @property
    def downloads(self) -> list[FileInfo]:
        return self.local_missing + ([] if self.keeplocal else self.conflicts)


def _local_files(directory: Path) -> dict[str, FileInfo]:
    files: dict[str, FileInfo] = {}
    if not directory.is_dir():
        return files
    for entry in sorted(directory.iterdir()):
        if entry.name != CFS_FILE and entry.is_file():
            files[entry.name] = FileInfo(entry.name, checksum_file(entry), entry.stat().st_size)
    return files


def _local_dirs(root: Path) -> list[list[str]]:
    """Every directory under ``root`` (``root`` itself first) as path parts."""
    found: list[list[str]] = []
    for path, dirs, _ in os.walk(root):
        dirs.sort()
        found.append(list(Path(path).relative_to(root).parts))
    return found


def _plan(
    directory: Path, label: str, local: dict[str, FileInfo], remote: list[Any], keeplocal: bool
) -> SyncPlan:
    plan = SyncPlan(directory, label, keeplocal)
    remote_files = {d.name: FileInfo(d.name, d.checksum, d.size, d.s3filename) for d in remote}
    for name, info in local.items():
        theirs = remote_files.get(name)
        if theirs is None:
            plan.remote_missing.append(info)
        elif theirs.checksum != info.checksum:
            plan.conflicts.append(info if keeplocal else theirs)
    for name, info in remote_files.items():
        if name not in local:
            check_name(name)
            plan.local_missing.append(info)
    return plan


def sync_plans(
    colonyname: str, directory: Path, label: str, keeplocal: bool = True
) -> FsFlow[list[SyncPlan]]:
    """What ``sync`` would do, one plan per label, sorted by label."""
    root = Path(directory).absolute()
    if root.exists() and not root.is_dir():
        raise FsError(f"{root} is not a directory")
    label = normalize_label(label)
    dirs: list[list[str]] = yield Blocking(lambda: _local_dirs(root) if root.is_dir() else [[]])
    plans: dict[str, SyncPlan] = {}
    for parts in dirs:
        sub = join_label(label, parts)
        local: dict[str, FileInfo] = yield Blocking(partial(_local_files, root.joinpath(*parts)))
        remote = yield r.get_files(colonyname, sub)
        plans[sub] = _plan(root.joinpath(*parts), sub, local, remote, keeplocal)
    labels: list[Label] = yield r.get_file_labels(colonyname, label, True)
    for lab in labels:
        if lab.name not in plans:
            parts = label_parts(label, lab.name)
            remote = yield r.get_files(colonyname, lab.name)
            plans[lab.name] = _plan(root.joinpath(*parts), lab.name, {}, remote, keeplocal)
    return [plans[k] for k in sorted(plans)]


def _parallel(fn: Callable[[FileInfo], T], items: list[FileInfo]) -> list[T]:
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(WORKERS, len(items))) as pool:
        return list(pool.map(fn, items))


def apply_sync_plan(
    colonyname: str, plan: SyncPlan, store: ObjectStore, progress: Progress | None = None
) -> FsFlow[None]:
    """Carry out one plan: write ``.cfs``, upload and download (objects concurrently)."""

    def prepare() -> None:
        plan.dir.mkdir(parents=True, exist_ok=True)
        (plan.dir / CFS_FILE).write_text(json.dumps({"label": plan.label}))

    yield Blocking(prepare)
    uploads, downloads = plan.uploads, plan.downloads
    if uploads:
        advance = _track(progress, f"Uploading {plan.label}", sum(f.size for f in uploads))

        def put(info: FileInfo) -> str:
            objname = new_object_name()
            store.put(objname, plan.dir / info.name, advance)
            return objname

        objects: list[str] = yield Blocking(lambda: _parallel(put, uploads))
        for info, objname in zip(uploads, objects, strict=True):
            file = File(
                colonyname=colonyname,
                label=plan.label,
                name=info.name,
                size=info.size,
                checksum=info.checksum,
                checksumalg=CHECKSUM_ALG,
                ref=store.reference(objname),
            )
            yield r.add_file(file)
    if downloads:
        advance = _track(progress, f"Downloading {plan.dir}", sum(f.size for f in downloads))

        def get(info: FileInfo) -> None:
            file = File(name=info.name, size=info.size)
            file.ref.s3object.object = info.object
            _fetch(store, file, plan.dir / check_name(info.name), advance)

        yield Blocking(lambda: _parallel(get, downloads))


def sync(
    colonyname: str,
    directory: Path,
    label: str,
    store: ObjectStore,
    *,
    keeplocal: bool = True,
    dry: bool = False,
    progress: Progress | None = None,
) -> FsFlow[list[SyncPlan]]:
    """Sync ``directory`` (and the directories below it) with ``label``; returns the plans
    (carried out unless ``dry``)."""
    plans = yield from sync_plans(colonyname, directory, label, keeplocal)
    if not dry:
        for plan in plans:
            if not plan.empty:
                yield from apply_sync_plan(colonyname, plan, store, progress)
    return plans


# --- clean -----------------------------------------------------------------------------------


@dataclass
class CleanPlan:
    """Local files and directories under ``dir`` that ColonyFS does not have."""

    dir: Path
    label: str
    remove: list[Path] = field(default_factory=list)


def clean_plans(colonyname: str, directory: Path, label: str) -> FsFlow[list[CleanPlan]]:
    root = Path(directory).absolute()
    if not root.is_dir():
        raise FsError(f"{root} is not a directory")
    label = normalize_label(label)
    labels: list[Label] = yield r.get_file_labels(colonyname, label, True)
    if not labels:
        raise FsError(f"label {label} not found in ColonyFS")
    known = {lab.name for lab in labels}

    def has_label(sub: str) -> bool:
        return any(k == sub or k.startswith(sub + "/") for k in known)

    plans: list[CleanPlan] = []
    pending: list[list[str]] = [[]]
    while pending:
        parts = pending.pop(0)
        here, sub = root.joinpath(*parts), join_label(label, parts)
        remote = {d.name for d in (yield r.get_files(colonyname, sub))}
        entries: list[Path] = yield Blocking(partial(_entries, here))
        plan = CleanPlan(here, sub)
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if has_label(join_label(sub, [entry.name])):
                    pending.append([*parts, entry.name])
                else:
                    plan.remove.append(entry)
            elif entry.name != CFS_FILE and entry.name not in remote:
                plan.remove.append(entry)
        plans.append(plan)
    return plans


def apply_clean_plan(plan: CleanPlan) -> None:
    for path in plan.remove:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


# --- snapshots -------------------------------------------------------------------------------


def download_snapshot(
    colonyname: str,
    directory: Path,
    store: ObjectStore,
    *,
    snapshotid: str = "",
    name: str = "",
    progress: Progress | None = None,
) -> FsFlow[list[Path]]:
    """Download the snapshot's files under ``directory`` (sub-labels as subdirectories),
    skipping files already there with the same checksum. Returns the files written."""
    if not snapshotid and not name:
        raise FsError("give a snapshot ID or name")
    snapshot: Snapshot = yield r.get_snapshot(colonyname, snapshotid=snapshotid, name=name)
    root = Path(directory).absolute()
    written: list[Path] = []
    for fileid in snapshot.fileids:
        files: list[File] = yield r.get_file(colonyname, fileid=fileid)
        file = files[0]
        dest = root.joinpath(*label_parts(snapshot.label, file.label)) / check_name(file.name)
        same: bool = yield Blocking(partial(_same, dest, file.checksum))
        if not same:
            yield from download(file, dest.parent, store, progress)
            written.append(dest)
    return written
