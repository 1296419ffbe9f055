"""Keeping the index up to date: the subscriber the writer's committed events reach
(`on_commit`, subscribed at start-up by qms.startup), and the index a reader opens."""

from __future__ import annotations

from ..store.journal_entry import AuditEntry
from ..store.catalog import Catalog, reading
from ..store.workspace import Workspace
from .engines import SearchBackend, open_backend
from .entries import document_entry, record_entries

_DOC_ACTIONS = {"doc.submit", "doc.sign", "doc.release", "doc.redate", "doc.obsolete", "doc.issue_copy", "doc.recall",
                "doc.reject", "doc.withdraw"}
_RECORD_ACTIONS = {"record.file", "record.pdf", "record.sign", "record.amend", "hold.add", "hold.release",
                   "scan.ocr"}


def open_index(ws: Workspace) -> SearchBackend:
    """The search index of `ws` (whoosh, or PostgreSQL with storage.database), rebuilt from the
    archive (never opened) when its files are not the ones qms wrote."""
    def everything():
        with reading(ws) as cat:
            yield from all_entries(ws, cat)
    return open_backend(ws, rebuild_source=everything)


def all_entries(ws: Workspace, cat):
    """Every document and live record as the index sees it, streamed."""
    for row in cat.all("SELECT number FROM documents ORDER BY number"):
        yield document_entry(ws, cat, row["number"])
    numbers = [r["number"] for r in cat.all("SELECT number FROM records ORDER BY number")]
    for i in range(0, len(numbers), 500):
        yield from record_entries(ws, cat, numbers[i:i + 500])


def on_commit(ws: Workspace, cat: Catalog, entries: list[AuditEntry]) -> None:
    """Re-index what these journal entries touched (derived state: a failure here is reported
    by verify and fixed by `qms reindex`, never undoes the change)."""
    docs, recs, gone = set(), set(), set()
    for e in entries:
        if e.action in _DOC_ACTIONS:
            docs.add(e.target)
        elif e.action in _RECORD_ACTIONS:
            recs.add(e.target)
        elif e.action == "purge":
            gone.update(r["number"] for r in e.data.get("records", []))
    if docs or recs or gone:        # a user, key or checkpoint event opens no index
        update_index(ws, cat, documents=docs, records=recs, gone=gone)


def update_index(ws: Workspace, cat: Catalog, *, documents: set[str], records: set[str], gone: set[str]) -> None:
    """Bring the index up to date for these numbers."""
    idx = open_index(ws)
    items = [document_entry(ws, cat, n) for n in sorted(documents)
             if cat.one("SELECT 1 FROM documents WHERE number=?", n)]
    items += record_entries(ws, cat, sorted(records - gone))
    try:
        if gone:
            idx.delete(sorted(gone))
        if items:
            idx.add(items)
    finally:
        idx.close()     # on PostgreSQL a connection; whoosh reopens its files next time anyway
