"""ColonyFS (spec §4.9) through the SDK against a live server: file metadata, labels, revisions,
snapshots, the bytes in a real object store (moto's S3 server, or a local directory), and who
may do what. No colony can read or change another's files or snapshots.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from colonies import crypto
from colonies.client import AsyncClient, Client
from colonies.errors import ServerError
from colonies.fs import FsError, LocalStore
from colonies.model import Colony, Executor, File, Reference, S3Object
from conftest import Identity, LiveServer, add_executor, post
from s3server import S3Server, moto_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    return request.getfixturevalue("s3").store()


@pytest.fixture
def member(live: LiveServer) -> Iterator[Client]:
    key = add_executor(live, "fs-1", "fs")
    with Client(live.url, key.prvkey) as client:
        yield client


def expect_error(status: int, fragment: str, call: Any, *args: Any, **kw: Any) -> None:
    with pytest.raises(ServerError) as info:
        call(*args, **kw)
    assert info.value.status == status, info.value
    assert fragment in info.value.message, info.value


def other_colony(live: LiveServer, name: str = "other") -> Identity:
    """A second colony with an approved executor; returns that executor's key."""
    colony_key = Identity(crypto.generate_private_key())
    executor_key = Identity(crypto.generate_private_key())
    with Client(live.url, live.server.prvkey) as admin:
        admin.add_colony(Colony(colonyid=colony_key.id, name=name))
    with Client(live.url, colony_key.prvkey) as owner:
        owner.add_executor(
            Executor(
                executorid=executor_key.id, executortype="fs", executorname="x", colonyname=name
            )
        )
        owner.approve_executor(name, "x")
    return executor_key


