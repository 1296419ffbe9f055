"""Ranking.  Whoosh would score every match to find the top N; a common word
matches most of 100k records and that costs seconds in Python.  Instead the
index is laid out newest first (rebuild writes documents by date, descending;
later additions go to later segments, walked first), candidates are taken in
that order and at most `budget` of them are scored.  Below the budget the
ranking is exact BM25; above it, it is BM25 among the most recent matches.
Exact number matches come first, then matches in the title.
"""

from __future__ import annotations

import datetime
import heapq

from ..base.errors import InvalidInput, QmsError
from ._whoosh import query, scoring
from .analysis import normalize
from .matching import FilterQuery, day_array, field_lengths
from .query import positive_terms, title_query
from .schema import KIND_ALIASES

_BUDGET = 1000
_TITLE_BUDGET = 200


def _collect(searcher, q, ctx, budget: int, walked: dict | None = None) -> list[tuple[float, int, int]]:
    """(score, walk order, docnum) for up to `budget` matches, newest first. `walked` (when given)
    learns how many matches were seen and whether there are more: the total, when they all fit
    the budget, without a second walk to count them."""
    out: list[tuple[float, int, int]] = []
    leaves = list(reversed(list(searcher.leaf_searchers())))
    for k, (leaf, offset) in enumerate(leaves):
        m = q.matcher(leaf, ctx)
        while m.is_active():
            out.append((m.score(), len(out), offset + m.id()))
            if len(out) >= budget:
                if walked is not None:
                    m.next()
                    walked.update(n=len(out), more=m.is_active() or any(
                        q.matcher(other, ctx).is_active() for other, _ in leaves[k + 1:]))
                return out
            m.next()
    if walked is not None:
        walked.update(n=len(out), more=False)
    return out


def _pinned(searcher, q, ctx, numbers: list[str]) -> list[tuple[float, int, int]]:
    """Documents whose number was typed in the query, if they match it."""
    out = []
    for number in numbers:
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            if ("number", number) not in reader:
                continue
            for local in reader.postings("number", number).all_ids():
                m = q.matcher(leaf, ctx)
                if m.is_active():
                    m.skip_to(local)
                if m.is_active() and m.id() == local:
                    out.append((m.score(), len(out), offset + local))
    return out


class _Scorer(scoring.BM25FScorer):
    def setup(self, searcher, fieldname, text):
        super().setup(searcher, fieldname, text)
        # whoosh reads each document's field length from disk per call; a cached
        # per-segment list makes scoring a candidate several times cheaper.
        lens = field_lengths(searcher.reader(), fieldname)
        if lens is not None:
            self.dfl = lens.__getitem__


class Weighting(scoring.BM25F):
    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return _Scorer(searcher, fieldname, text, self.B, self.K1, qf=qf)


def filters(searcher, *, kind=None, form=None, status=None, date_from=None, date_to=None):
    """(search context, query wrapper) applying the filters; None when the date range is empty."""
    ctx = searcher.context(weighting=searcher.weighting)
    days = None
    if date_from or date_to:
        lo = date_from.toordinal() if date_from else 1
        hi = date_to.toordinal() if date_to else datetime.date.max.toordinal()
        if lo > hi:
            return None
        days = (lo, hi)
    if kind:
        kind = normalize(kind.strip())
        kind = KIND_ALIASES.get(kind, kind)
    terms = tuple((name, normalize(value.strip()))
                  for name, value in (("kind", kind), ("form", form), ("status", status))
                  if value)
    wrap = lambda x: x  # noqa: E731
    if days or terms:
        ctx.qms_filter = (days, terms)
        wrap = FilterQuery
    return ctx, wrap


