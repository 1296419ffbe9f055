"""Terminal tables that line up Chinese text (wide characters take two columns)."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Columns a string takes: East Asian Wide/Full-width characters count two (terminal tables
    and the column sizing of rendered .docx tables both use this one rule)."""
    if text.isascii():          # the common case, without a lookup per character
        return len(text)
    return len(text) + sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")


WORD_JOINER = "\u2060"


def nobreak(text) -> str:
    """Text a printed line must not break inside (a record number at its hyphens, a date before
    its 日, a ☐ away from its label): every character joined to the next by U+2060 WORD JOINER,
    which Word and LibreOffice obey, print as nothing and leave out of a PDF's text layer."""
    text = "" if text is None else str(text)
    return WORD_JOINER.join(text)


def clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out, w = "", 0
    for ch in text:
        cw = width(ch)
        if w + cw > limit - 1:
            break
        out, w = out + ch, w + cw
    return out + "…"


def table(headers: list[str], rows: list[list], max_col: int = 40) -> str:
    cells = [[clip("" if v is None else str(v), max_col) for v in row] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], width(v))

    def line(values):
        return "  ".join(v + " " * (widths[i] - width(v)) for i, v in enumerate(values)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    return "\n".join(out)