def test_upload_revisions_list_and_download(member: Client, store: Any, tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    source.write_text("first")
    first = member.upload_file("dev", source, "/docs", store=store)
    assert (first.name, first.label, first.size, first.colonyname) == (
        "report.txt",
        "/docs",
        5,
        "dev",
    )
    assert first.checksumalg == "SHA256" and len(first.fileid) == 64 and first.added
    assert first.ref.protocol == store.protocol and store.exists(first.ref.s3object.object)
    source.write_text("second!")
    second = member.upload_file("dev", source, "/docs", store=store)
    assert second.sequencenr > first.sequencenr
    data = member.upload_data("dev", "blob.bin", b"\x00\x01", "/docs", store=store)
    member.upload_data("dev", "deep.txt", b"deep", "/docs/sub", store=store)

    revisions = member.get_file("dev", label="/docs", filename="report.txt", latest=False)
    assert [f.fileid for f in revisions] == [second.fileid, first.fileid]
    assert member.get_file("dev", label="/docs", filename="report.txt") == [second]
    assert member.get_file("dev", fileid=first.fileid) == [first]
    listed = {(d.name, d.size, d.s3filename) for d in member.get_files("dev", "/docs")}
    assert listed == {
        ("report.txt", 7, second.ref.s3object.object),
        ("blob.bin", 2, data.ref.s3object.object),
    }
    labels = [(x.name, x.files) for x in member.get_file_labels("dev")]
    assert labels == [("/docs", 3), ("/docs/sub", 1)]
    assert [x.name for x in member.get_file_labels("dev", "/docs/s")] == ["/docs/sub"]

    out = tmp_path / "out"
    path = member.download_file("dev", out, label="/docs", filename="report.txt", store=store)
    assert path == out / "report.txt" and path.read_text() == "second!"
    old = member.download_file("dev", out / "old", fileid=first.fileid, store=store)
    assert old.read_text() == "first"
    assert member.download_data("dev", label="/docs", filename="blob.bin", store=store) == b"\0\1"


def test_delete_removes_bytes_and_metadata(member: Client, store: Any) -> None:
    a = member.upload_data("dev", "a.txt", b"1", "/d", store=store)
    b = member.upload_data("dev", "a.txt", b"2", "/d", store=store)
    keep = member.upload_data("dev", "k.txt", b"k", "/d", store=store)
    assert member.delete_file("dev", fileid=a.fileid, store=store) == 1
    assert not store.exists(a.ref.s3object.object) and store.exists(b.ref.s3object.object)
    member.upload_data("dev", "a.txt", b"3", "/d", store=store)
    assert member.delete_file("dev", label="/d", filename="a.txt", store=store) == 2
    assert not store.exists(b.ref.s3object.object)
    expect_error(404, "Failed to get file", member.get_file, "dev", label="/d", filename="a.txt")
    assert [d.name for d in member.get_files("dev", "/d")] == ["k.txt"]
    assert store.exists(keep.ref.s3object.object)
    with pytest.raises(FsError, match="not both"):
        member.delete_file("dev", fileid=a.fileid, filename="x", store=store)


def test_metadata_errors_match_go(live: LiveServer, member: Client) -> None:
    expect_error(404, "Failed to get file", member.get_file, "dev", fileid="0" * 64)
    expect_error(404, "Failed to get file", member.get_file, "dev", label="/x", filename="y")
    expect_error(400, "malformatted get file msg", member.get_file, "dev", label="/x")
    member.remove_snapshot("dev", snapshotid="nope")  # removing what is not there: Go's 200
    expect_error(400, "malformatted", member.remove_snapshot, "dev")
    from colonies.client import _requests as r

    expect_error(400, "malformatted remove file msg", member._send, r.remove_file("dev"), None)
    no_file = r.Call({"msgtype": "addfilemsg"}, list)
    expect_error(400, "Failed to add file, msg.File is nil", member._send, no_file, None)
    nameless = File(colonyname="dev", label="/x", name="")
    expect_error(400, "file name is empty", member._send, r.add_file(nameless), None)
    labelless = File(colonyname="dev", label="", name="n")
    expect_error(400, "file label is empty", member._send, r.add_file(labelless), None)
    negative = File(colonyname="dev", label="/x", name="n", size=-1)
    expect_error(400, "invalid size -1", member._send, r.add_file(negative), None)
    not_a_flag = r.Call({"msgtype": "getfilemsg", "colonyname": "dev", "latest": "yes"}, list)
    expect_error(400, "latest must be a boolean", member._send, not_a_flag, None)


def test_snapshots(member: Client, store: Any) -> None:
    a1 = member.upload_data("dev", "a.txt", b"1", "/proj", store=store)
    a2 = member.upload_data("dev", "a.txt", b"2", "/proj", store=store)
    sub = member.upload_data("dev", "b.txt", b"b", "/proj/sub", store=store)
    member.upload_data("dev", "c.txt", b"c", "/project", store=store)  # not below /proj
    snap = member.create_snapshot("dev", "/proj/", "v1")  # the Go CLI sends a trailing /
    assert (snap.label, snap.name, snap.colonyname) == ("/proj", "v1", "dev")
    assert snap.fileids == [a2.fileid, sub.fileid]
    assert a1.fileid not in snap.fileids
    assert member.get_snapshot_by_id("dev", snap.snapshotid) == snap
    assert member.get_snapshot_by_name("dev", "v1") == snap
    expect_error(
        400,
        "Snapshot with name <v1> in Colony <dev> already exists",
        member.create_snapshot,
        "dev",
        "/proj",
        "v1",
    )
    expect_error(400, "snapshot name is empty", member.create_snapshot, "dev", "/proj", "")
    later = member.create_snapshot("dev", "/proj/sub", "v2")
    assert later.fileids == [sub.fileid]
    assert [s.name for s in member.get_snapshots("dev")] == ["v2", "v1"]
    expect_error(
        404,
        "Snapshot not found with name <nope> in Colony <dev> does not exists",
        member.get_snapshot_by_name,
        "dev",
        "nope",
    )
    expect_error(404, "Snapshot not found with Id <x>", member.get_snapshot_by_id, "dev", "x")
    member.remove_snapshot("dev", snapshotid=snap.snapshotid)
    member.remove_snapshot("dev", name="v2")
    assert member.get_snapshots("dev") == []
    member.create_snapshot("dev", "/proj", "v3")
    member.remove_all_snapshots("dev")
    assert member.get_snapshots("dev") == []


def test_snapshot_download_keeps_the_tree(member: Client, store: Any, tmp_path: Path) -> None:
    member.upload_data("dev", "a.txt", b"A", "/tree", store=store)
    member.upload_data("dev", "b.txt", b"B", "/tree/x/y", store=store)
    member.create_snapshot("dev", "/tree", "t")
    out = tmp_path / "snap"
    written = member.download_snapshot("dev", out, name="t", store=store)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["a.txt", "x/y/b.txt"]
    assert (out / "x" / "y" / "b.txt").read_bytes() == b"B"
    assert member.download_snapshot("dev", out, name="t", store=store) == []  # unchanged


def test_sync_both_ways_and_conflicts(member: Client, store: Any, tmp_path: Path) -> None:
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_text("a")
    (up / "sub" / "b.txt").write_text("b")
    (up / "empty.txt").write_text("")
    plans = member.sync("dev", up, "work", store=store)
    assert [(p.label, sorted(f.name for f in p.uploads)) for p in plans] == [
        ("/work", ["a.txt", "empty.txt"]),
        ("/work/sub", ["b.txt"]),
    ]
    assert json.loads((up / ".cfs").read_text()) == {"label": "/work"}
    assert json.loads((up / "sub" / ".cfs").read_text()) == {"label": "/work/sub"}
    assert all(p.empty for p in member.sync("dev", up, "/work", store=store))

    down = tmp_path / "down"
    member.sync("dev", down, "/work/", store=store)
    assert (down / "sub" / "b.txt").read_text() == "b" and (down / "empty.txt").read_text() == ""

    (down / "a.txt").write_text("changed here")
    dry = member.sync("dev", down, "/work", dry=True)
    assert [f.name for p in dry for f in p.conflicts] == ["a.txt"]
    member.sync("dev", down, "/work", store=store)  # keeplocal: a new remote revision
    assert len(member.get_file("dev", label="/work", filename="a.txt", latest=False)) == 2
    member.sync("dev", up, "/work", keeplocal=False, store=store)  # the remote one wins
    assert (up / "a.txt").read_text() == "changed here"


def test_unsafe_names_from_the_server_never_become_paths(
    member: Client, store: Any, tmp_path: Path
) -> None:
    evil = File(
        colonyname="dev",
        label="/evil",
        name="../escape.txt",
        size=1,
        checksum="x",
        ref=Reference("s3", S3Object(object="abc")),
    )
    from colonies.client import _requests as r

    member._send(r.add_file(evil), None)
    with pytest.raises(FsError, match="unsafe file name"):
        member.sync("dev", tmp_path / "d", "/evil", store=store)
    with pytest.raises(FsError, match="unsafe file name"):
        member.download_file(
            "dev", tmp_path / "d", label="/evil", filename="../escape.txt", store=store
        )
    assert not (tmp_path / "escape.txt").exists()
    bad_label = File(
        colonyname="dev", label="/ev/../../x", name="f", ref=Reference("s3", S3Object(object="o"))
    )
    member._send(r.add_file(bad_label), None)
    with pytest.raises(FsError, match="unsafe file name"):
        member.sync("dev", tmp_path / "e", "/ev", store=store)


def test_files_are_for_members_only(live: LiveServer, member: Client, store: Any) -> None:
    f = member.upload_data("dev", "a.txt", b"1", "/p", store=store)
    snap = member.create_snapshot("dev", "/p", "s")
    objects = len(list(store.root.iterdir())) if isinstance(store, LocalStore) else 0
    denied = "Access denied, not a member of Colony with name <dev>"
    with Client(live.url, crypto.generate_private_key()) as stranger:
        calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
            (stranger.get_file, ("dev",), {"fileid": f.fileid}),
            (stranger.get_files, ("dev", "/p"), {}),
            (stranger.get_file_labels, ("dev",), {}),
            (stranger.create_snapshot, ("dev", "/p", "x"), {}),
            (stranger.get_snapshot_by_id, ("dev", snap.snapshotid), {}),
            (stranger.get_snapshots, ("dev",), {}),
            (stranger.remove_snapshot, ("dev",), {"snapshotid": snap.snapshotid}),
            (stranger.remove_all_snapshots, ("dev",), {}),
            (stranger.upload_data, ("dev", "x", b"x", "/p"), {"store": store}),
            (stranger.delete_file, ("dev",), {"fileid": f.fileid, "store": store}),
        ]
        for call, args, kw in calls:
            expect_error(403, denied, call, *args, **kw)
    # the refused upload left no object behind: its bytes were removed again
    if isinstance(store, LocalStore):
        assert len(list(store.root.iterdir())) == objects
    assert [d.name for d in member.get_files("dev", "/p")] == ["a.txt"]
    assert member.get_snapshots("dev") == [snap]
    expect_error(403, "Colony with name <nope> does not exist", member.get_files, "nope", "/p")