def count(searcher, q, *, cap: int | None = None, **filter_args) -> int:
    """Every match of the query under the filters (ids only, no scoring); with `cap`, it stops
    at cap + 1 — enough to know the total is beyond the cap without walking every match."""
    setup = filters(searcher, **filter_args)
    if setup is None:
        return 0
    ctx, wrap = setup
    n = 0
    try:
        for leaf, _offset in searcher.leaf_searchers():
            m = wrap(q).matcher(leaf, ctx)
            while m.is_active():     # no scoring: walking the matches is all a count needs
                n += 1
                if cap is not None and n > cap:
                    return n
                m.next()
    except query.QueryError as e:
        raise InvalidInput(f"search query cannot run: {e}") from None
    return n


def count_from_walk(walked: dict, cap: int | None) -> int | None:
    """What `count(…, cap=cap)` would answer, from a ranking's body pass over the same query and
    filters (rank's `walked`); None when the walk stopped short of telling."""
    if "n" not in walked:
        return None
    if not walked["more"]:
        return walked["n"]
    if cap is not None and walked["n"] >= cap:
        return walked["n"] + 1              # beyond the cap: all a capped count can say
    return None


def _by_date(searcher, q, ctx, limit: int, budget: int, oldest: bool) -> list[tuple[float, int]]:
    """(0, docnum) of the first `limit` matches by date. Newest first walks the index in its
    newest-first layout and sorts at most `budget` matches by day (exact while the matches fit
    the budget, and for an index as rebuilt); oldest first must see every match (ids and the
    day column only, as a count does) and keeps the `limit` oldest."""
    leaves = list(searcher.leaf_searchers())

    def matches():
        seen = 0
        for leaf, offset in (leaves if oldest else reversed(leaves)):
            days = day_array(leaf.reader())
            m = q.matcher(leaf, ctx)
            while m.is_active():
                local = m.id()
                yield days[local], seen, offset + local
                seen += 1
                if not oldest and seen >= budget:
                    return
                m.next()
    if oldest:
        chosen = heapq.nsmallest(limit, matches())
    else:
        chosen = sorted(matches(), key=lambda x: (-x[0], x[1]))[:limit]
    return [(0.0, docnum) for _day, _order, docnum in chosen]


def rank(searcher, q, *, kind=None, form=None, status=None, date_from=None,
         date_to=None, limit=20, budget=_BUDGET, sort: str = "relevance",
         walked: dict | None = None) -> list[tuple[float, int]]:
    """(score, docnum) of the best `limit` matches: typed numbers, then title, then body; with
    sort="newest" / "oldest", the matches by date instead (score 0). `walked`, when the body
    pass ran: {n: matches seen, more: whether there are others} (see count_from_walk)."""
    setup = filters(searcher, kind=kind, form=form, status=status, date_from=date_from,
                    date_to=date_to)
    if setup is None:
        return []
    ctx, wrap = setup
    if sort in ("newest", "oldest"):          # checked by the service (search_page)
        try:
            return _by_date(searcher, wrap(q), ctx, limit, max(budget, limit), sort == "oldest")
        except query.QueryError as e:
            raise InvalidInput(f"search query cannot run: {e}") from None
    out: list[tuple[float, int]] = []
    seen: set[int] = set()

    def take(items):
        for score, _order, docnum in sorted(items, key=lambda x: (-x[0], x[1])):
            if docnum not in seen:
                seen.add(docnum)
                out.append((score, docnum))

    full = wrap(q)
    try:
        numbers = positive_terms(q, "number")
        if numbers:
            take(_pinned(searcher, full, ctx, numbers))
        # Within one form every record has the same title: no title pass (and
        # it would be the slowest part, intersecting two large posting lists).
        tq = None if form or positive_terms(q, "form") else title_query(q)
        if tq is not None and len(out) < limit:
            take(_collect(searcher, wrap(tq), ctx, _TITLE_BUDGET))
        if len(out) < limit:
            take(_collect(searcher, full, ctx, max(budget, limit), walked))
    except QmsError:
        raise
    except query.QueryError as e:
        raise InvalidInput(f"search query cannot run: {e}") from None
    return out[:limit]
