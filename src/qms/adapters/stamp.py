"""Stamps on PDFs: 受控副本 (controlled copy), 作废 (obsolete), 草稿 (draft).

A stamp is an overlay page drawn once with fpdf2 in the Simplified Chinese
face of Noto Sans CJK (real, extractable text, embedded font) and merged over
every page of a *copy* of the PDF with pypdf. The source file is only read.

Building an overlay costs ~0.3 s (fontTools parses the CJK font) and merging
~3 ms a page, so overlays are cached per (text, style, page size) in-process.

A record's QR (papercode) goes over its first page through overlay_first_pages: qpdf (pikepdf)
in place of pypdf, since an import stamps every record it converts.
"""

from __future__ import annotations

import io
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from qms.base.errors import InvalidInput, NotFound, QmsError
from qms.store.archive import atomic_write
from qms.adapters.pdf import add_cjk_font, read_pdf

STYLES = ("copy", "obsolete", "draft")
DEFAULT_TEXT = {"copy": "受控副本", "obsolete": "作废 OBSOLETE", "draft": "草稿 DRAFT"}

_RED = (214, 24, 24)
_GREY = (110, 110, 110)
_COPY_SIZE = 10.5     # pt: the controlled-copy box text
_COPY_MARGIN = 14.0   # pt from the bottom and right edges of the visible page

# (text, style, width, height) -> (overlay PDF bytes, page index in it)
_cache: OrderedDict[tuple[str, str, float, float], tuple[bytes, int]] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_MAX = 64


def stamp_pdf(src: Path, dst: Path, text: str | None = None, *, style: str) -> Path:
    """Write `dst`: a copy of `src` with a stamp on every page; return `dst`.

    style "copy": a red double-ruled box bottom-right, e.g. "受控副本 No.3" (the top of a
    controlled document's page holds its header table, which a stamp must not cover);
    "obsolete": large red diagonal text across the page centre ("作废 OBSOLETE");
    "draft": the same in grey ("草稿 DRAFT"). `text` defaults per style; "\\n"
    splits it into lines. Pages keep their size and /Rotate: the stamp is
    upright as the page is displayed, placed within the visible (crop) box.
    `dst` is written atomically and may not be `src`.
    """
    from pypdf import PageObject, PdfReader, PdfWriter, Transformation    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    if style not in STYLES:
        raise QmsError(f"unknown stamp style '{style}' (expected one of: {', '.join(STYLES)})")
    text = DEFAULT_TEXT[style] if text is None else text
    if not text.strip():
        raise QmsError("stamp text is empty")
    src, dst = Path(src), Path(dst)
    if dst.resolve() == src.resolve():
        raise QmsError("a stamped copy must be a new file; the original is never modified", file=src)

    writer = PdfWriter(clone_from=read_pdf(src))
    _drop_signatures(writer)
    unshare_contents(writer)
    geometry = [page_geometry(page) for page in writer.pages]
    overlays = _overlay_pages(text, style, {size for size, _ in geometry})
    for page, (size, ctm) in zip(writer.pages, geometry):
        page.merge_transformed_page(overlays[size], Transformation(ctm), over=True)
        page.compress_content_streams()  # the merge leaves the page content uncompressed
    buf = io.BytesIO()
    writer.write(buf)
    atomic_write(dst, buf.getvalue(), replace=True)
    return dst


def _drop_signatures(writer: PdfWriter) -> None:
    """A stamped copy is not the sealed original: its bytes differ, so a seal carried over would only
    show as broken. Signature fields and their widgets are left out (the original keeps the seal)."""
    from pypdf.generic import ArrayObject, IndirectObject, NameObject    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    def is_sig(obj) -> bool:
        obj = obj.get_object()
        return obj.get("/FT") == "/Sig" or (obj.get("/Parent") is not None
                                            and obj["/Parent"].get_object().get("/FT") == "/Sig")
    root = writer._root_object
    acro = root.get("/AcroForm")
    if acro is not None:
        acro = acro.get_object()
        fields = [f for f in acro.get("/Fields", ArrayObject()) if not is_sig(f)]
        if fields:
            acro[NameObject("/Fields")] = ArrayObject(fields)
            acro.pop(NameObject("/SigFlags"), None)
        else:
            del root[NameObject("/AcroForm")]
    for page in writer.pages:
        annots = page.get("/Annots")
        if annots is None:
            continue
        keep = [a for a in annots.get_object() if not is_sig(a)]
        if keep:
            page[NameObject("/Annots")] = ArrayObject(keep)
        else:
            del page[NameObject("/Annots")]


