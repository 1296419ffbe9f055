"""A scanned file as pages: open it (refusing what cannot be read safely, in one line), a
greyscale image of each page to look for QR codes on, and a PDF of any run of its pages.

PDF pages are rasterised with pypdfium2 (already a dependency): ~5 ms a page at 150 dpi here,
where `pdftoppm` costs ~190 ms a page (a process each). Images keep their bytes: a part made of
photo pages embeds them unchanged (img2pdf)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps
from ..records._img2pdf import image_bytes, images_to_pdf

MAX_PIXELS = 60_000_000        # 600 dpi A4 is 35 MP; a 20000×20000 image (400 MP) is refused unread
DPI = 150                      # enough for a 17 mm QR (4–5 px a module); 300 dpi tried on pages without one
KINDS = {".pdf": "pdf", ".jpg": "image", ".jpeg": "image", ".png": "image", ".tif": "image", ".tiff": "image"}


class Unreadable(Exception):
    """The file cannot be split into pages; str() is the reason (one line)."""


@dataclass
class Source:
    path: Path
    kind: str                  # "pdf" or "image"
    count: int
    _doc: object = field(default=None, repr=False)

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()
            self._doc = None


def open_source(path: Path, *, max_pages: int) -> Source:
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise Unreadable(f"not a PDF, JPEG, PNG or TIFF ({path.suffix or 'no extension'})")
    size = path.stat().st_size
    if size == 0:
        raise Unreadable("empty file (0 bytes)")
    if kind == "pdf":
        src = _open_pdf(path)
    else:
        src = Source(path, "image", _image_frames(path))
    if src.count > max_pages:
        src.close()
        raise Unreadable(f"{src.count} pages, more than scan.max_pages ({max_pages}) for one file; "
                         "split it and scan again")
    if src.count == 0:
        raise Unreadable("no pages")
    return src


def _open_pdf(path: Path) -> Source:
    import pypdfium2 as pdfium    # lazy: pypdfium2 loads in ~60 ms; only rasterising a scan's page needs it
    from pypdf import PdfReader
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise Unreadable("encrypted PDF (a password is needed to read it); scan it again without one")
        doc = pdfium.PdfDocument(str(path))
    except Unreadable:
        raise
    except Exception as exc:      # pypdf and pdfium name many kinds of broken PDF; one line is enough
        raise Unreadable(f"not a readable PDF ({type(exc).__name__})") from None
    return Source(path, "pdf", len(doc), doc)


def _image_frames(path: Path) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise Unreadable(f"image of {w}×{h} pixels, more than {MAX_PIXELS // 1_000_000} megapixels")
                return getattr(im, "n_frames", 1)
    except Unreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unreadable("image too large to open safely (decompression bomb)") from None
    except Exception as exc:
        raise Unreadable(f"not a readable image ({type(exc).__name__})") from None


def page_image(src: Source, index: int, *, dpi: int = DPI) -> Image.Image:
    """Page `index` (0-based) as a greyscale image, upright by its EXIF orientation."""
    if src.kind == "pdf":
        page = src._doc[index]
        w, h = page.get_size()
        scale = min(dpi / 72, (MAX_PIXELS / max(w * h, 1)) ** 0.5)     # a huge page is not a huge bitmap
        try:
            return page.render(scale=scale, grayscale=True).to_pil()
        finally:
            page.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(src.path) as im:
            im.seek(index)
            frame = im.copy() if index else ImageOps.exif_transpose(im)
            return frame.convert("L")


def is_vector(src: Source, index: int) -> bool:
    """A PDF page drawn without images (a printed PDF, not a scan)."""
    if src.kind != "pdf":
        return False
    import pypdfium2 as pdfium    # lazy: pypdfium2 loads in ~60 ms; only rasterising a scan's page needs it
    page = src._doc[index]
    try:
        return not any(o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE for o in page.get_objects())
    finally:
        page.close()


def write_part(src: Source, pages: list[int], out: Path) -> None:
    """A PDF of these pages (0-based) of the source: PDF pages copied as they are, image pages
    embedded unchanged (img2pdf)."""
    if src.kind == "pdf":
        from pypdf import PdfReader, PdfWriter    # lazy: pypdf loads in ~70 ms; only splitting or reading a scan's pages needs it
        writer = PdfWriter()
        reader = PdfReader(src.path)
        for i in pages:
            writer.add_page(reader.pages[i])
        with open(out, "wb") as fh:
            writer.write(fh)
        return
    out.write_bytes(images_to_pdf([image_bytes(src.path, i) for i in pages]))
