"""Where ColonyFS keeps file bytes: one interface, an S3-compatible store and a local directory.

The ColonyOS server keeps metadata only (spec §4.9); clients put and get the bytes themselves,
by object name, and record where in the file's ``ref``. Like the Go CLI, a client decides from
its environment which store to use (``from_env``):

- ``COLONIES_FS_DIR``: a local directory (what ``colonies dev`` sets; no S3 server needed).
- ``AWS_S3_ENDPOINT`` (``host:port``), ``AWS_S3_ACCESSKEY``, ``AWS_S3_SECRETKEY``,
  ``AWS_S3_REGION``, ``AWS_S3_BUCKET``, ``AWS_S3_TLS`` (``true``: HTTPS) and
  ``AWS_S3_SKIPVERIFY`` (``true``: do not check the TLS certificate): an S3-compatible server
  (MinIO, AWS S3, ...), through boto3, imported only when such a store is made. As in Go, the
  bucket is created if it does not exist.

Objects written here are the ones Go's CLI and pycolonies read: the object name is the
``ref.s3object.object`` of the file, in the bucket ``ref.s3object.bucket``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from colonies.errors import ColoniesError
from colonies.model import Reference, S3Object

# Called with the number of bytes moved since the last call.
ProgressFn = Callable[[int], None]

LOCAL_DIR_ENV = "COLONIES_FS_DIR"
S3_ENDPOINT_ENV = "AWS_S3_ENDPOINT"
CHUNK = 1 << 20
_OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


class StorageError(ColoniesError):
    """The object store refused or failed (or is not configured); the message says which."""


def check_object_name(name: str) -> str:
    """Object names are plain names (the clients make hex IDs): never a path."""
    if not _OBJECT_NAME.fullmatch(name) or ".." in name:
        raise StorageError(f"invalid object name {name!r}")
    return name


class ObjectStore(Protocol):
    """Bytes by object name. Methods block (clients run them in a thread when async)."""

    def describe(self) -> str:
        """Where the objects are, for messages."""

    def reference(self, name: str) -> Reference:
        """The ``ref`` a file stored under ``name`` records."""

    def put(self, name: str, source: Path | bytes, progress: ProgressFn | None = None) -> None:
        """Store the file at ``source`` (or the bytes) as ``name``, replacing any."""

    def get(self, name: str, dest: Path, progress: ProgressFn | None = None) -> None:
        """Write object ``name`` to the file ``dest`` (replaced only once complete)."""

    def read(self, name: str) -> bytes: ...

    def delete(self, name: str) -> None:
        """Remove ``name``; removing a missing object is not an error."""

    def exists(self, name: str) -> bool: ...


def _write_atomically(
    dest: Path, chunks: Callable[[Callable[[bytes], None]], None], progress: ProgressFn | None
) -> None:
    """Write ``dest`` through a temporary file beside it, renamed into place once complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:

            def write(chunk: bytes) -> None:
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))

            chunks(write)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LocalStore:
    """Objects as files in one directory (``COLONIES_FS_DIR``): for a laptop and for tests.

    Files record ``ref.protocol`` ``"local"`` with the object name; the directory is the
    client's own setting, like an S3 client's endpoint and keys.
    """

    protocol = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / check_object_name(name)

    def describe(self) -> str:
        return f"local directory {self.root}"

    def reference(self, name: str) -> Reference:
        return Reference(protocol=self.protocol, s3object=S3Object(object=name))

    def put(self, name: str, source: Path | bytes, progress: ProgressFn | None = None) -> None:
        dest = self._path(name)

        def chunks(write: Callable[[bytes], None]) -> None:
            if isinstance(source, bytes):
                write(source)
                return
            with open(source, "rb") as f:
                while chunk := f.read(CHUNK):
                    write(chunk)

        _write_atomically(dest, chunks, progress)

    def get(self, name: str, dest: Path, progress: ProgressFn | None = None) -> None:
        path = self._path(name)
        if not path.is_file():
            raise StorageError(f"object {name} not found in {self.describe()}")

        def chunks(write: Callable[[bytes], None]) -> None:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    write(chunk)

        _write_atomically(dest, chunks, progress)

    def read(self, name: str) -> bytes:
        path = self._path(name)
        if not path.is_file():
            raise StorageError(f"object {name} not found in {self.describe()}")
        return path.read_bytes()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


