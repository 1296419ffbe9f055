"""Full-text search over documents and records (the only module that imports whoosh).

Chinese is matched as in any Chinese search box: a run of Chinese characters in a
query means exactly that string.  Text is indexed as overlapping character bigrams
(with positions) plus unigrams (in a separate field, no positions); a query run of
n characters becomes one unigram term (n=1), one bigram term (n=2) or a bigram
sequence with fixed offsets (n>=3): exact substring semantics, no dictionary.
ASCII words and codes (XK-200, QP-SC-015) are lower-cased tokens, kept whole and
also split into parts (xk, 200).  Full-width forms are folded to ASCII.

Position stream of the positional field (why it looks like this):
  * a Chinese run of n chars starting at position p puts bigram i at p+i, the first
    char at p and the last char at p+n-1 (edge unigrams); the next token is p+n+1
    (the empty position keeps sequences from straddling two runs).
  * an ASCII word takes one position; its parts share it.
  * segments (title, text, customer, ...) are separated by a large gap.
So "ABCD" = AB@p, CD@p+2 (a covering subset of the bigrams is enough), and a
quoted phrase "型号 XK-200" = 型号@p, xk-200@p+3 (tokens adjacent, only spaces or
punctuation between them).

Query language: whoosh's (AND, OR, NOT, ANDNOT, +/-, quotes, parentheses,
field:value for number/form/kind/status/title/customer/department/people/text,
Chinese aliases such as 客户: and 编号:, XK-2* wildcards).

Ranking (see _collect): exact number matches first, then title matches, then the
body; BM25 among at most _BUDGET matches taken newest first.  Filters (dates,
form, kind, status) run inside the matchers from per-segment caches.

Speed work on top of whoosh (all whoosh-internal, all in this module): a codec
that pickles posting blocks with protocol 5 and skips by binary search, compact
positions, a spill pool that pickles in chunks, field lengths read per field, and
a rebuild that writes documents newest first in parallel segments.
"""

from __future__ import annotations

import datetime
import html
import multiprocessing
import os
import pickle
import queue
import re
import shutil
import struct
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import accumulate, islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from whoosh import columns, fields, formats, index, matching, query, scoring
from whoosh.analysis import Token, Tokenizer
from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec,
                                  W3FieldWriter, W3LeafMatcher, W3PostingsWriter)
from whoosh.matching import ReadTooFar
from whoosh.qparser import QueryParser, plugins, syntax
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import LockError, PostingPool, SegmentWriter

from qms import indexseal
from qms.errors import QmsError

# Bump when the schema or the analysis changes: an old index must be rebuilt.
INDEX_VERSION = "qms-index-2"   # 2: codes also indexed by their runs of parts
_VERSION_FILE = "QMS_INDEX_VERSION"

# ---------------------------------------------------------------------------
# Text normalisation and analysis (pure Python, shared by indexing, querying and
# highlighting so the three can never disagree).

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Group 1: a run of Chinese characters; group 2: a word of letters/digits that may
# be joined by - _ . / (codes like xk-200, qp-sc-015, 3.5, gb/t19001).
_TOKEN_RE = re.compile(
    rf"([{_CJK}]+)|([^\W_{_CJK}]+(?:[-_./][^\W_{_CJK}]+)*)")
_PARTS_RE = re.compile(r"[0-9]+|[^\W\d_]+")
_HAS_CJK = re.compile(rf"[{_CJK}]")

# Separates the segments of one field value (title / text / ...).  Never bridged.
_SEP = "\x1f"
_SEGMENT_GAP = 100


def _build_norm_table() -> dict[int, int]:
    # Length-preserving (one char -> one char) so offsets in the normalised text
    # are offsets in the stored original: highlight can cut the original text.
    table = {}
    for c in range(ord("A"), ord("Z") + 1):
        table[c] = c + 32
    for c in range(0xFF01, 0xFF5F):              # full-width ASCII -> ASCII
        ch = chr(c - 0xFEE0)
        table[c] = ord(ch.lower())
    table[0x3000] = 0x20                          # ideographic space
    import unicodedata
    for c in range(0xF900, 0xFB00):               # CJK compatibility ideographs
        n = unicodedata.normalize("NFKC", chr(c))
        if len(n) == 1 and n != chr(c):
            table[c] = ord(n)
    table[ord(_SEP)] = 0x20                      # our separator never comes from data
    return table


_NORM = _build_norm_table()
_NORM_CHR = {chr(k): chr(v) for k, v in _NORM.items()}
_NORM_RE = re.compile("[" + "".join(sorted(re.escape(c) for c in _NORM_CHR)) + "]")


def normalize(text: str) -> str:
    """Lower-case ASCII, fold full-width forms; same length as the input."""
    # str.translate with a dict costs a lookup per character; most text needs
    # only a few replacements (upper-case codes), found at C speed.
    if _NORM_RE.search(text) is None:
        return text
    return _NORM_RE.sub(lambda m: _NORM_CHR[m.group()], text)


def _parts(word: str) -> list[str]:
    parts = _PARTS_RE.findall(word)
    return parts if len(parts) > 1 else []


_MAX_CODE_PARTS = 10   # a code longer than this is indexed by its parts only (no part runs)


def _part_runs(word: str) -> list[str]:
    """Every run of two or more consecutive parts of a code, as typed (but not the whole code):
    qr-sv-022-02-2026-0001 → qr-sv, qr-sv-022, …, 2026-0001; xk200-2023-0418 → xk200, xk200-2023, …
    so a code is found whole or by any stretch of it (QR-SV-022, 2026-0001, XK200-2023)."""
    spans = [m.span() for m in _PARTS_RE.finditer(word)]
    if len(spans) < 3 or len(spans) > _MAX_CODE_PARTS:
        return []
    out = []
    for i in range(len(spans)):
        for j in range(i + 1, len(spans)):
            if i == 0 and j == len(spans) - 1:
                continue
            out.append(word[spans[i][0]:spans[j][1]])
    return out


