"""Posting blocks written and read: the W3 postings writer with protocol-5 pickles, the field
writer that writes a one-block term in one go, the leaf matcher that skips by binary search, the
spill pool that pickles in chunks, and the segment writer that uses it. Part of the whoosh
adapter (see the package's docstring)."""

from __future__ import annotations

import pickle
import struct
import zlib
from array import array
from bisect import bisect_left
from itertools import accumulate, islice

from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3LeafMatcher,
                                  W3PostingsWriter, W3TermInfo)
from whoosh.matching import ReadTooFar
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

_INT = struct.Struct("!i")   # a posting block's length (whoosh's write_int)
_USHORT = struct.Struct("!H")  # a term row's field number (whoosh's pack_ushort)
_LENGTHS = struct.Struct("!ii")  # a term row's key and value lengths (whoosh's filetables)
_EXTENT = struct.Struct("!qi")   # a term's postings offset and length (pack_long + pack_int)
_TERMINFO = W3TermInfo._struct  # flags, weight, df, min/max length byte, max weight, first/last id
_COMPRESS_FROM = 32          # bytes of a posting block's pickle below which it is stored as is


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
        return _mini_weights(self._weights)

    def _write_block(self, last=False):
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        ids = self._ids
        infobytes, databytes = _block_pickles((self._mini_ids(), self._mini_weights(), self._mini_values()),
                                              self._compression, len(ids), ids[-1], self._maxweight,
                                              self._minlength, self._maxlength)
        blocklength = len(infobytes) + len(databytes)
        if last:
            blocklength *= -1
        self._postfile.write_int(blocklength)
        self._postfile.write(infobytes)
        self._postfile.write(databytes)
        self._blockcount += 1
        self._new_block()


def _mini_weights(weights) -> float | tuple | None:
    """A block's weights (32-bit floats, as whoosh keeps them) as its reader takes them back: None
    when every one is 1, one float when all are equal, else each one."""
    w0 = weights[0]
    if all(w == 1.0 for w in weights):
        return None
    if all(w == w0 for w in weights):
        return float(w0)        # the reader expects a float here
    # small integers pickle in 2 bytes, floats in 9
    return tuple(int(w) if w == int(w) else w for w in weights)


def _mini_values(kept: list, fixed: int | None):
    """A block's (non-empty) values as whoosh's W3PostingsWriter._mini_values gives them."""
    if fixed is None or fixed < 0:
        return tuple(kept)
    if fixed == 0:
        return None
    return b"".join(kept)


def _block_pickles(data: tuple, compression: int, count: int, lastid: int, maxweight, minlength,
                   maxlength) -> tuple[bytes, bytes]:
    """A posting block's info and data pickles: the (ids, weights, values) with protocol 5,
    compressed unless short; the info (count, last id, max weight, compression, length bytes)
    as whoosh writes it."""
    databytes = pickle.dumps(data, 5)
    # whoosh meant not to compress a short pickle (its check is overwritten by the next line):
    # below 32 bytes zlib makes a block larger (3.5 bytes on average, measured on filed records),
    # and most blocks of a filing's small segment are that short. Each block says whether it is
    # compressed; readers follow it.
    comp = compression if len(databytes) >= _COMPRESS_FROM else 0
    if comp:
        databytes = zlib.compress(databytes, comp)
    infobytes = pickle.dumps((count, lastid, maxweight, comp, length_to_byte(minlength),
                              length_to_byte(maxlength)), 2)
    return infobytes, databytes

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
        packed = array("f", weights)     # whoosh keeps a block's weights as 32-bit floats
        maxweight = 0
        for w in weights:
            if w > maxweight:
                maxweight = w
        set_lengths = [n for n in lengths if n]
        minlength = min(set_lengths) if set_lengths else None
        maxlength = max(set_lengths) if set_lengths else 0
        mini_ids = tuple(b - a for a, b in zip([0, *ids], ids))
        infobytes, databytes = _block_pickles(
            (mini_ids, _mini_weights(packed), _mini_values([v for v in values if v], self._fixed)),
            pw._compression, len(ids), ids[-1], maxweight, minlength, maxlength)
        minbyte = length_to_byte(minlength)
        maxbyte = length_to_byte(maxlength)
        tindex = self._tindex
        if self._ends is None:           # where the two files end (a tell() is a system call)
            self._ends = [self._postfile.tell(), tindex.dbfile.tell()]
        ends = self._ends
        start = ends[0]
        block = b"".join((WHOOSH3_HEADER_MAGIC, _INT.pack(-(len(infobytes) + len(databytes))),
                          infobytes, databytes))
        self._postfile.write(block)
        ends[0] += len(block)
        value = _TERMINFO.pack(0, sum(packed), len(ids), minbyte, maxbyte, max(0, maxweight),
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

    def extend(self, items):
        """add() of each item, the size counted and checked once (a merge's postings)."""
        items = list(items)
        self.current.extend(items)
        self.currentsize += sum(160 + len(item[1]) + len(item[4] or b"") for item in items)
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

    def add_postings_to_pool(self, reader, startdoc, docmap):
        # a merge's reader (merging._MergeReader) renumbers as it reads: one list into the pool,
        # not whoosh's renumbering generator and a pool.add call per posting
        renumbered = getattr(reader, "renumbered_postings", None)
        if renumbered is None:
            return super().add_postings_to_pool(reader, startdoc, docmap)
        self.pool.extend(renumbered(startdoc, docmap))
