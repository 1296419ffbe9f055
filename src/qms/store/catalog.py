"""The catalog: a projection of the journal (status, dates, sequences, holds) — a SQLite file, or
with storage.database the same tables in PostgreSQL (pg_catalog.py); `open_for` is where the
workspace's configuration chooses, and every service reads through `reading(ws)`.

Only qms.store.projection writes its tables; everything else reads.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
import weakref
from contextlib import contextmanager
from pathlib import Path
from ..base.errors import QmsError
from .catalog_base import CatalogBase
from . import pg_catalog
from .archive import fsync_path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS documents(
  number TEXT PRIMARY KEY, title TEXT, kind TEXT, department TEXT,
  obsolete_on TEXT, obsolete_reason TEXT, obsolete_by TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS revisions(
  id INTEGER PRIMARY KEY, number TEXT NOT NULL, revision TEXT NOT NULL, seq INTEGER NOT NULL,
  title TEXT, state TEXT NOT NULL, source TEXT, folder TEXT, docx TEXT, pdf TEXT, obsolete_pdf TEXT,
  change TEXT, submitted_at TEXT, submitted_by TEXT,
  issued TEXT, effective TEXT, released_at TEXT, released_by TEXT,
  UNIQUE(number, revision));
CREATE TABLE IF NOT EXISTS approvals(
  id INTEGER PRIMARY KEY, revision_id INTEGER NOT NULL, role TEXT NOT NULL, role_label TEXT,
  name TEXT NOT NULL, meaning TEXT, signed_at TEXT, signed_on TEXT,
  login TEXT, source_sha256 TEXT, docx_sha256 TEXT, void_at TEXT, void_reason TEXT, void_by TEXT);
CREATE INDEX IF NOT EXISTS approvals_revision ON approvals(revision_id);
CREATE TABLE IF NOT EXISTS copies(
  number TEXT NOT NULL, copy_no INTEGER NOT NULL, revision TEXT NOT NULL, holder TEXT NOT NULL,
  issued_at TEXT, issued_by TEXT, recalled_at TEXT, recalled_by TEXT, file TEXT,
  holder_login TEXT, holder_department TEXT, received_at TEXT, received_by TEXT, returned_at TEXT,
  returned_by TEXT, return_reason TEXT,
  PRIMARY KEY(number, copy_no));
CREATE TABLE IF NOT EXISTS sequences(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records(
  number TEXT PRIMARY KEY, form TEXT NOT NULL, year INTEGER, seq INTEGER, status TEXT NOT NULL,
  record_date TEXT, filed_at TEXT, filed_by TEXT, retention_until TEXT, folder TEXT,
  version INTEGER NOT NULL DEFAULT 1, customer TEXT, pdf_pending INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS records_form_year ON records(form, year);
CREATE INDEX IF NOT EXISTS records_status ON records(status);
CREATE INDEX IF NOT EXISTS records_retention ON records(retention_until);
-- the record list, newest first, whole or filtered by one of form, status, year, customer (issue 21)
CREATE INDEX IF NOT EXISTS records_filed ON records(filed_at);
CREATE INDEX IF NOT EXISTS records_form_filed ON records(form, filed_at);
CREATE INDEX IF NOT EXISTS records_status_filed ON records(status, filed_at);
CREATE INDEX IF NOT EXISTS records_year_filed ON records(year, filed_at);
CREATE TABLE IF NOT EXISTS record_versions(
  number TEXT NOT NULL, version INTEGER NOT NULL, folder TEXT, filed_at TEXT, filed_by TEXT, reason TEXT,
  PRIMARY KEY(number, version));
CREATE TABLE IF NOT EXISTS signatures(
  number TEXT NOT NULL, signer TEXT NOT NULL, role TEXT, at TEXT, scan TEXT, sha256 TEXT, signed_on TEXT);
CREATE INDEX IF NOT EXISTS signatures_number ON signatures(number);
CREATE TABLE IF NOT EXISTS holds(
  id INTEGER PRIMARY KEY, number TEXT NOT NULL, reason TEXT, added_at TEXT, added_by TEXT,
  released_at TEXT, released_by TEXT, release_reason TEXT);
CREATE INDEX IF NOT EXISTS holds_number ON holds(number);
CREATE TABLE IF NOT EXISTS disposed(
  number TEXT PRIMARY KEY, form TEXT, record_date TEXT, retention_until TEXT,
  disposed_at TEXT, certificate TEXT);
CREATE TABLE IF NOT EXISTS disposals(
  certificate TEXT PRIMARY KEY, at TEXT, as_of TEXT, actor TEXT, count INTEGER, folder TEXT,
  proposal TEXT, proposed_by TEXT);
CREATE TABLE IF NOT EXISTS disposal_requests(
  number TEXT PRIMARY KEY, status TEXT NOT NULL, as_of TEXT, form TEXT, opinion TEXT, method TEXT,
  witness TEXT, records TEXT, proposed_at TEXT, proposed_by TEXT, decided_at TEXT, decided_by TEXT,
  reason TEXT, certificate TEXT, left_out TEXT);
CREATE TABLE IF NOT EXISTS record_fields(
  form TEXT NOT NULL, name TEXT NOT NULL, number TEXT NOT NULL, value TEXT,
  PRIMARY KEY(form, name, number)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_fields_number ON record_fields(number);
CREATE TABLE IF NOT EXISTS kpi_proposals(
  key TEXT PRIMARY KEY, kpi TEXT NOT NULL, period TEXT NOT NULL, grp TEXT, value REAL, target REAL,
  records TEXT, status TEXT NOT NULL, proposed_at TEXT, decided_at TEXT, decided_by TEXT, capa TEXT);
-- the quality process around documents (issue 23): training, periodic review, reminders
CREATE TABLE IF NOT EXISTS training_audience(
  number TEXT NOT NULL, revision TEXT NOT NULL, departments TEXT, roles TEXT, due_days INTEGER,
  no_retraining INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(number, revision));
CREATE TABLE IF NOT EXISTS training(
  number TEXT NOT NULL, revision TEXT NOT NULL, login TEXT NOT NULL, name TEXT, department TEXT,
  assigned_at TEXT, due TEXT, reason TEXT, acked_at TEXT, acked_on TEXT, meaning TEXT,
  PRIMARY KEY(number, revision, login));
CREATE INDEX IF NOT EXISTS training_login ON training(login);
CREATE TABLE IF NOT EXISTS reviews(
  number TEXT NOT NULL, due TEXT NOT NULL, outcome TEXT, comment TEXT, closed_at TEXT, closed_by TEXT,
  next_due TEXT, PRIMARY KEY(number, due));
CREATE TABLE IF NOT EXISTS reminders(
  key TEXT PRIMARY KEY, login TEXT, kind TEXT, subject TEXT, body TEXT, email TEXT, created_at TEXT,
  sent_at TEXT);
CREATE TABLE IF NOT EXISTS user_contacts(login TEXT PRIMARY KEY, email TEXT);
CREATE TABLE IF NOT EXISTS change_requests(
  number TEXT PRIMARY KEY, title TEXT, reason TEXT, description TEXT, impact TEXT, affects TEXT, approvers TEXT,
  opened_at TEXT, opened_by TEXT, cancelled_at TEXT, cancel_reason TEXT);
CREATE TABLE IF NOT EXISTS cr_approvals(
  cr TEXT NOT NULL, login TEXT NOT NULL, name TEXT, meaning TEXT, comment TEXT, signed_at TEXT,
  PRIMARY KEY(cr, login));
CREATE TABLE IF NOT EXISTS cr_revisions(cr TEXT NOT NULL, number TEXT NOT NULL, revision TEXT NOT NULL,
  PRIMARY KEY(cr, number, revision));
CREATE TABLE IF NOT EXISTS capas(
  number TEXT PRIMARY KEY, title TEXT, description TEXT, source TEXT, record TEXT, document TEXT,
  containment TEXT, root_cause TEXT, opened_at TEXT, opened_by TEXT, verification TEXT, verified_at TEXT,
  verified_by TEXT, closed_at TEXT, closed_by TEXT);
CREATE INDEX IF NOT EXISTS capas_record ON capas(record);
-- the audit trail as the web and API page through it (issue 21): one row per journal entry, the
-- journal stays the truth (rebuild refills it, verify compares it); `utc` the instant as UTC text
-- (a date range is one index range), `family` the action up to its dot (doc.: every document event); audit_numbers: each entry under its target and every record
-- it lists (a purge's destroyed records), so "everything about X" is one index range
CREATE TABLE IF NOT EXISTS audit_trail(
  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, utc TEXT NOT NULL, actor TEXT NOT NULL, login TEXT NOT NULL,
  name TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, target TEXT NOT NULL, data TEXT NOT NULL,
  prev TEXT NOT NULL, hash TEXT NOT NULL, sig TEXT NOT NULL, psig TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_trail_login ON audit_trail(login);
CREATE INDEX IF NOT EXISTS audit_trail_name ON audit_trail(name);
CREATE INDEX IF NOT EXISTS audit_trail_actor ON audit_trail(actor);
CREATE INDEX IF NOT EXISTS audit_trail_action ON audit_trail(action);
CREATE INDEX IF NOT EXISTS audit_trail_family ON audit_trail(family);
CREATE INDEX IF NOT EXISTS audit_trail_utc ON audit_trail(utc);
CREATE TABLE IF NOT EXISTS audit_numbers(
  number TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(number, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS capa_actions(
  capa TEXT NOT NULL, no INTEGER NOT NULL, owner TEXT, owner_name TEXT, due TEXT, text TEXT, done_at TEXT,
  done_by TEXT, done_note TEXT, PRIMARY KEY(capa, no));
"""