def positional_terms(value: str) -> dict[str, list[int]]:
    """term -> ascending positions for the positional field (see module doc)."""
    poses: dict[str, list[int]] = defaultdict(list)
    pos = 0
    for seg in value.split(_SEP):
        for m in _TOKEN_RE.finditer(normalize(seg)):
            run = m.group(1)
            if run:
                n = len(run)
                if n == 1:
                    poses[run].append(pos)
                else:
                    poses[run[0]].append(pos)
                    for i in range(n - 1):
                        poses[run[i:i + 2]].append(pos + i)
                    poses[run[-1]].append(pos + n - 1)
                # One empty position after every run: a covering subset of a
                # query's bigrams (offsets 0, 2, ...) can then never straddle two
                # runs ("需求，组织" must not match 需求组织).
                pos += n + 1
            else:
                word = m.group(2)
                poses[word].append(pos)
                for part in set(_parts(word)) | set(_part_runs(word)):
                    poses[part].append(pos)
                pos += 1
        pos += _SEGMENT_GAP
    for plist in poses.values():
        plist.sort()
    return poses


def unigram_counts(value: str) -> Counter:
    counts: Counter = Counter()
    for seg in value.split(_SEP):
        for m in _TOKEN_RE.finditer(normalize(seg)):
            if m.group(1):
                counts.update(m.group(1))
    return counts


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


_LITTLE = struct.pack("=H", 1) == struct.pack("<H", 1)
_PACK_ONE = struct.Struct("<cH").pack


def _encode_positions(plist: list[int]) -> bytes:
    # 2 bytes a position (4 past 65535) instead of whoosh's pickled delta list
    # (about 14 bytes for a single position): most postings hold one position.
    if len(plist) == 1 and plist[0] < 65536:
        return _PACK_ONE(b"H", plist[0])
    code = "H" if plist[-1] < 65536 else "I"
    a = array(code, plist)
    if not _LITTLE:
        a.byteswap()
    return code.encode() + a.tobytes()


def _decode_positions(v: bytes) -> list[int]:
    a = array(chr(v[0]))
    a.frombytes(v[1:])
    if not _LITTLE:
        a.byteswap()
    return a.tolist()


class _GramPositions(formats.Positions):
    """Positions format that computes its postings straight from the text."""

    def word_values(self, value, analyzer, **kwargs):
        fb = self.field_boost
        for w, plist in positional_terms(value).items():
            yield (w, len(plist), len(plist) * fb, _encode_positions(plist))

    def encode(self, poslist):
        return _encode_positions(poslist)

    def decode_positions(self, valuestring):
        return _decode_positions(valuestring)

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
        comp = self._compression
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


_BYTE_TO_LENGTH = [byte_to_length(i) for i in range(256)]


class _FieldWriter(W3FieldWriter):
    def add_postings(self, schema, lengths, items):
        # Same protocol as whoosh's FieldWriter.add_postings, but field lengths
        # are read once per field instead of once per posting (which was a
        # fifth of the indexing time).
        lastfn = lasttext = None
        lens = None
        add = None
        for fieldname, btext, docnum, weight, value in items:
            if fieldname != lastfn:
                if lasttext is not None:
                    self.finish_term()
                if lastfn is not None:
                    self.finish_field()
                self.start_field(fieldname, schema[fieldname])
                lastfn, lasttext = fieldname, None
                lens = _field_lengths(lengths, fieldname)
                add = self._postwriter.add_posting
            if docnum == -1:
                continue
            if btext != lasttext:
                if lasttext is not None:
                    self.finish_term()
                self.start_term(btext)
                lasttext = btext
            add(docnum, weight, value or b"", lens[docnum] if lens is not None else 0)
        if lasttext is not None:
            self.finish_term()
        if lastfn is not None:
            self.finish_field()


def _field_lengths(lengths, fieldname):
    if not lengths:
        return None
    n = lengths.doc_count_all()
    try:  # one read of the whole one-byte-per-document lengths column
        cr = lengths.column_reader("_%s_len" % fieldname, LENGTHS_COLUMN)
        raw = cr._dbfile.get(cr._basepos, min(cr._count, n))
        out = [_BYTE_TO_LENGTH[b] for b in raw]
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
    """A SegmentWriter with the fast pool (and, from _new_writer, our codec)."""

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


# Fields users can name in a query (and Chinese aliases for them).
_TEXT_FIELDS = ("text", "title", "customer", "department", "people")
_ID_FIELDS = ("number", "form", "kind", "status")
_ALIASES = {
    "number": ["编号", "文件编号", "记录编号"], "form": ["表单", "表格"],
    "customer": ["客户"], "department": ["部门"], "people": ["人员", "签名"],
    "status": ["状态"], "kind": ["类型"], "title": ["标题"], "text": ["正文", "内容"],
}
_KIND_ALIASES = {"文件": "doc", "文档": "doc", "记录": "record", "document": "doc"}


def _schema() -> fields.Schema:
    spec = {}
    for name in _TEXT_FIELDS:
        spec[name] = _GramField()
        spec[name + "1"] = _UnigramField()
    spec["number"] = fields.ID(unique=True)
    for name in ("form", "kind", "status"):
        spec[name] = fields.ID()
    # Per-document values read in bulk: day ordinal for date filters, and
    # "number\x1fstatus" for numbers() -- columns avoid unpickling stored text.
    spec["day"] = fields.COLUMN(columns.NumericColumn("i", default=0))
    spec["key"] = fields.COLUMN(columns.VarBytesColumn())
    spec["s"] = fields.STORED()
    return fields.Schema(**spec)


def _parser_schema() -> fields.Schema:
    # Only the user-facing field names: anything else before a colon is plain text.
    spec = {name: fields.TEXT() for name in _TEXT_FIELDS}
    spec.update({name: fields.ID() for name in _ID_FIELDS})
    return fields.Schema(**spec)


# ---------------------------------------------------------------------------
# Public data types

@dataclass
class IndexDoc:
    number: str
    kind: str
    title: str
    text: str
    form: str = ""
    department: str = ""
    customer: str = ""
    people: list[str] = field(default_factory=list)
    date: datetime.date | None = None
    status: str = ""


@dataclass
class Hit:
    number: str
    kind: str
    form: str
    title: str
    date: str
    status: str
    score: float
    highlight: str