def test_no_colony_reaches_another_colonys_files(
    live: LiveServer, member: Client, store: Any
) -> None:
    f = member.upload_data("dev", "secret.txt", b"s", "/p", store=store)
    snap = member.create_snapshot("dev", "/p", "s")
    with Client(live.url, other_colony(live).prvkey) as other:
        denied = "not a member of Colony with name <dev>"
        expect_error(403, denied, other.get_file, "dev", fileid=f.fileid)
        expect_error(403, denied, other.get_files, "dev", "/p")
        expect_error(403, denied, other.remove_all_snapshots, "dev")
        # through its own colony it finds nothing of dev's, and changes nothing
        expect_error(404, "Failed to get file", other.get_file, "other", fileid=f.fileid)
        expect_error(404, "not found", other.get_snapshot_by_id, "other", snap.snapshotid)
        assert other.get_files("other", "/p") == [] and other.get_file_labels("other") == []
        other.remove_snapshot("other", snapshotid=snap.snapshotid)
        from colonies.client import _requests as r

        other._send(r.remove_file("other", fileid=f.fileid), None)
        other.create_snapshot("other", "/p", "mine")
        assert other.get_snapshot_by_name("other", "mine").fileids == []
        forged = File(
            colonyname="dev", label="/p", name="x", ref=Reference("s3", S3Object(object="o"))
        )
        expect_error(403, denied, other._send, r.add_file(forged), None)
    assert member.get_file("dev", fileid=f.fileid) == [f]
    assert member.get_snapshots("dev") == [snap]


