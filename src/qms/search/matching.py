"""Matchers: the sequence query (terms at fixed offsets, checked on positions) and the search
filters (dates, form, kind, status) applied inside the matchers from per-segment caches."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import Callable

from ._whoosh import ReadTooFar, day_column, length_column, matching, query, scoring

# ---------------------------------------------------------------------------
# Per-segment caches.  A segment never changes its values (deletions aside, and
# matchers skip deleted documents), so these are keyed by segment id and stay
# valid for every searcher generation that still holds the segment.

_SEGMENT_CACHE: dict[tuple, object] = {}   # days, day order, field lengths
_ALLOW_CACHE: dict[tuple, object] = {}     # allowed docs per (segment, day range)


def _cached(key: tuple, build: Callable[[], object], cache=_SEGMENT_CACHE,
            limit: int = 256):
    try:
        return cache[key]
    except KeyError:
        pass
    if len(cache) >= limit:
        cache.clear()
    value = cache[key] = build()
    return value


def _segment_id(reader) -> str | None:
    try:
        return reader.segment().segment_id()
    except Exception:
        return None


def _day_array(reader) -> array:
    sid = _segment_id(reader)
    return day_column(reader) if sid is None else _cached(("day", sid), lambda: day_column(reader))


day_array = _day_array      # the per-segment day ordinals, for sorting by date (ranking.py)


def _day_order(reader) -> tuple[array, array]:
    """Local docnums sorted by day, and their days (for range bisection)."""
    def build():
        days = _day_array(reader)
        order = array("i", sorted(range(len(days)), key=days.__getitem__))
        return order, array("i", (days[i] for i in order))
    sid = _segment_id(reader)
    return build() if sid is None else _cached(("order", sid), build)


class _Allowed:
    """The documents of one segment that pass the search filters.

    Filters (day range, form, kind, status) are applied inside the matchers, not
    as extra query clauses: a sequence query then skips straight to the next
    allowed document instead of checking positions in documents the filter
    drops, and no two long posting lists are intersected step by step.
    """

    __slots__ = ("bitmap", "docs")

    def __init__(self, reader, days: tuple[int, int] | None, terms: tuple):
        n = reader.doc_count_all()
        parts: list = []
        if days is not None:
            order, sdays = _day_order(reader)
            i, j = bisect_left(sdays, days[0]), bisect_right(sdays, days[1])
            parts.append(order[i:j])
        for fieldname, value in terms:
            if (fieldname, value) in reader:
                parts.append(list(reader.postings(fieldname, value).all_ids()))
            else:
                parts.append([])
        parts.sort(key=len)
        docs = parts[0]
        for other in parts[1:]:
            if not docs:
                break
            keep = set(other)
            docs = [d for d in docs if d in keep]
        self.docs = array("i", sorted(docs))
        bitmap = bytearray(n)
        for d in self.docs:
            bitmap[d] = 1
        self.bitmap = bitmap

    def ok(self, d: int) -> bool:
        # d may be one past the segment's last document (a sequence matcher stepping on after a
        # position check failed on the last one): not allowed, so the matcher ends
        return d < len(self.bitmap) and self.bitmap[d] == 1

    def next_from(self, d: int) -> int | None:
        """The first allowed docnum >= d, or None."""
        docs = self.docs
        i = bisect_left(docs, d)
        return docs[i] if i < len(docs) else None


def _allowed_for(context, reader) -> _Allowed | None:
    spec = getattr(context, "qms_filter", None) if context is not None else None
    if spec is None:
        return None
    sid = _segment_id(reader)
    if sid is None:
        return _Allowed(reader, *spec)
    return _cached(("allow", sid, spec), lambda: _Allowed(reader, *spec), _ALLOW_CACHE, 32)


def field_lengths(reader, fieldname: str) -> array | None:
    """Cached lengths of `fieldname` per document of a segment (for BM25)."""
    sid = _segment_id(reader)
    return None if sid is None else _cached(("len", sid, fieldname), lambda: length_column(reader, fieldname))


# ---------------------------------------------------------------------------
# Query side: a sequence query with fixed offsets, checked on positions, and a
# date filter that skips through the posting lists.

class _SkippingMatcher(matching.WrappingMatcher):
    """Base for wrappers that accept only some of their child's documents."""

    def __init__(self, child, allow: _Allowed | None):
        super().__init__(child)
        self._allow = allow
        self._done = False
        self._find_next()

    def _accept(self) -> bool:
        return True

    def _find_next(self):
        child = self.child
        allow = self._allow
        r = False
        while child.is_active():
            d = child.id()
            if allow is not None and not allow.ok(d):
                nxt = allow.next_from(d + 1)
                if nxt is None:
                    self._done = True
                    return r
                r = child.skip_to(nxt) or r
                continue
            if self._accept():
                return r
            r = child.next() or r
        return r

    def is_active(self):
        return not self._done and self.child.is_active()

    def replace(self, minquality=0):
        if not self.is_active():
            return matching.NullMatcher()
        return self

    def next(self):
        r = self.child.next()
        return self._find_next() or r

    def skip_to(self, id):
        r = self.child.skip_to(id)
        return self._find_next() or r

    def skip_to_quality(self, minquality):
        skipped = self.child.skip_to_quality(minquality)
        self._find_next()
        return skipped

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()

    def supports_block_quality(self):
        return False