def _fields_for(doc: IndexDoc) -> dict:
    number = (doc.number or "").strip()
    if not number:
        raise QmsError("cannot index a document without a number")
    people = [p for p in (doc.people or []) if p]
    body = _SEP.join([doc.title or "", doc.text or "", doc.form or "", number,
                      doc.customer or "", doc.department or "", *people])
    day = doc.date.toordinal() if doc.date else 0
    out = {
        "text": body, "text1": body,
        "number": normalize(number),
        "kind": normalize((doc.kind or "").strip()),
        "day": day,
        "key": f"{number}{_SEP}{doc.status or ''}".encode("utf-8"),
        "s": (number, doc.kind or "", doc.form or "", doc.title or "",
              doc.date.isoformat() if doc.date else "", doc.status or "",
              doc.text or ""),   # whoosh zlib-compresses stored fields
    }
    # ID fields hold normalised values: the query side normalises the same way
    if doc.form:
        out["form"] = normalize(doc.form.strip())
    if doc.status:
        out["status"] = normalize(doc.status.strip())
    for name, value in (("title", doc.title), ("customer", doc.customer),
                        ("department", doc.department)):
        if value:
            out[name] = out[name + "1"] = value
    if people:
        out["people"] = out["people1"] = _SEP.join(people)
    return out


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


def _raw_column(cr, width: int, count: int) -> bytes | None:
    # One read of a fixed-width whoosh column instead of one read per document.
    try:
        return cr._dbfile.get(cr._basepos, width * min(cr._count, count))
    except AttributeError:
        return None


def _day_array(reader) -> array:
    def build():
        n = reader.doc_count_all()
        days = array("i", bytes(4 * n))
        if reader.has_column("day"):
            cr = reader.column_reader("day", translate=False)
            raw = _raw_column(cr, 4, n)
            if raw is not None:
                vals = array("i")
                vals.frombytes(raw)
                if _LITTLE:      # the column is big-endian ("!i")
                    vals.byteswap()
                days[:len(vals)] = vals
            else:
                for i, v in enumerate(cr):
                    days[i] = v
        return days
    sid = _segment_id(reader)
    return build() if sid is None else _cached(("day", sid), build)


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
        return self.bitmap[d] == 1

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


def _lengths(reader, fieldname: str) -> array | None:
    def build():
        try:
            cr = reader._perdoc.column_reader("_%s_len" % fieldname, LENGTHS_COLUMN)
        except Exception:
            return None
        n = reader.doc_count_all()
        raw = _raw_column(cr, 1, n)
        if raw is None:
            return None
        out = array("I", (_BYTE_TO_LENGTH[b] for b in raw))
        out.extend([1] * (n - len(out)))
        return out
    sid = _segment_id(reader)
    return None if sid is None else _cached(("len", sid, fieldname), build)


class _Scorer(scoring.BM25FScorer):
    def setup(self, searcher, fieldname, text):
        super().setup(searcher, fieldname, text)
        # whoosh reads each document's field length from disk per call; a cached
        # per-segment list makes scoring a candidate several times cheaper.
        lens = _lengths(searcher.reader(), fieldname)
        if lens is not None:
            self.dfl = lens.__getitem__


class _Weighting(scoring.BM25F):
    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return _Scorer(searcher, fieldname, text, self.B, self.K1, qf=qf)


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
    """Documents holding every leaf term, term i at anchor + offset i.

    A flat leapfrog join over the leaf matchers (cheaper than a tree of
    whoosh IntersectionMatchers), positions checked only where all terms meet,
    the date filter checked before that.  Score: sum of the terms' BM25.
    """

    def __init__(self, leaves, offsets, allow=None, boost=1.0):
        self._leaves = leaves
        self._offsets = offsets
        self._allow = allow
        self._boost = boost
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
        leaves = self._leaves
        offs = self._offsets
        # leaves are rarest first; the anchor candidates shrink at every step
        cand = {p - offs[0] for p in leaves[0].value_as("positions")}
        for k in range(1, len(leaves)):
            off = offs[k]
            cand.intersection_update(p - off for p in leaves[k].value_as("positions"))
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
        return sum(leaf.score() for leaf in self._leaves) * self._boost

    def weight(self):
        return sum(leaf.weight() for leaf in self._leaves)

    def supports_block_quality(self):
        return False

    def max_quality(self):
        # an upper bound (whoosh's intersection asks for it when pruning)
        return sum(leaf.max_quality() for leaf in self._leaves) * self._boost

    def block_quality(self):
        return sum(leaf.block_quality() for leaf in self._leaves) * self._boost

    def supports(self, astype):
        return False

    def replace(self, minquality=0):
        return self if self._active else matching.NullMatcher()

    def copy(self):
        return _SeqMatcher([leaf.copy() for leaf in self._leaves], self._offsets,
                           self._allow, self._boost)

    def all_ids(self):
        while self._active:
            yield self.id()
            self.next()


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
        reader = searcher.reader()
        fieldname = self.fieldname
        ranked = []
        for text, off in self.items:
            if (fieldname, text) not in reader:
                return matching.NullMatcher()
            ranked.append((reader.doc_frequency(fieldname, text), text, off))
        ranked.sort()
        ctx = (context or searcher.context()).set(needs_current=True)
        leaves = [query.Term(fieldname, t).matcher(searcher, ctx) for _, t, _ in ranked]
        return _SeqMatcher(leaves, [o for _, _, o in ranked],
                           _allowed_for(context, reader), self.boost)


class _FilterMatcher(_SkippingMatcher):
    def copy(self):
        return self.__class__(self.child.copy(), self._allow)


class _FilterQuery(query.Query):
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


# ---------------------------------------------------------------------------
# Query parser: whoosh's language (AND/OR/NOT, quotes, field:value, grouping)
# with our own term and phrase construction.

class _PhrasePlugin(plugins.PhrasePlugin):
    class QmsPhraseNode(syntax.TextNode):
        def __init__(self, text, textstartchar, slop=1):
            syntax.TextNode.__init__(self, text)
            self.textstartchar = textstartchar
            self.slop = slop

        def r(self):
            return f"QmsPhrase {self.text!r}"

        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            return syntax.attach(parser.phrase_query(fieldname, self.text, self.boost), self)

    class QmsPhraseTagger(plugins.RegexTagger):
        def create(self, parser, match):
            slop = match.group("slop")
            return _PhrasePlugin.QmsPhraseNode(match.group("text"), match.start("text"),
                                              int(slop) if slop else 1)

    def taggers(self, parser):
        return [(self.QmsPhraseTagger(self.expr), 0)]