def test_removing_a_colony_removes_its_files(live: LiveServer, store: Any) -> None:
    key = other_colony(live, "gone")
    with Client(live.url, key.prvkey) as client:
        client.upload_data("gone", "a.txt", b"1", "/p", store=store)
        client.create_snapshot("gone", "/p", "s")
    with Client(live.url, live.server.prvkey) as admin:
        admin.remove_colony("gone")
    key = other_colony(live, "gone")  # the same name again: nothing of the old colony
    with Client(live.url, key.prvkey) as client:
        assert client.get_file_labels("gone") == [] and client.get_snapshots("gone") == []


def test_raw_requests_with_bad_fields_are_400(live: LiveServer) -> None:
    from colonies import rpc

    key = add_executor(live, "raw", "fs")
    body = rpc.build_request(
        {"msgtype": "getfilemsg", "colonyname": "dev", "fileid": 5}, key.prvkey
    )
    reply = post(live, body)
    failure = json.loads(base64.b64decode(reply.json()["payload"]))
    assert reply.status_code == 400 and "fileid must be a string" in failure["message"]


async def test_the_async_client(live: LiveServer, s3: S3Server, tmp_path: Path) -> None:
    key = add_executor(live, "fs-async", "fs")
    store = s3.store()
    source = tmp_path / "a.txt"
    source.write_text("async")
    async with AsyncClient(live.url, key.prvkey) as client:
        f = await client.upload_file("dev", source, "/async", store=store)
        assert await client.download_data("dev", fileid=f.fileid, store=store) == b"async"
        path = await client.download_file("dev", tmp_path / "o", fileid=f.fileid, store=store)
        assert path.read_text() == "async"
        plans = await client.sync("dev", tmp_path / "synced", "/async", store=store)
        assert [f.name for p in plans for f in p.downloads] == ["a.txt"]
        snap = await client.create_snapshot("dev", "/async", "s")
        assert await client.get_snapshot_by_name("dev", "s") == snap
        assert [x.name for x in await client.get_file_labels("dev")] == ["/async"]
        assert (await client.get_files("dev", "/async"))[0].name == "a.txt"
        assert await client.download_snapshot(
            "dev", tmp_path / "snap", snapshotid=snap.snapshotid, store=store
        )
        assert len(await client.get_snapshots("dev")) == 1
        await client.remove_snapshot("dev", name="s")
        await client.remove_all_snapshots("dev")
        assert await client.delete_file("dev", label="/async", filename="a.txt", store=store) == 1
        assert await client.get_file_labels("dev") == []
        assert await client.upload_data("dev", "d", b"d", "/async", store=store)
        assert (await client.get_file("dev", label="/async", filename="d"))[0].size == 1


def test_store_from_the_environment(
    member: Client, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = s3.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COLONIES_FS_DIR", raising=False)
    f = member.upload_data("dev", "env.txt", b"env", "/env")
    assert f.ref.protocol == "s3" and f.ref.s3object.bucket == env["AWS_S3_BUCKET"]
    assert member.download_data("dev", fileid=f.fileid) == b"env"
    monkeypatch.setenv("COLONIES_FS_DIR", str(tmp_path / "fs"))
    g = member.upload_data("dev", "local.txt", b"local", "/env")
    assert g.ref.protocol == "local" and (tmp_path / "fs" / g.ref.s3object.object).is_file()
