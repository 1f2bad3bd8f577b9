"""``colonies fs`` against a live server, with the bytes in moto's real S3 server (configured
by the Go CLI's ``AWS_S3_*`` variables) or in a local directory (``COLONIES_FS_DIR``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CLI, assert_error
from s3server import S3Server, moto_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture(params=["s3", "local"])
def fs_cli(request: pytest.FixtureRequest, cli: CLI, tmp_path: Path) -> CLI:
    """The ``cli`` fixture with a file store configured the way a user would."""
    cli.env["COLONIES_FS_DIR"] = None
    if request.param == "s3":
        cli.env.update(request.getfixturevalue("s3").env())
    else:
        cli.env["COLONIES_FS_DIR"] = str(tmp_path / "objects")
    return cli


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".cfs"
    }


def ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def test_sync_up_and_down_ls_label_info_get(fs_cli: CLI, tmp_path: Path) -> None:
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_text("alpha")
    (up / "sub" / "b.txt").write_text("beta")
    dry = ok(fs_cli("fs", "sync", "-d", str(up), "-l", "/proj", "--dry", "--syncplans"))
    assert "2 to upload" in dry.stderr and "b.txt" in dry.stdout
    assert not (up / ".cfs").exists()  # a dry run changes nothing
    ok(fs_cli("fs", "sync", "-d", str(up), "-l", "proj", "--yes"))
    assert json.loads((up / ".cfs").read_text()) == {"label": "/proj"}
    again = ok(fs_cli("fs", "sync", "-d", str(up), "--yes"))  # the label from .cfs
    assert "already in sync" in again.stderr

    down = tmp_path / "down"
    ok(fs_cli("fs", "sync", "-d", str(down), "-l", "/proj", "--yes", "--quite"))
    assert tree(down) == {"a.txt": "alpha", "sub/b.txt": "beta"}

    listing = ok(fs_cli("fs", "ls", "-l", "/proj"))
    assert "a.txt" in listing.stdout and "Revisions" in listing.stdout
    files = json.loads(ok(fs_cli("fs", "ls", "-l", "/proj", "--json")).stdout)
    assert [(f["name"], f["revisions"]) for f in files] == [("a.txt", 1)]
    labels = json.loads(ok(fs_cli("fs", "label", "ls", "--json")).stdout)
    assert labels == [{"name": "/proj", "files": 1}, {"name": "/proj/sub", "files": 1}]
    assert "/proj/sub" in ok(fs_cli("fs", "label", "ls")).stdout

    info = json.loads(ok(fs_cli("fs", "info", "-l", "/proj", "-n", "a.txt", "--json")).stdout)
    assert info[0]["name"] == "a.txt" and info[0]["size"] == 5
    table = ok(fs_cli("fs", "info", "-i", info[0]["fileid"]))
    assert info[0]["checksum"] in table.stdout
    got = tmp_path / "got"
    ok(fs_cli("fs", "get", "-i", info[0]["fileid"], "-d", str(got)))
    assert (got / "a.txt").read_text() == "alpha"
    ok(fs_cli("fs", "get", "-l", "/proj/sub", "-n", "b.txt", "-d", str(got)))
    assert (got / "b.txt").read_text() == "beta"

    (down / "a.txt").write_text("changed")
    ok(fs_cli("fs", "sync", "-d", str(down), "--yes"))  # keeplocal: a new revision
    ok(fs_cli("fs", "sync", "-d", str(up), "--keepremote", "--yes"))
    assert (up / "a.txt").read_text() == "changed"
    revisions = json.loads(ok(fs_cli("fs", "info", "-l", "/proj", "-n", "a.txt", "--json")).stdout)
    assert len(revisions) == 2


def test_snapshots(fs_cli: CLI, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    (src / "one.txt").write_text("1")
    (src / "x" / "two.txt").write_text("2")
    ok(fs_cli("fs", "sync", "-d", str(src), "-l", "/data", "--yes"))
    made = json.loads(
        ok(fs_cli("fs", "snapshot", "create", "-l", "data", "-n", "v1", "--json")).stdout
    )
    assert made["label"] == "/data" and len(made["fileids"]) == 2
    shown = ok(fs_cli("fs", "snapshot", "create", "-l", "/data/x", "-n", "v2"))
    assert "two.txt" in shown.stdout
    listed = json.loads(ok(fs_cli("fs", "snapshot", "ls", "--json")).stdout)
    assert [s["name"] for s in listed] == ["v2", "v1"]
    assert "v1" in ok(fs_cli("fs", "snapshot", "ls")).stdout
    info = ok(fs_cli("fs", "snapshot", "info", "-i", made["snapshotid"]))
    assert "one.txt" in info.stdout and "two.txt" in info.stdout
    by_name = json.loads(ok(fs_cli("fs", "snapshot", "info", "-n", "v1", "--json")).stdout)
    assert by_name == made

    (src / "one.txt").write_text("changed after the snapshot")
    ok(fs_cli("fs", "sync", "-d", str(src), "--yes"))
    out = tmp_path / "restored"
    ok(fs_cli("fs", "snapshot", "download", "-n", "v1", "-d", str(out)))
    assert tree(out) == {"one.txt": "1", "x/two.txt": "2"}  # as it was

    ok(fs_cli("fs", "snapshot", "remove", "-n", "v2"))
    ok(fs_cli("fs", "snapshot", "remove", "-i", made["snapshotid"]))
    assert json.loads(ok(fs_cli("fs", "snapshot", "ls", "--json")).stdout) == []
    ok(fs_cli("fs", "snapshot", "create", "-l", "/data", "-n", "v3"))
    refused = fs_cli("fs", "snapshot", "removeall")  # no terminal to type YES on
    assert_error(refused, "pass --yes")
    ok(fs_cli("fs", "snapshot", "removeall", "--yes"))
    assert "No snapshots" in ok(fs_cli("fs", "snapshot", "ls")).stderr
    duplicate = fs_cli("fs", "snapshot", "create", "-l", "/data", "-n", "v4")
    ok(duplicate)
    assert_error(fs_cli("fs", "snapshot", "create", "-l", "/data", "-n", "v4"), "already exists")
    assert_error(fs_cli("fs", "snapshot", "info", "-n", "nope"), "Snapshot not found")


def test_remove_label_remove_and_clean(fs_cli: CLI, tmp_path: Path) -> None:
    d = tmp_path / "d"
    (d / "keep").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "b.txt").write_text("b")
    (d / "keep" / "k.txt").write_text("k")
    ok(fs_cli("fs", "sync", "-d", str(d), "-l", "/c", "--yes"))
    removed = ok(fs_cli("fs", "remove", "-l", "/c", "-n", "b.txt"))
    assert "Removed 1 revision" in removed.stderr
    (d / "junk").mkdir()
    (d / "junk" / "j.txt").write_text("j")
    (d / "stray.txt").write_text("s")
    plan = ok(fs_cli("fs", "clean", "-d", str(d), "--dry", "--cleanplans"))
    assert "3 local files" in plan.stderr and "stray.txt" in plan.stdout
    ok(fs_cli("fs", "clean", "-d", str(d), "--yes"))
    assert tree(d) == {"a.txt": "a", "keep/k.txt": "k"}  # b.txt was removed remotely

    refused = fs_cli("fs", "label", "remove", "-l", "/c")
    assert_error(refused, "pass --yes")
    ok(fs_cli("fs", "label", "remove", "-l", "/c", "--yes"))
    assert json.loads(ok(fs_cli("fs", "label", "ls", "--json")).stdout) == []
    assert "No labels" in ok(fs_cli("fs", "label", "ls")).stderr
    assert tree(d) == {"a.txt": "a", "keep/k.txt": "k"}  # local files stay


def test_one_line_errors(cli: CLI, tmp_path: Path) -> None:
    cli.env.update({"COLONIES_FS_DIR": None, "AWS_S3_ENDPOINT": None})
    d = tmp_path / "d"
    d.mkdir()
    (d / "f.txt").write_text("x")
    assert_error(cli("fs", "sync", "-d", str(d), "--yes"), "no label found in .cfs")
    assert_error(cli("fs", "sync", "-d", str(d), "-l", "/e", "--yes"), "no file storage configured")
    assert_error(cli("fs", "sync", "-d", str(d), "-l", "/e", "--quite"), "--yes")
    assert_error(cli("fs", "sync", "-d", str(d / "f.txt"), "-l", "/e"), "is not a directory")
    assert_error(cli("fs", "sync", "-d", str(d), "-l", "/e"), "pass --yes")  # no terminal
    assert_error(cli("fs", "get", "-d", str(d)), "pass --fileid, or --label and --name")
    assert_error(cli("fs", "get", "-d", str(d), "-i", "0" * 64), "Failed to get file")
    assert_error(cli("fs", "info", "-l", "/x"), "pass --fileid")
    assert_error(cli("fs", "snapshot", "info"), "pass --snapshotid or --snapshotname")
    assert_error(cli("fs", "clean", "-d", str(d), "-l", "/none", "--yes"), "not found")
    assert_error(cli("fs", "ls", "-l", "/x", COLONIES_PRVKEY="0" * 63), "key")
    stranger = "1" * 64
    assert_error(cli("fs", "label", "ls", COLONIES_PRVKEY=stranger), "access denied")
    assert_error(
        cli("fs", "label", "ls", COLONIES_COLONY_NAME="nope"), "colony nope does not exist"
    )


def test_local_store_from_the_environment(cli: CLI, tmp_path: Path) -> None:
    objects = tmp_path / "objects"
    d = tmp_path / "d"
    d.mkdir()
    (d / "f.txt").write_text("local")
    ok(cli("fs", "sync", "-d", str(d), "-l", "/l", "--yes", COLONIES_FS_DIR=str(objects)))
    stored = [p for p in objects.iterdir() if p.is_file()]
    assert len(stored) == 1 and stored[0].read_text() == "local"


def test_dev_exports_the_local_store(tmp_path: Path) -> None:
    from colonies.cli.dev import DevKeys, env_block, read_env_block

    keys = DevKeys.load(tmp_path)
    env = read_env_block(env_block(keys, "127.0.0.1", 50080, "dev", "cli", tmp_path / "fs"))
    assert env["COLONIES_FS_DIR"] == str(tmp_path / "fs")
    assert "COLONIES_FS_DIR" not in read_env_block(env_block(keys, "127.0.0.1", 1, "dev", "cli"))