class _Parser(QueryParser):
    def __init__(self):
        pins = [plugins.SingleQuotePlugin(), plugins.FieldsPlugin(),
                plugins.FieldAliasPlugin(_ALIASES), plugins.WildcardPlugin(),
                _PhrasePlugin(), plugins.GroupPlugin(), plugins.OperatorsPlugin(),
                plugins.PlusMinusPlugin(r"(?:^|(?<=[\s(]))\+(?=\S)", r"(?:^|(?<=[\s(]))-(?=\S)"),
                plugins.BoostPlugin(), plugins.EveryPlugin()]
        super().__init__("text", _parser_schema(), plugins=pins)

    # -- building blocks -------------------------------------------------
    @staticmethod
    def run_query(fieldname: str, run: str, boost: float = 1.0) -> query.Query:
        n = len(run)
        if n == 1:
            q = query.Term(fieldname + "1", run, boost=boost)
        elif n == 2:
            q = query.Term(fieldname, run, boost=boost)
        else:
            # A covering subset of the bigrams is enough: offsets 0,2,4,... and n-2.
            offs = list(range(0, n - 1, 2))
            if offs[-1] != n - 2:
                offs.append(n - 2)
            return SeqQuery(fieldname, [(run[i:i + 2], i) for i in offs], boost=boost,
                            needle=run)
        return q

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True,
                   removestops=True):
        fieldname = fieldname or self.fieldname
        wild = termclass is not query.Term
        if fieldname in _ID_FIELDS:
            value = normalize(text.strip())
            if fieldname == "kind":
                value = _KIND_ALIASES.get(value, value)
            if termclass is query.Prefix:
                return query.Prefix(fieldname, value, boost=boost)
            if wild:
                return query.Wildcard(fieldname, value, boost=boost)
            return query.Term(fieldname, value, boost=boost)
        if fieldname not in _TEXT_FIELDS:
            raise QmsError(f"unknown search field '{fieldname}'")
        norm = normalize(text).strip()
        if wild:
            if not norm.strip("*?"):
                return query.Every()
            if not _HAS_CJK.search(norm) and _TOKEN_RE.fullmatch(norm.replace("*", "a").replace("?", "a")):
                # ASCII wildcard over whole-word tokens (XK-2*, qp-??-015).
                pattern = norm + "*" if termclass is query.Prefix else norm
                return query.Wildcard(fieldname, pattern, boost=boost)
            # Chinese already has substring semantics: a * adds nothing.
            norm = norm.replace("*", " ").replace("?", " ")
        clauses: list[query.Query] = []
        for m in _TOKEN_RE.finditer(norm):
            run, word = m.group(1), m.group(2)
            if run:
                clauses.append(self.run_query(fieldname, run, boost))
            else:
                q = query.Term(fieldname, word, boost=boost)
                if fieldname == "text" and _parts(word):
                    # A code typed alone may be a document/record number: rank the
                    # document itself first.
                    q = query.Or([q, query.Term("number", word, boost=boost * 20)])
                clauses.append(q)
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else query.And(clauses)

    def phrase_query(self, fieldname, text, boost=1.0):
        if fieldname in _ID_FIELDS:
            return self.term_query(fieldname, text, query.Term, boost)
        if fieldname not in _TEXT_FIELDS:
            raise QmsError(f"unknown search field '{fieldname}'")
        # The tokens of a quoted phrase must follow each other, with only spaces
        # or punctuation between them.  Chinese is written without spaces, so a
        # space between two Chinese runs may also stand for nothing at all:
        # "服务 工程师" finds 服务工程师 as well as 服务，工程师 (one variant each).
        norm = normalize(text)
        toks = list(_TOKEN_RE.finditer(norm))
        if not toks:
            return None
        optional = [i for i in range(1, len(toks))
                    if toks[i].group(1) and toks[i - 1].group(1)
                    and not norm[toks[i - 1].end():toks[i].start()].strip()][:3]
        variants = []
        for mask in range(1 << len(optional)):
            joined = {optional[k] for k in range(len(optional)) if mask >> k & 1}
            pieces: list[list] = []
            for i, m in enumerate(toks):
                if i in joined:
                    pieces[-1][1] += m.group(1)
                else:
                    pieces.append([bool(m.group(1)), m.group(0)])
            q = self._sequence(fieldname, pieces, boost, text)
            if q not in variants:
                variants.append(q)
        return variants[0] if len(variants) == 1 else query.Or(variants)

    def _sequence(self, fieldname, pieces, boost, needle):
        if len(pieces) == 1 and pieces[0][0]:
            return self.run_query(fieldname, pieces[0][1], boost)   # a substring
        items: list[tuple[str, int]] = []
        pos = 0
        for is_run, tok in pieces:
            if is_run:
                n = len(tok)
                if n == 1:
                    # between other tokens a single character must start (after
                    # a token) or end (before one) a run: the edge unigrams
                    items.append((tok, pos))
                else:
                    items.extend((tok[k:k + 2], pos + k) for k in range(n - 1))
                pos += n + 1
            else:
                items.append((tok, pos))
                pos += 1
        if len(items) == 1:
            return query.Term(fieldname, items[0][0], boost=boost)
        return SeqQuery(fieldname, items, boost=boost, needle=needle)


_PARSER: _Parser | None = None


def _parser() -> _Parser:
    global _PARSER
    if _PARSER is None:
        _PARSER = _Parser()
    return _PARSER


_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _check_syntax(qstring: str) -> None:
    """Reject what whoosh would silently reinterpret, with a message a user can act on."""
    if qstring.count('"') % 2:
        raise QmsError(f"unbalanced double quote in search query: {qstring}")
    depth = 0
    outside = re.sub(r'"[^"]*"', " ", qstring)
    for ch in outside:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QmsError(f"unbalanced ')' in search query: {qstring}")
    if depth:
        raise QmsError(f"unbalanced '(' in search query: {qstring}")
    words = re.findall(r"\S+", re.sub(r"[()]", " ", outside))
    if words and words[-1] in _OPERATORS:
        raise QmsError(f"search query ends with operator {words[-1]}: {qstring}")
    if words and words[0] in _OPERATORS - {"NOT"}:
        raise QmsError(f"search query starts with operator {words[0]}: {qstring}")
    for a, b in zip(words, words[1:]):
        if a in _OPERATORS and b in _OPERATORS - {"NOT"}:
            raise QmsError(f"operators {a} {b} in a row in search query: {qstring}")
    known = set(_TEXT_FIELDS) | set(_ID_FIELDS) | {a for v in _ALIASES.values() for a in v}
    for m in re.finditer(r"(?:^|(?<=[\s(]))([A-Za-z]\w*|[^\W\d]\w*):(?=\s*(?:\)|$))",
                         outside):
        if m.group(1) in known:
            raise QmsError(f"field '{m.group(1)}:' has no value in search query: {qstring}")