def unshare_contents(writer: PdfWriter) -> None:
    """Give every page whose content stream is shared with another page its own copy.

    pypdf's merge rewrites a page's /Contents object in place; a stream shared
    by several pages (legal, e.g. repeated blank pages) would then carry the
    stamp once per page that shares it.
    """
    from pypdf.generic import ArrayObject, IndirectObject, NameObject    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    from pypdf import PageObject, PdfReader, PdfWriter, Transformation    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    def refs(page: PageObject) -> list[int]:
        out = []
        contents = page.get("/Contents")
        if isinstance(contents, IndirectObject):
            out.append(contents.idnum)
            contents = contents.get_object()
        if isinstance(contents, ArrayObject):
            out += [c.idnum for c in contents if isinstance(c, IndirectObject)]
        return out

    count = Counter(r for page in writer.pages for r in set(refs(page)))
    for page in writer.pages:
        if any(count[r] > 1 for r in refs(page)):
            contents = page.get_contents()  # a new, merged ContentStream
            del page[NameObject("/Contents")]
            if contents is not None:
                contents.indirect_reference = None
                page.replace_contents(contents)  # added as a new object


def page_geometry(page: PageObject) -> tuple[tuple[float, float], tuple]:
    """(displayed size, matrix from overlay space to the page's user space)."""
    box = page.cropbox
    return _geometry((float(v) for v in (box.left, box.bottom, box.right, box.top)), page.rotation)


def _geometry(box, rotation) -> tuple[tuple[float, float], tuple]:
    """page_geometry from the visible box (x0, y0, x1, y1) and /Rotate, whichever library read them."""
    x0, y0, x1, y1 = box
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    w, h = x1 - x0, y1 - y0
    rot = int(rotation or 0) % 360
    if rot % 90:
        rot = 0  # an invalid /Rotate: viewers ignore it too
    # The overlay is drawn upright at the *displayed* size; the matrix maps its
    # (u, v) space into the page's user space so that the viewer's /Rotate
    # turns it back upright. Links, form fields and /Rotate stay untouched.
    size = (round(h, 1), round(w, 1)) if rot in (90, 270) else (round(w, 1), round(h, 1))
    ctm = {
        0: (1, 0, 0, 1, x0, y0),
        90: (0, 1, -1, 0, x1, y0),
        180: (-1, 0, 0, -1, x1, y1),
        270: (0, -1, 1, 0, x0, y1),
    }[rot]
    return size, ctm


def overlay_first_pages(pdfs: Sequence[Path], draw: Callable[[list[tuple[float, float]]], bytes]) -> None:
    """Over the first page of each PDF, in place (atomically, fsynced), page i of the PDF that
    `draw(sizes)` returns, `sizes` being each first page's displayed (width, height): the overlay
    stands upright as the page is displayed (/Rotate, crop box), like stamp_pdf's.

    qpdf (pikepdf) does it: the overlay page becomes a form XObject painted after the page's own
    content, which is kept as it is (its stream untouched, wrapped in q/Q); the file is written
    without parsing or re-encoding the other objects. pypdf's clone + merge + write of the same
    took ~29 ms a record PDF in an import, this ~3.5 ms (the QR's drawing another ~5 ms;
    bench/README, issue 21)."""
    import pikepdf    # lazy: pikepdf loads in ~40 ms; only stamping a record's PDF needs it
    docs = []
    for path in pdfs:
        path = Path(path)
        try:
            docs.append(pikepdf.open(io.BytesIO(path.read_bytes())))     # read whole: the file is replaced below
        except FileNotFoundError:
            raise NotFound("PDF file not found", file=path) from None
        except pikepdf.PasswordError:
            raise InvalidInput("PDF is password-protected; supply an unprotected copy", file=path) from None
        except pikepdf.PdfError as exc:
            raise InvalidInput(f"not a readable PDF ({exc})", file=path) from None
        if not len(docs[-1].pages):
            raise InvalidInput("the PDF has no page to stamp", file=path)
    geometry = [_geometry((float(v) for v in doc.pages[0].cropbox), doc.pages[0].rotation) for doc in docs]
    overlay = pikepdf.open(io.BytesIO(draw([size for size, _ in geometry])))
    if len(overlay.pages) != len(docs):
        raise ValueError(f"{len(docs)} PDFs but {len(overlay.pages)} overlay pages")
    for path, doc, (_, ctm), over in zip(pdfs, docs, geometry, overlay.pages):
        page = doc.pages[0]
        name = page.add_resource(over.as_form_xobject(), pikepdf.Name.XObject, prefix="QmsOv")   # copied into doc
        # a new /Contents array on this page only: the page's own streams, shared with other pages
        # or not, stay as they are, wrapped in q/Q so whatever state they leave, the overlay starts clean
        old = page.obj.get(pikepdf.Name.Contents)
        own = list(old) if isinstance(old, pikepdf.Array) else [] if old is None else [old]
        paint = b"Q\nq " + " ".join(_num(v) for v in ctm).encode() + b" cm " + name.unparse() + b" Do Q\n"
        page.obj.Contents = pikepdf.Array([doc.make_stream(b"q\n"), *own, doc.make_stream(paint)])
        buf = io.BytesIO()
        doc.save(buf, fix_metadata_version=False)      # the XMP (PDF/A claim) kept byte for byte
        doc.close()
        atomic_write(Path(path), buf.getvalue(), replace=True)
    overlay.close()