# Columns added after a table was first shipped: an older catalog gains them when opened
# (a rebuild fills them from the log).
ADDED_COLUMNS = {"approvals": ("login", "source_sha256", "docx_sha256", "void_at", "void_reason", "void_by"),
                 "signatures": ("signed_on",), "disposals": ("proposal", "proposed_by"),
                 # controlled copies, both ends (issue 23): a holder person or a department's responsible
                 # person signs 签收 and 回收
                 "copies": ("holder_login", "holder_department", "received_at", "received_by", "returned_at",
                            "returned_by", "return_reason")}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for col in columns:
            if col not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} TEXT")


class Catalog(CatalogBase):
    """The embedded catalog: one SQLite connection (BEGIN IMMEDIATE: one writer at a time)."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None):
        self.conn = conn
        self.path = path
        self._depth = 0

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def tables(self) -> list[str]:
        return [r["name"] for r in self.all("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]

    def close(self) -> None:
        self.conn.close()


def _connect(target: str, factory=sqlite3.Connection) -> sqlite3.Connection:
    conn = sqlite3.connect(target, isolation_level=None, timeout=30, factory=factory)
    conn.row_factory = sqlite3.Row
    return conn


_MADE: dict[tuple, int] = {}    # (path, device, inode) → the schema_version this process made or checked


def _file_key(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return str(path), st.st_dev, st.st_ino


def open_catalog(path: Path, *, create: bool = True, factory=sqlite3.Connection) -> Catalog:
    """Open (and create) the catalog. With create=False and no file yet, an empty
    in-memory catalog is returned so read-only commands never create files."""
    if not path.exists() and not create:
        conn = _connect(":memory:")
        conn.executescript(SCHEMA)
        return Catalog(conn, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(str(path), factory)
    try:
        conn.execute("PRAGMA synchronous=NORMAL")          # per connection
        key = _file_key(path)
        if key is None or _MADE.get(key) != conn.execute("PRAGMA schema_version").fetchone()[0]:
            # the schema script and the column checks cost half of a page's catalog open: run them
            # once per file per process. A rebuilt, restored or re-made catalog is another file
            # (another inode) or, if the inode was reused, has another schema_version (SQLite counts
            # every schema change in the file's header)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            _add_missing_columns(conn)
            made = _file_key(path)
            if made is not None:
                _MADE[made] = conn.execute("PRAGMA schema_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise QmsError(f"the catalog cannot be opened ({exc}); it is derived from the journal: "
                       "move it aside and run qms rebuild", file=path) from None
    return Catalog(conn, path)


# ------------------------------------------------------------------ which catalog (issue 26)
# The ONE place that chooses: storage.database in config.yaml names a PostgreSQL database
# (store/pg_catalog.py, the same interface); absent, the embedded SQLite file of today.

def database(ws) -> str | None:
    return (getattr(ws.config, "storage", None) or {}).get("database")


def describe(ws) -> str:
    """Where the catalog is, as messages name it (a database URL never carries a password)."""
    url = database(ws)
    return f"{url} (schema {pg_catalog.SCHEMA_NAME})" if url else ws.rel(ws.catalog_path)


def present(ws) -> bool:
    """The workspace's catalog was made (the embedded: its file is there)."""
    url = database(ws)
    if url:
        return pg_catalog.exists(url)
    return ws.catalog_path.exists()


