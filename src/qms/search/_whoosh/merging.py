"""Merging small segments: the log-structured policy a commit follows and the reader a merge
copies a segment through. Part of the whoosh adapter."""

from __future__ import annotations

import io
import pickle
import zlib
from array import array
from itertools import accumulate

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.reading import SegmentReader

from .postings import _INT


class _MergeReader(SegmentReader):
    """The reader a merge copies a segment through, with a faster iter_postings.

    whoosh's walks the term table, then looks each term up again (an md5 hash-table probe) and
    reads its postings through a matcher, a Python call per posting and per field: in one-by-one
    filing that was nearly half of each index commit. This one reads the term table in order and
    each term's blocks straight from its extent, yielding the same tuples in the same order
    (tests/test_search_adapter.py compares the two)."""

    def iter_postings(self):
        return self.renumbered_postings(0, None)

    def renumbered_postings(self, startdoc: int, docmap: dict | None):
        """iter_postings with each document renumbered as whoosh's _process_posts does for the
        writer's pool: through `docmap` (a segment with deletions), else by `startdoc`."""
        terms = self._terms
        postfile = terms._postfile
        schema = self.schema
        deleted = self.deleted_docs_set
        decode_key = terms._keydecoder
        formats_ = {}
        for keybytes, valbytes in terms._tindex.items():
            fieldname, btext = decode_key(keybytes)
            if fieldname not in schema:
                continue
            ti = W3TermInfo.from_bytes(valbytes)
            fmt = formats_.get(fieldname)
            if fmt is None:
                fmt = formats_[fieldname] = schema[fieldname].format
            if ti.is_inlined():       # whoosh never writes these (see W3PostingsWriter): its own path
                m = self.postings(fieldname, btext)
                while m.is_active():
                    docnum = m.id()
                    yield (fieldname, btext, startdoc + docnum if docmap is None else docmap[docnum],
                           m.weight(), m.value())
                    m.next()
                continue
            offset, length = ti.extent()
            if isinstance(length, tuple):      # whoosh's from_bytes leaves it as unpack_int's tuple
                (length,) = length
            for ids, weights, values in _blocks(postfile.get(offset, length), fmt.fixed_value_size()):
                for docnum, weight, value in zip(ids, weights, values, strict=True):
                    if docnum not in deleted:
                        yield (fieldname, btext, startdoc + docnum if docmap is None else docmap[docnum],
                               weight, value)


def _blocks(extent: bytes, fixedsize):
    """The (ids, weights, values) of each posting block of one term, decoded as W3LeafMatcher does."""
    if extent[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"Block tag error {extent[:4]!r}")
    f = io.BytesIO(extent)
    pos = 4
    while True:
        (blocklength,) = _INT.unpack_from(extent, pos)
        last = blocklength < 0
        end = pos + 4 + abs(blocklength)
        f.seek(pos + 4)
        count, _maxid, _maxweight, compression, _mn, _mx = pickle.load(f)
        data = extent[f.tell():end]
        if compression:
            data = zlib.decompress(data)
        ids, weights, values = pickle.loads(data)
        ids = tuple(accumulate(ids))
        if weights is None:
            weights = (1.0,) * count
        elif isinstance(weights, float):
            weights = tuple(array("f", (weights,))) * count    # float32, as whoosh's array("f")
        if fixedsize is None or fixedsize < 0:
            pass
        elif fixedsize == 0:
            values = (None,) * count
        else:
            values = tuple(values[i:i + fixedsize] for i in range(0, len(values), fixedsize))
        yield ids, weights, values
        if last:
            return
        pos = end


MERGE_FACTOR = 4        # segments of one size class merged together (see merge_small_in_order)


def merge_small_in_order(writer, segments):
    """Log-structured merging (Lucene's LogMergePolicy): segments of the same size class (the power
    of MERGE_FACTOR their documents fall under) are merged, MERGE_FACTOR at a time, into the commit's
    new segment, so a document is rewritten about once per class. whoosh's MERGE_SMALL, used until
    now, merged the growing small segment again with every few one-record segments (4-5 documents
    rewritten a filing at any archive size; 2.5 here): index time of 1,000 one-by-one additions
    29.3 → 25.7 ms each, the longest stall 1.0 → 0.5 s, for about one small segment more on average.

    The segments that stay keep their order: the newest segment is walked first (ranking._collect).
    """
    merge = _to_merge(segments)
    for seg in merge:
        reader = _MergeReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    merged = {s.segment_id() for s in merge}
    return [s for s in segments if s.segment_id() not in merged and s.doc_count() > 0]


def _to_merge(segments) -> list:
    """The segments of the smallest size class that holds MERGE_FACTOR of them, or none."""
    classes: dict[int, list] = {}
    for seg in segments:
        if seg.doc_count() > 0:          # a segment whose documents are all deleted just goes
            classes.setdefault(_size_class(seg.doc_count_all()), []).append(seg)
    for c in sorted(classes):
        if len(classes[c]) >= MERGE_FACTOR:
            return classes[c]
    return []


def _size_class(n: int) -> int:
    c = 0
    while n >= MERGE_FACTOR:
        n //= MERGE_FACTOR
        c += 1
    return c
