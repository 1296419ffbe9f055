"""Running page numbers for a bound yearly volume (每年汇编成册): 第N页 共M页 across the volume.

Each record's own PDF numbers its pages 第 1 页 共 1 页 in its footer; bound into a
volume that number must become the volume's. Every page gets, in its footer's right
corner, a white patch over the record's own number with the volume's number on it.
"""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader, PdfWriter, Transformation

from .archive import atomic_write
from .pdf import add_cjk_font, read_pdf

# Where the record template's footer puts its page number (right cell, 1.5 cm above the
# bottom edge, 2.5 cm margins): the patch covers it, in points from the bottom-right corner.
_PATCH_RIGHT, _PATCH_W = 62.0, 150.0
_PATCH_BOTTOM, _PATCH_H = 30.0, 30.0
_SIZE = 9.0


def _overlays(sizes: list[tuple[float, float]]) -> PdfReader:
    from fpdf import FPDF
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    family = add_cjk_font(pdf)
    total = len(sizes)
    for n, (w, h) in enumerate(sizes, 1):
        pdf.add_page(orientation="L" if w > h else "P", format=(min(w, h), max(w, h)))
        x, y = w - _PATCH_RIGHT - _PATCH_W, h - _PATCH_BOTTOM - _PATCH_H
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, y, _PATCH_W, _PATCH_H, style="F")
        pdf.set_font(family, size=_SIZE)
        text = f"第 {n} 页 共 {total} 页"
        pdf.text(x + _PATCH_W - pdf.get_string_width(text) - 6, y + _PATCH_H / 2 + 0.35 * _SIZE, text)
    return PdfReader(io.BytesIO(bytes(pdf.output())))


def number_pages(path: Path) -> int:
    """Rewrite `path` (a finished volume) with 第N页 共M页 on every page; returns M."""
    from .stamp import _page_geometry, _unshare_contents
    writer = PdfWriter(clone_from=read_pdf(path))
    _unshare_contents(writer)
    geometry = [_page_geometry(page) for page in writer.pages]
    overlays = _overlays([size for size, _ in geometry])
    for page, overlay, (_, ctm) in zip(writer.pages, overlays.pages, geometry):
        page.merge_transformed_page(overlay, Transformation(ctm), over=True)
        page.compress_content_streams()
    buf = io.BytesIO()
    writer.write(buf)
    atomic_write(Path(path), buf.getvalue(), replace=True)
    return len(writer.pages)