def _field_colons(qstring: str) -> str:
    """客户：华东电力 as a Chinese keyboard types it means 客户:华东电力 (only after a field name)."""
    known = set(_TEXT_FIELDS) | set(_ID_FIELDS) | {a for v in _ALIASES.values() for a in v}
    return re.sub(r"(?:^|(?<=[\s(+-]))([^\s():：]+)：",
                  lambda m: m.group(1) + (":" if m.group(1) in known else "："), qstring)


def parse_query(qstring: str) -> query.Query | None:
    """Parse a user query; None when it holds nothing searchable. A query of negations only
    (`NOT 华东`, `-培训`) means everything except those."""
    qstring = _field_colons(qstring)
    _check_syntax(qstring)
    try:
        q = _parser().parse(qstring)
    except QmsError:
        raise
    except Exception as e:  # whoosh parser internals: report, don't trace back
        raise QmsError(f"cannot parse search query '{qstring}': {e}") from None
    errors = [n for n in _walk(q) if getattr(n, "error", None)]
    if errors:
        raise QmsError(f"cannot parse search query '{qstring}': {errors[0].error}")
    if q is query.NullQuery:
        return None
    if not _has_positive(q):
        q = query.And([query.Every(), q])
    return _without_andnot(q)


def _without_andnot(q):
    # whoosh-reloaded's AndNotMatcher returns its first positive document even
    # when the negative list holds it (it only re-checks when both lists start on
    # the same document): "维修 -培训" leaked.  And(a, Not(b)) is matched right.
    if isinstance(q, query.AndNot):
        return query.And([_without_andnot(q.a), query.Not(_without_andnot(q.b))])
    if list(q.children()):
        return q.apply(_without_andnot)
    return q


def _walk(q) -> Iterator[query.Query]:
    yield q
    for c in q.children():
        yield from _walk(c)


def _has_positive(q) -> bool:
    if q is query.NullQuery:
        return False
    if isinstance(q, query.Not):
        return False
    if isinstance(q, query.AndNot):
        return _has_positive(q.a)
    kids = list(q.children())
    if kids:
        return any(_has_positive(c) for c in kids)
    return True


def _positive_leaves(q):
    """The query's clauses that are not negated, depth first (NOT and AndNot's b are skipped)."""
    if isinstance(q, query.Not):
        return
    if isinstance(q, query.AndNot):
        yield from _positive_leaves(q.a)
        return
    yield q
    for c in q.children():
        yield from _positive_leaves(c)


def _needles(q) -> list[str]:
    """Strings to highlight: the text of every positive clause on a text field."""
    out: list[str] = []
    text_fields = set(_TEXT_FIELDS) | {f + "1" for f in _TEXT_FIELDS}
    skip: set[int] = set()
    for node in _positive_leaves(q):
        if id(node) in skip or getattr(node, "fieldname", None) not in text_fields:
            continue
        skip.update(id(c) for c in _positive_leaves(node) if c is not node)   # its parts are not needles
        if isinstance(node, SeqQuery):
            out.append(node.needle)
        elif isinstance(node, query.Prefix):
            out.append(node.text + "*")
        elif isinstance(node, (query.Term, query.Wildcard)):
            out.append(node.text)
    return out


# ---------------------------------------------------------------------------
# Highlighting

_PASSAGE = 120
_LEAD = 30


def _word_pattern(tok: str) -> str:
    # an ASCII needle is a word or a part of one (letters/digits split)
    pat = re.escape(tok)
    if tok[:1].isascii() and tok[:1].isalnum():
        pat = (r"(?<![0-9])" if tok[0].isdigit() else r"(?<![a-z])") + pat
    if tok[-1:].isascii() and tok[-1:].isalnum():
        pat += r"(?![0-9])" if tok[-1].isdigit() else r"(?![a-z])"
    return pat


def highlighter(needles: list[str]) -> re.Pattern | None:
    """One regex for all the strings to mark (compiled once per search)."""
    pats = []
    w = f"[^\\W_{_CJK}]"
    for nd in sorted({normalize(n).strip() for n in needles if n.strip()},
                     key=len, reverse=True):
        if "*" in nd or "?" in nd:
            pats.append(re.escape(nd).replace(r"\*", f"(?:{w}|[-_./](?={w}))*")
                        .replace(r"\?", w))
            continue
        toks = [m.group(0) for m in _TOKEN_RE.finditer(nd)]
        if len(toks) > 1:     # a phrase: its tokens with only separators between
            pats.append(r"[\W_]*".join(_word_pattern(t) for t in toks))
        pats.extend(_word_pattern(t) for t in toks)
    return re.compile("|".join(pats)) if pats else None


def highlight(text: str, rx: re.Pattern | None, width: int = _PASSAGE) -> str:
    """A passage of `text` around the first match, matches wrapped in <mark>.

    Text outside the marks is HTML-escaped; whitespace runs become one space.
    """
    if not text:
        return ""
    spans = []
    if rx is not None:
        spans = [(m.start(), m.end()) for m in rx.finditer(normalize(text))
                 if m.end() > m.start()]
    if spans:
        start = max(0, spans[0][0] - _LEAD)
        end = min(len(text), start + width)
        start = max(0, min(start, end - width))
    else:
        start, end = 0, min(len(text), width)
    out = []
    cur = start
    for s, e in spans:
        if e <= start or s < cur:
            continue
        if s >= end:
            break
        e = min(e, end)
        out.append(_clean(text[cur:s]))
        out.append("<mark>" + _clean(text[s:e]) + "</mark>")
        cur = e
    out.append(_clean(text[cur:end]))
    passage = "".join(out).strip()
    if start > 0:
        passage = "…" + passage
    if end < len(text):
        passage += "…"
    return passage


