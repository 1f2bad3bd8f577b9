"""ColonyFS object stores: the local-directory backend and S3 (moto's real S3 server), one
contract for both, and how the environment chooses between them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from colonies.fs import LocalStore, S3Store, StorageError, from_env
from colonies.fs.storage import check_object_name
from s3server import ACCESS_KEY, SECRET_KEY, S3Server, moto_server, new_bucket


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    return request.getfixturevalue("s3").store()


def test_put_get_read_exists_delete(store: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"x" * 3_000_000)  # several chunks
    moved: list[int] = []
    store.put("obj1", source, moved.append)
    assert sum(moved) == 3_000_000
    assert store.exists("obj1") and not store.exists("obj2")
    dest = tmp_path / "out" / "copy.bin"
    got: list[int] = []
    store.get("obj1", dest, got.append)
    assert dest.read_bytes() == source.read_bytes() and sum(got) == 3_000_000
    assert not list(dest.parent.glob("*.part"))  # written through a temporary file
    store.put("obj2", b"bytes")
    assert store.read("obj2") == b"bytes"
    store.put("obj2", b"replaced")
    assert store.read("obj2") == b"replaced"
    store.delete("obj1")
    store.delete("obj1")  # deleting a missing object is fine
    assert not store.exists("obj1")


def test_missing_objects_are_clear_errors(store: Any, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="object nothing not found"):
        store.read("nothing")
    dest = tmp_path / "keep.txt"
    dest.write_text("old")
    with pytest.raises(StorageError, match="object nothing not found"):
        store.get("nothing", dest)
    assert dest.read_text() == "old"  # a failed download leaves the file as it was


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "a\\b", "x" * 300, "a..b"])
def test_object_names_are_never_paths(store: Any, name: str) -> None:
    with pytest.raises(StorageError, match="invalid object name"):
        store.put(name, b"x")
    with pytest.raises(StorageError):
        check_object_name(name)


def test_references_say_where_the_bytes_are(s3: S3Server, tmp_path: Path) -> None:
    ref = s3.store("refs-bucket").reference("abc")
    assert ref.protocol == "s3"
    o = ref.s3object
    assert (o.server, o.port, o.tls, o.bucket, o.object) == (
        "127.0.0.1",
        s3.port,
        False,
        "refs-bucket",
        "abc",
    )
    assert o.accesskey == o.secretkey == ""  # keys never go to the server
    local = LocalStore(tmp_path).reference("abc")
    assert local.protocol == "local" and local.s3object.object == "abc"


def test_s3_creates_its_bucket_like_go(s3: S3Server) -> None:
    bucket = new_bucket()
    S3Store(s3.endpoint, bucket, accesskey=ACCESS_KEY, secretkey=SECRET_KEY).put("o", b"1")
    again = S3Store(f"http://{s3.endpoint}", bucket, accesskey=ACCESS_KEY, secretkey=SECRET_KEY)
    assert again.read("o") == b"1"  # an existing bucket is reused; a scheme is accepted


def test_unreachable_s3_is_one_clear_error() -> None:
    with pytest.raises(StorageError, match="cannot reach the S3 server"):
        S3Store("127.0.0.1:1", "b", accesskey="a", secretkey="b")


def test_environment_chooses_the_store(s3: S3Server, tmp_path: Path) -> None:
    local = from_env({"COLONIES_FS_DIR": str(tmp_path / "fs"), **s3.env()})
    assert isinstance(local, LocalStore) and local.root == tmp_path / "fs"  # the local dir wins
    assert (tmp_path / "fs").is_dir()
    remote = from_env(s3.env("env-bucket"))
    assert isinstance(remote, S3Store) and remote.bucket == "env-bucket"
    with pytest.raises(StorageError, match="no file storage configured"):
        from_env({})
    with pytest.raises(StorageError, match="no S3 bucket"):
        from_env({**s3.env(), "AWS_S3_BUCKET": ""})


def test_tls_flag_and_default_ports() -> None:
    with pytest.raises(StorageError, match="no S3 endpoint"):
        S3Store("", "b")
    store = S3Store("minio.example", "b", tls=True, create_bucket=False)
    assert (store.host, store.port, store.tls) == ("minio.example", 443, True)
    assert store.describe() == "S3 bucket b at https://minio.example"
