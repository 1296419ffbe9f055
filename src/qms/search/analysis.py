"""Text analysis, pure Python: shared by indexing, querying and highlighting so the three can
never disagree (no whoosh here).

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
"""

from __future__ import annotations

import re
import struct
from array import array
from collections import Counter, defaultdict

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
    import unicodedata
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


def positional_terms(value: str) -> dict[str, list[int]]:
    """term -> ascending positions for the positional field (see module doc)."""
    poses: dict[str, list[int]] = defaultdict(list)
    pos = 0
    for seg in value.split(SEP):
        for m in TOKEN_RE.finditer(normalize(seg)):
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
                for part in set(code_parts(word)) | set(_part_runs(word)):
                    poses[part].append(pos)
                pos += 1
        pos += _SEGMENT_GAP
    for plist in poses.values():
        plist.sort()
    return poses


def unigram_counts(value: str) -> Counter:
    counts: Counter = Counter()
    for seg in value.split(SEP):
        for m in TOKEN_RE.finditer(normalize(seg)):
            if m.group(1):
                counts.update(m.group(1))
    return counts

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
