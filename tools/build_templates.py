"""Build the docxtpl templates in templates/ from code, so they are reproducible.

Run:  .venv/bin/python tools/build_templates.py [OUT_DIR]   (default: templates/)

Writes procedure.docx, record.docx, service-notice.docx and field-report.docx.
The output is byte-for-byte stable (fixed zip timestamps and core properties),
so re-running it only shows a diff when this script changed.

Why fonts are set the way they are (see shared FIELD-NOTES): python-docx's default
template declares East Asian language en-US/ja-JP and its heading styles carry
theme-font attributes that override an explicit 黑体; LibreOffice then falls back
to Japanese glyph shapes. So every style gets explicit w:eastAsia fonts, the
docDefaults and settings declare zh-CN, and all theme-font attributes are removed.

Template syntax is docxtpl's ({%p %}, {%tr %}, {%tc %}, {{ }}), rendered by
qms.render. Tables whose columns come from data ({%tc for %}) are left with
"autofit" layout: qms.render sizes their columns from the rendered content.
Every other table is fixed layout.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT, WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.document import Document as DocxDocument
from docx.shared import Pt, RGBColor, Twips
from docx.table import _Cell
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent

# A4 in twips (1 cm ≈ 567 twips); 2.5 cm margins leave a 16 cm text column.
PAGE_W, PAGE_H = 11906, 16838
MARGIN = 1418
TEXT_W = PAGE_W - 2 * MARGIN  # 9070

BODY_FONT = "宋体"
HEAD_FONT = "黑体"
LATIN_BODY = "Times New Roman"
LATIN_HEAD = "Arial"
LABEL_FILL = "F2F2F2"
FIXED_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

# The fonts Word needs to find the Chinese faces on any machine (name, alt, panose, charset 86 = GB2312).
FONT_TABLE_ENTRIES = [
    ("宋体", "SimSun", "02010600030101010101", "auto", "variable"),
    ("黑体", "SimHei", "02010609060101010101", "modern", "fixed"),
]


# --------------------------------------------------------------------------- fonts & styles

def set_fonts(rpr_parent, latin: str | None = None, east_asia: str | None = None) -> None:
    """Set explicit fonts on a style / run rPr and drop theme fonts, which would win otherwise."""
    rpr = rpr_parent if rpr_parent.tag == qn("w:rPr") else rpr_parent.get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()  # python-docx keeps the schema's child order
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    if latin:
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            rfonts.set(qn(attr), latin)
    if east_asia:
        rfonts.set(qn("w:eastAsia"), east_asia)


def strip_theme_formatting(styles_el) -> None:
    for rfonts in styles_el.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
    for color in styles_el.iter(qn("w:color")):
        for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
            color.attrib.pop(qn(attr), None)
        color.set(qn("w:val"), "000000")


def child(parent, tag: str, before: tuple[str, ...] = ()):
    """Get or create a child element (inserted before the first of `before` to keep schema order)."""
    el = parent.find(qn(tag))
    if el is None:
        el = OxmlElement(tag)
        for name in before:
            anchor = parent.find(qn(name))
            if anchor is not None:
                anchor.addprevious(el)
                break
        else:
            parent.append(el)
    return el


def setup_styles(doc, body_pt: float, line: int, heading_pts: tuple[float, ...]) -> None:
    styles_el = doc.styles.element
    # Keep only the two table styles we use: the other 98 weigh ~400 KB per rendered file.
    for style in styles_el.findall(qn("w:style")):
        if style.get(qn("w:type")) == "table" and style.get(qn("w:styleId")) not in ("TableNormal", "TableGrid"):
            styles_el.remove(style)
    strip_theme_formatting(styles_el)

    defaults = styles_el.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, LATIN_BODY, BODY_FONT)
    lang = child(rpr, "w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")
    for tag in ("w:sz", "w:szCs"):
        child(rpr, tag, before=("w:lang",)).set(qn("w:val"), str(int(body_pt * 2)))
    ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = child(ppr, "w:spacing")
    spacing.attrib.clear()
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), str(line))
    spacing.set(qn("w:lineRule"), "auto")

    styles = doc.styles
    normal = styles["Normal"]
    normal.font.size = Pt(body_pt)
    set_fonts(normal.element, LATIN_BODY, BODY_FONT)
    normal.paragraph_format.space_after = Pt(0)

    for level, size in enumerate(heading_pts, start=1):
        st = styles[f"Heading {level}"]
        st.font.size = Pt(size)
        st.font.bold = False  # 黑体 is already heavy; synthetic bold smears it
        st.font.italic = False
        st.font.color.rgb = RGBColor(0, 0, 0)
        set_fonts(st.element, LATIN_HEAD, HEAD_FONT)
        pf = st.paragraph_format
        pf.space_before = Pt(12 if level == 1 else 6)
        pf.space_after = Pt(6 if level == 1 else 3)
        pf.keep_with_next = True
        pf.line_spacing = 1.0 if level == 1 else None

    def add_style(name: str, base: str, *, font: str = BODY_FONT, latin: str = LATIN_BODY,
                  size: float | None = None, bold: bool | None = None,
                  align=None, before: float = 0, after: float = 0, single: bool = False):
        st = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        st.base_style = styles[base]
        st.quick_style = True
        set_fonts(st.element, latin, font)
        if size:
            st.font.size = Pt(size)
        if bold is not None:
            st.font.bold = bold
        pf = st.paragraph_format
        if align is not None:
            pf.alignment = align
        pf.space_before = Pt(before)
        pf.space_after = Pt(after)
        if single:
            pf.line_spacing = 1.0
        return st

    title = styles["Title"]
    ppr = title.element.find(qn("w:pPr"))
    if ppr is not None:  # the default Title has a blue bottom border and contextual spacing
        for tag in ("w:pBdr", "w:contextualSpacing"):
            el = ppr.find(qn(tag))
            if el is not None:
                ppr.remove(el)
    title.font.size = Pt(26)
    title.font.bold = False
    title.font.color.rgb = RGBColor(0, 0, 0)
    set_fonts(title.element, LATIN_HEAD, HEAD_FONT)
    rpr = title.element.get_or_add_rPr()
    for tag in ("w:spacing", "w:kern"):
        el = rpr.find(qn(tag))
        if el is not None:
            rpr.remove(el)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(12)
    title.paragraph_format.line_spacing = 1.0

    body = styles["Body Text"]
    body.font.size = Pt(body_pt)
    set_fonts(body.element, LATIN_BODY, BODY_FONT)
    body.paragraph_format.space_after = Pt(0)
    body.paragraph_format.first_line_indent = Pt(body_pt * 2)
    # Chinese Word indents by characters (2 字符); the twips value above is the fallback.
    ind = body.element.get_or_add_pPr().find(qn("w:ind"))
    ind.set(qn("w:firstLineChars"), "200")

    lst = add_style("List Line", "Normal", size=body_pt)
    lst.paragraph_format.left_indent = Pt(body_pt * 2)
    lst.element.pPr.find(qn("w:ind")).set(qn("w:leftChars"), "200")

    add_style("Table Text", "Normal", size=10.5, single=True)
    add_style("Table Header", "Table Text", font=HEAD_FONT, latin=LATIN_HEAD, align=WD_ALIGN_PARAGRAPH.CENTER)
    add_style("Table Label", "Table Text", font=HEAD_FONT, latin=LATIN_HEAD)
    cap = styles["Caption"]
    cap.font.size = Pt(10.5)
    cap.font.bold = False
    cap.font.italic = False
    cap.font.color.rgb = RGBColor(0, 0, 0)
    set_fonts(cap.element, LATIN_HEAD, HEAD_FONT)
    cap.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap.paragraph_format.space_before = Pt(6)
    cap.paragraph_format.space_after = Pt(3)
    cap.paragraph_format.line_spacing = 1.0
    cap.paragraph_format.keep_with_next = True

    add_style("Cover Line", "Normal", font=HEAD_FONT, latin=LATIN_HEAD, size=18,
              align=WD_ALIGN_PARAGRAPH.CENTER, single=True)
    add_style("Form Title", "Normal", font=HEAD_FONT, latin=LATIN_HEAD, size=18,
              align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=6, single=True)
    add_style("Note", "Normal", size=9, before=4, single=True)

    for name in ("Header", "Footer"):
        st = styles[name]
        st.font.size = Pt(9)
        set_fonts(st.element, LATIN_BODY, BODY_FONT)
        st.paragraph_format.line_spacing = 1.0


# --------------------------------------------------------------------------- document & package

def new_document(body_pt: float, line: int, heading_pts: tuple[float, ...]):
    doc = Document()
    # Drop parts that would ship wrong data in every rendered file: a thumbnail of a
    # blank page, Word 2010's duplicate 400 KB styles part, and an empty customXml item.
    for rid, rel in list(doc.part.package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            doc.part.package.rels.pop(rid)
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype in (RT.CUSTOM_XML, "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"):
            doc.part.rels.pop(rid)

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Twips(PAGE_W), Twips(PAGE_H)
    section.top_margin = section.bottom_margin = Twips(MARGIN)
    section.left_margin = section.right_margin = Twips(MARGIN)
    section.header_distance = section.footer_distance = Twips(851)

    setup_styles(doc, body_pt, line, heading_pts)

    settings = doc.settings.element
    for tag in ("w:savePreviewPicture", "w:rsids", "w:proofState"):
        el = settings.find(qn(tag))
        if el is not None:
            settings.remove(el)
    lang = settings.find(qn("w:themeFontLang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    body = doc.element.body
    for p in body.findall(qn("w:p")):  # the default document body has no paragraphs, but be sure
        body.remove(p)
    sect = body.find(qn("w:sectPr"))
    for attr in list(sect.attrib):
        del sect.attrib[attr]  # rsids

    cp = doc.core_properties
    cp.author = ""
    cp.last_modified_by = ""
    cp.created = cp.modified = FIXED_TIME
    cp.revision = 1
    cp.comments = ""
    return doc


def patch_font_table(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    present = {f.get(w + "name") for f in root.findall(w + "font")}
    for name, alt, panose, family, pitch in FONT_TABLE_ENTRIES:
        if name in present:
            continue
        font = etree.SubElement(root, w + "font", {w + "name": name})
        etree.SubElement(font, w + "altName", {w + "val": alt})
        etree.SubElement(font, w + "panose1", {w + "val": panose})
        etree.SubElement(font, w + "charset", {w + "val": "86"})
        etree.SubElement(font, w + "family", {w + "val": family})
        etree.SubElement(font, w + "pitch", {w + "val": pitch})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def save_reproducible(doc, path: Path) -> None:
    """Save with fixed zip timestamps so the same script gives the same bytes."""
    raw = io.BytesIO()
    doc.save(raw)
    raw.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "word/fontTable.xml":
                data = patch_font_table(data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            zout.writestr(fixed, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


# --------------------------------------------------------------------------- paragraphs, runs, fields

def para(container, text: str = "", style: str | None = None, align=None, *, bold: bool = False,
         size: float | None = None, font: str | None = None, color: str | None = None,
         before: float | None = None, after: float | None = None, underline: bool = False):
    p = container.add_paragraph(style=style)
    if text:
        run(p, text, bold=bold, size=size, font=font, color=color, underline=underline)
    if align is not None:
        p.alignment = align
    if before is not None:
        p.paragraph_format.space_before = Pt(before)
    if after is not None:
        p.paragraph_format.space_after = Pt(after)
    return p


def keep_together(r) -> None:
    """Let the word joiners of a |nobreak value hold. LibreOffice's Chinese line breaking ignores
    U+2060 between ideographs (a 日 still wraps, a □改/造 splits); tagged with a non-Chinese East
    Asian language the run is broken by ICU's rules, which honour it. The fonts stay 宋体."""
    rpr = r._r.get_or_add_rPr()
    lang = child(rpr, "w:lang")
    lang.set(qn("w:eastAsia"), "en-US")



