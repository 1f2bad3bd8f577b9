"""``colonies fs``: ColonyFS, files by label, kept in sync with local directories, and snapshots.

The commands and flags are the Go CLI's (``fs sync``, ``ls``, ``get``, ``info``, ``remove``,
``clean``, ``label ls|remove``, ``snapshot create|ls|info|download|remove|removeall``). Member
key (``COLONIES_PRVKEY``); the colony is ``COLONIES_COLONY_NAME``. File bytes go to the store
the environment names: ``COLONIES_FS_DIR`` (a local directory, what ``colonies dev`` sets), else
S3 from ``AWS_S3_ENDPOINT``, ``AWS_S3_ACCESSKEY``, ``AWS_S3_SECRETKEY``, ``AWS_S3_REGION``,
``AWS_S3_BUCKET``, ``AWS_S3_TLS`` and ``AWS_S3_SKIPVERIFY`` (as for the Go CLI). Transfers show
progress bars on stderr when it is a terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TransferSpeedColumn,
)

from colonies.cli.context import MEMBER, Host, Json, Port, PrvKey, colony_name, connect
from colonies.cli.output import (
    done,
    err,
    fail,
    fields,
    format_time,
    print_json,
    print_table,
    table,
)
from colonies.cli.removal import confirm, stdin_is_terminal
from colonies.cli.workflow import ColonyName
from colonies.client import Client
from colonies.fs import ops
from colonies.fs.storage import ObjectStore, ProgressFn
from colonies.fs.storage import from_env as store_from_env
from colonies.model import File, Snapshot

app = typer.Typer(
    help="Files in ColonyFS: sync directories, labels, snapshots.", no_args_is_help=True
)
label_app = typer.Typer(help="File labels.", no_args_is_help=True)
snapshot_app = typer.Typer(help="Snapshots: the files under a label, frozen.", no_args_is_help=True)
app.add_typer(label_app, name="label")
app.add_typer(snapshot_app, name="snapshot")

Dir = Annotated[Path | None, typer.Option("--dir", "-d", help="Local directory.")]
LabelOpt = Annotated[
    str, typer.Option("--label", "-l", help="Label (default: the one in the directory's .cfs).")
]
FileId = Annotated[str, typer.Option("--fileid", "-i", help="File ID.")]
Name = Annotated[str, typer.Option("--name", "-n", help="File name (with --label).")]
SnapshotId = Annotated[str, typer.Option("--snapshotid", "-i", help="Snapshot ID.")]
SnapshotName = Annotated[str, typer.Option("--snapshotname", "-n", help="Snapshot name.")]
Yes = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]
Dry = Annotated[bool, typer.Option("--dry", help="Only show what would be done.")]
Quiet = Annotated[
    bool, typer.Option("--quite", "--quiet", help="No output (the Go CLI's --quite; needs --yes).")
]


class RichProgress:
    """``ops.Progress`` as Rich bars on stderr; nothing unless stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._bars: Progress | None = None
        if enabled and err.is_terminal:
            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=err,
                transient=False,
            )

    def __enter__(self) -> RichProgress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def task(self, description: str, total: int) -> ProgressFn:
        bars = self._bars
        if bars is None:
            return lambda n: None
        task = bars.add_task(description, total=total)
        return lambda n: bars.advance(task, n)


@contextmanager
def fs_session(
    host: str | None, port: int | None, prvkey: str | None
) -> Iterator[tuple[Client, Any]]:
    """A client and a runner of ``ops`` flows; SDK, storage and disk errors become one line."""
    with connect(host, port, MEMBER, prvkey) as client:

        def run(flow: ops.FsFlow[Any]) -> Any:
            return ops.run(lambda call: client._send(call, None), flow)

        try:
            yield client, run
        except OSError as e:
            fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e))


def store() -> ObjectStore:
    return store_from_env()


def sync_label(label: str, directory: Path) -> str:
    """``--label``, else the label in the directory's ``.cfs`` file (like the Go CLI)."""
    if not label:
        try:
            label = ops.read_cfs(directory)
        except ops.FsError as e:
            fail(str(e))
        if not label:
            fail("no label found in .cfs file, use --label")
    return ops.normalize_label(label)


def ask(question: str) -> bool:
    """The Go CLI's "(yes,no)" question; without a terminal, refuse (pass --yes)."""
    if not stdin_is_terminal():
        fail("stdin is not a terminal to confirm on: pass --yes")
    answer = typer.prompt(f"{question} (yes,no)", default="", show_default=False, err=True)
    return answer.strip() in ("yes", "y")


def sync_directory(directory: Path | None) -> Path:
    directory = directory or Path.cwd()
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is not a directory")
    return directory


