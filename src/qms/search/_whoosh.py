"""The one module that touches whoosh: every import of it, every private name, the codec, the
postings writer, the spill pool, segment readers and writers. Pinned to whoosh-reloaded 2.7.5
(tests/test_search_adapter.py); a whoosh upgrade is checked here and nowhere else.

Speed work on top of whoosh: a codec that pickles posting blocks with protocol 5 and skips by
binary search, compact positions, a spill pool that pickles in chunks, field lengths read per
field, and one read of a whole fixed-width column instead of one per document.

The rest of the package uses whoosh's public query, matcher, scoring and parser classes through
the names re-exported here (`query`, `matching`, `scoring`, `plugins`, `syntax`, `QueryParser`,
`ReadTooFar`), so this file is the whole list of what qms needs from whoosh.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from itertools import accumulate, islice

from whoosh import columns, fields, formats, index, matching, query, scoring
from whoosh.analysis import Token, Tokenizer
from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec,
                                  W3FieldWriter, W3LeafMatcher, W3PostingsWriter, W3TermInfo)
from whoosh.matching import ReadTooFar
from whoosh.qparser import QueryParser, plugins, syntax
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import LockError, PostingPool, SegmentWriter

from ..base.errors import Conflict
from .analysis import (LITTLE, decode_positions, encode_positions, field_positional_terms,
                       field_unigram_counts, positional_terms, unigram_counts)
from .schema import FORM_FIELD, ID_FIELDS, TEXT_FIELDS
from whoosh.reading import SegmentReader

MAX_FORM_FIELDS = 32     # distinct form fields one query may name
_INT = struct.Struct("!i")   # a posting block's length (whoosh's write_int)
_USHORT = struct.Struct("!H")  # a term row's field number (whoosh's pack_ushort)
_LENGTHS = struct.Struct("!ii")  # a term row's key and value lengths (whoosh's filetables)
_EXTENT = struct.Struct("!qi")   # a term's postings offset and length (pack_long + pack_int)
_F32 = struct.Struct("f")      # a weight as whoosh keeps it in a block (array "f")
_TERMINFO = W3TermInfo._struct  # flags, weight, df, min/max length byte, max weight, first/last id
_COMPRESS_FROM = 32          # bytes of a posting block's pickle below which it is stored as is

__all__ = ["QueryParser", "ReadTooFar", "matching", "plugins", "query", "scoring", "syntax"]

# ---------------------------------------------------------------------------
# Analysis and postings formats

class CjkTokenizer(Tokenizer):
    """Whoosh-facing analyzer producing the same terms as `positional_terms`.

    Indexing does not go through it (the formats below compute postings directly,
    which is several times faster); it exists so whoosh utilities that tokenize a
    field see consistent terms.
    """

    def __init__(self, unigrams: bool = False):
        self.unigrams = unigrams

    def __eq__(self, other):
        return type(self) is type(other) and self.unigrams == other.unigrams

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if self.unigrams:
            items = [(w, 0) for w, c in unigram_counts(value).items() for _ in range(c)]
        else:
            items = sorted(((w, p) for w, ps in positional_terms(value).items()
                            for p in ps), key=lambda x: x[1])
        for text, pos in items:
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            yield t


class _GramPositions(formats.Positions):
    """Positions format that computes its postings straight from the text."""

    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        for w, plist in positional_terms(value).items():
            yield (w, len(plist), len(plist) * fb, encode_positions(plist))

    def encode(self, poslist):
        return encode_positions(poslist)

    def decode_positions(self, valuestring):
        return decode_positions(valuestring)

    def decode_frequency(self, valuestring):
        return (len(valuestring) - 1) // (2 if valuestring[:1] == b"H" else 4)

    def decode_weight(self, valuestring):
        return self.decode_frequency(valuestring) * self.field_boost


class _GramFrequency(formats.Frequency):
    """Unigram field format: frequency lives in the posting weight only.

    No positions (single characters are looked up, never sequenced) and no value
    bytes (the weight already is the frequency), which keeps the field small.
    """

    posting_size = 0

    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        for w, freq in unigram_counts(value).items():
            yield (w, freq, freq * fb, b"")

    def encode(self, value):
        return b""

    def decode_frequency(self, valuestring):
        return 1

    def decode_weight(self, valuestring):
        return self.field_boost


class _PostingsWriter(W3PostingsWriter):
    """W3 postings with a modern pickle protocol.

    Whoosh pickles each block with protocol 2, where every bytes value (our
    positions) becomes a `_codecs.encode` call: ~20 bytes and a Python call per
    posting on read.  Protocol 5 stores them as short byte strings.  Readers are
    unchanged (pickle.loads detects the protocol), so the index stays a plain
    whoosh index.
    """

    def add_posting(self, id_, weight, vbytes, length=None):
        # whoosh's version plus per-posting type asserts; this one runs ~65M
        # times for 100k records, so keep it lean.
        ids = self._ids
        if len(ids) >= self._blocklimit:
            self._write_block()
            ids = self._ids
        ids.append(id_)
        self._weights.append(weight)
        if weight > self._maxweight:
            self._maxweight = weight
        if vbytes:
            self._values.append(vbytes)
        if length:
            if self._minlength is None or length < self._minlength:
                self._minlength = length
            if length > self._maxlength:
                self._maxlength = length

    def _mini_weights(self):
        weights = self._weights
        w0 = weights[0]
        if all(w == 1.0 for w in weights):
            return None
        if all(w == w0 for w in weights):
            return float(w0)        # the reader expects a float here
        # small integers pickle in 2 bytes, floats in 9
        return tuple(int(w) if w == int(w) else w for w in weights)

    def _write_block(self, last=False):
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        databytes = pickle.dumps((self._mini_ids(), self._mini_weights(),
                                  self._mini_values()), 5)
        # whoosh meant not to compress a short pickle (its check is overwritten by the next line):
        # below 32 bytes zlib makes a block larger (3.5 bytes on average, measured on filed records),
        # and most blocks of a filing's small segment are that short. Each block says whether it is
        # compressed; readers follow it.
        comp = self._compression if len(databytes) >= _COMPRESS_FROM else 0
        if comp:
            databytes = zlib.compress(databytes, comp)
        ids = self._ids
        infobytes = pickle.dumps((len(ids), ids[-1], self._maxweight, comp,
                                  length_to_byte(self._minlength),
                                  length_to_byte(self._maxlength)), 2)
        blocklength = len(infobytes) + len(databytes)
        if last:
            blocklength *= -1
        self._postfile.write_int(blocklength)
        self._postfile.write(infobytes)
        self._postfile.write(databytes)
        self._blockcount += 1
        self._new_block()


BYTE_TO_LENGTH = [byte_to_length(i) for i in range(256)]


class _FieldWriter(W3FieldWriter):
    def add_postings(self, schema, lengths, items):
        # Same protocol and the same bytes as whoosh's FieldWriter.add_postings, but a term whose
        # postings fit one block (every term of a filing's one-document segment, most terms of a
        # merge of small segments) is written in one go by _write_term, instead of through
        # start_term/add_posting/finish_term and a TermInfo object: ~25 µs a term in Python,
        # 600 terms a filing. Field lengths are read once per field, not once per posting.
        lastfn = lasttext = None
        lens = None
        ids = weights = values = lengths_ = None
        self._ends = None
        for fieldname, btext, docnum, weight, value in items:
            if fieldname != lastfn:
                if lasttext is not None:
                    self._write_term(lasttext, ids, weights, values, lengths_)
                if lastfn is not None:
                    self.finish_field()
                self.start_field(fieldname, schema[fieldname])
                self._fixed = self._format.fixed_value_size()
                lastfn, lasttext = fieldname, None
                lens = _field_lengths(lengths, fieldname)
            if docnum == -1:
                continue
            if btext != lasttext:
                if lasttext is not None:
                    self._write_term(lasttext, ids, weights, values, lengths_)
                lasttext = btext
                ids, weights, values, lengths_ = [], [], [], []
            ids.append(docnum)
            weights.append(weight)
            values.append(value or b"")
            lengths_.append(lens[docnum] if lens is not None else 0)
        if lasttext is not None:
            self._write_term(lasttext, ids, weights, values, lengths_)
        if lastfn is not None:
            self.finish_field()

    def _write_term(self, btext, ids, weights, values, lengths):
        pw = self._postwriter
        if len(ids) > pw._blocklimit or pw._inlinelimit > 1:
            self._btext = btext          # more than one block: whoosh's own path
            pw.start_postings(self._format, W3TermInfo())
            for posting in zip(ids, weights, values, lengths):
                pw.add_posting(*posting)
            self.finish_term()
            self._ends = None
            return
        # What W3PostingsWriter._write_block(last=True), W3TermInfo.add_block/set_extent/to_bytes
        # and OrderedHashWriter.add would write for this one block (tests/test_search_adapter.py
        # compares the files byte for byte with whoosh's path).
        fixed = self._fixed
        if len(ids) == 1:                # a filing's segment: every term, the same steps as below
            w = weights[0]
            w32 = _F32.unpack(_F32.pack(w))[0]
            weight_sum = w32
            maxweight = w if w > 0 else 0
            minlength = lengths[0] or None
            maxlength = lengths[0]
            v = values[0]
            mini_values = ((v,) if v else ()) if fixed is None or fixed < 0 else None if fixed == 0 else v
            mini_weights = None if w32 == 1.0 else float(w32)
        else:
            packed = array("f", weights)     # whoosh keeps a block's weights as 32-bit floats
            weight_sum = sum(packed)
            maxweight = 0
            for w in weights:
                if w > maxweight:
                    maxweight = w
            set_lengths = [n for n in lengths if n]
            minlength = min(set_lengths) if set_lengths else None
            maxlength = max(set_lengths) if set_lengths else 0
            kept = [v for v in values if v]
            if fixed is None or fixed < 0:
                mini_values = tuple(kept)
            elif fixed == 0:
                mini_values = None
            else:
                mini_values = b"".join(kept)
            w0 = packed[0]
            if all(w == 1.0 for w in packed):
                mini_weights = None
            elif all(w == w0 for w in packed):
                mini_weights = float(w0)
            else:
                mini_weights = tuple(int(w) if w == int(w) else w for w in packed)
        mini_ids = tuple(b - a for a, b in zip([0, *ids], ids))
        databytes = pickle.dumps((mini_ids, mini_weights, mini_values), 5)
        comp = pw._compression if len(databytes) >= _COMPRESS_FROM else 0
        if comp:
            databytes = zlib.compress(databytes, comp)
        minbyte = length_to_byte(minlength)
        maxbyte = length_to_byte(maxlength)
        infobytes = pickle.dumps((len(ids), ids[-1], maxweight, comp, minbyte, maxbyte), 2)
        tindex = self._tindex
        if self._ends is None:           # where the two files end (a tell() is a system call)
            self._ends = [self._postfile.tell(), tindex.dbfile.tell()]
        ends = self._ends
        start = ends[0]
        block = b"".join((WHOOSH3_HEADER_MAGIC, _INT.pack(-(len(infobytes) + len(databytes))),
                          infobytes, databytes))
        self._postfile.write(block)
        ends[0] += len(block)
        value = _TERMINFO.pack(0, weight_sum, len(ids), minbyte, maxbyte, max(0, maxweight),
                               ids[0], ids[-1]) + _EXTENT.pack(start, len(block))
        key = _USHORT.pack(self._fieldid) + btext
        # OrderedHashWriter.add, one write instead of three
        if key <= tindex.lastkey:
            raise ValueError("Keys must increase: %r..%r" % (tindex.lastkey, key))
        pos = ends[1]
        tindex.index.append(pos)
        row = _LENGTHS.pack(len(key), len(value)) + key + value
        tindex.dbfile.write(row)
        ends[1] += len(row)
        h = tindex.hashfn(key)
        tindex.buckets[h & 255].append((h, pos))
        tindex.lastkey = key


def _field_lengths(lengths, fieldname):
    if not lengths:
        return None
    n = lengths.doc_count_all()
    try:  # one read of the whole one-byte-per-document lengths column
        cr = lengths.column_reader("_%s_len" % fieldname, LENGTHS_COLUMN)
        raw = cr._dbfile.get(cr._basepos, min(cr._count, n))
        out = [BYTE_TO_LENGTH[b] for b in raw]
        out.extend([0] * (n - len(out)))
        return out
    except Exception:
        return [lengths.doc_field_length(d, fieldname) for d in range(n)]


class _LeafMatcher(W3LeafMatcher):
    """W3 postings reader with a binary-search skip_to.

    whoosh steps through a block one posting at a time (a Python call each) to
    reach a target; intersecting a rare term with one that is in every record
    then costs as much as reading the common one entirely.
    """

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        ids = self._data[0]
        self._ids = ids if self._byteids else tuple(accumulate(ids))

    def skip_to(self, targetid):
        if not self.is_active():
            raise ReadTooFar
        if self._ids is None:
            self._read_ids()
        if targetid <= self._ids[self._i]:
            return False
        moved = False
        while targetid > self._maxid:
            if self._lastblock:
                self._atend = True
                return True
            self._goto(self._nextoffset)
            moved = True
        if self._ids is None:
            self._read_ids()
        self._i = bisect_left(self._ids, targetid, self._i)
        return moved


class _Codec(W3Codec):
    def field_writer(self, storage, segment):
        return _FieldWriter(self, storage, segment)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term,
                                           scorer=scorer)
        offset, length = terminfo.extent()
        return _LeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def postings_writer(self, dbfile, byteids=False):
        return _PostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                               compression=self._compression,
                               inlinelimit=self._inlinelimit)


class _Pool(PostingPool):
    """Posting pool whose spill files hold pickled chunks, not one pickle per posting.

    whoosh's pool pickles and unpickles every posting separately when it spills
    to disk (always, for a large rebuild): that was half of the indexing time.
    """

    _CHUNK = 10000

    def add(self, item):
        self.current.append(item)
        self.currentsize += 160 + len(item[1]) + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()

    def iter_postings(self):
        self.fieldnames.update(item[0] for item in self.current)
        return self.items()

    def save(self):
        self.fieldnames.update(item[0] for item in self.current)
        PostingPool.save(self)

    def _write_run(self, f, items):
        it = iter(items)
        while True:
            chunk = list(islice(it, self._CHUNK))
            if not chunk:
                break
            pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        f.close()

    def _read_run(self, path):
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


class _SegmentWriter(SegmentWriter):
    """A SegmentWriter with the fast pool (and, from new_writer, our codec)."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self.pool = _Pool(self._tempstorage, self.newsegment,
                          limitmb=kwargs.get("limitmb", 128))