def run(p, text: str, *, bold: bool = False, size: float | None = None, font: str | None = None,
        color: str | None = None, underline: bool = False, kept: bool = False, boxes: bool = False):
    r = p.add_run(text)
    if kept or boxes:
        keep_together(r)
    if boxes:   # choices: every □ from the Chinese face (LibreOffice draws a leading one from the Latin)
        set_fonts(r._r, BODY_FONT, BODY_FONT)
    if bold:
        r.bold = True
    if size:
        r.font.size = Pt(size)
    if font:
        set_fonts(r._r, LATIN_HEAD if font == HEAD_FONT else LATIN_BODY, font)
    if color:
        r.font.color.rgb = RGBColor.from_string(color)
    if underline:
        r.underline = True
    return r


def field(p, instr: str, placeholder: str = "1") -> None:
    """A complex field (PAGE, NUMPAGES): Word and LibreOffice compute it on every page."""
    def fld_run(kind=None, instr_text=None, text=None):
        r = OxmlElement("w:r")
        if kind:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            r.append(fc)
        if instr_text:
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = instr_text
            r.append(it)
        if text:
            t = OxmlElement("w:t")
            t.text = text
            r.append(t)
        p._p.append(r)

    fld_run("begin")
    fld_run(instr_text=f" {instr} \\* MERGEFORMAT ")
    fld_run("separate")
    fld_run(text=placeholder)
    fld_run("end")


