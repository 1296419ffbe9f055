"""The secrets store copied row for row: password hashes, failure counters, throttles, sessions and
the workspace id (a person's saved session names it, so it goes on working on the target). Each
row's MAC is copied as it is, never re-sealed: the MAC key is named after the journal's first
line, the same on both sides, and a row someone edited must stay detectably edited."""

from __future__ import annotations

import os
import sqlite3

from ..identity import secrets
from ..store import pg_secrets
from ..store.workspace import Workspace

TABLES = ("meta", "passwords", "failures", "throttle", "sessions")


def read_rows(ws: Workspace) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in TABLES}
    with secrets.read_secrets(ws) as conn:
        if conn is None:
            return out
        for table in TABLES:
            try:
                rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            except sqlite3.Error:      # a table an older store never made
                continue
            out[table] = [{k: r[k] for k in r.keys()} for r in rows]
    return out


def write_rows(ws: Workspace, rows: dict[str, list[dict]]) -> int:
    """Replace the target's rows with these in one transaction (so a rerun after a crash is the
    same copy); returns the rows written."""
    url = ws.config.storage.get("database")
    if url:
        with pg_secrets.writing(url, secrets.SCHEMA) as (conn, _made):
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")
            return _insert(conn, rows, "%s", raw=True)
    path = secrets.secrets_path(ws)
    secrets.private_dir(ws)
    tmp = path.with_name(path.name + ".migrating")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.close(fd)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        # the tables only: qms adds its sealing triggers on first open, and the key is there, so
        # nothing is re-sealed — each row keeps the MAC it came with
        conn.executescript(secrets.SCHEMA)
        conn.execute("BEGIN")
        n = _insert(conn, rows, "?", raw=False)
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.replace(tmp, path)
    return n


def _insert(conn, rows, mark: str, *, raw: bool) -> int:
    n = 0
    for table in TABLES:
        for row in rows[table]:
            cols = list(row)
            sql = f"INSERT INTO {table}({', '.join(cols)}) VALUES({', '.join([mark] * len(cols))})"
            (conn.raw if raw else conn).execute(sql, [row[c] for c in cols])
            n += 1
    return n
