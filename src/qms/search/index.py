"""SearchIndex: the facade the service, verify and recovery use (open, write, rebuild, search).

Chinese is matched as in any Chinese search box: a run of Chinese characters in a query means
exactly that string (see analysis.py). Ranking: exact number matches first, then title matches,
then the body; BM25 among at most ranking._BUDGET matches taken newest first (see ranking.py).
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable

from ..base.errors import QmsError
from . import build, hashlist as seal
from ._whoosh import create_in, exists_in, open_dir
from .analysis import SEP
from .build import BatchContext
from .highlight import highlighter, stored_hit
from .query import needles, parse_query
from .ranking import Weighting, count, count_from_walk, rank
from .schema import INDEX_VERSION, VERSION_FILE, FieldMap, Hit, IndexDoc
from .totals import Total, query_key, total as cached_total


# Ranked pages, kept in this process per index generation: the same query asked again (the next
# person, a reload, the API after the page) is answered without walking its matches again — under 20
# clients the ranking was 40% of a worker's time on the search page. Any commit is a new generation
# (its segments), so a kept page is never older than the index it was ranked on; old ones age out.
_PAGES: OrderedDict = OrderedDict()
_PAGES_LOCK = threading.Lock()
_PAGES_KEPT = 512


def _generation(searcher) -> tuple:
    reader = searcher.reader()
    return reader.generation(), tuple(leaf.segment().segment_id() for leaf, _ in reader.leaf_readers())


class OldIndex(QmsError):
    """The index was written by a qms whose analysis or fields differ (INDEX_VERSION)."""


class SearchIndex:
    """The whoosh index of documents and records (derived state: rebuildable).

    Not thread-safe: give each thread its own SearchIndex.
    """

    def __init__(self, path: Path, rebuild_source: Callable[[], Iterable[IndexDoc]] | None = None):
        self.path = Path(path)
        self._ix = None
        self._searcher = None
        # Where the documents come from when the folder must be rebuilt because its files are
        # not the ones qms wrote (see qms.search.hashlist); without it such an index is an error.
        self._rebuild_source = rebuild_source
        # the last ranking's body pass (generation, query key, walked): its total without a count
        self._walk: tuple | None = None
        self.untrusted: str | None = None     # why the index was rebuilt on opening, if it was
        self.rebuilt: str | None = None       # rebuilt on opening for a reason that is no problem

    # -- opening ------------------------------------------------------------
    def _index(self):
        if self._ix is None:
            try:
                self._ix = self._open_or_create(self.path)
            except seal.UntrustedIndex as exc:
                if self._rebuild_source is None:
                    raise
                self.untrusted = exc.why
                self.rebuild(self._rebuild_source())
                self._ix = self._open_or_create(self.path)
            except OldIndex:
                # The index is derived: one written by an earlier qms (other terms) is rebuilt
                # from the archive where the archive is at hand (filing, qms search, verify).
                if self._rebuild_source is None:
                    raise
                self.rebuilt = "built by another qms version"
                self.rebuild(self._rebuild_source())
                self._ix = self._open_or_create(self.path)
        return self._ix

    @staticmethod
    def _open_or_create(path: Path):
        vfile = path / VERSION_FILE
        if path.is_dir():
            seal.check(path)        # before whoosh reads (unpickles) a single byte
        if path.is_dir() and exists_in(path):
            version = vfile.read_text().strip() if vfile.exists() else ""
            if version != INDEX_VERSION:
                raise OldIndex(f"search index {path} was built by another qms version; "
                               "rebuild it (qms reindex)")
            try:
                return open_dir(path)
            except Exception as e:
                raise QmsError(f"search index {path} is unreadable ({e}); "
                               "rebuild it (reindex)") from None
        path.mkdir(parents=True, exist_ok=True)
        ix = create_in(path)
        vfile.write_text(INDEX_VERSION + "\n")
        seal.seal(path)
        return ix

    def _get_searcher(self):
        """The open searcher, reopened only when another generation was committed.

        Not whoosh's Searcher.refresh(): in whoosh-reloaded 2.7.5 it reuses the
        old segment readers (stale deletions: a deleted or replaced document
        stays findable) and keeps segments that a merge removed.
        """
        ix = self._index()
        s = self._searcher
        if s is not None and ix.latest_generation() != s.reader().generation():
            s.close()
            s = None
        if s is None:
            s = self._searcher = ix.searcher(weighting=Weighting())
        return s

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    # -- writing ------------------------------------------------------------
    def writer(self) -> BatchContext:
        """Context manager yielding a batch with .add(doc) and .delete(number).

        One whoosh writer for the whole batch; commits on exit, cancels on an
        exception.  Adding a number replaces the document indexed under it.
        """
        return BatchContext(self)

    def add(self, docs: Iterable[IndexDoc]) -> None:
        with self.writer() as b:
            for d in docs:
                b.add(d)

    def delete(self, numbers: Iterable[str]) -> None:
        wanted = {n.strip() for n in numbers}
        if len(wanted) < 1000:
            with self.writer() as b:
                for n in wanted:
                    b.delete(n)
            return
        with self.writer() as b:        # a purge removes many
            b.delete_all(wanted)

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None,
                *, procs: int | None = None, limitmb: int = 256) -> int:
        """Build a fresh index beside the old one and swap it in; returns the count.

        Documents are spilled to a temporary file, sorted newest first and then
        written by `procs` processes (default: 2 when there are 2 cores), each
        writing one segment.  A repeated number keeps its last document.  If
        anything fails the old index stays.
        """
        return build.rebuild(self.path, docs, progress, procs=procs, limitmb=limitmb, before_swap=self.close)

    # -- reading ------------------------------------------------------------
    def numbers(self) -> dict[str, str]:
        """number -> status of every indexed document (for verify)."""
        reader = self._get_searcher().reader()
        out: dict[str, str] = {}
        for leaf, _base in reader.leaf_readers():
            if not leaf.has_column("key"):
                continue
            cr = leaf.column_reader("key", translate=False)
            for docnum in leaf.all_doc_ids():
                number, _, status = cr[docnum].decode("utf-8").partition(SEP)
                out[number] = status
        return out

    def search(self, query_string: str, *, kind: str | None = None,
               form: str | None = None, status: str | None = None,
               date_from: datetime.date | None = None,
               date_to: datetime.date | None = None, limit: int = 20,
               fields: FieldMap | None = None, sort: str = "relevance", offset: int = 0) -> list[Hit]:
        """Ranked hits (best first) with a highlighted passage each.

        Raises QmsError for a malformed query; a query with nothing searchable
        in it gives []. `fields`: the forms' fields a query may name (FIELD:value).
        """
        # Ranking only: the total is the caller's to ask (self.total, cached), never counted here.
        return self._ranked(query_string, dict(kind=kind, form=form, status=status, date_from=date_from,
                                               date_to=date_to), limit, offset, fields, sort)

    def search_page(self, query_string: str, *, kind: str | None = None, form: str | None = None,
                    status: str | None = None, date_from: datetime.date | None = None,
                    date_to: datetime.date | None = None, limit: int = 20,
                    offset: int = 0, fields: FieldMap | None = None) -> tuple[list[Hit], int]:
        """(hits ranked offset … offset+limit, how many documents match in all)."""
        filters = dict(kind=kind, form=form, status=status, date_from=date_from, date_to=date_to)
        hits = self._ranked(query_string, filters, limit, offset, fields)
        n = self.total(query_string, fields=fields, **filters).n
        return hits, max(n, offset + len(hits))

    def _ranked(self, query_string: str, filters: dict, limit: int, offset: int,
                fields: FieldMap | None, sort: str = "relevance") -> list[Hit]:
        if limit <= 0 or not query_string or not query_string.strip():
            return []
        q = parse_query(query_string, fields)
        if q is None:
            return []
        searcher = self._get_searcher()
        generation, qkey = _generation(searcher), query_key(query_string, *filters.values(), fields)
        key = repr((str(self.path), generation, qkey, sort, offset, limit))
        with _PAGES_LOCK:
            kept = _PAGES.get(key)
            if kept is not None:
                _PAGES.move_to_end(key)
                return list(kept)
        walked: dict = {}
        ranked = rank(searcher, q, limit=offset + limit, sort=sort, walked=walked, **filters)
        self._walk = (generation, qkey, walked)
        rx = highlighter(needles(q))
        hits = [self._hit(searcher, score, docnum, rx) for score, docnum in ranked[offset:]]
        with _PAGES_LOCK:
            _PAGES[key] = tuple(hits)
            while len(_PAGES) > _PAGES_KEPT:
                _PAGES.popitem(last=False)
        return hits

    def count(self, query_string: str, *, kind: str | None = None, form: str | None = None,
              status: str | None = None, date_from: datetime.date | None = None,
              date_to: datetime.date | None = None, fields: FieldMap | None = None) -> int:
        """How many documents match (every match, not only the ranked budget), exactly."""
        return self.total(query_string, kind=kind, form=form, status=status, date_from=date_from,
                          date_to=date_to, fields=fields).n

    def total(self, query_string: str, *, kind: str | None = None, form: str | None = None,
              status: str | None = None, date_from: datetime.date | None = None,
              date_to: datetime.date | None = None, fields: FieldMap | None = None,
              cap: int | None = None) -> Total:
        """The portal's total: exact up to `cap`, beyond it Total(cap, exact=False). Counted once
        per index generation and query, for every thread of the process (see totals.py)."""
        if not query_string or not query_string.strip():
            return Total(0, True)
        q = parse_query(query_string, fields)
        if q is None:
            return Total(0, True)
        searcher = self._get_searcher()
        generation = _generation(searcher)
        filters = dict(kind=kind, form=form, status=status, date_from=date_from, date_to=date_to)
        key = query_key(query_string, kind, form, status, date_from, date_to, fields)
        walk = self._walk

        def counted(c: int | None) -> int:
            # the page just ranked walked these matches already when they fitted its budget
            if walk is not None and walk[0] == generation and walk[1] == key:
                n = count_from_walk(walk[2], c)
                if n is not None:
                    return n
            return count(searcher, q, cap=c, **filters)
        return cached_total(str(self.path.resolve()), generation, key, cap, counted)

    @staticmethod
    def _hit(searcher, score: float, docnum: int, rx) -> Hit:
        return stored_hit(searcher.stored_fields(docnum)["s"], score, rx)
