"""An S3 API for the test session (issue 26): moto's server in its own process, or a real
endpoint named by the environment (`make test-ceph`: QMS_TEST_S3_ENDPOINT and its AWS_* keys).

moto runs as a subprocess (`moto_server`), not in a thread: a test that moves this process's clock
(time_machine) must not move the server's — the server's clock is the one a lock is judged by.
moto proves the API is used right, not WORM behaviour (FIELD-NOTES "Several machines").
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MOTO = Path(sys.executable).with_name("moto_server")
TEST_KEYS = {"AWS_ACCESS_KEY_ID": "qms-test", "AWS_SECRET_ACCESS_KEY": "qms-test-secret",
             "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    endpoint: str
    kind: str                      # "moto" or "real"
    proc: subprocess.Popen | None = None

    def bucket_url(self) -> str:
        """A fresh bucket (qms creates it with Object Lock on first use) and a prefix."""
        return f"s3://qms-test-{uuid.uuid4().hex[:12]}/site-a"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> S3Server:
    real = os.environ.get("QMS_TEST_S3_ENDPOINT")
    if real:
        return S3Server(real, "real")
    for key, value in TEST_KEYS.items():
        os.environ[key] = value
    port = _free_port()
    proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return S3Server(endpoint, "moto", proc)
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}")
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("moto_server did not answer in 10 s")
