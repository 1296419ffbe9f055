"""Paper for the scan tests: pages as a scanner or a phone would give them (200 dpi A4 images
with a QR, a drawn signature, a small turn, JPEG compression)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

A4_200 = (1654, 2339)           # A4 at 200 dpi


def qr_image(text: str, px: int = 150) -> Image.Image:
    import segno
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=6, border=2)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L").resize((px, px), Image.NEAREST)


def page(qr: str | None = None, *lines: str, qr2: str | None = None, qr_px: int = 150) -> Image.Image:
    """A white A4 page at 200 dpi: the QR top right (as the PDF stage prints it), some lines of text."""
    im = Image.new("L", A4_200, 255)
    d = ImageDraw.Draw(im)
    for i, line in enumerate(lines):
        d.text((150, 300 + 40 * i), line, fill=0)
    if qr:
        im.paste(qr_image(qr, qr_px), (A4_200[0] - qr_px - 40, 40))
    if qr2:
        im.paste(qr_image(qr2), (150, 40))
    return im


def sign_on(im: Image.Image, box=(900, 1900)) -> Image.Image:
    """A hand-drawn signature: a few strokes of a pen."""
    im = im.convert("RGB")
    d = ImageDraw.Draw(im)
    x, y = box
    d.line([(x, y), (x + 40, y - 50), (x + 70, y + 10), (x + 120, y - 40), (x + 180, y + 5), (x + 260, y - 30)],
           fill=(20, 30, 120), width=5)
    d.line([(x + 20, y + 25), (x + 240, y + 15)], fill=(20, 30, 120), width=3)
    return im


def as_scanned(im: Image.Image, *, angle: float = 3, quality: int = 60) -> bytes:
    """Turned a little on the glass and JPEG-compressed, as a cheap scanner does."""
    im = im.convert("RGB").rotate(angle, expand=True, fillcolor=(255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, dpi=(200, 200))
    return buf.getvalue()


def pdf_of(images: list[Image.Image], path: Path, *, quality: int = 60) -> Path:
    """A multi-page scanned PDF (one JPEG per page), as a sheet-fed scanner writes it."""
    import img2pdf
    path.write_bytes(img2pdf.convert([as_scanned(im, angle=0.5, quality=quality) for im in images]))
    return path


def chinese_page(qr: str | None, sentence: str) -> Image.Image:
    """A page whose Chinese sentence exists only as pixels (an image-only scan), large enough for OCR."""
    from PIL import ImageFont

    from qms.adapters.pdf import cjk_font
    f = cjk_font()
    font = ImageFont.truetype(str(f.path), 56, index=f.index)
    im = page(qr)
    ImageDraw.Draw(im).text((150, 500), sentence, fill=0, font=font)
    return im