class _GramField(fields.FieldType):
    def __init__(self):
        super().__init__(_GramPositions(), CjkTokenizer(), scorable=True)


class _UnigramField(fields.FieldType):
    def __init__(self):
        super().__init__(_GramFrequency(), CjkTokenizer(unigrams=True), scorable=True)


class _FieldGramPositions(_GramPositions):
    """Form fields: positions of each field's terms, prefixed by the field's name."""

    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        for w, plist in field_positional_terms(value).items():
            yield (w, len(plist), len(plist) * fb, encode_positions(plist))


class _FieldGramFrequency(_GramFrequency):
    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        for w, freq in field_unigram_counts(value).items():
            yield (w, freq, freq * fb, b"")


class _FormField(fields.FieldType):
    def __init__(self):
        super().__init__(_FieldGramPositions(), CjkTokenizer(), scorable=True)


class _FormUnigramField(fields.FieldType):
    def __init__(self):
        super().__init__(_FieldGramFrequency(), CjkTokenizer(unigrams=True), scorable=True)


def schema() -> fields.Schema:
    spec = {}
    for name in TEXT_FIELDS:
        spec[name] = _GramField()
        spec[name + "1"] = _UnigramField()
    spec[FORM_FIELD] = _FormField()
    spec[FORM_FIELD + "1"] = _FormUnigramField()
    spec["number"] = fields.ID(unique=True)
    for name in ("form", "kind", "status"):
        spec[name] = fields.ID()
    # Per-document values read in bulk: day ordinal for date filters, and
    # "number\x1fstatus" for numbers() -- columns avoid unpickling stored text.
    spec["day"] = fields.COLUMN(columns.NumericColumn("i", default=0))
    spec["key"] = fields.COLUMN(columns.VarBytesColumn())
    spec["s"] = fields.STORED()
    return fields.Schema(**spec)


