"""ColonyFS (spec §4.9) across the two servers and the two CLIs, the bytes in moto's real S3
server (the Go CLI's minio client, boto3 for ours).

- The Go CLI's ``fs sync`` / ``fs snapshot`` / ``fs label ls`` against our server, and what it
  uploaded read back by our CLI and SDK (and the other way round).
- Our CLI (``colonies fs ...``) against the Go server, read back by the Go CLI.
- Differential: the metadata messages (``addfilemsg`` ... ``removeallsnapshotmsg``) sent
  byte-identical to both servers, replies compared field by field; where we deliberately
  differ (README, Differences) the test says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from colonies.fs import S3Store
from interop.conftest import GoCLI, Server, unique
from interop.twin import Twin, close_connections, ours_module, twin
from s3server import ACCESS_KEY, SECRET_KEY, S3Server, moto_server

__all__ = ["close_connections", "ours_module", "twin"]  # fixtures used here


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".cfs"
    }


def make_tree(root: Path) -> dict[str, str]:
    files = {"a.txt": "alpha", "empty.txt": "", "sub/b.txt": "beta", "sub/deeper/c.txt": "gamma"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return files


def go_ok(result: Any) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def our_cli(server: Server, env: dict[str, str], *args: str) -> Any:
    from typer.testing import CliRunner

    from colonies.cli import app

    full: dict[str, str | None] = {**server.env, **env, "COLONIES_FS_DIR": None}
    result = CliRunner().invoke(app, list(args), env=full)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


# --- the Go CLI against our server ------------------------------------------------------------


def test_go_cli_sync_against_ours(ours: Server, s3: S3Server, tmp_path: Path) -> None:
    env = s3.env()
    go = GoCLI(ours, env)
    up = tmp_path / "go-up"
    files = make_tree(up)
    go_ok(go("fs", "sync", "-d", str(up), "-l", "/gofs", "--yes"))
    # metadata on our server, bytes in S3, as the Go CLI wrote them
    with ours.client() as client:
        labels = [x.name for x in client.get_file_labels(ours.colonyname)]
        assert labels == ["/gofs", "/gofs/sub", "/gofs/sub/deeper"]
        store = S3Store(
            s3.endpoint, env["AWS_S3_BUCKET"], accesskey=ACCESS_KEY, secretkey=SECRET_KEY
        )
        data = client.download_data(ours.colonyname, label="/gofs", filename="a.txt", store=store)
        assert data == b"alpha"
        a = client.get_file(ours.colonyname, label="/gofs", filename="a.txt")[0]
        assert a.ref.protocol == "s3" and a.ref.s3object.bucket == env["AWS_S3_BUCKET"]

    down = tmp_path / "ours-down"  # our CLI reads what the Go CLI uploaded
    our_cli(ours, env, "fs", "sync", "-d", str(down), "-l", "/gofs", "--yes")
    assert tree(down) == files

    (down / "new.txt").write_text("from ours")  # the Go CLI reads what ours uploaded
    our_cli(ours, env, "fs", "sync", "-d", str(down), "--yes")
    go_ok(go("fs", "sync", "-d", str(up), "-l", "/gofs", "--yes"))
    assert tree(up) == {**files, "new.txt": "from ours"}

    # (not of /gofs: the Go CLI stores no object for an empty file, and its snapshot download
    # then fails on it with any server)
    go_ok(go("fs", "snapshot", "create", "-l", "/gofs/sub", "-n", "gosnap"))
    listed = go_ok(go("fs", "snapshot", "ls"))
    assert "gosnap" in listed.stdout + listed.stderr
    restored = tmp_path / "go-snap"
    go_ok(go("fs", "snapshot", "download", "-n", "gosnap", "-d", str(restored)))
    assert tree(restored) == {"b.txt": "beta", "deeper/c.txt": "gamma"}
    labels_out = go_ok(go("fs", "label", "ls"))
    assert "/gofs/sub/deeper" in labels_out.stdout
    info = go_ok(go("fs", "info", "-l", "/gofs", "-n", "a.txt"))
    assert "a.txt" in info.stdout
    go_ok(go("fs", "remove", "-l", "/gofs", "-n", "new.txt"))
    with ours.client() as client:
        names = {d.name for d in client.get_files(ours.colonyname, "/gofs")}
        assert names == {"a.txt", "empty.txt"}
    go_ok(go("fs", "label", "remove", "-l", "/gofs", "--yes"))
    with ours.client() as client:
        assert client.get_file_labels(ours.colonyname) == []


# --- our CLI against the Go server ------------------------------------------------------------


def test_our_cli_against_go(goserver: Server, s3: S3Server, tmp_path: Path) -> None:
    env = s3.env()
    label = "/" + unique("ourfs")
    up = tmp_path / "ours-up"
    files = make_tree(up)
    our_cli(goserver, env, "fs", "sync", "-d", str(up), "-l", label, "--yes")
    listed = json.loads(our_cli(goserver, env, "fs", "ls", "-l", label, "--json").stdout)
    assert sorted(f["name"] for f in listed) == ["a.txt", "empty.txt"]

    down = tmp_path / "go-down"  # the Go CLI reads what ours uploaded to the Go server
    go_ok(GoCLI(goserver, env)("fs", "sync", "-d", str(down), "-l", label, "--yes"))
    assert tree(down) == files

    snap = unique("snap")
    made = our_cli(goserver, env, "fs", "snapshot", "create", "-l", label, "-n", snap, "--json")
    assert len(json.loads(made.stdout)["fileids"]) == 4
    restored = tmp_path / "restored"
    our_cli(goserver, env, "fs", "snapshot", "download", "-n", snap, "-d", str(restored))
    assert tree(restored) == files
    our_cli(goserver, env, "fs", "snapshot", "remove", "-n", snap)
    our_cli(goserver, env, "fs", "remove", "-l", label, "-n", "a.txt")
    our_cli(goserver, env, "fs", "label", "remove", "-l", label, "--yes")
    labels = json.loads(our_cli(goserver, env, "fs", "label", "ls", "--json").stdout)
    assert not [x for x in labels if x["name"].startswith(label)]


# --- differential: the metadata messages ------------------------------------------------------


def file_msg(name: str, label: str = "/diff", size: int = 3) -> dict[str, Any]:
    file = {
        "fileid": "",
        "colonyname": "$COLONY",
        "label": label,
        "name": name,
        "size": size,
        "sequencenr": 1,
        "checksum": "abc",
        "checksumalg": "SHA256",
        "ref": {
            "protocol": "s3",
            "s3object": {
                "server": "minio",
                "port": 9000,
                "tls": False,
                "accesskey": "",
                "secretkey": "",
                "region": "",
                "encryptionkey": "",
                "encryptionalg": "",
                "object": "obj-" + name,
                "bucket": "b",
            },
        },
        "added": "0001-01-01T00:00:00Z",
    }
    return {"msgtype": "addfilemsg", "file": file}


def without_seq(files: Any) -> Any:
    """``sequencenr`` counts every file a server ever stored: only "increasing" is comparable."""
    if isinstance(files, dict):
        assert files["sequencenr"] > 0
        return {k: v for k, v in files.items() if k != "sequencenr"}
    return [without_seq(f) for f in files]


def by_name(items: Any) -> Any:
    """Go lists files and labels in map / DISTINCT order; ours by name."""
    return sorted(items or [], key=lambda x: x["name"])


def test_file_messages_reply_like_go(twin: Twin) -> None:
    go_seq: list[int] = []
    our_seq: list[int] = []
    for name, label in (
        ("a.txt", "/diff"),
        ("a.txt", "/diff"),
        ("b.txt", "/diff"),
        ("c", "/diff/s"),
    ):
        go, ours = twin.both("executor", file_msg(name, label))
        assert (go.status, ours.status) == (200, 200)
        go_seq.append(go.payload["sequencenr"])
        our_seq.append(ours.payload["sequencenr"])
        twin.compare(without_seq(go.payload), without_seq(ours.payload))
    assert go_seq == sorted(go_seq) and our_seq == sorted(our_seq)

    get = {"msgtype": "getfilemsg", "colonyname": "$COLONY", "label": "/diff", "name": "a.txt"}
    go, ours = twin.both("user", {**get, "latest": False})
    twin.compare(without_seq(go.payload), without_seq(ours.payload))  # newest first
    go, ours = twin.both("user", {**get, "latest": True})
    twin.compare(without_seq(go.payload), without_seq(ours.payload))
    by_id = {"msgtype": "getfilemsg", "colonyname": "$COLONY", "fileid": go.payload[0]["fileid"]}
    go, ours = twin.both("user", by_id)
    twin.compare(without_seq(go.payload), without_seq(ours.payload))

    files = {"msgtype": "getfilesmsg", "colonyname": "$COLONY", "label": "/diff"}
    go, ours = twin.both("user", files)
    twin.compare(by_name(go.payload), by_name(ours.payload))
    for name, exact in (("", False), ("/diff", True), ("/diff", False), ("/di", False)):
        msg = {"msgtype": "getfilelabelsmsg", "colonyname": "$COLONY", "name": name, "exact": exact}
        go, ours = twin.both("user", msg)
        twin.compare(by_name(go.payload), by_name(ours.payload))

    missing = {"msgtype": "getfilemsg", "colonyname": "$COLONY", "label": "/diff", "name": "zz"}
    twin.same("user", missing, 404)
    remove = {
        "msgtype": "removefilemsg",
        "colonyname": "$COLONY",
        "label": "/diff",
        "name": "a.txt",
    }
    twin.same("user", remove)
    twin.same("user", {**missing, "name": "a.txt"}, 404)
    twin.same("stranger", files, 403)
    twin.same("stranger", file_msg("x"), 403)


def test_snapshot_messages_reply_like_go(twin: Twin) -> None:
    for name, label in (("a", "/snap"), ("a", "/snap"), ("b", "/snap/sub"), ("c", "/snapx")):
        twin.ok("executor", file_msg(name, label))
    create = {
        "msgtype": "createsnapshotmsg",
        "colonyname": "$COLONY",
        "label": "/snap/",
        "name": "s1",
    }
    go, ours = twin.both("user", create)
    assert (go.status, ours.status) == (200, 200)
    # Go collects the file IDs from maps (any order); match them through the file names
    go_files = sorted(go.payload.pop("fileids"))
    our_files = ours.payload.pop("fileids")
    twin.compare(go.payload, ours.payload)
    assert len(go_files) == len(our_files) == 2

    def names(server: Server, ids: list[str]) -> list[tuple[str, str]]:
        found = []
        for fileid in ids:
            msg = {"msgtype": "getfilemsg", "colonyname": "$COLONY", "fileid": fileid}
            reply = twin.send(server, "user", msg).payload[0]
            found.append((reply["label"], reply["name"]))
        return sorted(found)

    assert (
        names(twin.go, go_files)
        == names(twin.ours, our_files)
        == [("/snap", "a"), ("/snap/sub", "b")]
    )
    get = {"msgtype": "getsnapshotmsg", "colonyname": "$COLONY", "snapshotid": "", "name": "s1"}
    go, ours = twin.both("user", get)
    go.payload.pop("fileids"), ours.payload.pop("fileids")
    twin.compare(go.payload, ours.payload)
    listing = {"msgtype": "getsnapshotsmsg", "colonyname": "$COLONY"}
    go, ours = twin.both("user", listing)
    assert [s["name"] for s in go.payload] == [s["name"] for s in ours.payload] == ["s1"]
    twin.same("stranger", listing, 403)
    twin.same("stranger", create, 403)
    remove = {
        "msgtype": "removesnapshotmsg",
        "colonyname": "$COLONY",
        "snapshotid": "",
        "name": "s1",
    }
    twin.same("user", remove)
    twin.same("user", {"msgtype": "removeallsnapshotmsg", "colonyname": "$COLONY"})
    go, ours = twin.both("user", listing)
    assert go.payload in (None, []) and ours.payload == []


def test_where_we_differ_on_purpose(twin: Twin) -> None:
    """README, Differences: not found is 404 and a malformed request 400, where Go says 500
    (or 400 for a file ID it does not have); a duplicate snapshot name is 400, not 500."""
    unknown = {"msgtype": "getfilemsg", "colonyname": "$COLONY", "fileid": "0" * 64}
    go, ours = twin.both("user", unknown)
    assert go.error == (400, "Failed to get file") and ours.error == (404, "Failed to get file")
    neither = {"msgtype": "getfilemsg", "colonyname": "$COLONY"}
    go, ours = twin.both("user", neither)
    assert go.error == (500, "malformatted get file msg")
    assert ours.error == (400, "malformatted get file msg")
    snap = {"msgtype": "getsnapshotmsg", "colonyname": "$COLONY", "snapshotid": "", "name": "no"}
    go, ours = twin.both("user", snap)
    assert go.status == 500 and ours.status == 404 and go.error[1] == ours.error[1]
    twin.ok("executor", file_msg("f", "/dup"))
    create = {"msgtype": "createsnapshotmsg", "colonyname": "$COLONY", "label": "/dup", "name": "d"}
    twin.ok("user", create)
    go, ours = twin.both("user", create)
    assert go.status == 500 and ours.status == 400 and go.error[1] == ours.error[1]


def test_labels_below_an_empty_label_are_found(twin: Twin) -> None:
    """README, Differences: with ``exact``, Go finds the labels below ``/x`` only if ``/x``
    itself has files, so a snapshot of ``/x`` is empty and the Go CLI's sync of ``/x`` misses
    ``/x/sub``; ours finds them."""
    twin.ok("executor", file_msg("f", "/x/sub"))
    msg = {"msgtype": "getfilelabelsmsg", "colonyname": "$COLONY", "name": "/x", "exact": True}
    go, ours = twin.both("user", msg)
    assert go.payload is None and ours.payload == [{"name": "/x/sub", "files": 1}]
    create = {"msgtype": "createsnapshotmsg", "colonyname": "$COLONY", "label": "/x", "name": "x"}
    go, ours = twin.both("user", create)
    assert go.payload["fileids"] is None and len(ours.payload["fileids"]) == 1