class S3Store:
    """Objects in a bucket of an S3-compatible server, through boto3 (imported here only).

    ``endpoint`` is ``host:port`` as in ``AWS_S3_ENDPOINT`` (a leading ``http://`` or
    ``https://`` is accepted and decides TLS). Files record ``ref.protocol`` ``"s3"`` with the
    server, port, TLS, region, bucket and object name, never the keys: a reader uses its own.
    """

    protocol = "s3"

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        accesskey: str = "",
        secretkey: str = "",
        region: str = "",
        tls: bool = False,
        skipverify: bool = False,
        create_bucket: bool = True,
    ) -> None:
        if endpoint.startswith(("http://", "https://")):
            scheme, _, endpoint = endpoint.partition("://")
            tls = scheme == "https"
        endpoint = endpoint.rstrip("/")
        if not endpoint:
            raise StorageError(f"no S3 endpoint: set {S3_ENDPOINT_ENV} (host:port)")
        if not bucket:
            raise StorageError("no S3 bucket: set AWS_S3_BUCKET")
        host, sep, port = endpoint.rpartition(":")
        if sep and port.isdigit():
            self.host, self.port = host, int(port)
        else:
            self.host, self.port = endpoint, 443 if tls else 80
        self.endpoint, self.bucket, self.region, self.tls = endpoint, bucket, region, tls
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise StorageError(
                "S3 storage needs boto3: pip install 'colonies[fs]' "
                f"(or set {LOCAL_DIR_ENV} to use a local directory)"
            ) from None
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=f"{'https' if tls else 'http'}://{endpoint}",
            aws_access_key_id=accesskey or None,
            aws_secret_access_key=secretkey or None,
            region_name=region or "us-east-1",
            verify=not skipverify,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )
        if create_bucket:
            self._ensure_bucket()

    def _error(self, e: Exception, what: str) -> StorageError:
        return StorageError(f"{what} on {self.describe()}: {e}")

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise self._error(e, f"cannot use bucket {self.bucket}") from None
        except BotoCoreError as e:
            raise self._error(e, "cannot reach the S3 server") from None
        try:
            if self.region and self.region != "us-east-1":
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self.region},
                )
            else:
                self._client.create_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, f"cannot create bucket {self.bucket}") from None

    def describe(self) -> str:
        return f"S3 bucket {self.bucket} at {'https' if self.tls else 'http'}://{self.endpoint}"

    def reference(self, name: str) -> Reference:
        return Reference(
            protocol=self.protocol,
            s3object=S3Object(
                server=self.host,
                port=self.port,
                tls=self.tls,
                region=self.region,
                object=name,
                bucket=self.bucket,
            ),
        )

    def put(self, name: str, source: Path | bytes, progress: ProgressFn | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        check_object_name(name)
        try:
            if isinstance(source, bytes):
                self._client.put_object(Bucket=self.bucket, Key=name, Body=source)
                if progress is not None:
                    progress(len(source))
            else:
                self._client.upload_file(str(source), self.bucket, name, Callback=progress)
        except (ClientError, BotoCoreError, OSError) as e:
            raise self._error(e, f"cannot store object {name}") from None

    def _missing(self, e: Exception) -> bool:
        from botocore.exceptions import ClientError

        code = e.response.get("Error", {}).get("Code") if isinstance(e, ClientError) else None
        return code in ("404", "NoSuchKey")

    def get(self, name: str, dest: Path, progress: ProgressFn | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        check_object_name(name)

        def chunks(write: Callable[[bytes], None]) -> None:
            reply = self._client.get_object(Bucket=self.bucket, Key=name)
            for chunk in reply["Body"].iter_chunks(CHUNK):
                write(chunk)

        try:
            _write_atomically(dest, chunks, progress)
        except (ClientError, BotoCoreError) as e:
            if self._missing(e):
                raise StorageError(f"object {name} not found in {self.describe()}") from None
            raise self._error(e, f"cannot read object {name}") from None

    def read(self, name: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        check_object_name(name)
        try:
            data: bytes = self._client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except (ClientError, BotoCoreError) as e:
            if self._missing(e):
                raise StorageError(f"object {name} not found in {self.describe()}") from None
            raise self._error(e, f"cannot read object {name}") from None
        return data

    def delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        check_object_name(name)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=name)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, f"cannot remove object {name}") from None

    def exists(self, name: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        check_object_name(name)
        try:
            self._client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as e:
            if self._missing(e):
                return False
            raise self._error(e, f"cannot look up object {name}") from None
        except BotoCoreError as e:
            raise self._error(e, f"cannot look up object {name}") from None
        return True


def from_env(environ: Mapping[str, str] | None = None) -> ObjectStore:
    """The store the environment names: ``COLONIES_FS_DIR`` if set, else S3 from the
    ``AWS_S3_*`` variables (``StorageError`` if neither is set)."""
    env = os.environ if environ is None else environ
    if directory := env.get(LOCAL_DIR_ENV):
        return LocalStore(directory)
    if endpoint := env.get(S3_ENDPOINT_ENV):
        return S3Store(
            endpoint,
            env.get("AWS_S3_BUCKET", ""),
            accesskey=env.get("AWS_S3_ACCESSKEY", ""),
            secretkey=env.get("AWS_S3_SECRETKEY", ""),
            region=env.get("AWS_S3_REGION", ""),
            tls=_flag(env.get("AWS_S3_TLS")),
            skipverify=_flag(env.get("AWS_S3_SKIPVERIFY")),
        )
    raise StorageError(
        f"no file storage configured: set {S3_ENDPOINT_ENV} (and AWS_S3_BUCKET, "
        f"AWS_S3_ACCESSKEY, AWS_S3_SECRETKEY) for S3, or {LOCAL_DIR_ENV} for a local directory"
    )
