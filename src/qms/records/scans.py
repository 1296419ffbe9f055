"""The customer's signed scan as the PDF a record keeps: a PDF as given, or a phone photo
(JPEG, PNG …) fitted on one A4 page. One path for the CLI and the web (`record sign`,
the record page's upload)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidInput
from ..pdf import is_pdf


def scan_as_pdf(scan: Path, tmp: Path, *, shown: str | None = None) -> Path:
    """`scan` itself when it is a PDF; else the photo on an A4 page, written into `tmp`.
    Anything else is refused in one line naming the file (as `shown`: an upload's own name)."""
    if is_pdf(scan):
        return scan
    try:
        return photo_to_pdf(scan, tmp / "scan.pdf")
    except Exception:       # PIL names many kinds of unreadable images; the user needs one line
        raise InvalidInput("expected a PDF or a photo (JPEG, PNG) of the signed form; scan the signed form "
                           "to PDF or take a photo of it", file=shown or scan, field="scan") from None


def photo_to_pdf(image: Path, out: Path) -> Path:
    """A phone photo of the signed form → a one-page A4 PDF holding it (fitted, aspect kept,
    turned upright by its EXIF orientation). img2pdf would embed a JPEG losslessly; it is not a
    dependency, so fpdf2 and Pillow (fpdf2's own dependency) do it."""
    from fpdf import FPDF    # lazy: fpdf2 loads in ~60 ms; only drawing a PDF page needs it
    from PIL import Image, ImageOps
    with Image.open(image) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        fixed = out.with_suffix(".jpg")
        im.save(fixed, "JPEG", quality=90)
        w, h = im.size
    pdf = FPDF(format="A4")
    pdf.add_page()
    pw, ph = 190, 277
    scale = min(pw / w, ph / h)
    pdf.image(str(fixed), x=10, y=10, w=w * scale, h=h * scale)
    out.write_bytes(bytes(pdf.output()))
    return out
