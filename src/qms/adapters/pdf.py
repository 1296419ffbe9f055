"""Small PDF helpers: read text, recognise PDF/A, merge with bookmarks, make table pages.

Reading and merging use pypdf; new pages (a yearly volume's cover / table of
contents, a disposal certificate) are drawn with fpdf2 in the Simplified
Chinese face of Noto Sans CJK, embedded and subset, so the text is real text.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qms.store.archive import atomic_write
from qms.base.errors import InvalidInput, NotFound, QmsError, ToolMissing
import glob

FONT_INSTALL_HINT = "apt-get install -y --no-install-recommends fonts-noto-cjk"

# Where distributions put the Noto CJK collection, for when fc-match is absent.
_FONT_GLOBS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",      # Debian, Ubuntu
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",           # Arch, Alpine
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",    # Fedora
    "/usr/share/fonts/**/NotoSansCJK*-Regular.tt[cf]",
    "/usr/share/fonts/**/NotoSansSC-Regular.otf",
    "/usr/local/share/fonts/**/NotoSansCJK*-Regular.tt[cf]",
)
_SC_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN")


# --------------------------------------------------------------------------- files

def read_pdf(path: Path) -> PdfReader:
    """Open a PDF with pypdf, or raise QmsError naming the file.

    Encrypted files are opened with the empty user password (common for
    "protected" scans); anything else needing a password is refused.
    """
    from pypdf import PdfReader, PdfWriter    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    path = Path(path)
    if not path.is_file():
        raise NotFound("PDF file not found", file=path)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput("PDF is password-protected; supply an unprotected copy", file=path)
        len(reader.pages)  # forces the page tree to be read: broken files fail here
    except QmsError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise InvalidInput(f"not a readable PDF ({exc})", file=path) from exc
    return reader


# --------------------------------------------------------------------------- reading

def pdf_text(path: Path, *, max_pages: int | None = None) -> str:
    """All extractable text of a PDF, pages joined by newlines.

    NUL bytes are stripped: pypdf returns fpdf2's Chinese text as `\\x00受\\x00控`.
    A page whose text cannot be extracted contributes nothing (this feeds the
    search index; a scan with one odd page must still be filed).
    """
    reader = read_pdf(path)
    pages = reader.pages if max_pages is None else reader.pages[:max_pages]
    parts = []
    for page in pages:
        try:
            parts.append(page.extract_text() or "")
        except Exception:
            parts.append("")
    return "\n".join(parts).replace("\x00", "")


def is_pdf(path: Path) -> bool:
    """True when the file starts like a PDF (header within the first 1 KiB) and pypdf opens it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    if b"%PDF-" not in head:
        return False
    try:
        read_pdf(Path(path))
    except QmsError:
        return False
    return True


_PART_RE = re.compile(rb"pdfaid:part\s*(?:=\s*[\"']|>)\s*(\d+)")
_CONF_RE = re.compile(rb"pdfaid:conformance\s*(?:=\s*[\"']|>)\s*([A-Za-z])")


def pdfa_part(path: Path) -> str | None:
    """The PDF/A level claimed in the XMP metadata, e.g. "2B"; None when none is claimed.

    This reads the claim (pdfaid:part + pdfaid:conformance, as element or
    attribute); it does not validate conformance.
    """
    reader = read_pdf(path)
    meta = reader.trailer["/Root"].get("/Metadata")
    if meta is None:
        return None
    try:
        xmp = meta.get_object().get_data()
    except Exception:
        return None
    part = _PART_RE.search(xmp)
    if not part:
        return None
    conf = _CONF_RE.search(xmp)
    return part.group(1).decode() + (conf.group(1).decode().upper() if conf else "")


# --------------------------------------------------------------------------- merging

# A part's item: a PDF, or (child bookmark title, PDF).
PartItem = Path | tuple[str, Path]


