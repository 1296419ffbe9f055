"""The passage shown under a hit: spans of text, each marked as a hit or not. No HTML: the CLI and
the web render the spans (bold / 【】 on a terminal, <mark> with autoescaped text in a page)."""

from __future__ import annotations

import re

from .analysis import CJK, RUN, chunks, normalize
from .schema import Hit

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


def _chunk_pattern(kind: str, tok: str) -> str:
    # a run is a substring wherever it is (3729 inside 13951403729); words and codes are whole
    return re.escape(tok) if kind == RUN else _word_pattern(tok)


_DATE_TERM = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _date_pattern(term: str) -> str:
    # 2026-11-05 is also 2026/11/5 and 2026年11月05日 in the text
    y, m, d = _DATE_TERM.fullmatch(term).groups()
    return (rf"(?<![0-9]){y}(?:[-/.]|\s*年\s*)0?{int(m)}(?:[-/.]|\s*月\s*)0?{int(d)}(?![0-9])"
            r"(?:\s*日)?")


def highlighter(needles: list[str]) -> re.Pattern | None:
    """One regex for all the strings to mark (compiled once per search)."""
    pats = []
    w = f"[^\\W_{CJK}]"
    for nd in sorted({normalize(n).strip() for n in needles if n.strip()},
                     key=len, reverse=True):
        if "*" in nd or "?" in nd:
            pats.append(re.escape(nd).replace(r"\*", f"(?:{w}|[-_./](?={w}))*")
                        .replace(r"\?", w))
            continue
        if _DATE_TERM.fullmatch(nd):
            pats.append(_date_pattern(nd))
            continue
        toks = [(kind, t) for kind, t, _s, _i in chunks(nd)]
        if len(toks) > 1:     # a phrase: its tokens with only separators between
            pats.append(r"[\W_]*".join(_chunk_pattern(*t) for t in toks))
        pats.extend(_chunk_pattern(*t) for t in toks)
    return re.compile("|".join(pats)) if pats else None


Passage = list[tuple[str, bool]]    # (text, is a hit), in reading order


def highlight(text: str, rx: re.Pattern | None, width: int = _PASSAGE) -> Passage:
    """A passage of `text` around the first match: (text, is_hit) spans, whitespace runs as one
    space, "…" where the text was cut. Plain text, not escaped: the caller renders it."""
    if not text:
        return []
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
    out: Passage = [("…", False)] if start > 0 else []
    cur = start
    for s, e in spans:
        if e <= start or s < cur:
            continue
        if s >= end:
            break
        e = min(e, end)
        _plain(out, _clean(text[cur:s]), lstrip=cur == start)
        out.append((_clean(text[s:e]), True))
        cur = e
    _plain(out, _clean(text[cur:end]).rstrip(), lstrip=cur == start)
    if end < len(text):
        _plain(out, "…")
    return out


def _plain(out: Passage, piece: str, lstrip: bool = False) -> None:
    """Append a piece that is not a hit (joined to a plain piece before it)."""
    if lstrip:
        piece = piece.lstrip()
    if not piece:
        return
    if out and not out[-1][1]:
        out[-1] = (out[-1][0] + piece, False)
    else:
        out.append((piece, False))


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def stored_hit(stored, score: float, rx) -> Hit:
    """A Hit from an index's stored values (number, kind, form, title, date, status, text): the
    passage from the text, or from the title when only the title holds the hit."""
    number, kind, form, title, date, status, text = stored
    passage = highlight(text, rx)
    if title and not any(hit for _, hit in passage):
        tpass = highlight(title, rx)
        if any(hit for _, hit in tpass):
            passage = tpass
    return Hit(number=number, kind=kind, form=form, title=title, date=date,
               status=status, score=float(score), highlight=passage)
