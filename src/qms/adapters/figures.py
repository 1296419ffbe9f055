"""Figures in procedures (a flow chart with its caption): pictures put into a rendered .docx.

Our renderer runs docxtpl's templates without a live DocxTemplate, so docxtpl's
InlineImage is not available. The procedure template prints a marker run for each
figure block; here each marker run becomes an inline picture, the image becomes a
media part with its relationship, and the content type is declared.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import QmsError

EMU_PER_CM = 360000
MAX_WIDTH_CM = 15.5          # the procedure's text column is 16 cm
MAX_HEIGHT_CM = 21.0         # leave room for the caption and the page header on one page
_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@dataclass
class Placed:
    marker: str
    path: Path
    width_cm: float | None = None
    data: bytes | None = None      # an image drawn at render time (a flow chart): `path` only names it


def marker(n: int) -> str:
    return f"QMS-FIGURE-{n}-MARKER"


def image_size_cm(path: Path, width_cm: float | None, data: bytes | None = None) -> tuple[float, float]:
    """Printed size: the given width, else the image's own size at its dpi (96 when unknown),
    shrunk to fit the text column and a page."""
    from PIL import Image    # lazy: Pillow loads in ~30 ms; only pictures and phone photos need it
    try:
        with Image.open(io.BytesIO(data) if data is not None else path) as im:
            w_px, h_px = im.size
            dpi = im.info.get("dpi", (96, 96))[0] or 96
    except Exception as exc:   # Pillow raises many types for a damaged image
        raise QmsError(f"cannot read the image: {exc}", file=path) from None
    dpi = float(dpi) if float(dpi) >= 30 else 96.0
    w = width_cm or w_px / dpi * 2.54
    w = min(w, MAX_WIDTH_CM)
    h = w * h_px / w_px
    if h > MAX_HEIGHT_CM:
        w, h = w * MAX_HEIGHT_CM / h, MAX_HEIGHT_CM
    return w, h


def _drawing(n: int, rid: str, name: str, w_cm: float, h_cm: float) -> str:
    cx, cy = int(w_cm * EMU_PER_CM), int(h_cm * EMU_PER_CM)
    name = name.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return (f'<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0">'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{1000 + n}" name="图 {n}"/>'
            '<wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
            ' noChangeAspect="1"/></wp:cNvGraphicFramePr>'
            '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            f'<pic:nvPicPr><pic:cNvPr id="{1000 + n}" name="{name}"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
            '</a:graphicData></a:graphic></wp:inline></w:drawing></w:r>')


def embed(docx: Path, figures: list[Placed]) -> None:
    """Replace each figure's marker run in word/document.xml by the picture (in place)."""
    if not figures:
        return
    with zipfile.ZipFile(docx) as zin:
        items = [(info, zin.read(info)) for info in zin.infolist()]
    parts = {info.filename: data for info, data in items}
    doc = parts["word/document.xml"].decode("utf-8")
    rels = parts["word/_rels/document.xml.rels"].decode("utf-8")
    types = parts["[Content_Types].xml"].decode("utf-8")
    media: dict[str, bytes] = {}
    for n, fig in enumerate(figures, 1):
        suffix = fig.path.suffix.lower()
        if suffix not in _TYPES or (fig.data is None and not fig.path.is_file()):
            raise QmsError("expected a .png or .jpg image file", file=fig.path)
        w, h = image_size_cm(fig.path, fig.width_cm, fig.data)
        rid = f"rIdQmsFigure{n}"
        target = f"media/qms-figure-{n}{suffix}"
        media[f"word/{target}"] = fig.data if fig.data is not None else fig.path.read_bytes()
        rels = rels.replace("</Relationships>",
                            f'<Relationship Id="{rid}" Type="http://schemas.openxmlformats.org/officeDocument/'
                            f'2006/relationships/image" Target="{target}"/></Relationships>')
        ext = suffix.lstrip(".")
        if f'Extension="{ext}"' not in types:
            types = types.replace("<Default ", f'<Default Extension="{ext}" ContentType="{_TYPES[suffix]}"/><Default ',
                                  1)
        run = re.compile(r"<w:r>(?:(?!</w:r>).)*?" + re.escape(fig.marker) + r".*?</w:r>", re.S)
        doc, count = run.subn(lambda m: _drawing(n, rid, fig.path.name, w, h), doc, count=1)
        if not count:
            raise QmsError(f"the procedure template has no place for figure {n} ({fig.path.name}); "
                           "put the figure's placeholder back into templates/procedure.docx (qms template check)")
    parts["word/document.xml"] = doc.encode("utf-8")
    parts["word/_rels/document.xml.rels"] = rels.encode("utf-8")
    parts["[Content_Types].xml"] = types.encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, _ in items:
            zout.writestr(info, parts[info.filename])
        for name, data in media.items():
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
    docx.write_bytes(out.getvalue())
