"""``colonies server start`` with TLS (a certificate made here) and JSON access logs, as a real
process: clients reach it over HTTPS and WSS with ``COLONIES_TLS=true`` and ``COLONIES_CA_FILE``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from colonies import crypto
from colonies.cli import app
from colonies.client import Client
from colonies.errors import TransportError
from colonies.model import Colony, Conditions, Executor, FunctionSpec
from conftest import free_port

HOST = "127.0.0.1"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "colonies test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class TLSServer:
    url: str
    port: int
    cert: Path
    server_key: str
    log: Path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TLSServer]:
    cert, key = self_signed(tmp_path)
    server_key, port = crypto.generate_private_key(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(COLONIES_TLSCERT=str(cert), COLONIES_TLSKEY=str(key))  # the Go server's names
    argv = [sys.executable, "-m", "colonies.cli", "server", "start", "--host", HOST]
    argv += ["--port", str(port), "--data-dir", str(tmp_path / "data")]
    argv += ["--serverid", crypto.id_from_private_key(server_key)]
    argv += ["--log-level", "info", "--log-format", "json"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"https://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        trusted = ssl.create_default_context(cafile=str(cert))
        while True:
            try:
                httpx.get(url + "/health", verify=trusted, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the TLS server did not start"
                time.sleep(0.1)
        yield TLSServer(url, port, cert, server_key, log)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(autouse=True)
def trust(tls_server: TLSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLONIES_CA_FILE", str(tls_server.cert))


def test_sdk_over_https_and_wss(tls_server: TLSServer) -> None:
    colony_key, worker_key = crypto.generate_private_key(), crypto.generate_private_key()
    with Client(tls_server.url, tls_server.server_key) as client:
        client.add_colony(Colony(colonyid=crypto.id_from_private_key(colony_key), name="secure"))
        worker = Executor(
            executorid=crypto.id_from_private_key(worker_key),
            executortype="py",
            executorname="w",
            colonyname="secure",
        )
        client.add_executor(worker, prvkey=colony_key)
        client.approve_executor("secure", "w", prvkey=colony_key)
        spec = FunctionSpec(
            funcname="add", conditions=Conditions(colonyname="secure", executortype="py")
        )
        submitted = client.submit(spec, prvkey=worker_key)
        process = client.assign("secure", timeout=5, prvkey=worker_key)
        client.close(process.processid, [3], prvkey=worker_key)
        done = client.wait(submitted.processid, timeout=10, prvkey=worker_key)  # over wss://
    assert done.output == [3]


def test_cli_with_colonies_tls_true(tls_server: TLSServer) -> None:
    env = {
        "COLONIES_SERVER_HOST": HOST,
        "COLONIES_SERVER_PORT": str(tls_server.port),
        "COLONIES_TLS": "true",
        "COLONIES_SERVER_PRVKEY": tls_server.server_key,
    }
    result = CliRunner().invoke(app, ["server", "stats", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["colonies"] == 0


def test_an_untrusted_certificate_is_a_clear_error(
    tls_server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLONIES_CA_FILE")
    with (
        pytest.raises(TransportError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"),
        Client(tls_server.url, tls_server.server_key) as client,
    ):
        client.statistics()


def test_one_json_line_per_request(tls_server: TLSServer) -> None:
    with Client(tls_server.url, tls_server.server_key) as client:
        client.statistics()
    signer = crypto.id_from_private_key(tls_server.server_key)
    deadline = time.monotonic() + 5
    while True:
        lines = [json.loads(line) for line in tls_server.log.read_text().splitlines() if line]
        access = [line for line in lines if line["logger"] == "colonies.access"]
        if any(line["msgtype"] == "getstatisticsmsg" for line in access):
            break
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
    line = next(line for line in access if line["msgtype"] == "getstatisticsmsg")
    assert line["signer"] == signer and line["status"] == 200
    assert line["level"] == "info" and line["duration_ms"] >= 0
    assert all(isinstance(json.loads(json.dumps(entry)), dict) for entry in lines)


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    result = CliRunner().invoke(
        app, ["server", "start", "--tls-cert", str(cert), "--serverid", "0" * 64]
    )
    assert result.exit_code != 0
    assert "needs both a certificate" in result.output