def page_x_of_y(p) -> None:
    run(p, "第 ")
    field(p, "PAGE")
    run(p, " 页 共 ")
    field(p, "NUMPAGES")
    run(p, " 页")


def page_break(container) -> None:
    p = container.add_paragraph()
    p.add_run().add_break(WD_BREAK.PAGE)


# --------------------------------------------------------------------------- tables

def table(container, widths: list[int], rows: int = 0, *, borders: bool = True, fixed: bool = True,
          center: bool = False):
    """A table with exact column widths (twips); fixed layout unless its columns come from data."""
    if isinstance(container, (DocxDocument, _Cell)):
        t = container.add_table(rows, len(widths))
    else:  # header / footer: python-docx wants the width
        t = container.add_table(rows, len(widths), Twips(sum(widths)))
    t.style = "Table Grid" if borders else None
    tbl_pr = t._tbl.tblPr
    tbl_w = child(tbl_pr, "w:tblW")
    tbl_w.set(qn("w:w"), str(sum(widths)))
    tbl_w.set(qn("w:type"), "dxa")
    t.autofit = not fixed  # w:tblLayout, inserted in schema order by python-docx
    if center:
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid = t._tbl.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths):
        col.set(qn("w:w"), str(w))
    t._qms_widths = widths
    fit_cells(t)
    return t


def fit_cells(t) -> None:
    """Give every cell the width of the grid columns it spans."""
    widths = t._qms_widths
    for tr in t._tbl.findall(qn("w:tr")):
        col = 0
        for tc in tr.findall(qn("w:tc")):
            span = tc.grid_span
            tc.width = Twips(sum(widths[col:col + span]))
            col += span


def add_row(t, height: int | None = None, *, exact: bool = False, header: bool = False):
    row = t.add_row()
    if height:
        row.height = Twips(height)
        row.height_rule = WD_ROW_HEIGHT_RULE.EXACTLY if exact else WD_ROW_HEIGHT_RULE.AT_LEAST
    if header:  # repeat as header row on every page the table spans
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:tblHeader"))
    fit_cells(t)
    return row


def tag_row(t, tag: str):
    """A row holding only a docxtpl {%tr … %} tag; the whole row disappears when rendered."""
    row = add_row(t)
    cell_text(row.cells[0], tag)
    return row


