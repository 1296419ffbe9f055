"""The one place that touches whoosh: every import of it, every private name. Pinned to
whoosh-reloaded 2.7.5 (tests/test_search_adapter.py); a whoosh upgrade is checked here and nowhere
else. This package is the adapter; its modules:

- here: the analysis-backed field types and formats, the schema, the codec, opening and writing
  an index (whoosh pickles the field types and the codec into the index's TOC by this module's
  name, so they stay here);
- `postings`: posting blocks written (protocol-5 pickles, a one-block term in one go) and read
  (skips by binary search), the spill pool that pickles in chunks, the segment writer;
- `merging`: the log-structured merge policy and the reader a merge copies through;
- `doc_columns`: a segment's fixed-width columns read whole (dates, field lengths).

The rest of the search package uses whoosh's public query, matcher, scoring and parser classes
through the names re-exported here (`query`, `matching`, `scoring`, `plugins`, `syntax`,
`QueryParser`, `ReadTooFar`), so this package is the whole list of what qms needs from whoosh.
"""

from __future__ import annotations

import sys

from whoosh import columns, fields, formats, index, matching, query, scoring
from whoosh.analysis import Token, Tokenizer
from whoosh.codec.whoosh3 import W3Codec
from whoosh.matching import ReadTooFar
from whoosh.qparser import QueryParser, plugins, syntax
from whoosh.writing import LockError

from ...base.errors import Conflict
from ..analysis import (decode_positions, encode_positions, field_positional_terms,
                        field_unigram_counts, positional_terms, unigram_counts)
from ..schema import FORM_FIELD, ID_FIELDS, TEXT_FIELDS
from .doc_columns import day_column, length_column, raw_column
from .merging import MERGE_FACTOR, merge_small_in_order
from .postings import _FieldWriter, _LeafMatcher, _PostingsWriter, _SegmentWriter

MAX_FORM_FIELDS = 32     # distinct form fields one query may name

__all__ = ["MAX_FORM_FIELDS", "MERGE_FACTOR", "QueryParser", "ReadTooFar", "commit_segments", "create_in",
           "day_column", "exists_in", "finish_unlocked_segment", "length_column", "matching",
           "merge_small_in_order", "new_writer", "open_dir", "parser_schema", "plugins", "query",
           "raw_column", "schema", "scoring", "syntax"]

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
