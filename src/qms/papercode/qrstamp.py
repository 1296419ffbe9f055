"""The QR in the top-right corner of a printed record's (or blank form's) first page, with its
number printed beside it — an overlay placed by the stamp adapter (stamp.py), added in
the PDF stage so every template gets it without a template edit."""

from __future__ import annotations

import io
from pathlib import Path

from ..adapters.pdf import add_cjk_font
from ..adapters.stamp import overlay_first_pages
from ._segno import qr_png

MM = 72 / 25.4
SIZE = 17 * MM          # the QR's side: ~1.2 mm a module at version 3, read from a phone photo too
EDGE = 5 * MM           # from the top and right edges of the visible page
_LATIN = Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf")


def add_qr(pdf: Path, text: str, label: str) -> Path:
    """Put the QR of `text` and `label` (the number) on the first page of `pdf`, in place."""
    add_qrs([(Path(pdf), text, label)])
    return Path(pdf)


def add_qrs(items: list[tuple[Path, str, str]]) -> None:
    """add_qr for each (pdf, text, label). The overlays are the pages of one fpdf2 document: the
    label's font is parsed and subset once, not once a PDF (~25 of the ~60 ms a record's stamp
    took in an import with PDF); qpdf places them (adapters.stamp.overlay_first_pages)."""
    if not items:
        return
    overlay_first_pages([pdf for pdf, _, _ in items],
                        lambda sizes: _overlays([(text, label, w, h) for (_, text, label), (w, h) in zip(items, sizes)]))


def _overlays(pages: list[tuple[str, str, float, float]]) -> bytes:
    """One page a (text, label, width, height): the QR of `text` in the top-right corner, `label`
    under it, on a transparent page of that size."""
    from fpdf import FPDF    # lazy: fpdf2 loads in ~60 ms; only drawing the QR's overlay needs it
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    if _LATIN.is_file():        # an embedded font (PDF/A): a Latin face parses in ms, the CJK one in 0.3 s
        pdf.add_font("latin", fname=str(_LATIN))
        family = "latin"
    else:
        family = add_cjk_font(pdf)
    for text, label, w, h in pages:
        pdf.add_page(orientation="L" if w > h else "P", format=(min(w, h), max(w, h)))
        x, y = w - EDGE - SIZE, EDGE
        pdf.image(io.BytesIO(qr_png(text)), x=x, y=y, w=SIZE, h=SIZE)
        pdf.set_font(family, size=5.5)
        pdf.set_text_color(60, 60, 60)
        width = pdf.get_string_width(label) + 2
        pdf.set_xy(x + SIZE - width, y + SIZE)         # right-aligned under the QR, inside the page
        pdf.cell(width, 7, label, align="R")
    return bytes(pdf.output())