def cell_text(cell, text: str, style: str = "Table Text", align=None, *, bold: bool = False,
              color: str | None = None, size: float | None = None, underline: bool = False, kept: bool = False,
              boxes: bool = False):
    p = cell.paragraphs[0]
    p.style = style
    if text:
        run(p, text, bold=bold, color=color, size=size, underline=underline, kept=kept, boxes=boxes)
    if align is not None:
        p.alignment = align
    return p


def cell_para(cell, text: str = "", style: str = "Table Text", align=None, **kw):
    p = cell.add_paragraph(style=style)
    if text:
        run(p, text, **kw)
    if align is not None:
        p.alignment = align
    return p


def shade(cell, fill: str = LABEL_FILL) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    # CT_TcPr order: … tcBorders, shd, noWrap, tcMar, textDirection, tcFitText, vAlign, hideMark
    for name in ("w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"):
        anchor = tc_pr.find(qn(name))
        if anchor is not None:
            anchor.addprevious(shd)
            return
    tc_pr.append(shd)


def middle(*cells) -> None:
    for c in cells:
        c.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def merge(row, start: int, end: int):
    """Merge cells [start, end] of one row; keep one paragraph."""
    cell = row.cells[start].merge(row.cells[end])
    for p in cell.paragraphs[1:]:
        p._p.getparent().remove(p._p)
    return cell


def table_borders(t, *, top=None, bottom=None, inside=False, outside=False) -> None:
    """Explicit borders for a borderless table: size in eighths of a point."""
    tbl_pr = t._tbl.tblPr
    b = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        size = None
        if edge == "top":
            size = top
        elif edge == "bottom":
            size = bottom
        elif edge in ("left", "right") and outside:
            size = 4
        elif edge.startswith("inside") and inside:
            size = 4
        if size:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), str(size))
            el.set(qn("w:space"), "0")
            el.set(qn("w:color"), "000000")
        else:
            el.set(qn("w:val"), "nil")
        b.append(el)
    # CT_TblPr is a sequence: borders go before shd / tblLayout / tblCellMar / tblLook
    for name in ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook"):
        anchor = tbl_pr.find(qn(name))
        if anchor is not None:
            anchor.addprevious(b)
            break
    else:
        tbl_pr.append(b)


def spacer(container, pt: float = 6):
    """An empty paragraph between tables (two adjacent tables would merge into one)."""
    p = container.add_paragraph()
    p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.line_spacing = Pt(pt)
    return p


# --------------------------------------------------------------------------- procedure

