"""`qms rebuild`: the catalog is the projection of the journal applied from seq 1; and the same
replay, in memory, for verify and purge to compare the live catalog with."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import audit, journal, projection
from .archive import fsync_path
from .catalog import Catalog, open_catalog
from .errors import Integrity, QmsError
from .workspace import Workspace


@dataclass
class RebuildReport:
    events: int = 0
    documents: int = 0
    revisions: int = 0
    records: int = 0
    disposed: int = 0
    disposals: int = 0
    catalog: str = ""
    notes: list[str] = field(default_factory=list)

    def message(self) -> str:
        return (f"rebuilt {self.catalog} from {self.events} audit entries: {self.documents} documents "
                f"({self.revisions} revisions), {self.records} records, {self.disposed} disposed "
                f"({self.disposals} disposal certificates)")

    def to_json(self) -> dict:
        return {"events": self.events, "documents": self.documents, "revisions": self.revisions,
                "records": self.records, "disposed": self.disposed, "disposals": self.disposals,
                "catalog": self.catalog, "notes": self.notes}


def _check_chain(ws: Workspace) -> None:
    if not ws.audit_path.exists() and any(
            (ws.archive_dir / sub).is_dir() and any((ws.archive_dir / sub).iterdir())
            for sub in ("documents", "records", "disposals")):
        raise Integrity("the audit log is missing although the archive holds documents or records; "
                        "the catalog cannot be rebuilt without it", file=ws.rel(ws.audit_path))
    problems = audit.verify_chain(ws.audit_path)
    if problems:
        # A catalog rebuilt from an edited log would make the edit look legitimate.
        raise Integrity("the audit chain is broken, so the log cannot be trusted to rebuild the catalog "
                        f"({len(problems)} problem{'s' if len(problems) > 1 else ''}; first: {problems[0]}); "
                        "qms verify lists them", file=ws.rel(ws.audit_path))


def count_events(ws: Workspace) -> int:
    return audit.head(ws.audit_path)[0]


def replay(cat: Catalog, ws: Workspace, upto: int | None = None, pairs=None) -> int:
    """Apply the journal (up to seq `upto`) to an empty catalog; returns events applied.
    `pairs`: the log already read ((offset, entry) as audit.scan gives them)."""
    if pairs is None:
        pairs = audit.entries_after(ws.audit_path, 0)
    if upto is not None:
        pairs = [p for p in pairs if p[1].seq <= upto]
    projection.apply_all(cat, pairs)
    return len(pairs)


@contextmanager
def replay_in_memory(ws: Workspace, upto: int | None = None, pairs=None):
    cat = open_catalog(Path(":memory:"), create=False)
    try:
        replay(cat, ws, upto, pairs)
        yield cat
    finally:
        cat.close()


def rebuild_catalog(ws: Workspace, *, progress=None) -> RebuildReport:
    """Replay the journal into a fresh catalog and put it in place of catalog.sqlite, holding the
    workspace lock so no filing runs meanwhile (they wait, then go on against the new one)."""
    with journal.workspace_lock(ws.archive_dir, purpose="rebuild"):
        _check_chain(ws)
        live = ws.catalog_path
        live.parent.mkdir(parents=True, exist_ok=True)
        tmp = live.with_name(f".catalog-rebuild-{uuid.uuid4().hex[:8]}.sqlite")
        report = RebuildReport(catalog=ws.rel(live))
        try:
            cat = open_catalog(tmp)
            with cat:
                report.events = replay(cat, ws)
                indexed = 0
                if live.exists():
                    try:
                        with open_catalog(live, create=False) as old:
                            indexed = projection.indexed_seq(old)
                    except (sqlite3.DatabaseError, QmsError):     # garbage in its place: what rebuild is for
                        indexed = 0
                with cat.transaction():
                    projection.set_indexed(cat, min(indexed, report.events))
                count = lambda t: cat.one(f"SELECT COUNT(*) AS n FROM {t}")["n"]  # noqa: E731
                report.documents, report.revisions = count("documents"), count("revisions")
                report.records, report.disposed, report.disposals = count("records"), count("disposed"), \
                    count("disposals")
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
        if progress:
            progress(report.events)
    return report


# Natural keys, to name the row that differs; tables without one are compared as bags of rows.
_KEYS = {"documents": ("number",), "revisions": ("number", "revision"), "copies": ("number", "copy_no"),
         "sequences": ("key",), "records": ("number",), "record_versions": ("number", "version"),
         "disposed": ("number",), "disposals": ("certificate",)}
_SHOWN_PER_TABLE = 20


def _tables(cat: Catalog) -> list[str]:
    return [r["name"] for r in cat.all("SELECT name FROM sqlite_master WHERE type='table' AND name<>'meta' "
                                       "ORDER BY name")]


def table_rows(cat: Catalog, table: str) -> list[dict]:
    """A table's rows without row ids: approvals name their revision by number and label."""
    if table == "approvals":
        sql = ("SELECT r.number AS number, r.revision AS revision, a.role, a.role_label, a.name, a.meaning, "
               "a.signed_at, a.signed_on, a.login, a.source_sha256, a.docx_sha256, a.void_at, a.void_reason, a.void_by "
               "FROM approvals a LEFT JOIN revisions r ON r.id=a.revision_id")
    else:
        sql = f"SELECT * FROM {table}"
    return [{k: row[k] for k in row.keys() if k != "id"} for row in cat.all(sql)]


def _describe(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def _diff_table(table: str, live: list[dict], rebuilt: list[dict]) -> list[str]:
    out: list[str] = []
    key_cols = _KEYS.get(table)
    if key_cols:
        a = {tuple(r.get(k) for k in key_cols): r for r in live}
        b = {tuple(r.get(k) for k in key_cols): r for r in rebuilt}
        for key in sorted(set(a) | set(b), key=lambda k: tuple(str(x) for x in k)):
            name = " ".join(str(x) for x in key)
            if key not in b:
                out.append(f"table {table}, {name}: in the catalog but not in the log: {_describe(a[key])}")
            elif key not in a:
                out.append(f"table {table}, {name}: follows from the log but is missing from the catalog: "
                           f"{_describe(b[key])}")
            elif a[key] != b[key]:
                cols = [c for c in b[key] if a[key].get(c) != b[key].get(c)]
                out.append(f"table {table}, {name}: " + "; ".join(
                    f"{c} is {a[key].get(c)!r} in the catalog, {b[key].get(c)!r} from the log" for c in cols))
    else:
        freeze = lambda r: tuple(r.items())  # noqa: E731
        ca, cb = Counter(map(freeze, live)), Counter(map(freeze, rebuilt))
        for row, n in sorted((ca - cb).items(), key=repr):
            out.append(f"table {table}: in the catalog but not in the log ({n}×): {_describe(dict(row))}")
        for row, n in sorted((cb - ca).items(), key=repr):
            out.append(f"table {table}: follows from the log but is missing from the catalog ({n}×): "
                       f"{_describe(dict(row))}")
    if len(out) > _SHOWN_PER_TABLE:
        out = out[:_SHOWN_PER_TABLE] + [f"table {table}: … and {len(out) - _SHOWN_PER_TABLE} more differences"]
    return out


def compare(live: Catalog, truth: Catalog) -> list[str]:
    """Where the live catalog disagrees with the projection of the log, one line per row."""
    out: list[str] = []
    live_tables = set(_tables(live))
    for table in _tables(truth):
        if table not in live_tables:
            out.append(f"table {table} is missing from the catalog")
            continue
        out += _diff_table(table, table_rows(live, table), table_rows(truth, table))
    return out