# whoosh pickles the schema into the index's TOC and unpickles it on every open; indexes written
# before the search package existed name these field classes qms.index.*, so that module name must
# keep resolving or no existing archive's index would open. Indexes written since name this module.
PICKLED_BEFORE = "qms.index"
sys.modules.setdefault(PICKLED_BEFORE, sys.modules[__name__])


def parser_schema() -> fields.Schema:
    # Only the user-facing field names: anything else before a colon is plain text.
    spec = {name: fields.TEXT() for name in TEXT_FIELDS}
    spec.update({name: fields.ID() for name in ID_FIELDS})
    # form fields named in a query reach the parser as ff0, ff1, … (see query._rewrite)
    spec.update({f"ff{i}": fields.TEXT() for i in range(MAX_FORM_FIELDS)})
    return fields.Schema(**spec)


# ---------------------------------------------------------------------------
# Segment readers: whole columns read at once

def raw_column(cr, width: int, count: int) -> bytes | None:
    # One read of a fixed-width whoosh column instead of one read per document.
    try:
        return cr._dbfile.get(cr._basepos, width * min(cr._count, count))
    except AttributeError:
        return None


def day_column(reader) -> array:
    """The segment's "day" column (day ordinals, 0 = no date) as an array indexed by docnum."""
    n = reader.doc_count_all()
    days = array("i", bytes(4 * n))
    if reader.has_column("day"):
        cr = reader.column_reader("day", translate=False)
        raw = raw_column(cr, 4, n)
        if raw is not None:
            vals = array("i")
            vals.frombytes(raw)
            if LITTLE:      # the column is big-endian ("!i")
                vals.byteswap()
            days[:len(vals)] = vals
        else:
            for i, v in enumerate(cr):
                days[i] = v
    return days


