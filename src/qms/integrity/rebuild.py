"""`qms rebuild`: the catalog is the projection of the journal applied from seq 1 (replay.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ..store import audit, journal, projection
from ..store import catalog
from ..base.errors import Integrity, QmsError
from ..store.replay import replay
from ..store.workspace import Workspace
from ..store.journalkey import stored_public


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
    problems = audit.verify_chain(ws.audit_path, expected_key=stored_public(ws))
    if problems:
        # A catalog rebuilt from an edited log would make the edit look legitimate.
        raise Integrity("the audit chain is broken, so the log cannot be trusted to rebuild the catalog "
                        f"({len(problems)} problem{'s' if len(problems) > 1 else ''}; first: {problems[0]}); "
                        "qms verify lists them", file=ws.rel(ws.audit_path))


def rebuild_catalog(ws: Workspace, *, progress=None) -> RebuildReport:
    """Replay the journal into a fresh catalog and put it in place of catalog.sqlite, holding the
    workspace lock so no filing runs meanwhile (they wait, then go on against the new one)."""
    with journal.workspace_lock(ws.archive_dir, purpose="rebuild", database=catalog.database(ws)):
        _check_chain(ws)
        report = RebuildReport(catalog=catalog.describe(ws))
        indexed = 0
        if catalog.present(ws):
            try:
                with catalog.open_for(ws, create=False) as old:
                    indexed = projection.indexed_seq(old)
            except (sqlite3.DatabaseError, QmsError):     # garbage in its place: what rebuild is for
                indexed = 0
        with catalog.rebuilding(ws) as cat:
            report.events = replay(cat, ws)
            with cat.transaction():
                projection.set_indexed(cat, min(indexed, report.events))
            count = lambda t: cat.one(f"SELECT COUNT(*) AS n FROM {t}")["n"]  # noqa: E731
            report.documents, report.revisions = count("documents"), count("revisions")
            report.records, report.disposed, report.disposals = count("records"), count("disposed"), \
                count("disposals")
        if progress:
            progress(report.events)
    return report

