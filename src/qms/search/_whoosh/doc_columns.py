"""Per-document columns of a segment read whole: one read of a fixed-width whoosh column instead
of one per document (dates for filters, field lengths for scoring). Part of the whoosh adapter."""

from __future__ import annotations

from array import array

from whoosh.codec.whoosh3 import LENGTHS_COLUMN

from ..analysis import LITTLE
from .postings import BYTE_TO_LENGTH


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