def length_column(reader, fieldname: str) -> array | None:
    """The segment's lengths of `fieldname` (one byte a document, decoded), None if unreadable."""
    try:
        cr = reader._perdoc.column_reader("_%s_len" % fieldname, LENGTHS_COLUMN)
    except Exception:
        return None
    n = reader.doc_count_all()
    raw = raw_column(cr, 1, n)
    if raw is None:
        return None
    out = array("I", (BYTE_TO_LENGTH[b] for b in raw))
    out.extend([1] * (n - len(out)))
    return out


# ---------------------------------------------------------------------------
# Segment writers

class _MergeReader(SegmentReader):
    """The reader a merge copies a segment through, with a faster iter_postings.

    whoosh's walks the term table, then looks each term up again (an md5 hash-table probe) and
    reads its postings through a matcher, a Python call per posting and per field: in one-by-one
    filing that was nearly half of each index commit. This one reads the term table in order and
    each term's blocks straight from its extent, yielding the same tuples in the same order
    (tests/test_search_adapter.py compares the two)."""

    def iter_postings(self):
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
                    yield (fieldname, btext, m.id(), m.weight(), m.value())
                    m.next()
                continue
            offset, length = ti.extent()
            if isinstance(length, tuple):      # whoosh's from_bytes leaves it as unpack_int's tuple
                (length,) = length
            for ids, weights, values in _blocks(postfile.get(offset, length), fmt.fixed_value_size()):
                for docnum, weight, value in zip(ids, weights, values, strict=True):
                    if docnum not in deleted:
                        yield (fieldname, btext, docnum, weight, value)


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


def new_writer(ix, limitmb: int = 128, compound: bool = True, lock: bool = True):
    try:
        return _SegmentWriter(ix, limitmb=limitmb, codec=_Codec(), compound=compound,
                              timeout=5.0, _lk=lock)
    except LockError:
        raise Conflict("the search index is locked by another qms process; "
                       "try again when it has finished") from None


def finish_unlocked_segment(writer):
    """A child of a parallel rebuild: close its writer's segment without touching the TOC."""
    return writer._finalize_segment()


def commit_segments(writer, segments) -> None:
    """The parent of a parallel rebuild: commit the children's segments, in this order, as the
    index's only generation (the parent's own segment is empty)."""
    writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()


def open_dir(path):
    return index.open_dir(str(path))


def create_in(path):
    return index.create_in(str(path), schema())


def exists_in(path) -> bool:
    return index.exists_in(str(path))