def open_for(ws, *, create: bool = True):
    """The workspace's catalog. create=False and none made yet: an empty in-memory one."""
    url = database(ws)
    if url is None:
        return open_catalog(ws.catalog_path, create=create)
    cat = pg_catalog.open_pg(url, ws.catalog_path, schema_sql=SCHEMA, added_columns=ADDED_COLUMNS, create=create)
    return cat if cat is not None else open_catalog(Path(":memory:"), create=False)


@contextmanager
def rebuilding(ws):
    """A fresh, empty catalog for the caller to fill, put in place of the live one only when the
    block ends without error (embedded: a temp file renamed over catalog.sqlite; PostgreSQL: the
    schema dropped and remade in one transaction)."""
    url = database(ws)
    if url:
        with pg_catalog.rebuilding(url, ws.catalog_path, schema_sql=SCHEMA, added_columns=ADDED_COLUMNS) as cat:
            yield cat
        return
    live = ws.catalog_path
    live.parent.mkdir(parents=True, exist_ok=True)
    tmp = live.with_name(f".catalog-rebuild-{uuid.uuid4().hex[:8]}.sqlite")
    try:
        cat = open_catalog(tmp)
        with cat:
            yield cat
            cat.execute("PRAGMA journal_mode=DELETE")
        fsync_path(tmp)
        for suffix in ("-wal", "-shm"):
            stale = live.with_name(live.name + suffix)
            if stale.exists():
                stale.unlink()
        os.replace(tmp, live)
        fsync_path(live.parent)
    except BaseException:
        for p in (tmp, tmp.with_name(tmp.name + "-journal")):
            p.unlink(missing_ok=True)
        raise