class _SeqMatcher(matching.Matcher):
    """Documents holding every leaf term, the terms of each group at fixed offsets of one anchor.

    A flat leapfrog join over the leaf matchers (cheaper than a tree of
    whoosh IntersectionMatchers), positions checked only where all terms meet,
    the date filter checked before that.  One group is one sequence query; an AND
    of sequences ("压缩机 华东") is several groups joined in the same leapfrog, so
    no group's positions are checked in a document that lacks another group's
    terms.  Score: sum of the terms' BM25, each times its query's boost.
    """

    def __init__(self, leaves, groups, boosts, allow=None):
        # leaves rarest first; groups: ((leaf index, offset), ...) per sequence, rarest first
        self._leaves = leaves
        self._groups = groups
        self._boosts = boosts
        self._allow = allow
        # each leaf's positions decoder, looked up once (whoosh's value_as looks it up per posting)
        self._decoders = [_positions_of(leaf) for leaf in leaves]
        self._bm25 = _bm25_terms(leaves, boosts)
        self._active = all(leaf.is_active() for leaf in leaves)
        if self._active:
            self._find(leaves[0].id())

    def _find(self, target: int) -> None:
        leaves = self._leaves
        allow = self._allow
        while True:
            if allow is not None and not allow.ok(target):
                target = allow.next_from(target + 1)
                if target is None:
                    self._active = False
                    return
            for leaf in leaves:
                if leaf.id() < target:
                    leaf.skip_to(target)
                    if not leaf.is_active():
                        self._active = False
                        return
                d = leaf.id()
                if d > target:
                    target = d
                    break
            else:
                if self._positions_ok():
                    return
                target += 1

    def _positions_ok(self) -> bool:
        leaves, decoders = self._leaves, self._decoders
        for group in self._groups:
            if len(group) == 1:
                continue            # one term: being in the document is all it asks
            # rarest first: the anchor candidates shrink at every step
            (first, off0), *rest = group
            cand = {p - off0 for p in decoders[first](leaves[first])}
            for k, off in rest:
                cand.intersection_update(p - off for p in decoders[k](leaves[k]))
                if not cand:
                    return False
        return True

    def is_active(self):
        return self._active

    def id(self):
        return self._leaves[0].id()

    def next(self):
        leaf = self._leaves[0]
        leaf.next()
        if not leaf.is_active():
            self._active = False
            return True
        self._find(leaf.id())
        return True

    def skip_to(self, id):
        if not self._active:
            raise ReadTooFar
        if id > self.id():
            self._find(id)

    def score(self):
        terms = self._bm25
        if terms is None:
            return sum(leaf.score() * b for leaf, b in zip(self._leaves, self._boosts))
        s = 0.0
        for leaf, idf, avgfl, B, K1, dfl, b in terms:
            # whoosh's scoring.bm25, the same expression (the same floats), without four calls a term
            tf, fl = leaf.weight(), dfl(leaf.id())
            s += idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))) * b
        return s

    def weight(self):
        return sum(leaf.weight() for leaf in self._leaves)

    def supports_block_quality(self):
        return False

    def max_quality(self):
        # an upper bound (whoosh's intersection asks for it when pruning)
        return sum(leaf.max_quality() * b for leaf, b in zip(self._leaves, self._boosts))

    def block_quality(self):
        return sum(leaf.block_quality() * b for leaf, b in zip(self._leaves, self._boosts))

    def supports(self, astype):
        return False

    def replace(self, minquality=0):
        return self if self._active else matching.NullMatcher()

    def copy(self):
        return _SeqMatcher([leaf.copy() for leaf in self._leaves], self._groups, self._boosts, self._allow)

    def all_ids(self):
        while self._active:
            yield self.id()
            self.next()


def _positions_of(leaf) -> Callable:
    """leaf -> its current posting's positions: the format's decoder taken once for a postings
    reader; whoosh's value_as (a lookup per posting) for a wrapped one (deleted documents)."""
    fmt = getattr(leaf, "format", None)
    if fmt is None or not fmt.supports("positions"):
        return lambda m: m.value_as("positions")
    decode = fmt.decoder("positions")
    return lambda m: decode(m.value())


