"""A real PostgreSQL 15 for the test session (issue 26): initdb + pg_ctl into a temporary folder.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
(`runuser -u postgres -- initdb …`); otherwise it runs as the current user. It listens on
127.0.0.1 on a free port and on a unix socket inside its folder, trusts local connections (a
test cluster only), and is stopped when the session ends. Each test asks for a fresh database.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgCluster:
    folder: Path
    port: int
    user: str

    def dsn(self, database: str = "postgres") -> str:
        """A URL qms accepts in config.yaml's storage.database (no password: trust auth)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "qms") -> str:
        """A new empty database; returns its URL."""
        import psycopg    # lazy: only the tests that use PostgreSQL load the driver
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                                  "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def available() -> bool:
    return (PG_BIN / "initdb").exists()


def start_cluster() -> PgCluster:
    if not available():
        raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb); make test installs it")
    folder = Path(tempfile.mkdtemp(prefix="qms-pg-"))
    user = "postgres" if os.geteuid() == 0 else (os.environ.get("USER") or "postgres")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    os.chmod(folder, 0o700)
    data = folder / "data"
    init = subprocess.run(_as_owner([str(PG_BIN / "initdb"), "-D", str(data), "-U", user, "-A", "trust",
                                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                          capture_output=True, text=True, timeout=120)
    if init.returncode:
        raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
    port = _free_port()
    # fsync off: a test cluster is thrown away; durability is PostgreSQL's job, tested by PostgreSQL
    opts = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB")
    run = subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                                    str(folder / "server.log"), "-w", "-t", "60", "start"]),
                         capture_output=True, text=True, timeout=90)
    if run.returncode:
        log = (folder / "server.log").read_text(errors="replace") if (folder / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {run.stderr.strip()} {log[-500:]}")
    return PgCluster(folder=folder, port=port, user=user)