def _num(v: float) -> str:
    """A number as PDF content syntax takes it (no exponent)."""
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _overlay_pages(text: str, style: str,
                   sizes: set[tuple[float, float]]) -> dict[tuple[float, float], PageObject]:
    """One overlay page per size; sizes not cached are drawn in one fpdf2 document
    (the CJK font is parsed once per build, ~0.3 s)."""
    from pypdf import PageObject, PdfReader, PdfWriter, Transformation    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    with _cache_lock:
        found = {sz: _cache[(text, style, *sz)] for sz in sizes if (text, style, *sz) in _cache}
        for sz in found:
            _cache.move_to_end((text, style, *sz))
    missing = sorted(sizes - found.keys())
    if missing:
        data = _build_overlays(text, style, missing)
        with _cache_lock:
            for i, sz in enumerate(missing):
                found[sz] = _cache[(text, style, *sz)] = (data, i)
            while len(_cache) > _CACHE_MAX:
                _cache.popitem(last=False)
    # One reader per overlay document for this call: pypdf then copies each
    # overlay's font into the output once, not once per page.
    readers: dict[int, PdfReader] = {}
    pages = {}
    for sz, (data, index) in found.items():
        if id(data) not in readers:
            readers[id(data)] = PdfReader(io.BytesIO(data))
        pages[sz] = readers[id(data)].pages[index]
    return pages


def _build_overlays(text: str, style: str, sizes: list[tuple[float, float]]) -> bytes:
    from fpdf import FPDF    # lazy: fpdf2 loads in ~60 ms; only drawing a PDF page needs it

    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    family = add_cjk_font(pdf)
    lines = text.split("\n")
    for w, h in sizes:
        # fpdf2 swaps a (w, h) format to suit the orientation: say which one we mean.
        pdf.add_page(orientation="L" if w > h else "P", format=(min(w, h), max(w, h)))
        if style == "copy":
            _draw_copy_box(pdf, family, lines, w, h)
        else:
            _draw_diagonal(pdf, family, lines, w, h, style)
    return bytes(pdf.output())


def _draw_copy_box(pdf, family: str, lines: list[str], w: float, h: float) -> None:
    # Shrink on small pages so the box never takes more than ~45 % of the width.
    size = _COPY_SIZE
    pdf.set_font(family, size=size)
    widest = max(pdf.get_string_width(s) for s in lines)
    if widest > 0.45 * w - 20:
        size = max(6.0, size * (0.45 * w - 20) / widest)
        pdf.set_font(family, size=size)
        widest = max(pdf.get_string_width(s) for s in lines)
    pad_x, pad_y, line_h = size * 0.7, size * 0.45, size * 1.3
    box_w, box_h = widest + 2 * pad_x, len(lines) * line_h + 2 * pad_y
    margin = min(_COPY_MARGIN, 0.05 * min(w, h))
    x, y = w - margin - box_w, h - margin - box_h
    pdf.set_draw_color(*_RED)
    pdf.set_text_color(*_RED)
    pdf.set_line_width(1.6)
    pdf.rect(x, y, box_w, box_h)
    inset = 2.4
    pdf.set_line_width(0.6)
    pdf.rect(x + inset, y + inset, box_w - 2 * inset, box_h - 2 * inset)
    for i, line in enumerate(lines):
        lw = pdf.get_string_width(line)
        baseline = y + pad_y + i * line_h + line_h / 2 + 0.35 * size
        pdf.text(x + (box_w - lw) / 2, baseline, line)


def _draw_diagonal(pdf, family: str, lines: list[str], w: float, h: float, style: str) -> None:
    colour, opacity = (_RED, 0.45) if style == "obsolete" else (_GREY, 0.30)
    theta = math.atan2(h, w)                 # bottom-left to top-right
    angle = math.degrees(theta)
    pdf.set_font(family, size=1)
    em_width = max(pdf.get_string_width(s) for s in lines) or 1.0   # widest line at 1 pt
    # Block (text + frame padding) in font-size units; its rotated bounding box
    # must fit in 90 % of the page: solve both inequalities for the size.
    block_w, block_h = em_width + 0.5, 1.2 * len(lines) + 0.2
    cos, sin = math.cos(theta), math.sin(theta)
    size = min(0.9 * w / (block_w * cos + block_h * sin),
               0.9 * h / (block_w * sin + block_h * cos), 160.0)
    pdf.set_font(family, size=size)
    line_h = 1.2 * size
    cx, cy = w / 2, h / 2
    top = cy - len(lines) * line_h / 2
    with pdf.local_context(fill_opacity=opacity, stroke_opacity=opacity):
        pdf.set_text_color(*colour)
        pdf.set_draw_color(*colour)
        with pdf.rotation(angle, x=cx, y=cy):
            widest = 0.0
            for i, line in enumerate(lines):
                lw = pdf.get_string_width(line)
                widest = max(widest, lw)
                pdf.text(cx - lw / 2, top + i * line_h + line_h / 2 + 0.35 * size, line)
            if style == "obsolete":
                # A ruled frame around the words makes it read as a stamp, not a watermark.
                pad = 0.25 * size
                pdf.set_line_width(max(1.5, size / 25))
                pdf.rect(cx - widest / 2 - pad, top - pad * 0.4,
                         widest + 2 * pad, len(lines) * line_h + pad * 0.8)
