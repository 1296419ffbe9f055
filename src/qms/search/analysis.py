"""Text analysis, pure Python: shared by indexing, querying and highlighting so the three can
never disagree (no whoosh here).

A run of characters written together means exactly that string, as in any Chinese search box:
Chinese, digits and Latin letters with nothing between them (服务过程, 3栋2单元1502,
13951403729, xk200) form one *run*, indexed as overlapping character bigrams (with positions)
plus unigrams (in a separate field, no positions); a query run of n characters becomes one
unigram term (n=1), one bigram term (n=2) or a bigram sequence with fixed offsets (n>=3):
exact substring semantics, no dictionary ("3栋2单元" finds 13栋2单元0801 and not 8栋2单元2704;
"3729" finds 13951403729).  A word of Latin letters alone (calibration, PLC) stays a whole,
lower-cased word; codes joined by - _ . / (XK-200, QP-SC-015, 2026-11-05) are whole words, also
split into their parts and runs of parts (xk, 200, qp-sc).  The alphanumeric words inside a run
are also indexed as words (使用PLC控制 holds the word plc), so a word query still finds them.
Full-width forms are folded to ASCII.  A date written 2026-11-05, 2026/11/5 or 2026年11月05日
also gives the term 2026-11-05 (see DATE_RE), so every way of writing it finds every other.

Position stream of the positional field (why it looks like this):
  * a run of n chars starting at position p puts bigram i at p+i, the first
    char at p and the last char at p+n-1 (edge unigrams), the words inside it at
    p + their offset; the next token is p+n+1 (the empty position keeps sequences
    from straddling two runs).
  * a letters-only word or a code takes one position; its parts share it.
  * segments (title, text, customer, ...) are separated by a large gap.
So "ABCD" = AB@p, CD@p+2 (a covering subset of the bigrams is enough), and a
quoted phrase "型号 XK-200" = 型号@p, xk-200@p+3 (tokens adjacent, only spaces or
punctuation between them).
"""

from __future__ import annotations

import re
import struct
from array import array
from collections import Counter, defaultdict
import unicodedata

CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Group 1: a run of Chinese characters; group 2: a word of letters/digits that may
# be joined by - _ . / (codes like xk-200, qp-sc-015, 3.5, gb/t19001).
TOKEN_RE = re.compile(
    rf"([{CJK}]+)|([^\W_{CJK}]+(?:[-_./][^\W_{CJK}]+)*)")
_PARTS_RE = re.compile(r"[0-9]+|[^\W\d_]+")
HAS_CJK = re.compile(rf"[{CJK}]")

# Separates the segments of one field value (title / text / ...).  Never bridged.
SEP = "\x1f"
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
    for c in range(0xF900, 0xFB00):               # CJK compatibility ideographs
        n = unicodedata.normalize("NFKC", chr(c))
        if len(n) == 1 and n != chr(c):
            table[c] = ord(n)
    table[ord(SEP)] = 0x20                      # our separator never comes from data
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


def code_parts(word: str) -> list[str]:
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


# A code: a word joined by - _ . / (kept whole, never part of a run).
_JOINED = re.compile(r"[-_./]")
_LATIN_ONLY = re.compile(rf"[^\W\d_{CJK}]+")

RUN, WORD, CODE = "run", "word", "code"
_PAIR_MARK = "\x1d"


def gram(pair: str) -> str:
    """The index term of a run's bigram: two letters are marked so that the word "pl" never
    matches the pl inside 使用plc (a word is whole; only a run is a substring)."""
    return _PAIR_MARK + pair if pair.isascii() and pair.isalpha() else pair


def chunks(text: str) -> list[tuple[str, str, int, list[tuple[str, int]]]]:
    """The units of a normalised segment: (kind, text, start offset, words inside a run).

    RUN: Chinese, digits and letters written together (indexed by character); WORD: letters
    only; CODE: a word joined by - _ . /.  For a RUN, the alphanumeric words inside it with
    their offsets in the run (indexed as words too)."""
    out: list = []
    cur: list | None = None          # [start, end, inner words] of the run being gathered

    def flush():
        if cur is None:
            return
        a, b, inner = cur
        t = text[a:b]
        if not inner or len(inner) > 1 or not _LATIN_ONLY.fullmatch(t):
            out.append((RUN, t, a, inner))
        else:
            out.append((WORD, t, a, []))

    for m in TOKEN_RE.finditer(text):
        run, word = m.group(1), m.group(2)
        if word and _JOINED.search(word):
            flush()
            cur = None
            out.append((CODE, word, m.start(), []))
            continue
        if cur is not None and cur[1] == m.start():
            cur[1] = m.end()
        else:
            flush()
            cur = [m.start(), m.end(), []]
        if word:
            cur[2].append((word, m.start() - cur[0]))
    flush()
    return out


def run_words(kind: str, text: str, inner) -> bool:
    """Whether a query chunk is a single alphanumeric word with a digit (1502, xk200): then the
    same text may be indexed as a word (a code's part, 022 of QR-SV-022) as well as in a run."""
    return kind == RUN and len(inner) == 1 and inner[0][0] == text


