"""The journal in PostgreSQL (issue 26, storage.database): the same JSON lines and hash chain as
audit.log, one row per line, and the workspace's write lock as an advisory lock.

A row keeps the line's bytes (as text, without its newline) and the offset just past it in the
log as a file would hold it, so everything that reads the journal (recovery's offsets, verify's
scan, the signed checkpoints) reads the same bytes in the same order. audit.py builds the lines;
this module only stores them: a batch goes in one transaction under pg_advisory_xact_lock, so two
servers appending at once make one chain, and a batch is in whole or not at all (no torn tail).
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import Busy
from . import pg_catalog

SCHEMA_NAME = "qms_journal"
_DDL = (f"CREATE SCHEMA IF NOT EXISTS {SCHEMA_NAME}",
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_NAME}.entries(seq BIGINT PRIMARY KEY, line_end BIGINT NOT NULL, "
        'line TEXT COLLATE "C" NOT NULL)')
_APPEND_LOCK = "hashtext('qms.journal.append')"
_WORKSPACE_LOCK = "hashtext('qms.workspace.write')"


@dataclass(frozen=True)
class PgLog:
    """Where the journal is when the workspace names a database: audit.py's functions take it in
    place of audit.log's path. `path` is the nominal file, for messages."""
    url: str
    path: Path

    def __str__(self) -> str:
        return f"{pg_catalog.safe_url(self.url)} ({SCHEMA_NAME}.entries)"

    @property
    def name(self) -> str:
        return "audit.log"

    @property
    def parent(self) -> Path:
        return self.path.parent

    @contextmanager
    def _conn(self):
        yield pg_catalog.utility(self.url)

    def exists(self) -> bool:
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.entries",)).fetchone()[0] is None:
                return False
            return conn.execute(f"SELECT 1 FROM {SCHEMA_NAME}.entries LIMIT 1").fetchone() is not None

    def read_bytes(self) -> bytes:
        """The log as audit.log would hold it."""
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.entries",)).fetchone()[0] is None:
                return b""
            cur = conn.execute(f"SELECT line FROM {SCHEMA_NAME}.entries ORDER BY seq")
            return b"".join(row[0].encode("utf-8") + b"\n" for row in cur)

    def open_read(self) -> io.BytesIO:
        return io.BytesIO(self.read_bytes())

    def last_line(self) -> bytes:
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.entries",)).fetchone()[0] is None:
                return b""
            row = conn.execute(f"SELECT line FROM {SCHEMA_NAME}.entries ORDER BY seq DESC LIMIT 1").fetchone()
            return row[0].encode("utf-8") if row else b""

    def first_line(self) -> bytes:
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.entries",)).fetchone()[0] is None:
                return b""
            row = conn.execute(f"SELECT line FROM {SCHEMA_NAME}.entries ORDER BY seq LIMIT 1").fetchone()
            return row[0].encode("utf-8") + b"\n" if row else b""

    def count(self) -> int:
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.entries",)).fetchone()[0] is None:
                return 0
            return conn.execute(f"SELECT count(*) FROM {SCHEMA_NAME}.entries").fetchone()[0]

    def lines_after(self, seq: int, *, batch: int = 2000):
        """(seq, parsed line) for every line above `seq`, oldest first, read a batch at a time — for
        a server bringing its folder up to date (object_sync.catch_up), not for checking the chain."""
        with self._conn() as conn:
            if conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA_NAME}.entries",)).fetchone()[0] is None:
                return
            while True:
                rows = conn.execute(f"SELECT seq, line FROM {SCHEMA_NAME}.entries WHERE seq > %s ORDER BY seq "
                                    "LIMIT %s", (seq, batch)).fetchall()
                for n, line in rows:
                    yield n, json.loads(line)
                if len(rows) < batch:
                    return
                seq = rows[-1][0]

    def append(self, build) -> list:
        """One batch: `build(last_line, end)` → (lines, result) is called under the append lock
        with the log's last line and length; its lines are inserted in the same transaction."""
        with self._conn() as conn:
            with conn.transaction():
                for stmt in _DDL:
                    conn.execute(stmt)
                conn.execute(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                row = conn.execute(f"SELECT line, line_end FROM {SCHEMA_NAME}.entries ORDER BY seq DESC "
                                   "LIMIT 1").fetchone()
                last, end = (row[0].encode("utf-8"), row[1]) if row else (b"", 0)
                lines, result = build(last, end)
                rows, pos = [], end
                for raw in lines:
                    pos += len(raw)
                    text = raw.rstrip(b"\n").decode("utf-8")
                    rows.append((_seq_of(text), pos, text))
                with conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {SCHEMA_NAME}.entries(seq, line_end, line) VALUES(%s, %s, %s)",
                                    rows)
        return result

    def truncate(self, cut: int) -> bytes:
        """Remove the lines from byte offset `cut` on (a batch never committed); returns them."""
        with self._conn() as conn:
            with conn.transaction():
                conn.execute(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                gone = conn.execute(f"SELECT line FROM {SCHEMA_NAME}.entries WHERE line_end > %s ORDER BY seq",
                                    (cut,)).fetchall()
                conn.execute(f"DELETE FROM {SCHEMA_NAME}.entries WHERE line_end > %s", (cut,))
        return b"".join(r[0].encode("utf-8") + b"\n" for r in gone)


def _seq_of(line: str) -> int:
    return int(json.loads(line)["seq"])


@contextmanager
def write_lock(url: str, *, purpose: str = "", wait: bool = True):
    """One writer at a time across every server of the workspace: a session advisory lock on its
    own connection, held for the whole write (PostgreSQL frees it if the process dies)."""
    conn = pg_catalog.connect(url, schema=None).raw
    try:
        if not conn.execute(f"SELECT pg_try_advisory_lock({_WORKSPACE_LOCK})").fetchone()[0]:
            if not wait:
                raise Busy("the workspace is busy: another qms command (on this or another server) is writing; "
                           "try again")
            print("qms: waiting for another qms command (on this or another server) to finish …", file=sys.stderr)
            conn.execute(f"SELECT pg_advisory_lock({_WORKSPACE_LOCK})")
        try:
            yield
        finally:
            conn.execute(f"SELECT pg_advisory_unlock({_WORKSPACE_LOCK})")
    finally:
        conn.close()


@contextmanager
def claim(url: str, key: str):
    """Yields True when this process holds `key` (one piece of work: a job) until the block ends,
    False when another process — on this or another server — holds it now. A session advisory lock
    on its own connection (freed if the process dies), in the two-key space, apart from the write
    lock's: it is the `SKIP LOCKED` of a row, without locking the row — the jobs table is a
    projection that the holder's own commit (job.done) updates while the claim is still held."""
    conn = pg_catalog.connect(url, schema=None).raw
    try:
        held = conn.execute("SELECT pg_try_advisory_lock(hashtext('qms.claim'), hashtext(%s))", (key,)).fetchone()[0]
        try:
            yield bool(held)
        finally:
            if held:
                conn.execute("SELECT pg_advisory_unlock(hashtext('qms.claim'), hashtext(%s))", (key,))
    finally:
        conn.close()