def _clean(s: str) -> str:
    return html.escape(re.sub(r"\s+", " ", s), quote=False)


# ---------------------------------------------------------------------------
# Ranking.  Whoosh would score every match to find the top N; a common word
# matches most of 100k records and that costs seconds in Python.  Instead the
# index is laid out newest first (rebuild writes documents by date, descending;
# later additions go to later segments, walked first), candidates are taken in
# that order and at most `budget` of them are scored.  Below the budget the
# ranking is exact BM25; above it, it is BM25 among the most recent matches.
# Exact number matches come first, then matches in the title.

_BUDGET = 1000
_TITLE_BUDGET = 200


def _collect(searcher, q, ctx, budget: int) -> list[tuple[float, int, int]]:
    """(score, walk order, docnum) for up to `budget` matches, newest first."""
    out: list[tuple[float, int, int]] = []
    for leaf, offset in reversed(list(searcher.leaf_searchers())):
        m = q.matcher(leaf, ctx)
        while m.is_active():
            out.append((m.score(), len(out), offset + m.id()))
            if len(out) >= budget:
                return out
            m.next()
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


def _positive_terms(q, fieldname: str) -> list[str]:
    """Texts of the non-negated terms of `fieldname` in the query."""
    return [n.text for n in _positive_leaves(q) if isinstance(n, query.Term) and n.fieldname == fieldname]


_TITLE_MAP = {"text": "title", "text1": "title1"}


def _title_query(q):
    """The query with its positive body clauses moved to the title (None if none)."""
    changed = False

    def rw(node):
        nonlocal changed
        if isinstance(node, query.Not):
            return node
        if isinstance(node, query.AndNot):
            return query.AndNot(rw(node.a), node.b)
        if isinstance(node, query.AndMaybe):
            return query.AndMaybe(rw(node.a), rw(node.b))
        if isinstance(node, (query.And, query.Or)):
            return node.__class__([rw(c) for c in node.subqueries], boost=node.boost)
        fieldname = getattr(node, "fieldname", None)
        if fieldname in _TITLE_MAP:
            changed = True
            if isinstance(node, SeqQuery):
                return node.with_field(_TITLE_MAP[fieldname])
            if isinstance(node, (query.Term, query.Prefix, query.Wildcard)):
                return node.__class__(_TITLE_MAP[fieldname], node.text, boost=node.boost)
        return node

    out = rw(q)
    return out if changed else None


# ---------------------------------------------------------------------------
# Writers

def _merge_small_in_order(writer, segments):
    """whoosh's MERGE_SMALL, but the segments that stay keep their order.

    Order matters: the newest segment is walked first (see _collect).
    """
    by_size = sorted(segments, key=lambda s: s.doc_count_all())
    total = 0
    merge: list = []
    point = False
    for i, seg in enumerate(by_size):
        total += seg.doc_count_all()
        merge.append(seg)
        if i > 3 and total < _fib(i + 5):
            point = True
            break
    if not point or len(merge) < 2:
        return [s for s in segments if s.doc_count() > 0]
    from whoosh.reading import SegmentReader
    for seg in merge:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    merged = {s.segment_id() for s in merge}
    return [s for s in segments if s.segment_id() not in merged and s.doc_count() > 0]


def _fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _new_writer(ix, limitmb: int = 128, compound: bool = True, lock: bool = True):
    try:
        return _SegmentWriter(ix, limitmb=limitmb, codec=_Codec(), compound=compound,
                              timeout=5.0, _lk=lock)
    except LockError:
        raise QmsError("the search index is locked by another qms process; "
                       "try again when it has finished") from None


class _Batch:
    """One whoosh writer for a whole batch (see SearchIndex.writer)."""

    def __init__(self, ix):
        self._ix = ix
        self._w = _new_writer(ix)
        self._seen: set[str] = set()
        # whoosh cannot replace a document added by the same uncommitted writer;
        # repeats wait here and go through a second, small writer.
        self._later: dict[str, IndexDoc | None] = {}

    def add(self, doc: IndexDoc) -> None:
        f = _fields_for(doc)
        key = f["number"]
        if key in self._seen:
            self._later[key] = doc
            return
        self._seen.add(key)
        self._w.update_document(**f)

    def delete(self, number: str) -> None:
        key = normalize(number.strip())
        if key in self._seen:
            self._later[key] = None
        else:
            self._w.delete_by_term("number", key)

    def cancel(self) -> None:
        self._w.cancel()

    def commit(self) -> None:
        self._w.commit(mergetype=_merge_small_in_order)
        if self._later:
            w = _new_writer(self._ix)
            try:
                for key, doc in self._later.items():
                    w.delete_by_term("number", key)
                    if doc is not None:
                        w.add_document(**_fields_for(doc))
            except BaseException:
                w.cancel()
                raise
            w.commit(mergetype=_merge_small_in_order)


class _BatchContext:
    def __init__(self, owner: "SearchIndex"):
        self._owner = owner
        self.batch: _Batch | None = None

    def __enter__(self) -> _Batch:
        self.batch = _Batch(self._owner._index())
        return self.batch

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.batch.cancel()
        else:
            self.batch.commit()
            indexseal.seal(self._owner.path)
        return False


def _spilled(spill, entry) -> dict:
    spill.seek(entry[2])
    return pickle.loads(spill.read(entry[3]))


def _build_segment(ix, spill_path, chunk, limitmb, counter, results, slot):
    """Child process of a parallel rebuild: write one segment from `chunk`."""
    try:
        w = _new_writer(ix, limitmb, compound=False, lock=False)
        done = 0
        with open(spill_path, "rb") as spill:
            for entry in chunk:
                w.add_document(**_spilled(spill, entry))
                done += 1
                if done % 200 == 0:
                    with counter.get_lock():
                        counter.value += 200
        segment = w._finalize_segment()
        results.put((slot, segment, None))
    except BaseException as e:  # report, the parent raises
        results.put((slot, None, f"{type(e).__name__}: {e}"))