def reading(ws):
    """The catalog for a read: never creates a file (an empty archive reads as empty).

    Every service reads through this; writes go through writer.writing(ws) and the projection."""
    if _KEEP_READERS and database(ws) is None:
        return _kept_reader(ws.catalog_path)
    return open_for(ws, create=False)


# ------------------------------------------------------------------ read connections kept (qms serve)
# A page reads the catalog two or three times (the menu's to-do head, the page, …); opening a
# connection each time was 14% of a worker's time on the audit trail under 20 clients. A long-lived
# process keeps each thread's last read connection to each file and hands it to that thread's next
# read. Safe to reuse: a connection outside a transaction reads the newest commit at each statement
# (WAL); a catalog replaced by rebuild is another inode, so its kept connection is closed, not used;
# a process forked from this one never touches its parent's connections.
_KEEP_READERS = False
_shelves = threading.local()
_inherited: list = []        # a forked child's copies of its parent's connections: never used, never closed


def keep_read_connections(on: bool = True) -> None:
    """Turned on by the web server's workers; commands open and close a connection per read."""
    global _KEEP_READERS
    _KEEP_READERS = on


def _shelf() -> dict:
    if getattr(_shelves, "pid", None) != os.getpid():
        if getattr(_shelves, "conns", None):         # a forked child's copy of its parent's shelf
            _inherited.append(_shelves.conns)
        _shelves.pid, _shelves.conns = os.getpid(), {}
    return _shelves.conns


class _Tracked(sqlite3.Connection):
    """Knows its cursors, so that a read's statements can be ended when the read is: a statement
    still open would keep the connection on its old snapshot (the test caught exactly that)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cursors: list = []

    def cursor(self, *args, **kwargs):
        cur = super().cursor(*args, **kwargs)
        self.cursors.append(weakref.ref(cur))
        return cur

    # sqlite3's own execute makes its cursor in C, past cursor() above
    def execute(self, sql, parameters=()):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq):
        return self.cursor().executemany(sql, seq)

    def end_statements(self) -> None:
        for ref in self.cursors:
            cur = ref()
            if cur is not None:
                cur.close()              # as closing the connection would: the caller's read is over
        self.cursors.clear()


class _KeptReader(Catalog):
    """A read connection that goes back on its thread's shelf when closed."""

    def __init__(self, conn: sqlite3.Connection, path: Path, key: tuple):
        super().__init__(conn, path)
        self._key, self._pid = key, os.getpid()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None or os.getpid() != self._pid:
            return
        try:
            conn.end_statements()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        shelf = _shelf()
        for stale in [k for k in shelf if k[0] == self._key[0] and k != self._key]:
            shelf.pop(stale).close()            # the file was replaced (rebuild): its old connection
        if self._key in shelf:
            conn.close()                        # a read inside a read: one is kept
        else:
            shelf[self._key] = conn


def _kept_reader(path: Path) -> Catalog:
    key = _file_key(path)
    if key is None:                             # no catalog yet: an empty one in memory, as open_for gives
        return open_catalog(path, create=False)
    conn = _shelf().pop(key, None)
    if conn is not None:
        return _KeptReader(conn, path, key)
    cat = open_catalog(path, create=False, factory=_Tracked)
    return _KeptReader(cat.conn, path, key) if cat.path is not None else cat