def _bm25_terms(leaves, boosts) -> list | None:
    """(leaf, idf, avgfl, B, K1, field length of a doc, boost) per leaf when every leaf scores by
    whoosh's BM25 (ranking._Scorer: its field lengths cached); None: let whoosh score."""
    out = []
    for leaf, b in zip(leaves, boosts):
        scorer = getattr(leaf, "scorer", None)
        if not isinstance(scorer, scoring.BM25FScorer) or type(scorer)._score is not scoring.BM25FScorer._score:
            return None
        out.append((leaf, scorer.idf, scorer.avgfl, scorer.B, scorer.K1, scorer.dfl, b))
    return out


def _seq_matcher(searcher, context, seqs: list, boost: float = 1.0) -> matching.Matcher:
    """One leapfrog over the terms of every sequence query in `seqs` (all must match); `boost`
    multiplies every sequence's own (an AND's)."""
    reader = searcher.reader()
    terms = []          # (doc frequency, sequence, field, text, offset, boost)
    for k, seq in enumerate(seqs):
        for text, off in seq.items:
            if (seq.fieldname, text) not in reader:
                return matching.NullMatcher()
            terms.append((reader.doc_frequency(seq.fieldname, text), k, seq.fieldname, text, off, seq.boost * boost))
    terms.sort()
    ctx = (context or searcher.context()).set(needs_current=True)
    leaves = [query.Term(field, text).matcher(searcher, ctx) for _, _, field, text, _, _ in terms]
    groups = tuple(tuple((i, t[4]) for i, t in enumerate(terms) if t[1] == k) for k in range(len(seqs)))
    return _SeqMatcher(leaves, groups, [t[5] for t in terms], _allowed_for(context, reader))


class SeqQuery(query.Query):
    """Terms of one field that must occur at fixed relative positions."""

    def __init__(self, fieldname: str, items: list[tuple[str, int]], boost: float = 1.0,
                 needle: str = ""):
        self.fieldname = fieldname
        self.items = list(items)
        self.boost = boost
        self.needle = needle

    def __eq__(self, other):
        return (type(self) is type(other) and self.fieldname == other.fieldname
                and self.items == other.items and self.boost == other.boost)

    def __hash__(self):
        return hash((self.fieldname, tuple(self.items), self.boost))

    def __repr__(self):
        return f"SeqQuery({self.fieldname!r}, {self.items!r})"

    def __str__(self):
        return f'{self.fieldname}:"{self.needle}"'

    def has_terms(self):
        return True

    def terms(self, phrases=False):
        if phrases:
            for text, _ in self.items:
                yield (self.fieldname, text)

    def normalize(self):
        return self

    def with_field(self, fieldname: str) -> "SeqQuery":
        return SeqQuery(fieldname, self.items, self.boost, self.needle)

    def estimate_size(self, ixreader):
        return min(ixreader.doc_frequency(self.fieldname, t) for t, _ in self.items)

    def estimate_min_size(self, ixreader):
        return 0

    def matcher(self, searcher, context=None):
        return _seq_matcher(searcher, context, [self])


def seq_clause(q) -> bool:
    """A clause SeqAnd joins: a sequence query, or one term (a sequence of one)."""
    return type(q) is SeqQuery or type(q) is query.Term


class SeqAnd(query.And):
    """An AND whose clauses are all sequence queries or terms ("压缩机 华东"): matched by one leapfrog over
    every term of every clause (whoosh intersects the clauses' matchers instead, checking one
    clause's positions in every document that has its terms, whether or not the other clause
    is there — at 100,000 records most of a two-word search's time)."""

    def matcher(self, searcher, context=None):
        subs = self.subqueries
        if len(subs) < 2 or not all(seq_clause(c) for c in subs):
            return super().matcher(searcher, context)
        return _seq_matcher(searcher, context, [c if type(c) is SeqQuery else
                                                SeqQuery(c.fieldname, [(c.text, 0)], c.boost) for c in subs],
                            self.boost)


class _FilterMatcher(_SkippingMatcher):
    def copy(self):
        return self.__class__(self.child.copy(), self._allow)


class FilterQuery(query.Query):
    """Restricts a query to the documents allowed by the search context's filter."""

    def __init__(self, q):
        self.q = q

    def __eq__(self, other):
        return type(self) is type(other) and self.q == other.q

    def __hash__(self):
        return hash(self.q) ^ 0x5A

    def __repr__(self):
        return f"Filter({self.q!r})"

    def normalize(self):
        return self

    def children(self):
        return [self.q]

    def estimate_size(self, ixreader):
        return self.q.estimate_size(ixreader)

    def matcher(self, searcher, context=None):
        m = self.q.matcher(searcher, context)
        allow = _allowed_for(context, searcher.reader())
        if allow is None or not m.is_active():
            return m
        if not allow.docs:
            return matching.NullMatcher()
        return _FilterMatcher(m, allow)