def _parallel_build(ix, spill_path, order, procs, limitmb, progress):
    ctx = multiprocessing.get_context("fork")
    n = len(order)
    bounds = [round(i * n / procs) for i in range(procs + 1)]
    counter = ctx.Value("i", 0)
    results = ctx.Queue()
    parent = _new_writer(ix, limitmb, compound=False)  # holds the lock, writes the TOC
    workers = []
    try:
        for slot in range(procs):
            p = ctx.Process(target=_build_segment,
                            args=(ix, spill_path, order[bounds[slot]:bounds[slot + 1]],
                                  limitmb, counter, results, slot))
            p.start()
            workers.append(p)
        segments = {}
        while len(segments) < procs:
            try:
                slot, seg, err = results.get(timeout=0.5)
            except queue.Empty:
                if progress is not None:
                    progress(counter.value)
                if any(p.exitcode not in (None, 0) for p in workers):
                    raise QmsError("search index rebuild: a worker process died") from None
                continue
            if err:
                raise QmsError(f"search index rebuild failed: {err}")
            segments[slot] = seg
        for p in workers:
            p.join()
        if progress is not None:
            progress(n)
        parent._close_segment()
        # slot 0 holds the newest documents and must be walked first: last in TOC
        parent._commit_toc([segments[s] for s in reversed(range(procs))])
        parent._finish()
    except BaseException:
        for p in workers:
            if p.is_alive():
                p.terminate()
        parent.cancel()
        raise


# ---------------------------------------------------------------------------
# The index

