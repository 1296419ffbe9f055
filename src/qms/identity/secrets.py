"""The secrets store: password hashes, failed-attempt counters, lock times and session hashes.

Kept OUTSIDE archive/ (the archive is copied, backed up and shown to auditors; hashes must not
travel with it) in `<workspace>/.qms/secrets.sqlite`: folder 0700, file 0600. Nothing here is
truth about the quality system — losing it means resetting passwords, not losing records.
"""

from __future__ import annotations

import os
import secrets as _random
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from ..workspace import Workspace

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS passwords(
  login TEXT PRIMARY KEY, hash TEXT NOT NULL, changed_at REAL NOT NULL, must_change INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS failures(
  login TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, locked_until REAL);
CREATE TABLE IF NOT EXISTS throttle(
  key TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, first_at REAL NOT NULL, locked_until REAL);
CREATE TABLE IF NOT EXISTS sessions(
  token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, created_at REAL NOT NULL, last_seen REAL NOT NULL,
  expires_at REAL NOT NULL);
"""


def private_dir(ws: Workspace) -> Path:
    """`<workspace>/.qms`, created 0700: secrets and the organisation's keys."""
    path = ws.root / ".qms"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def secrets_path(ws: Workspace) -> Path:
    return ws.root / ".qms" / "secrets.sqlite"


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite opens it, so it is never readable by others."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


@contextmanager
def open_secrets(ws: Workspace):
    """The store as one transaction (BEGIN IMMEDIATE … COMMIT)."""
    path = secrets_path(ws)
    if not path.exists():
        private_dir(ws)
        _create_private(path)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    # the rollback journal (not WAL) keeps it one file, and its -journal file inherits 0600 via umask below
    old = os.umask(0o077)
    try:
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        os.umask(old)
        conn.close()


def workspace_id(ws: Workspace) -> str:
    """A random id naming this workspace in the user's config folder (sessions/<id>)."""
    with open_secrets(ws) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key='workspace_id'").fetchone()
        if row:
            return row["value"]
        value = _random.token_hex(8)
        conn.execute("INSERT INTO meta(key, value) VALUES('workspace_id', ?)", (value,))
        return value
