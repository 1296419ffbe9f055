"""The customer's signed scan as the PDF a record keeps: a PDF as given, or a phone photo
(JPEG, PNG …) fitted on one A4 page. One path for the CLI and the web (`record sign`,
the record page's upload)."""

from __future__ import annotations

from pathlib import Path

from ..base.errors import InvalidInput
from ..adapters.pdf import is_pdf
from ._img2pdf import image_bytes, images_to_pdf


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
    turned upright by its EXIF orientation). img2pdf embeds a JPEG's own bytes: nothing is
    re-compressed, the photo in the archive is the photo taken."""
    from PIL import Image    # lazy: Pillow loads in ~50 ms; only a photo needs it

    with Image.open(image) as im:       # refuses what is not an image, and a decompression bomb
        w, h = im.size
        if w * h > 60_000_000:
            raise ValueError("image too large")
    out.write_bytes(images_to_pdf([image_bytes(image)]))
    return out
