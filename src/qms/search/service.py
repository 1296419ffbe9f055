"""Search over the archive: the service the CLI and portal call (index.py holds the whoosh side)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from ..base.errors import InvalidInput
from ..store.catalog import reading
from ..store.workspace import Workspace
from .engines import exists, open_backend
from .entries import field_map
from .indexing import all_entries, open_index
from ..store import projection
from ..store.writer import writing


# The orders a search may be shown in: best match first, or by the document's date either way.
SORTS = ("relevance", "newest", "oldest")


def search(ws: Workspace, query: str, *, kind=None, form=None, status=None, date_from: dt.date | None = None,
           date_to: dt.date | None = None, limit: int = 20) -> list[dict]:
    if not exists(ws):
        return []
    ix = open_index(ws)
    try:
        hits = ix.search(query, kind=kind, form=form, status=status, date_from=date_from,
                         date_to=date_to, limit=limit, fields=field_map(ws))
    finally:
        ix.close()
    return [asdict(h) for h in hits]


def search_page(ws: Workspace, query: str, *, kind=None, form=None, status=None,
                date_from: dt.date | None = None, date_to: dt.date | None = None, limit: int = 20,
                offset: int = 0, index=None, sort: str = "relevance") -> dict:
    """One page of hits and the total count: {total, hits} (hits shaped as `search`'s); beyond
    search.count_cap {total: the cap, total_exact: false, hits}. `sort`: relevance (default),
    newest or oldest (by the document's date).

    Only the first count_cap hits can be paged to (the total shown never promises more): an
    offset at or beyond the cap is refused, saying how to reach the others.
    `index` lets a long-lived caller (the web server, one per thread) keep its SearchIndex open.
    """
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}; expected one of: {', '.join(SORTS)}", field="sort")
    limit, offset = max(0, int(limit)), max(0, int(offset))
    cap = ws.config.search_count_cap
    if offset and offset >= cap:
        raise InvalidInput(f"offset {offset} is beyond the first {cap} hits (search.count_cap): narrow the query "
                           "with filters, or sort the other way", field="offset")
    limit = min(limit, cap - offset)
    if index is None and not exists(ws):
        return {"total": 0, "hits": []}
    ix = index or open_index(ws)
    filters = dict(kind=kind, form=form, status=status, date_from=date_from, date_to=date_to,
                   fields=field_map(ws))
    try:
        hits = ix.search(query, limit=limit, offset=offset, sort=sort, **filters)
        # Exact up to search.count_cap; beyond it `total` is the cap and total_exact false ("1,000+").
        # The shape stays {total, hits} while the total is exact (API clients, the CLI's --json).
        total = ix.total(query, cap=cap, **filters)
    finally:
        if index is None:
            ix.close()      # one a call (the web keeps its own per thread)
    if total.exact:
        return {"total": max(total.n, offset + len(hits)), "hits": [asdict(h) for h in hits]}
    return {"total": total.n, "total_exact": False, "hits": [asdict(h) for h in hits]}


def count_entries(ws: Workspace) -> int:
    with reading(ws) as cat:
        return (cat.one("SELECT COUNT(*) AS n FROM documents")["n"]
                + cat.one("SELECT COUNT(*) AS n FROM records")["n"])


def reindex(ws: Workspace, *, progress=None) -> int:
    """Delete-and-rebuild: the index is derived from the archive and the catalog. Holds the
    workspace lock, so filings wait rather than index into a folder being replaced."""
    with writing(ws, purpose="reindex") as w:
        idx = open_backend(ws)
        try:
            n = idx.rebuild(all_entries(ws, w.cat), progress=progress)
        finally:
            idx.close()
        with w.cat.transaction():
            projection.set_indexed(w.cat, projection.head(w.cat)[0])
    return n