class SearchIndex:
    """The whoosh index of documents and records (derived state: rebuildable).

    Not thread-safe: give each thread its own SearchIndex.
    """

    def __init__(self, path: Path, rebuild_source: Callable[[], Iterable[IndexDoc]] | None = None):
        self.path = Path(path)
        self._ix = None
        self._searcher = None
        # Where the documents come from when the folder must be rebuilt because its files are
        # not the ones qms wrote (see qms.indexseal); without it such an index is an error.
        self._rebuild_source = rebuild_source
        self.untrusted: str | None = None     # why the index was rebuilt on opening, if it was
        self._counts: dict[tuple, int] = {}

    # -- opening ------------------------------------------------------------
    def _index(self):
        if self._ix is None:
            try:
                self._ix = self._open_or_create(self.path)
            except indexseal.UntrustedIndex as exc:
                if self._rebuild_source is None:
                    raise
                self.untrusted = exc.why
                self.rebuild(self._rebuild_source())
                self._ix = self._open_or_create(self.path)
        return self._ix

    @staticmethod
    def _open_or_create(path: Path):
        vfile = path / _VERSION_FILE
        if path.is_dir():
            indexseal.check(path)        # before whoosh reads (unpickles) a single byte
        if path.is_dir() and index.exists_in(str(path)):
            version = vfile.read_text().strip() if vfile.exists() else ""
            if version != INDEX_VERSION:
                raise QmsError(f"search index {path} was built by another qms version; "
                               "rebuild it (reindex)")
            try:
                return index.open_dir(str(path))
            except Exception as e:
                raise QmsError(f"search index {path} is unreadable ({e}); "
                               "rebuild it (reindex)") from None
        path.mkdir(parents=True, exist_ok=True)
        ix = index.create_in(str(path), _schema())
        vfile.write_text(INDEX_VERSION + "\n")
        indexseal.seal(path)
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
            s = self._searcher = ix.searcher(weighting=_Weighting())
        return s

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    # -- writing ------------------------------------------------------------
    def writer(self) -> _BatchContext:
        """Context manager yielding a batch with .add(doc) and .delete(number).

        One whoosh writer for the whole batch; commits on exit, cancels on an
        exception.  Adding a number replaces the document indexed under it.
        """
        return _BatchContext(self)

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
        # A purge removes many: one pass over the key column finds their document numbers,
        # instead of a term lookup per number in every segment (3 s per 20,000 measured).
        with self.writer() as b:
            reader = b._w.reader()
            try:
                for leaf, base in reader.leaf_readers():
                    if not leaf.has_column("key"):
                        continue
                    keys = leaf.column_reader("key", translate=False)
                    for docnum in leaf.all_doc_ids():
                        if keys[docnum].decode("utf-8").partition(_SEP)[0] in wanted:
                            b._w.delete_document(base + docnum)
            finally:
                reader.close()

    def rebuild(self, docs: Iterable[IndexDoc], progress: Callable[[int], None] | None = None,
                *, procs: int | None = None, limitmb: int = 256) -> int:
        """Build a fresh index beside the old one and swap it in; returns the count.

        Documents are spilled to a temporary file, sorted newest first and then
        written by `procs` processes (default: 2 when there are 2 cores), each
        writing one segment.  A repeated number keeps its last document.  If
        anything fails the old index stays.
        """
        if procs is None:
            procs = min(2, os.cpu_count() or 1)
        tmp = self.path.with_name(self.path.name + ".rebuild")
        old = self.path.with_name(self.path.name + ".old")
        for p in (tmp, old):
            if p.exists():
                shutil.rmtree(p)
        tmp.mkdir(parents=True)
        spill_path = tmp / "docs.spill"
        try:
            entries: dict[str, tuple] = {}
            with open(spill_path, "wb") as spill:
                for doc in docs:
                    f = _fields_for(doc)
                    data = pickle.dumps(f, pickle.HIGHEST_PROTOCOL)
                    entries[f["number"]] = (f["day"], f["number"], spill.tell(), len(data))
                    spill.write(data)
            order = sorted(entries.values(), key=lambda e: (-e[0], e[1]))
            ix = index.create_in(str(tmp), _schema())
            (tmp / _VERSION_FILE).write_text(INDEX_VERSION + "\n")
            procs = max(1, min(procs, len(order) // 100))
            if procs > 1 and "fork" in multiprocessing.get_all_start_methods():
                _parallel_build(ix, spill_path, order, procs, limitmb, progress)
            else:
                w = _new_writer(ix, limitmb, compound=False)
                try:
                    with open(spill_path, "rb") as spill:
                        for n, entry in enumerate(order, 1):
                            w.add_document(**_spilled(spill, entry))
                            if progress is not None:
                                progress(n)
                except BaseException:
                    w.cancel()
                    raise
                w.commit(merge=False)
            count = ix.doc_count()
            ix.close()
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        spill_path.unlink()
        self.close()
        if self.path.exists():
            self.path.rename(old)
        tmp.rename(self.path)
        shutil.rmtree(old, ignore_errors=True)
        indexseal.seal(self.path)
        return count

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
                number, _, status = cr[docnum].decode("utf-8").partition(_SEP)
                out[number] = status
        return out

    def doc_count(self) -> int:
        return self._get_searcher().doc_count()

    def search(self, query_string: str, *, kind: str | None = None,
               form: str | None = None, status: str | None = None,
               date_from: datetime.date | None = None,
               date_to: datetime.date | None = None, limit: int = 20) -> list[Hit]:
        """Ranked hits (best first) with a highlighted passage each.

        Raises QmsError for a malformed query; a query with nothing searchable
        in it gives [].
        """
        return self.search_page(query_string, kind=kind, form=form, status=status, date_from=date_from,
                                date_to=date_to, limit=limit)[0]

    def search_page(self, query_string: str, *, kind: str | None = None, form: str | None = None,
                    status: str | None = None, date_from: datetime.date | None = None,
                    date_to: datetime.date | None = None, limit: int = 20,
                    offset: int = 0) -> tuple[list[Hit], int]:
        """(hits ranked offset … offset+limit, how many documents match in all)."""
        if limit <= 0 or not query_string or not query_string.strip():
            return [], 0
        q = parse_query(query_string)
        if q is None:
            return [], 0
        searcher = self._get_searcher()
        ranked = self._rank(searcher, q, kind=kind, form=form, status=status,
                            date_from=date_from, date_to=date_to, limit=offset + limit)
        total = max(self._count(searcher, q, kind=kind, form=form, status=status, date_from=date_from,
                                date_to=date_to), len(ranked))
        rx = highlighter(_needles(q))
        return [self._hit(searcher, score, docnum, rx) for score, docnum in ranked[offset:]], total

    def _count(self, searcher, q, *, kind=None, form=None, status=None, date_from=None, date_to=None) -> int:
        """Every match of the query under the filters (ids only, no scoring)."""
        ctx = searcher.context(weighting=searcher.weighting)
        days = None
        if date_from or date_to:
            lo = date_from.toordinal() if date_from else 1
            hi = date_to.toordinal() if date_to else datetime.date.max.toordinal()
            if lo > hi:
                return 0
            days = (lo, hi)
        if kind:
            kind = normalize(kind.strip())
            kind = _KIND_ALIASES.get(kind, kind)
        terms = tuple((name, normalize(value.strip()))
                      for name, value in (("kind", kind), ("form", form), ("status", status)) if value)
        full = q
        if days or terms:
            ctx.qms_filter = (days, terms)
            full = _FilterQuery(q)
        n = 0
        try:
            for leaf, _offset in searcher.leaf_searchers():
                m = full.matcher(leaf, ctx)
                while m.is_active():
                    n += 1
                    m.next()
        except query.QueryError as e:
            raise QmsError(f"search query cannot run: {e}") from None
        return n

    def count(self, query_string: str, *, kind: str | None = None, form: str | None = None,
              status: str | None = None, date_from: datetime.date | None = None,
              date_to: datetime.date | None = None) -> int:
        """How many documents match (every match, not only the ranked budget): the portal's total."""
        if not query_string or not query_string.strip():
            return 0
        q = parse_query(query_string)
        if q is None:
            return 0
        searcher = self._get_searcher()
        # Paging through one query asks the same count again: keep it for this index generation.
        key = (searcher.reader().generation(), query_string, kind, form, status, date_from, date_to)
        counts = self._counts
        if key in counts:
            return counts[key]
        setup = self._filters(searcher, kind=kind, form=form, status=status, date_from=date_from,
                              date_to=date_to)
        if setup is None:
            return 0
        ctx, wrap = setup
        n = 0
        try:
            for leaf, _offset in searcher.leaf_searchers():
                m = wrap(q).matcher(leaf, ctx)
                while m.is_active():     # no scoring: walking the matches is all a count needs
                    n += 1
                    m.next()
        except query.QueryError as e:
            raise QmsError(f"search query cannot run: {e}") from None
        if len(counts) >= 256:
            counts.clear()
        counts[key] = n
        return n

    @staticmethod
    def _filters(searcher, *, kind=None, form=None, status=None, date_from=None, date_to=None):
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
            kind = _KIND_ALIASES.get(kind, kind)
        terms = tuple((name, normalize(value.strip()))
                      for name, value in (("kind", kind), ("form", form), ("status", status))
                      if value)
        wrap = lambda x: x  # noqa: E731
        if days or terms:
            ctx.qms_filter = (days, terms)
            wrap = _FilterQuery
        return ctx, wrap

    def _rank(self, searcher, q, *, kind=None, form=None, status=None, date_from=None,
              date_to=None, limit=20, budget=_BUDGET) -> list[tuple[float, int]]:
        setup = self._filters(searcher, kind=kind, form=form, status=status, date_from=date_from,
                              date_to=date_to)
        if setup is None:
            return []
        ctx, wrap = setup
        out: list[tuple[float, int]] = []
        seen: set[int] = set()

        def take(items):
            for score, _order, docnum in sorted(items, key=lambda x: (-x[0], x[1])):
                if docnum not in seen:
                    seen.add(docnum)
                    out.append((score, docnum))

        full = wrap(q)
        try:
            numbers = _positive_terms(q, "number")
            if numbers:
                take(_pinned(searcher, full, ctx, numbers))
            # Within one form every record has the same title: no title pass (and
            # it would be the slowest part, intersecting two large posting lists).
            tq = None if form or _positive_terms(q, "form") else _title_query(q)
            if tq is not None and len(out) < limit:
                take(_collect(searcher, wrap(tq), ctx, _TITLE_BUDGET))
            if len(out) < limit:
                take(_collect(searcher, full, ctx, max(budget, limit)))
        except QmsError:
            raise
        except query.QueryError as e:
            raise QmsError(f"search query cannot run: {e}") from None
        return out[:limit]

    @staticmethod
    def _hit(searcher, score: float, docnum: int, rx) -> Hit:
        number, kind, form, title, date, status, text = searcher.stored_fields(docnum)["s"]
        passage = highlight(text, rx)
        if "<mark>" not in passage and title:
            tpass = highlight(title, rx)
            if "<mark>" in tpass:
                passage = tpass
        return Hit(number=number, kind=kind, form=form, title=title, date=date,
                   status=status, score=float(score), highlight=passage)
