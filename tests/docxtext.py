"""The plain text of a rendered .docx, for assertions (tests only: qms itself never reads it back)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from lxml import etree

from qms.base.errors import QmsError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

_TEXT_TAGS = (_W + "t", _W + "p", _W + "tab", _W + "br", _W + "cr")


def docx_text(path: Path) -> str:
    """The plain text of a .docx: body (with tables), then headers, footers, foot/endnotes.

    One line per paragraph; table cells are paragraphs too. Read from the XML
    parts directly (no python-docx).
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            order = ["word/document.xml"]
            for prefix in ("word/header", "word/footer", "word/footnotes", "word/endnotes"):
                order += sorted(n for n in names if n.startswith(prefix) and n.endswith(".xml"))
            texts = [_part_text(z.read(n)) for n in order if n in names]
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise QmsError(f"cannot read the document: {exc}", file=path) from None
    # as a reader sees it: the word joiners that keep a number or date on one line print as nothing
    return "\n".join(t for t in texts if t).replace("\u2060", "")


def _part_text(xml: bytes) -> str:
    out: list[str] = []
    for _, el in etree.iterparse(io.BytesIO(xml), events=("end",), tag=_TEXT_TAGS):
        tag = el.tag
        if tag == _W + "t":
            if el.text:
                out.append(el.text)
        elif tag == _W + "p":
            out.append("\n")
        elif tag == _W + "tab":
            if el.getparent().tag == _W + "r":  # not a tab-stop definition in w:tabs
                out.append("\t")
        else:
            out.append("\n")
    return "".join(out).rstrip("\n")
