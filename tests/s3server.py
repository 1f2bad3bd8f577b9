"""A real S3-compatible server for the ColonyFS tests: moto's server mode on a loopback port.

Not a mock of boto3: the clients (ours, pycolonies', the Go CLI's minio client) talk HTTP to it
like to MinIO. One server per test module; each test uses a bucket of its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from conftest import free_port

ACCESS_KEY, SECRET_KEY = "colonies-test", "colonies-test-secret"


@dataclass
class S3Server:
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def env(self, bucket: str | None = None) -> dict[str, str]:
        """The ``AWS_S3_*`` variables of the Go CLI and pycolonies for this server."""
        return {
            "AWS_S3_ENDPOINT": self.endpoint,
            "AWS_S3_ACCESSKEY": ACCESS_KEY,
            "AWS_S3_SECRETKEY": SECRET_KEY,
            "AWS_S3_REGION": "",
            "AWS_S3_BUCKET": bucket or new_bucket(),
            "AWS_S3_TLS": "false",
            "AWS_S3_SKIPVERIFY": "false",
        }

    def store(self, bucket: str | None = None):  # type: ignore[no-untyped-def]
        from colonies.fs import S3Store

        return S3Store(
            self.endpoint, bucket or new_bucket(), accesskey=ACCESS_KEY, secretkey=SECRET_KEY
        )


def new_bucket() -> str:
    return "test-" + uuid.uuid4().hex[:16]


@contextmanager
def moto_server() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server("127.0.0.1", port)
    finally:
        server.stop()