# --- sync and clean --------------------------------------------------------------------------


@app.command()
def sync(
    directory: Dir = None,
    label: LabelOpt = "",
    dry: Dry = False,
    yes: Yes = False,
    keeplocal: Annotated[
        bool,
        typer.Option(
            "--keeplocal/--keepremote",
            help="On conflicts keep the local file (a new remote revision) or the remote one.",
        ),
    ] = True,
    syncplans: Annotated[
        bool, typer.Option("--syncplans", help="Show every file of the sync plans.")
    ] = False,
    quiet: Quiet = False,
    as_json: Json = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Sync a directory (and those below it) with a label, both ways (member key)."""
    if quiet and not yes:
        fail("--quite and --yes must be used together, please add --yes")
    directory = sync_directory(directory)
    label = sync_label(label, directory)
    colonyname = colony_name()
    with fs_session(host, port, prvkey) as (_, run):
        plans: list[ops.SyncPlan] = run(ops.sync_plans(colonyname, directory, label, keeplocal))
        if all(plan.empty for plan in plans):
            if as_json:
                print_json(plans_json(plans))
            elif not quiet:
                done(f"{directory} and {label} are already in sync")
            return
        if dry or not yes:
            show_plans(plans, syncplans, as_json)
        if dry or (not yes and not ask("Are you sure you want to continue?")):
            return
        objects = store()
        with RichProgress(not quiet) as progress:
            for plan in plans:
                if not plan.empty:
                    run(ops.apply_sync_plan(colonyname, plan, objects, progress))
    if as_json and yes:
        print_json(plans_json(plans))
    elif not quiet:
        up = sum(len(p.uploads) for p in plans)
        down = sum(len(p.downloads) for p in plans)
        done(f"Synced {directory} with {label}: {up} uploaded, {down} downloaded")


def plans_json(plans: list[ops.SyncPlan]) -> list[dict[str, Any]]:
    def files(infos: list[ops.FileInfo]) -> list[dict[str, Any]]:
        return [{"name": f.name, "checksum": f.checksum, "size": f.size} for f in infos]

    return [
        {
            "dir": str(p.dir),
            "label": p.label,
            "keeplocal": p.keeplocal,
            "upload": files(p.remote_missing),
            "download": files(p.local_missing),
            "conflicts": files(p.conflicts),
        }
        for p in plans
    ]


def show_plans(plans: list[ops.SyncPlan], details: bool, as_json: bool) -> None:
    if as_json:
        print_json(plans_json(plans))
        return
    resolution = "replace-remote" if plans and plans[0].keeplocal else "replace-local"
    up = sum(len(p.remote_missing) for p in plans)
    down = sum(len(p.local_missing) for p in plans)
    conflicts = sum(len(p.conflicts) for p in plans)
    done(
        f"Sync plan: {up} to upload, {down} to download, {conflicts} conflicts "
        f"(conflict resolution: {resolution})"
    )
    if not details:
        done("Add --syncplans to see every file")
        return
    rows = table("Label", "Directory", "Action", "File", "Size")
    for plan in plans:
        conflict = "conflict: upload" if plan.keeplocal else "conflict: download"
        for action, infos in (
            ("upload", plan.remote_missing),
            ("download", plan.local_missing),
            (conflict, plan.conflicts),
        ):
            for info in infos:
                rows.add_row(plan.label, str(plan.dir), action, info.name, size_text(info.size))
    print_table(rows)


def size_text(size: int) -> str:
    """The Go CLI's ``KiB`` column, exact for small files."""
    return f"{size} B" if size < 1024 else f"{size // 1024} KiB"


@app.command()
def clean(
    directory: Dir = None,
    label: LabelOpt = "",
    dry: Dry = False,
    yes: Yes = False,
    cleanplans: Annotated[
        bool, typer.Option("--cleanplans", help="Show every file that would be removed.")
    ] = False,
    quiet: Quiet = False,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove local files and directories that the label does not have (member key)."""
    if quiet and not yes:
        fail("--quite and --yes must be used together, please add --yes")
    directory = sync_directory(directory)
    label = sync_label(label, directory)
    directory.mkdir(parents=True, exist_ok=True)
    with fs_session(host, port, prvkey) as (_, run):
        plans: list[ops.CleanPlan] = run(ops.clean_plans(colony_name(), directory, label))
        count = sum(len(p.remove) for p in plans)
        if count == 0:
            if not quiet:
                done("Nothing to clean: every local file is in ColonyFS")
            return
        if dry or not yes:
            done(f"Clean plan: {count} local files or directories to remove")
            if cleanplans:
                rows = table("Label", "Remove")
                for plan in plans:
                    for path in plan.remove:
                        rows.add_row(plan.label, str(path) + ("/" if path.is_dir() else ""))
                print_table(rows)
            else:
                done("Add --cleanplans to see every file")
        if dry or (not yes and not ask("Are you sure you want to continue?")):
            return
        for plan in plans:
            ops.apply_clean_plan(plan)
    if not quiet:
        done(f"Removed {count} local files or directories")


# --- files -----------------------------------------------------------------------------------


def one_file_args(fileid: str, label: str, name: str) -> None:
    if not fileid and not (label and name):
        fail("pass --fileid, or --label and --name")
    if fileid and name:
        fail("pass --fileid or --label and --name, not both")


@app.command("ls")
def ls(
    label: LabelOpt = "",
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the files under a label: newest revision, size, revisions (member key)."""
    label = label or sync_label("", Path.cwd())
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (client, _):
        found = client.get_files(colony, label)
        revisions = {
            d.name: client.get_file(colony, label=label, filename=d.name, latest=False)
            for d in found
        }
    if as_json:
        print_json([revs[0].to_dict() | {"revisions": len(revs)} for revs in revisions.values()])
        return
    rows = table(
        "Filename", "Size", "Added", "Revisions", "File ID", empty=f"No files under label {label}"
    )
    for name in sorted(revisions):
        newest = revisions[name][0]
        rows.add_row(
            name,
            size_text(newest.size),
            format_time(newest.added),
            str(len(revisions[name])),
            newest.fileid,
        )
    print_table(rows)


def file_fields(file: File) -> Any:
    s3 = file.ref.s3object
    where = f"{s3.server}:{s3.port}" if s3.server else ""
    return fields(
        [
            ("File ID", file.fileid),
            ("Name", file.name),
            ("Label", file.label),
            ("Colony", file.colonyname),
            ("Size", f"{file.size} B"),
            ("Sequence number", str(file.sequencenr)),
            ("Checksum", f"{file.checksum} ({file.checksumalg})"),
            ("Added", format_time(file.added)),
            ("Protocol", file.ref.protocol),
            ("Server", where),
            ("TLS", str(s3.tls).lower()),
            ("Region", s3.region),
            ("Bucket", s3.bucket),
            ("Object", s3.object),
        ]
    )


@app.command()
def info(
    fileid: FileId = "",
    label: Annotated[str, typer.Option("--label", "-l", help="Label.")] = "",
    name: Name = "",
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show a file: one revision (--fileid) or all revisions of --label + --name (member)."""
    one_file_args(fileid, label, name)
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (client, _):
        files = client.get_file(colony, fileid=fileid, label=label, filename=name, latest=False)
    if as_json:
        print_json([f.to_dict() for f in files])
        return
    for file in files:
        print_table(file_fields(file))


@app.command()
def get(
    directory: Annotated[Path, typer.Option("--dir", "-d", help="Directory to download into.")],
    fileid: FileId = "",
    label: Annotated[str, typer.Option("--label", "-l", help="Label.")] = "",
    name: Name = "",
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Download a file (--fileid, or the newest revision of --label + --name) (member key)."""
    one_file_args(fileid, label, name)
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (_, run):
        file: File = run(ops.find(colony, fileid=fileid, label=label, name=name))
        directory.mkdir(parents=True, exist_ok=True)
        with RichProgress(True) as progress:
            path = run(ops.download(file, directory, store(), progress))
    done(f"Downloaded {path}")


@app.command()
def remove(
    fileid: FileId = "",
    label: Annotated[str, typer.Option("--label", "-l", help="Label.")] = "",
    name: Name = "",
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove a revision (--fileid) or all revisions of --label + --name (member key).

    The bytes go too; the local copy stays."""
    one_file_args(fileid, label, name)
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (_, run):
        count = run(ops.delete(colony, store(), fileid=fileid, label=label, name=name))
    done(f"Removed {count} revision{'s' if count != 1 else ''} (local files are not removed)")


# --- labels ----------------------------------------------------------------------------------


@label_app.command("ls")
def label_ls(
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the colony's labels with their number of file revisions (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (client, _):
        labels = client.get_file_labels(colony)
    if as_json:
        print_json([label.to_dict() for label in labels])
        return
    rows = table("Label", "Files", empty="No labels found")
    for label in labels:
        rows.add_row(label.name, str(label.files))
    print_table(rows)


@label_app.command("remove")
def label_remove(
    label: Annotated[str, typer.Option("--label", "-l", help="Label (a prefix: label*).")],
    yes: Yes = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove every file whose label starts with --label, bytes included (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    if not yes and not ask(
        f"All files with label <{label}*> will be removed. Local files are not removed. "
        "Are you sure you want to continue?"
    ):
        return
    with fs_session(host, port, prvkey) as (_, run), RichProgress(True) as progress:
        count = run(ops.remove_label(colony, label, store(), progress))
    done(f"Removed {count} file revisions with label {label}*")


# --- snapshots -------------------------------------------------------------------------------


def snapshot_fields(snapshot: Snapshot) -> Any:
    return fields(
        [
            ("Snapshot ID", snapshot.snapshotid),
            ("Name", snapshot.name),
            ("Label", snapshot.label),
            ("Colony", snapshot.colonyname),
            ("Files", str(len(snapshot.fileids))),
            ("Added", format_time(snapshot.added)),
        ]
    )


def show_snapshot(client: Client, snapshot: Snapshot, as_json: bool) -> None:
    if as_json:
        print_json(snapshot.to_dict())
        return
    print_table(snapshot_fields(snapshot))
    if snapshot.fileids:
        rows = table("Filename", "Label", "Size", "File ID")
        for fileid in snapshot.fileids:
            for file in client.get_file(snapshot.colonyname, fileid=fileid):
                rows.add_row(file.name, file.label, size_text(file.size), file.fileid)
        print_table(rows)


def one_snapshot(snapshotid: str, name: str) -> None:
    if not snapshotid and not name:
        fail("pass --snapshotid or --snapshotname")


@snapshot_app.command("create")
def snapshot_create(
    label: Annotated[str, typer.Option("--label", "-l", help="Label (and the labels below).")],
    name: SnapshotName,
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Freeze the newest revision of every file under a label (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    label = ops.normalize_label(label) + "/"  # a snapshot covers what is below the label
    with fs_session(host, port, prvkey) as (client, _):
        snapshot = client.create_snapshot(colony, label, name)
        show_snapshot(client, snapshot, as_json)


@snapshot_app.command("ls")
def snapshot_ls(
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """List the colony's snapshots, the newest first (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (client, _):
        snapshots = client.get_snapshots(colony)
    if as_json:
        print_json([s.to_dict() for s in snapshots])
        return
    rows = table("Name", "Label", "Files", "Added", "Snapshot ID", empty="No snapshots found")
    for s in snapshots:
        rows.add_row(s.name, s.label, str(len(s.fileids)), format_time(s.added), s.snapshotid)
    print_table(rows)


@snapshot_app.command("info")
def snapshot_info(
    snapshotid: SnapshotId = "",
    name: SnapshotName = "",
    as_json: Json = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Show a snapshot and its files (member key)."""
    one_snapshot(snapshotid, name)
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (client, _):
        if snapshotid:
            snapshot = client.get_snapshot_by_id(colony, snapshotid)
        else:
            snapshot = client.get_snapshot_by_name(colony, name)
        show_snapshot(client, snapshot, as_json)


@snapshot_app.command("download")
def snapshot_download(
    directory: Annotated[Path, typer.Option("--dir", "-d", help="Directory to download into.")],
    snapshotid: SnapshotId = "",
    name: SnapshotName = "",
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Download a snapshot's files (sub-labels as subdirectories) (member key)."""
    one_snapshot(snapshotid, name)
    colony = colony_name(colonyname, "--colonyname")
    directory.mkdir(parents=True, exist_ok=True)
    with fs_session(host, port, prvkey) as (_, run), RichProgress(True) as progress:
        written = run(
            ops.download_snapshot(
                colony, directory, store(), snapshotid=snapshotid, name=name, progress=progress
            )
        )
    done(f"Downloaded {len(written)} files into {directory}")


@snapshot_app.command("remove")
def snapshot_remove(
    snapshotid: SnapshotId = "",
    name: SnapshotName = "",
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove a snapshot; its files stay (member key)."""
    one_snapshot(snapshotid, name)
    colony = colony_name(colonyname, "--colonyname")
    with fs_session(host, port, prvkey) as (client, _):
        client.remove_snapshot(colony, snapshotid=snapshotid, name=name)
    done(f"Snapshot {snapshotid or name} removed")


@snapshot_app.command("removeall")
def snapshot_removeall(
    yes: Yes = False,
    colonyname: ColonyName = None,
    host: Host = None,
    port: Port = None,
    prvkey: PrvKey = None,
) -> None:
    """Remove every snapshot of the colony; asks for YES like the Go CLI (member key)."""
    colony = colony_name(colonyname, "--colonyname")
    if not yes:
        confirm(f"Remove all snapshots in colony {colony}? This cannot be undone.")
    with fs_session(host, port, prvkey) as (client, _):
        client.remove_all_snapshots(colony)
    done(f"All snapshots in colony {colony} removed")