# Dates as people write them: 2026-11-05, 2026/11/5, 2026.11.05, 2026年11月05日.
DATE_RE = re.compile(r"(?<![0-9])(\d{4})(?:([-/.])(\d{1,2})\2(\d{1,2})|\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?)"
                     r"(?![0-9])")


def date_term(m: re.Match) -> str | None:
    """The canonical term (2026-11-05) of a DATE_RE match, None if it is no calendar date."""
    y = int(m.group(1))
    mo, d = (m.group(3), m.group(4)) if m.group(2) else (m.group(5), m.group(6))
    mo, d = int(mo), int(d)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 1000 <= y):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def positional_terms(value: str) -> dict[str, list[int]]:
    """term -> ascending positions for the positional field (see module doc)."""
    poses: dict[str, list[int]] = defaultdict(list)
    pos = 0
    for seg in value.split(SEP):
        seg = normalize(seg)
        starts: list[tuple[int, int, int, str]] = []     # (char start, char end, position, kind)
        for kind, t, start, inner in chunks(seg):
            starts.append((start, start + len(t), pos, kind))
            if kind == RUN:
                n = len(t)
                if n == 1:
                    poses[t].append(pos)
                else:
                    poses[t[0]].append(pos)
                    for i in range(n - 1):
                        poses[gram(t[i:i + 2])].append(pos + i)
                    poses[t[-1]].append(pos + n - 1)
                for word, off in inner:
                    poses[word].append(pos + off)
                    for part in code_parts(word):
                        poses[part].append(pos + off)
                # One empty position after every run: a covering subset of a
                # query's bigrams (offsets 0, 2, ...) can then never straddle two
                # runs ("需求，组织" must not match 需求组织).
                pos += n + 1
            else:
                poses[t].append(pos)
                if kind == CODE:
                    for part in set(code_parts(t)) | set(_part_runs(t)):
                        poses[part].append(pos)
                pos += 1
        if "年" in seg or "/" in seg or "." in seg or "-" in seg:
            for m in DATE_RE.finditer(seg):
                term = date_term(m)
                if term is None or term == m.group(0):
                    continue       # not a date, or already the code word itself
                for a, b, p, kind in starts:
                    if a <= m.start() < b:
                        poses[term].append(p + (m.start() - a if kind == RUN else 0))
                        break
        pos += _SEGMENT_GAP
    for term, plist in poses.items():
        # a word inside a run can share its position with a unigram or bigram of the same text
        poses[term] = sorted(set(plist)) if len(plist) > 1 else plist
    return poses


def unigram_counts(value: str) -> Counter:
    counts: Counter = Counter()
    for seg in value.split(SEP):
        for kind, t, _start, _inner in chunks(normalize(seg)):
            if kind == RUN:
                counts.update(t)
    return counts


# Form fields share one pair of index fields: each term is prefixed by the field's name.
FIELD_MARK = "\x1e"


def field_segments(values: dict[str, list[str]]) -> str:
    """name -> values as the one string the form-field index field holds."""
    return SEP.join(name + FIELD_MARK + v for name, vs in values.items() for v in vs
                    if v and FIELD_MARK not in name)


def _by_field(value: str) -> dict[str, str]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for seg in value.split(SEP):
        name, mark, v = seg.partition(FIELD_MARK)
        if mark:
            grouped[name].append(v)
    return {name: SEP.join(vs) for name, vs in grouped.items()}


def field_positional_terms(value: str) -> dict[str, list[int]]:
    """Like positional_terms, per form field, each term prefixed by "name\x1e"."""
    out: dict[str, list[int]] = {}
    for name, v in _by_field(value).items():
        prefix = name + FIELD_MARK
        for t, plist in positional_terms(v).items():
            out[prefix + t] = plist
    return out


def field_unigram_counts(value: str) -> Counter:
    out: Counter = Counter()
    for name, v in _by_field(value).items():
        prefix = name + FIELD_MARK
        for t, c in unigram_counts(v).items():
            out[prefix + t] = c
    return out

LITTLE = struct.pack("=H", 1) == struct.pack("<H", 1)
_PACK_ONE = struct.Struct("<cH").pack


def encode_positions(plist: list[int]) -> bytes:
    # 2 bytes a position (4 past 65535) instead of whoosh's pickled delta list
    # (about 14 bytes for a single position): most postings hold one position.
    if len(plist) == 1 and plist[0] < 65536:
        return _PACK_ONE(b"H", plist[0])
    code = "H" if plist[-1] < 65536 else "I"
    a = array(code, plist)
    if not LITTLE:
        a.byteswap()
    return code.encode() + a.tobytes()


def decode_positions(v: bytes) -> list[int]:
    a = array(chr(v[0]))
    a.frombytes(v[1:])
    if not LITTLE:
        a.byteswap()
    return a.tolist()