def build_procedure(path: Path) -> None:
    doc = new_document(body_pt=12, line=360, heading_pts=(14, 12, 12, 12))
    # an untitled clause: its number and text on one line at the margin (3.1 招商部提供…)
    clause = doc.styles.add_style("Clause Text", WD_STYLE_TYPE.PARAGRAPH)
    clause.base_style = doc.styles["Normal"]
    clause.quick_style = True
    clause.font.size = Pt(12)
    set_fonts(clause.element, LATIN_BODY, BODY_FONT)
    cp = doc.core_properties
    cp.title = "{{ title }}"
    cp.subject = "{{ number }} {{ revision }}"
    cp.author = "{{ company }}"
    cp.identifier = "{{ number }}"
    cp.category = "{{ kind_label }}"
    section = doc.sections[0]

    # Page header on every page: who, which document, which revision, page X of Y.
    header = section.header
    header.is_linked_to_previous = False
    hp = header.paragraphs[0]
    hp.style = "Header"
    ht = table(header, [3570, 3100, 2400], 2)
    r0, r1 = ht.rows
    cell_text(r0.cells[0], "{{ company }}", "Header", bold=True)
    cell_text(r0.cells[1], "文件编号：{{ number }}", "Header")
    cell_text(r0.cells[2], "版本：{{ revision }}", "Header")
    cell_text(r1.cells[0], "{{ title }}", "Header")
    c = r1.cells[1]
    cell_text(c, "{%p if draft %}", "Header")
    cell_para(c, "草稿 DRAFT", "Header", bold=True, color="C00000")
    cell_para(c, "{%p else %}", "Header")
    cell_para(c, "{{ controlled_status }}", "Header")
    cell_para(c, "{%p endif %}", "Header")
    page_x_of_y(cell_text(r1.cells[2], "", "Header"))
    middle(*r0.cells, *r1.cells)
    # the header's own first paragraph stays (a header must hold one); make it tiny
    hp.paragraph_format.line_spacing = Pt(2)
    header._element.append(hp._p)  # move it after the table

    # ---- cover
    para(doc, "{{ company }}", "Cover Line", before=30, after=6)
    para(doc, "{{ series }}", "Cover Line", size=26, after=0, before=12)
    spacer(doc, 40)
    para(doc, "{{ title }}", "Title", before=30)
    para(doc, "{%p if basis %}")
    para(doc, "（依据 {{ basis }} 编制）", "Normal", WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "{%p endif %}")
    spacer(doc, 24)

    info = table(doc, [1900, 3800], 0, center=True)
    for label, value in (("文件编号", "{{ number }}"), ("文件类别", "{{ kind_label }}"), ("版　　本", "{{ revision }}"),
                         ("受控状态", "{{ controlled_status }}"), ("发放编号", "{{ copy_no }}"),
                         ("编制部门", "{{ department }}")):
        row = add_row(info, 400)
        cell_text(row.cells[0], label, "Table Label", WD_ALIGN_PARAGRAPH.CENTER)
        cell_text(row.cells[1], value, "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
        shade(row.cells[0])
        middle(*row.cells)
    spacer(doc, 24)

    approvals = table(doc, [1900, 3800, 2400], 0, center=True)
    head = add_row(approvals, 454)
    for cell, text in zip(head.cells, ("职　责", "签　名", "日　期")):
        cell_text(cell, text, "Table Header")
        shade(cell)
    middle(*head.cells)
    tag_row(approvals, "{%tr for a in approvals %}")
    row = add_row(approvals, 454)  # at least: three 会签 names stack in one row, each with its date
    cell_text(row.cells[0], "{{ a.role }}", "Table Label", WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[1], "{{ a.names }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[2], "{{ a.date }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    middle(*row.cells)
    tag_row(approvals, "{%tr endfor %}")
    spacer(doc, 36)

    dates = table(doc, [TEXT_W // 2, TEXT_W - TEXT_W // 2], 1, borders=False)
    table_borders(dates, top=12)
    blank_date = "　　　　年　　月　　日"
    cell_text(dates.rows[0].cells[0], f"{{{{ issued or '{blank_date}' }}}}发布", "Cover Line",
              WD_ALIGN_PARAGRAPH.LEFT, size=14)
    cell_text(dates.rows[0].cells[1], f"{{{{ effective or '{blank_date}' }}}}实施", "Cover Line",
              WD_ALIGN_PARAGRAPH.RIGHT, size=14)
    for c in dates.rows[0].cells:
        c.paragraphs[0].paragraph_format.space_before = Pt(6)
    page_break(doc)

    # ---- body: the flat list of blocks in reading order
    para(doc, "{{ title }}", "Cover Line", size=16, after=12)
    para(doc, "{%p for b in blocks %}")
    heading_text = "{% if b.number %}{{ b.number }} {% endif %}{{ b.text }}"
    para(doc, "{%p if b.type == 'heading' and b.level == 1 %}")
    para(doc, heading_text, "Heading 1")
    para(doc, "{%p elif b.type == 'heading' and b.level == 2 %}")
    para(doc, heading_text, "Heading 2")
    para(doc, "{%p elif b.type == 'heading' and b.level == 3 %}")
    para(doc, heading_text, "Heading 3")
    para(doc, "{%p elif b.type == 'heading' %}")
    para(doc, heading_text, "Heading 4")
    para(doc, "{%p elif b.type == 'clause' %}")
    para(doc, "{{ b.number }} {{ b.text }}", "Clause Text")
    para(doc, "{%p elif b.type == 'paragraph' %}")
    para(doc, "{{ b.text }}", "Body Text")
    para(doc, "{%p elif b.type == 'figure' %}")
    # qms.figures swaps this marker run for the picture; the caption goes below it (图 below, 表 above)
    fig = para(doc, "{{ b.marker }}", "Normal", WD_ALIGN_PARAGRAPH.CENTER, before=6)
    fig.paragraph_format.keep_with_next = True
    fig.paragraph_format.line_spacing = 1.0
    para(doc, "{%p if b.caption %}")
    para(doc, "{{ b.caption }}", "Caption")
    para(doc, "{%p endif %}")
    para(doc, "{%p elif b.type == 'terms' %}")
    _terms(doc)
    para(doc, "{%p elif b.type == 'table' %}")
    para(doc, "{%p if b.caption %}")
    para(doc, "{{ b.caption }}", "Caption")
    para(doc, "{%p endif %}")
    _data_table(doc, "b.columns", "b.rows", TEXT_W)
    spacer(doc, 6)
    para(doc, "{%p endif %}")
    para(doc, "{%p endfor %}")

    # ---- tail sections; their numbers continue the body's (computed by qms.render)
    para(doc, "{%p if terms and not terms_in_blocks %}")
    para(doc, "{% if terms_number %}{{ terms_number }} {% endif %}术语和定义", "Heading 1")
    _terms(doc)
    para(doc, "{%p endif %}")
    para(doc, "{%p if references %}")
    para(doc, "{% if references_number %}{{ references_number }} {% endif %}相关文件", "Heading 1")
    para(doc, "{%p for r in references %}")
    para(doc, "{{ r.number }}{% if r.title %}　{{ r.title }}{% endif %}", "List Line")
    para(doc, "{%p endfor %}")
    para(doc, "{%p endif %}")
    # 记录: the forms as a table, with who keeps their records and for how long (from the forms)
    para(doc, "{%p if records %}")
    para(doc, "{% if records_number %}{{ records_number }} {% endif %}记录", "Heading 1")
    rec = table(doc, [2300, TEXT_W - 2300 - 1900 - 2450, 1900, 2450], 0)
    head = add_row(rec, 400, header=True)
    for cell, text in zip(head.cells, ("记录编号", "记录名称", "保存部门", "保存期限")):
        cell_text(cell, text, "Table Header")
        shade(cell)
    middle(*head.cells)
    tag_row(rec, "{%tr for r in records %}")
    row = add_row(rec, 400)
    cell_text(row.cells[0], "{{ r.id|nobreak }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER, kept=True)
    cell_text(row.cells[1], "{{ r.title }}")
    cell_text(row.cells[2], "{{ r.department }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[3], "{{ r.retention }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    middle(*row.cells)
    tag_row(rec, "{%tr endfor %}")
    spacer(doc, 6)
    para(doc, "{%p endif %}")

    para(doc, "{%p if history %}")
    para(doc, "修订记录", "Caption", before=18)
    # 修订人 (who wrote it: the 编制 signature) and 批准人 beside each revision, as a paper 修订记录;
    # dates 1750 twips: "2026年03月13日" on one line
    hist = table(doc, [900, TEXT_W - 900 - 2 * 1050 - 2 * 1750, 1050, 1050, 1750, 1750], 0)
    head = add_row(hist, 400, header=True)
    for cell, text in zip(head.cells, ("版本", "修订内容", "修订人", "批准人", "发布日期", "实施日期")):
        cell_text(cell, text, "Table Header")
        shade(cell)
    middle(*head.cells)
    tag_row(hist, "{%tr for h in history %}")
    row = add_row(hist, 400)
    cell_text(row.cells[0], "{{ h.revision }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[1], "{{ h.change }}")
    cell_text(row.cells[2], "{{ h.author }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[3], "{{ h.approver }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[4], "{{ h.issued|nobreak }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER, kept=True)
    cell_text(row.cells[5], "{{ h.effective|nobreak }}", "Table Text", WD_ALIGN_PARAGRAPH.CENTER, kept=True)
    middle(*row.cells)
    tag_row(hist, "{%tr endfor %}")
    spacer(doc, 6)
    para(doc, "{%p endif %}")
    save_reproducible(doc, path)


def _terms(doc) -> None:
    para(doc, "{%p for t in terms %}")
    p = para(doc, "", "Body Text")
    run(p, "{{ t.term }}", font=HEAD_FONT)
    run(p, "：{{ t.definition }}")
    para(doc, "{%p endfor %}")


def _data_table(container, columns: str, rows: str, width: int, *, blank_header: bool = False):
    """A table whose columns come from data: header row + one row per data row.

    Three template cells per row ({%tc for %} · value · {%tc endfor %}); autofit layout,
    so qms.render sizes the columns from the rendered content.
    """
    third = width // 3
    t = table(container, [third, third, width - 2 * third], 0, fixed=False)
    head = add_row(t, 400, header=True)
    cell_text(head.cells[0], f"{{%tc for c in {columns} %}}", "Table Header")
    cell_text(head.cells[1], "{{ c }}", "Table Header")
    cell_text(head.cells[2], "{%tc endfor %}", "Table Header")
    shade(head.cells[1])
    middle(head.cells[1])
    tag_row(t, f"{{%tr for row in {rows} %}}")
    row = add_row(t, 400)
    cell_text(row.cells[0], "{%tc for c in row %}")
    cell_text(row.cells[1], "{{ c }}")
    cell_text(row.cells[2], "{%tc endfor %}")
    middle(row.cells[1])
    tag_row(t, "{%tr endfor %}")
    return t


# --------------------------------------------------------------------------- records

def record_page_frame(doc) -> None:
    """Page header (company · form id) and footer (record number · page X of Y) of every form."""
    section = doc.sections[0]
    section.top_margin = section.bottom_margin = Twips(1134)
    header = section.header
    hp = header.paragraphs[0]
    hp.style = "Header"
    ht = table(header, [TEXT_W // 2, TEXT_W - TEXT_W // 2], 1, borders=False)
    table_borders(ht, bottom=6)
    cell_text(ht.rows[0].cells[0], "{{ company }}", "Header")
    # the form is a controlled document: its number and 版本 on every page, as a paper form's corner
    cell_text(ht.rows[0].cells[1], "{{ form_id|nobreak }}{% if form_revision %}　版本：{{ form_revision }}{% endif %}",
              "Header", WD_ALIGN_PARAGRAPH.RIGHT, kept=True)
    hp.paragraph_format.line_spacing = Pt(2)
    header._element.append(hp._p)

    footer = section.footer
    fp = footer.paragraphs[0]
    fp.style = "Footer"
    # the number and the filing time on one line (each joined with its label: when the line is
    # too short, 归档 moves down whole); the page count needs little room
    ft = table(footer, [TEXT_W - 2400, 2400], 1, borders=False)
    cell_text(ft.rows[0].cells[0],
              "{% if number %}{{ ('记录编号：' ~ number)|nobreak }}{% endif %}"
              "{% if filed_at %}　{{ ('归档：' ~ filed_at)|nobreak }}{% endif %}", "Footer", kept=True)
    page_x_of_y(cell_text(ft.rows[0].cells[1], "", "Footer", WD_ALIGN_PARAGRAPH.RIGHT))
    fp.paragraph_format.line_spacing = Pt(2)
    footer._element.append(fp._p)


def record_title_block(doc, date_in_table: str = "") -> None:
    """`date_in_table`: the label of the form's date field when the layout prints it in its own
    table; the title block then leaves it out (it shows only a --on date that differs)."""
    para(doc, "{{ company }}", "Cover Line", size=14, after=2)
    para(doc, "{{ form_title }}", "Form Title", after=2)
    # the procedure the form belongs to, small under its title (as a procedure's cover prints its basis)
    para(doc, "{%p if procedure %}")
    para(doc, "依据：{{ procedure|nobreak }}", "Note", WD_ALIGN_PARAGRAPH.CENTER, before=0).runs[0].font.size = Pt(9)
    para(doc, "{%p endif %}")
    spacer(doc, 6)
    # two halves: "记录编号：QR-WY-001-202611-00001" and "需求登记日期：　　年　　月　　日" each fit on
    # one line; number and date are joined (|nobreak, keep_together) so neither is ever broken
    meta = table(doc, [TEXT_W // 2, TEXT_W - TEXT_W // 2], 1, borders=False)
    cells = meta.rows[0].cells
    blank = "　" * 8
    p = cell_text(cells[0], "记录编号：")
    run(p, f"{{{{ number|nobreak if number else '{blank}' }}}}", underline=True, kept=True)
    shown = f"{{% if date_label != '{date_in_table}' %}}" if date_in_table else ""
    p = cell_text(cells[1], shown + "{{ date_label or '日期' }}：", align=WD_ALIGN_PARAGRAPH.RIGHT)
    run(p, "{{ (record_date or '　　年　　月　　日')|nobreak }}", underline=True, kept=True)
    if date_in_table:
        run(p, "{% endif %}")
    spacer(doc, 4)


def signature_block(doc) -> None:
    para(doc, "{%p if signatures %}")
    spacer(doc, 6)
    t = table(doc, [1900, 2700, 2770, TEXT_W - 1900 - 2700 - 2770], 0)
    tag_row(t, "{%tr for s in signatures %}")
    row = add_row(t, 737)
    cell_text(row.cells[0], "{{ s.label }}", "Table Label")
    shade(row.cells[0])
    p = cell_text(row.cells[1], "姓名：")
    run(p, "{{ s.printed_name }}")
    # an electronic signature fills 签字 and 日期 (测试员（电子签名）, 2026年12月03日); a paper one leaves them
    p = cell_text(row.cells[2], "签字：", "Table Text", color="808080", size=9)
    run(p, "{{ s.signed }}")
    p = cell_text(row.cells[3], "日期：", "Table Text", color="808080", size=9)
    run(p, "{{ s.date }}")
    middle(row.cells[0], row.cells[1])
    tag_row(t, "{%tr endfor %}")
    spacer(doc, 4)  # Word wants a paragraph after a table that ends the document
    para(doc, "{%p endif %}")


def note_line(doc) -> None:
    para(doc, "{%p if note %}")
    para(doc, "注：{{ note }}", "Note", before=6)
    para(doc, "{%p endif %}")


def record_document(title_expr: str, date_in_table: str = ""):
    doc = new_document(body_pt=10.5, line=240, heading_pts=(12, 10.5, 10.5, 10.5))
    cp = doc.core_properties
    cp.title = title_expr
    cp.subject = "{{ form_id }}"
    cp.author = "{{ company }}"
    cp.identifier = "{{ number }}"
    record_page_frame(doc)
    record_title_block(doc, date_in_table)
    return doc


def build_record(path: Path) -> None:
    """Generic form: one label/value row per field; table fields as a nested table."""
    doc = record_document("{{ form_title }} {{ number }}")
    label_w = 2300
    para(doc, "{%p if fields %}")  # a table without rows is a corrupt file for Word
    t = table(doc, [label_w, TEXT_W - label_w], 0)
    tag_row(t, "{%tr for f in fields %}")
    tag_row(t, "{%tr if f.is_table %}")
    row = add_row(t, 454)
    cell = merge(row, 0, 1)
    cell_text(cell, "{{ f.label }}", "Table Label")
    shade(cell)
    middle(cell)
    row = add_row(t)
    cell = merge(row, 0, 1)
    inner = _data_table(cell, "f.columns", "f.rows", TEXT_W - 216)
    # a nested table leaves the cell's own first paragraph above it: move it below,
    # where Word requires a paragraph after a table anyway
    first = cell.paragraphs[0]._p
    cell._tc.remove(first)
    inner._tbl.addnext(first)
    for p in list(cell.paragraphs)[1:]:
        cell._tc.remove(p._p)
    tag_row(t, "{%tr else %}")
    row = add_row(t, 510)
    cell_text(row.cells[0], "{{ f.label }}", "Table Label")
    shade(row.cells[0])
    # a choice's □ boxes stay joined to their labels (keep_together); other values break as Chinese text
    p = cell_text(row.cells[1], "{% if f.type == 'choice' %}")
    run(p, "{{ f.value }}", boxes=True)
    run(p, "{% else %}")
    run(p, "{{ f.value }}")
    run(p, "{% endif %}")
    # a blank form leaves room to write: one more line per writing line of the field (`lines`)
    cell_para(row.cells[1], "{%p for _ in f.extra_lines %}")
    cell_para(row.cells[1], "").paragraph_format.line_spacing = Pt(22)   # a handwritten line's height
    cell_para(row.cells[1], "{%p endfor %}")
    middle(*row.cells)
    tag_row(t, "{%tr endif %}")
    tag_row(t, "{%tr endfor %}")
    spacer(doc, 4)
    para(doc, "{%p endif %}")
    signature_block(doc)
    note_line(doc)
    save_reproducible(doc, path)


def _label(row, i: int, text: str):
    cell = row.cells[i]
    cell_text(cell, text, "Table Label", WD_ALIGN_PARAGRAPH.CENTER)
    shade(cell)
    middle(cell)
    return cell


def _value(row, i: int, text: str, j: int | None = None, *, top: bool = False, boxes: bool = False):
    """`boxes`: a choice field, whose blank form prints □ boxes joined to their labels."""
    cell = merge(row, i, j) if j is not None else row.cells[i]
    cell_text(cell, text, boxes=boxes)
    if not top:
        middle(cell)
    return cell


# Four columns: label · value · label · value
FORM_COLS = [1700, 2835, 1700, TEXT_W - 1700 - 2835 - 1700]


CHOICES = ("service_type", "evaluation")   # the choice fields of the specific forms (□ boxes when blank)


def _pair_row(t, l1: str, f1: str, l2: str, f2: str, h: int = 510) -> None:
    """A row of a specific form: label, field, label, field."""
    row = add_row(t, h)
    _label(row, 0, l1)
    _value(row, 1, "{{ data.%s }}" % f1, boxes=f1 in CHOICES)
    _label(row, 2, l2)
    _value(row, 3, "{{ data.%s }}" % f2, boxes=f2 in CHOICES)


def _wide_row(t, label: str, f: str, h: int = 510) -> None:
    """A row of a specific form: label, then one field across the other three columns."""
    row = add_row(t, h)
    _label(row, 0, label)
    _value(row, 1, "{{ data.%s }}" % f, 3, top=h > 600)


def build_service_notice(path: Path) -> None:
    """售后服务通知单 (QR-SV-022-01). Like the field report, it lays out its own signer
    (签发人 from data.issued_by) and does not print the generic `signatures` list."""
    doc = record_document("{{ form_title }} {{ number }}", date_in_table="通知日期")
    t = table(doc, FORM_COLS, 0)
    _pair_row(t, "通知日期", "notice_date", "计划服务日期", "planned_date")
    _wide_row(t, "用户单位", "customer")
    _pair_row(t, "联 系 人", "contact", "联系电话", "phone")
    _wide_row(t, "地　　址", "address")
    _pair_row(t, "产品名称", "product", "型　　号", "model")
    _pair_row(t, "产品编号", "serial_no", "服务类型", "service_type")
    _wide_row(t, "问题描述", "problem", 1800)
    _wide_row(t, "派出工程师", "engineers")
    _pair_row(t, "签 发 人", "issued_by", "签发日期", "notice_date")
    spacer(doc, 4)
    note_line(doc)
    save_reproducible(doc, path)


def build_field_report(path: Path) -> None:
    """现场服务报告 (QR-SV-022-02): engineer and customer sign in the layout's own boxes
    (data.engineer, data.customer_signature); the generic `signatures` list is not printed."""
    doc = record_document("{{ form_title }} {{ number }}", date_in_table="服务日期")
    t = table(doc, FORM_COLS, 0)
    _pair_row(t, "服务日期", "service_date", "通知单编号", "notice_no")
    _wide_row(t, "用户单位", "customer")
    _pair_row(t, "联 系 人", "contact", "地　　址", "address")
    _pair_row(t, "产品名称", "product", "型　　号", "model")
    _pair_row(t, "产品编号", "serial_no", "服务类型", "service_type")
    _wide_row(t, "故障现象", "fault", 1400)
    _wide_row(t, "服务内容", "work_done", 1800)

    # parts used: fixed columns, one row per part (blank forms get empty rows from qms.render)
    spacer(doc, 6)
    para(doc, "更换零部件", "Caption", before=0)
    parts = table(doc, [900, 3400, 3070, TEXT_W - 900 - 3400 - 3070], 0)
    head = add_row(parts, 400, header=True)
    for cell, text in zip(head.cells, ("序号", "名称", "规格型号", "数量")):
        cell_text(cell, text, "Table Header")
        shade(cell)
    middle(*head.cells)
    tag_row(parts, "{%tr for p in data.parts %}")
    row = add_row(parts, 400)
    cell_text(row.cells[0], "{% if p.part or p.spec or p.qty %}{{ loop.index }}{% endif %}", align=WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(row.cells[1], "{{ p.part }}")
    cell_text(row.cells[2], "{{ p.spec }}")
    cell_text(row.cells[3], "{{ p.qty }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    middle(*row.cells)
    tag_row(parts, "{%tr endfor %}")
    spacer(doc, 6)

    t2 = table(doc, FORM_COLS, 0)
    row = add_row(t2, 510)
    _label(row, 0, "服务评价")
    _value(row, 1, "{{ data.evaluation }}", 3, boxes=True)
    row = add_row(t2, 1400)
    _label(row, 0, "用户意见")
    _value(row, 1, "{{ data.customer_opinion }}", 3, top=True)
    _pair_row(t2, "服务工程师", "engineer", "用户签字\n（盖章）", "customer_signature", 1000)
    spacer(doc, 4)
    note_line(doc)
    save_reproducible(doc, path)


BUILDERS = {
    "procedure.docx": build_procedure,
    "record.docx": build_record,
    "service-notice.docx": build_service_notice,
    "field-report.docx": build_field_report,
}


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "templates"
    for name, build in BUILDERS.items():
        build(out_dir / name)
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