def merge_with_bookmarks(parts: Sequence[tuple[str, Sequence[PartItem]]], out: Path, *,
                         front: Sequence[Path] = (), title: str | None = None,
                         progress: Callable[[int], None] | None = None) -> int:
    """Concatenate PDFs into `out` with one top-level bookmark per part; return the page count.

    `front` files (cover, table of contents) come first, without a bookmark.
    Each part's bookmark carries its title and opens the part's first page;
    a part with no pages gets no bookmark (there is nothing to point at).
    An item given as (title, path) also gets a child bookmark under its part.
    `progress(n_done)` is called after each file with the number of files done.
    The output is written atomically; on any error nothing is written.
    """
    from pypdf import PdfReader, PdfWriter    # lazy: pypdf loads in ~70 ms; qms --help and record show never read a PDF
    writer = PdfWriter()
    done = 0

    def add(path: Path) -> int:
        nonlocal done
        first = len(writer.pages)
        writer.append(read_pdf(path), import_outline=False)
        done += 1
        if progress is not None:
            progress(done)
        return first

    for path in front:
        add(Path(path))
    for part_title, items in parts:
        parent = None
        for item in items:
            child_title, path = item if isinstance(item, tuple) else (None, item)
            before = len(writer.pages)
            add(Path(path))
            if len(writer.pages) == before:
                continue  # an empty PDF: no page to point a bookmark at
            if parent is None:
                parent = writer.add_outline_item(title=str(part_title), page_number=before)
            if child_title is not None:
                writer.add_outline_item(title=str(child_title), page_number=before, parent=parent)
    writer.page_mode = "/UseOutlines"  # open the viewer with the bookmarks showing
    if title:
        writer.add_metadata({"/Title": title})
    buf = io.BytesIO()
    writer.write(buf)
    atomic_write(Path(out), buf.getvalue(), replace=True)
    return len(writer.pages)


# --------------------------------------------------------------------------- fonts

@dataclass(frozen=True)
class FontFile:
    """A font file and, for a collection (.ttc), the index of the face inside it."""
    path: Path
    index: int = 0


@functools.lru_cache(maxsize=1)
def cjk_font() -> FontFile:
    """The Simplified Chinese face of Noto Sans CJK (or an equivalent SC sans face).

    $QMS_CJK_FONT ("path" or "path#index") overrides; then fc-match; then the
    usual install locations, picking the SC face of the collection by name.
    """
    override = os.environ.get("QMS_CJK_FONT")
    if override:
        path, _, index = override.partition("#")
        if not Path(path).is_file():
            raise NotFound("QMS_CJK_FONT names a font file that does not exist", file=path)
        return FontFile(Path(path), int(index or 0))
    found = _fc_match_sc()
    if found is None:
        found = _scan_for_sc()
    if found is None:
        raise ToolMissing("no Simplified Chinese font (Noto Sans CJK SC) found; install it: "
                       + FONT_INSTALL_HINT)
    return found


