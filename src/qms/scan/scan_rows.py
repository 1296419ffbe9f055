"""The scan inbox's catalog tables, a projection of its journal events (registered with the
central projection, like identity's): files received, and the parts they were split into with
what became of each (to_file → filed, or queued → filed/discarded by a person's decision)."""

from __future__ import annotations

import json

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS scan_files(
      id TEXT PRIMARY KEY, name TEXT, sha256 TEXT NOT NULL, size INTEGER, folder TEXT, original TEXT,
      pages INTEGER, received_at TEXT, received_by TEXT)""",
    """CREATE TABLE IF NOT EXISTS scan_parts(
      id TEXT NOT NULL, part INTEGER NOT NULL, pages TEXT, file TEXT, sha256 TEXT, number TEXT, version INTEGER,
      state TEXT NOT NULL, reason TEXT, decided_by TEXT, decided_at TEXT, PRIMARY KEY(id, part))""",
    "CREATE INDEX IF NOT EXISTS scan_files_sha ON scan_files(sha256)",
)
ACTIONS = ("scan.receive", "scan.filed", "scan.queued", "scan.discard")


def ensure_schema(conn) -> None:
    for sql in SCHEMA:          # execute, not executescript: that would COMMIT an open transaction
        conn.execute(sql)


def readable(conn) -> None:
    """Make the tables queryable for a reader without writing the catalog file: when the catalog has
    none yet (no scan received), empty TEMP tables of the same shape stand in (a read-only archive
    stays unwritten; a later real table is never shadowed, as temp ones exist only when it does not)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='scan_parts'").fetchone():
        return
    for sql in SCHEMA:
        if "INDEX" not in sql:
            conn.execute(sql.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE IF NOT EXISTS"))


def _receive(cat, e, d):
    ensure_schema(cat.conn)
    cat.execute("INSERT INTO scan_files(id, name, sha256, size, folder, original, pages, received_at, received_by) "
                "VALUES(?,?,?,?,?,?,?,?,?)", e.target, d["name"], d["sha256"], d.get("size"), d.get("folder"),
                d.get("original"), d.get("pages"), e.at, e.actor)
    for p in d.get("parts", []):
        cat.execute("INSERT INTO scan_parts(id, part, pages, file, sha256, number, version, state, reason) "
                    "VALUES(?,?,?,?,?,?,?,?,?)", e.target, p["part"], json.dumps(p.get("pages", [])),
                    p.get("file"), p.get("sha256"), p.get("number"), p.get("version"), p["state"], p.get("reason"))


def _decide(state: str):
    def handler(cat, e, d):
        ensure_schema(cat.conn)
        cat.execute("UPDATE scan_parts SET state=?, reason=COALESCE(?, reason), number=COALESCE(?, number), "
                    "decided_by=?, decided_at=? WHERE id=? AND part=?", state, d.get("reason"), d.get("number"),
                    e.actor, e.at, e.target, d["part"])
    return handler


def register_handlers(register) -> None:
    register("scan.receive", _receive)
    register("scan.filed", _decide("filed"))
    register("scan.queued", _decide("queued"))
    register("scan.discard", _decide("discarded"))
    register("scan.ocr", lambda cat, e, d: None)     # files beside the scan (manifest); indexed, no row
