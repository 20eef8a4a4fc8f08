"""Storage emulators the datastore tests talk to: moto's S3 server and Azurite's blob service, each started
on a free loopback port for the test session and stopped after it. Like services.py: under CI=true a
missing emulator fails the tests that need it; elsewhere they are skipped with a NOTICE.

Azurite is the npm package `azurite`; `./scripts/test` installs it into `.tools/` (set
`TESSERA_TEST_AZURITE` to use another `azurite-blob`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import REPO_ROOT, free_port, stop
from tests.support.services import require_service

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
S3_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class AzuriteServer:
    endpoint_url: str  # http://127.0.0.1:PORT/devstoreaccount1

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.endpoint_url};"
        )


def wait_for_port(port: int, process: subprocess.Popen[str], *, timeout: float = 30.0) -> str | None:
    """None once something listens on 127.0.0.1:port; else why not (the process's output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"it exited with {process.returncode}: {stop(process)[-2000:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return None
        except OSError:
            time.sleep(0.1)
    return f"it did not listen on port {port} within {timeout:.0f}s: {stop(process)[-2000:]}"


def _moto_available() -> str | None:
    try:
        import moto.server  # noqa: F401
    except ImportError as error:
        return f"moto[server] is not installed ({error}); run ./scripts/setup dev"
    return None


def _create_s3_user(endpoint_url: str) -> tuple[str, str]:
    """An IAM user allowed everything on S3, made while moto still accepts unsigned requests."""
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=endpoint_url, region_name=S3_REGION, aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )  # fmt: skip
    iam.create_user(UserName="tessera")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="tessera", PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="tessera")["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def _require_signed_requests(endpoint_url: str) -> None:
    """From now on moto checks every request's signature and the user's policy (as AWS does)."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        f"{endpoint_url}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own loopback server
        response.read()


@contextmanager
def run_s3_server() -> Iterator[S3Server]:
    """moto's server in its own process, with authentication on and one IAM user's keys."""
    require_service("moto S3 server", _moto_available())
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        require_service("moto S3 server", wait_for_port(port, process))
        endpoint_url = f"http://127.0.0.1:{port}"
        access_key_id, secret_access_key = _create_s3_user(endpoint_url)
        _require_signed_requests(endpoint_url)
        yield S3Server(endpoint_url, access_key_id, secret_access_key)
    finally:
        stop(process)


def azurite_command() -> str | None:
    configured = os.environ.get("TESSERA_TEST_AZURITE")
    if configured:
        return configured
    local = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    return str(local) if local.exists() else shutil.which("azurite-blob")


@contextmanager
def run_azurite(location: Path) -> Iterator[AzuriteServer]:
    """Azurite's blob service in its own process, keeping its data under `location`."""
    command = azurite_command()
    if command is None or shutil.which(command) is None:
        require_service(
            "Azurite",
            f"azurite-blob is not installed ({command or 'not on PATH, not in .tools/'}); "
            "./scripts/test installs it into .tools/",
        )
    assert command is not None
    port = free_port()
    process = subprocess.Popen(
        [command, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location),
         "--skipApiVersionCheck", "--loose", "--silent"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        require_service("Azurite", wait_for_port(port, process))
        yield AzuriteServer(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}")
    finally:
        stop(process)