def _fc_match_sc() -> FontFile | None:
    fc = shutil.which("fc-match")
    if not fc:
        return None
    try:
        res = subprocess.run([fc, "-f", "%{file}\t%{index}\t%{family}", "Noto Sans CJK SC"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        file, index, families = res.stdout.split("\t", 2)
    except ValueError:
        return None
    # fc-match always answers with *something*: accept only an SC face.
    if not any(f in families for f in _SC_FAMILIES) or not Path(file).is_file():
        return None
    return FontFile(Path(file), int(index or 0))


def _scan_for_sc() -> FontFile | None:

    from fontTools.ttLib import TTCollection, TTFont  # fpdf2 depends on fontTools    # lazy: fontTools (fpdf2's) loads only when a PDF page is drawn

    for pattern in _FONT_GLOBS:
        for file in sorted(glob.glob(pattern, recursive=True)):
            try:
                if file.endswith(".ttc"):
                    faces = TTCollection(file, lazy=True).fonts
                else:
                    faces = [TTFont(file, lazy=True)]
            except Exception:
                continue
            for i, face in enumerate(faces):
                if face["name"].getDebugName(1) in _SC_FAMILIES:
                    return FontFile(Path(file), i)
    return None


def add_cjk_font(pdf, family: str = "cjk") -> str:
    """Register the SC font with an fpdf2 FPDF (costs ~0.3 s: fontTools parses the CFF)."""
    font = cjk_font()
    pdf.add_font(family, "", str(font.path), collection_font_number=font.index)
    return family


# --------------------------------------------------------------------------- new pages

def _numbered_pdf(*, orientation: str = "P", footer_prefix: str = "", numbered: bool = True):
    """An A4 fpdf2 document with the SC font registered and "第 n 页 / 共 N 页" in every
    page's footer (unless not `numbered`); returns (pdf, font family)."""
    from fpdf import FPDF    # lazy: fpdf2 loads in ~60 ms; only drawing a PDF page needs it

    class _Pdf(FPDF):
        def footer(self) -> None:
            if not numbered:
                return
            self.set_y(-12)
            self.set_font(family, size=8)
            self.set_text_color(90)
            self.cell(0, 5, f"{footer_prefix}第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")
            self.set_text_color(0)

    pdf = _Pdf(orientation=orientation, unit="mm", format="A4")
    family = add_cjk_font(pdf)
    pdf.alias_nb_pages()
    return pdf, family


def make_table_pdf(out: Path, title: str, subtitle_lines: Sequence[str] = (),
                   columns: Sequence[str] = (), rows: Iterable[Sequence[object]] = (),
                   footer_lines: Sequence[str] = (), *,
                   col_widths: Sequence[float] | None = None, landscape: bool = False,
                   font_size: float = 10, numbered: bool = True) -> Path:
    """An A4 PDF: a centred title, subtitle lines, a table, then footer lines.

    Serves the yearly volume's cover / table of contents (a disposal certificate,
    which may list 100,000 records, uses make_register_pdf). Long tables flow onto further pages with the
    heading row repeated; every page is numbered "第 n 页 / 共 N 页".
    `col_widths` are relative widths (default: equal). Cells are str()-ed,
    None prints empty. Written atomically; returns `out`.
    """
    from fpdf.enums import WrapMode    # lazy: fpdf2 loads in ~60 ms; only drawing a PDF page needs it
    from fpdf.fonts import FontFace

    pdf, family = _numbered_pdf(orientation="L" if landscape else "P", numbered=numbered)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(title)
    pdf.set_creator("qms")
    pdf.set_lang("zh-CN")
    pdf.add_page()

    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, size=font_size)
    line_h = font_size * 0.55
    for line in subtitle_lines:
        pdf.multi_cell(0, line_h, str(line), new_x="LMARGIN", new_y="NEXT")
    if columns:
        pdf.ln(2)
        # The CJK font is registered without a bold face: headings are shaded instead.
        heading = FontFace(emphasis="", fill_color=(225, 225, 225))
        with pdf.table(col_widths=tuple(col_widths) if col_widths else None,
                       headings_style=heading, text_align="LEFT", line_height=line_h,
                       wrapmode=WrapMode.WORD, padding=(0.8, 1.2)) as table:
            hdr = table.row()
            for col in columns:
                hdr.cell(str(col))
            for values in rows:
                row = table.row()
                cells = ["" if v is None else str(v) for v in values]
                cells += [""] * (len(columns) - len(cells))
                for value in cells[: len(columns)]:
                    row.cell(value)
    if footer_lines:
        pdf.ln(4)
        for line in footer_lines:
            pdf.multi_cell(0, line_h * 1.4, str(line), new_x="LMARGIN", new_y="NEXT")
    atomic_write(Path(out), bytes(pdf.output()), replace=True)
    return Path(out)


def make_register_pdf(out: Path, title: str, header_lines: Sequence[str],
                      columns: Sequence[tuple[str, float]], rows: Iterable[Sequence[object]],
                      footer_lines: Sequence[str] = (), *, font_size: float = 7.5) -> Path:
    """A long register (one line per entry, fixed columns) that stays fast at 100,000 lines.

    fpdf2's table() wraps and measures every cell (~20 ms a row). A register writes each
    entry as ONE line of a monospaced core font (Courier: no CJK subsetting per glyph),
    columns padded to their width, so a disposal certificate for a whole archive takes
    seconds. Entries must be ASCII (numbers, form ids, dates); headings and the text
    around the register may be Chinese. `columns` are (heading, width in characters).
    """
    pdf, family = _numbered_pdf(footer_prefix=f"{title}    ")
    pdf.set_auto_page_break(False)
    line_h = font_size * 0.3528 * 1.45
    left, top, bottom = 15.0, 18.0, 297.0 - 18.0
    width = 180.0

    def fit(value: object, chars: int) -> str:
        text = "" if value is None else str(value)
        return text[:chars - 1].ljust(chars) if len(text) >= chars else text.ljust(chars)

    def heading_row(y: float) -> float:
        pdf.set_font(family, size=font_size)
        x = left
        for head, chars in columns:
            pdf.text(x, y, head)
            x += chars * font_size * 0.3528 * 0.6
        pdf.line(left, y + 1.2, left + width, y + 1.2)
        pdf.set_font("Courier", size=font_size)
        return y + line_h + 0.8

    pdf.add_page()
    pdf.set_font(family, size=14)
    pdf.set_y(top - 4)
    pdf.cell(0, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    for line in header_lines:
        pdf.set_x(left)
        pdf.multi_cell(width, 5, line, new_x="LMARGIN", new_y="NEXT")
    y = heading_row(pdf.get_y() + 5)
    for row in rows:
        if y > bottom:
            pdf.add_page()
            y = heading_row(top)
        pdf.text(left, y, "".join(fit(v, chars) for v, (_, chars) in zip(row, columns)))
        y += line_h
    pdf.set_font(family, size=9)
    pdf.set_y(y + 2)
    for line in footer_lines:
        if pdf.get_y() > bottom - 6:
            pdf.add_page()
            pdf.set_y(top)
        pdf.set_x(left)
        pdf.multi_cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
    atomic_write(Path(out), bytes(pdf.output()), replace=True)
    return Path(out)
