"""What a reader sees: one document (at a date, or one revision) and the list of documents."""

from __future__ import annotations

import datetime as dt

from ..domain import docstate
from ..store.catalog import reading
from ..base.dates import today
from ..base.errors import NotFound
from ..base.paging import Page, bounds
from ..store.workspace import Workspace
from .copies import superseded_name


def _revision_files(ws: Workspace, r) -> dict:
    folder = ws.root / r["folder"]
    files = {"source": ws.rel(folder / r["source"])}
    if r["docx"]:
        files["docx"] = ws.rel(folder / r["docx"])
    if r["pdf"]:
        files["pdf"] = ws.rel(folder / r["pdf"])
    if r["obsolete_pdf"]:
        files["obsolete_pdf"] = ws.rel(folder / r["obsolete_pdf"])
    if r["pdf"] and (folder / superseded_name(r)).is_file():
        files["superseded_pdf"] = ws.rel(folder / superseded_name(r))
    return files


def show(ws: Workspace, number: str, *, revision: str | None = None, as_of: dt.date | None = None) -> dict:
    as_of = as_of or today()
    with reading(ws) as cat:
        doc, revs, statuses, current = docstate.current(ws, cat, number, as_of)
        if revision:
            picked = [r for r in revs if r["revision"] == revision]
            if not picked:
                raise NotFound(f"{number} has no revision {revision!r}; it has "
                               + ", ".join(r["revision"] for r in revs), field="revision")
            rev = picked[0]
        else:
            rev = current
        approvals = [{"role": a["role"], "role_label": a["role_label"], "name": a["name"], "login": a["login"],
                      "meaning": a["meaning"], "signed_at": a["signed_at"], "signed_on": a["signed_on"],
                      "source_sha256": a["source_sha256"], "docx_sha256": a["docx_sha256"],
                      "void": a["void_at"] is not None, "void_at": a["void_at"], "void_reason": a["void_reason"]}
                     for a in docstate.all_approvals(cat, rev["id"])]
        return {
            "number": number, "title": rev["title"], "kind": doc["kind"], "department": doc["department"],
            "revision": rev["revision"], "status": statuses[rev["revision"]], "as_of": as_of.isoformat(),
            "issued": rev["issued"], "effective": rev["effective"], "change": rev["change"],
            "obsolete_on": doc["obsolete_on"], "obsolete_reason": doc["obsolete_reason"],
            "approvals": approvals, "files": _revision_files(ws, rev),
            "copies_outstanding": docstate.outstanding_copies(cat, number, revision=rev["revision"]),
            "revisions": [{"revision": r["revision"], "status": statuses[r["revision"]], "issued": r["issued"],
                           "effective": r["effective"], "change": r["change"],
                           "submitted_at": r["submitted_at"], "released_at": r["released_at"]} for r in revs],
        }


NEXT_REVIEW = docstate.NEXT_REVIEW      # 下次评审 on the master list: qms.startup registers review's schedule


def _list_item(ws: Workspace, cat, doc, as_of: dt.date, current=None) -> dict:
    _, statuses, rev = current or docstate.current_of(ws, cat, doc, as_of)
    # an effective revision's own copies are in order; every other copy is to recall
    outstanding = docstate.outstanding_copies(
        cat, doc["number"], other_than=rev["revision"] if statuses[rev["revision"]] == "effective" else None)
    item = {"number": doc["number"], "title": rev["title"], "kind": doc["kind"],
            "department": doc["department"], "revision": rev["revision"],
            "status": statuses[rev["revision"]], "issued": rev["issued"], "effective": rev["effective"],
            "copies_outstanding": outstanding}
    review = NEXT_REVIEW[0](ws, cat, doc, on=as_of) if NEXT_REVIEW else None    # 下次评审 (issue 23)
    item["next_review"] = review["due"] if review else None
    return item


def list_documents(ws: Workspace, *, as_of: dt.date | None = None, status: str | None = None) -> list[dict]:
    """The whole master list (受控文件清单: the table, CSV and XLSX are complete by definition)."""
    as_of = as_of or today()
    out = []
    with reading(ws) as cat:
        for doc in docstate.all_documents(cat):
            item = _list_item(ws, cat, doc, as_of)
            if status is None or item["status"] == status:
                out.append(item)
    return out


def document_page(ws: Workspace, *, as_of: dt.date | None = None, status: str | None = None,
                  limit: int | None = None, offset: int | None = None) -> Page:
    """One page of the documents by number. Unfiltered, the page is cut and counted in SQL; by
    status, each document's status at `as_of` follows from its revisions' dates (read per
    document, no file opened) and only the page's documents are described in full."""
    limit, offset = bounds(limit, offset)
    as_of = as_of or today()
    with reading(ws) as cat:
        if status is None:
            total = docstate.document_count(cat)
            items = [_list_item(ws, cat, doc, as_of) for doc in docstate.documents_page(cat, limit, offset)]
        else:
            matching = []
            for doc in docstate.all_documents(cat):
                current = docstate.current_of(ws, cat, doc, as_of)
                if current[1][current[2]["revision"]] == status:
                    matching.append((doc, current))
            total = len(matching)
            items = [_list_item(ws, cat, doc, as_of, current) for doc, current in matching[offset:offset + limit]]
    return Page(total, items, offset, limit)
