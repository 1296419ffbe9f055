"""A document's state read from the catalog: its rows, its revisions' statuses at a date.

Every catalog read of the document services is a named function here (no SQL in
qms.documents); shared with the search entries (a lower box than both)."""

from __future__ import annotations

import datetime as dt

from ..store.catalog import Catalog
from ..base.errors import NotFound
from .revisions import RevisionState, compute_status, current_revision
from ..store.workspace import Workspace

# 下次评审 on the master list: periodic review (a service above documents) registers its schedule
# here at start-up (qms.startup), so documents never imports it and start-up imports no documents
NEXT_REVIEW: list = []


def doc_row(cat: Catalog, number: str):
    row = cat.one("SELECT * FROM documents WHERE number=?", number)
    if row is None:
        raise NotFound(f"unknown document {number!r} (qms doc list shows the documents)", field="number")
    return row


def find_document(cat: Catalog, number: str):
    """The document's row, or None for a number not submitted yet."""
    return cat.one("SELECT * FROM documents WHERE number=?", number)


def all_documents(cat: Catalog) -> list:
    return cat.all("SELECT * FROM documents ORDER BY number")


def document_count(cat: Catalog) -> int:
    return cat.one("SELECT COUNT(*) AS n FROM documents")["n"]


def documents_page(cat: Catalog, limit: int, offset: int) -> list:
    """One page of the documents in number order (the primary key's own order)."""
    return cat.all("SELECT * FROM documents ORDER BY number LIMIT ? OFFSET ?", int(limit), int(offset))


def document_numbers(cat: Catalog) -> set[str]:
    return {row["number"] for row in cat.all("SELECT number FROM documents")}


def revisions(cat: Catalog, number: str) -> list:
    return cat.all("SELECT * FROM revisions WHERE number=? ORDER BY seq", number)


def approvals(cat: Catalog, revision_id: int) -> list:
    """The signatures in force (a rejected draft's signatures are void, kept for history)."""
    return cat.all("SELECT * FROM approvals WHERE revision_id=? AND void_at IS NULL ORDER BY id", revision_id)


def all_approvals(cat: Catalog, revision_id: int) -> list:
    return cat.all("SELECT * FROM approvals WHERE revision_id=? ORDER BY id", revision_id)


def states(cat: Catalog, revs: list) -> list[RevisionState]:
    out = []
    for r in revs:
        roles = {a["role"] for a in approvals(cat, r["id"])}
        out.append(RevisionState(
            revision=r["revision"], seq=r["seq"], state=r["state"], signed_roles=roles,
            issued=dt.date.fromisoformat(r["issued"]) if r["issued"] else None,
            effective=dt.date.fromisoformat(r["effective"]) if r["effective"] else None))
    return out


def status_map(ws: Workspace, cat: Catalog, doc, revs: list, as_of: dt.date) -> tuple[list[RevisionState], dict]:
    sts = states(cat, revs)
    required = [r.key for r in ws.config.roles if r.required]
    final = ws.config.roles[-1].key
    obsolete_on = dt.date.fromisoformat(doc["obsolete_on"]) if doc["obsolete_on"] else None
    return sts, {s.revision: compute_status(s, sts, required, final, obsolete_on, as_of) for s in sts}


def current(ws: Workspace, cat: Catalog, number: str, as_of: dt.date):
    """(document row, revision rows, statuses, the revision row current at `as_of`)."""
    doc = doc_row(cat, number)
    return (doc, *current_of(ws, cat, doc, as_of))


def current_of(ws: Workspace, cat: Catalog, doc, as_of: dt.date):
    """(revision rows, statuses, the revision row current at `as_of`) of a document row in hand."""
    revs = revisions(cat, doc["number"])
    sts, statuses = status_map(ws, cat, doc, revs, as_of)
    cur = current_revision(sts, statuses)
    rev = next(r for r in revs if r["revision"] == cur.revision)
    return revs, statuses, rev


# ---------------------------------------------------------------- controlled copies (发放/回收)

def copy_rows(cat: Catalog, number: str) -> list:
    return cat.all("SELECT * FROM copies WHERE number=? ORDER BY copy_no", number)


def copy_row(cat: Catalog, number: str, copy_no: int):
    return cat.one("SELECT * FROM copies WHERE number=? AND copy_no=?", number, copy_no)


def last_copy_no(cat: Catalog, number: str) -> int:
    return cat.one("SELECT MAX(copy_no) AS n FROM copies WHERE number=?", number)["n"] or 0


def outstanding_copies(cat: Catalog, number: str, *, revision: str | None = None,
                       other_than: str | None = None) -> int:
    """Copies not recalled: of one revision, of every revision but one, or of all."""
    if revision is not None:
        return cat.one("SELECT COUNT(*) AS n FROM copies WHERE number=? AND revision=? AND recalled_at IS NULL",
                       number, revision)["n"]
    if other_than is not None:
        return cat.one("SELECT COUNT(*) AS n FROM copies WHERE number=? AND recalled_at IS NULL AND revision<>?",
                       number, other_than)["n"]
    return cat.one("SELECT COUNT(*) AS n FROM copies WHERE number=? AND recalled_at IS NULL", number)["n"]
