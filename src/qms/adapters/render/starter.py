"""`qms template new --form ID -o FILE`: a starter .docx for a form, from its schema — a title, the
number and date, a label | placeholder row per field, a loop per table field — with the fonts
and language `qms template check` asks for. A person then lays it out in Word."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

BODY_FONT = "宋体"
LATIN_FONT = "Times New Roman"


def write_starter(form, out: Path) -> None:
    """`form`: a FormSchema (id, title, fields with name, label, type, columns)."""
    doc = Document()
    _defaults(doc)
    doc.add_paragraph("{{ company }}")
    title = doc.add_paragraph()
    title.add_run("{{ form_title }}").bold = True
    doc.add_paragraph("编号：{{ number|nobreak }}　　{{ date_label }}：{{ record_date }}")
    rows = [f for f in form.fields if f.type != "table"]
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = doc.styles["Table Grid"]
    for row, f in zip(table.rows, rows):
        row.cells[0].text = f.label
        row.cells[1].text = "{{ data.%s }}" % f.name
    for f in form.fields:
        if f.type == "table":
            doc.add_paragraph(f.label)
            doc.add_paragraph("{%p for row in data." + f.name + " %}")
            doc.add_paragraph("　".join("{{ row.%s }}" % c.name for c in f.columns))
            doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{{ note }}")
    doc.core_properties.title = "{{ form_title }}"
    doc.save(out)


def _defaults(doc) -> None:
    """Explicit fonts (no theme fonts) and zh-CN in the document defaults and the Normal style."""
    styles = doc.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for el in list(rpr):
        if el.tag in (qn("w:rFonts"), qn("w:lang")):
            rpr.remove(el)
    fonts = rpr.makeelement(qn("w:rFonts"), {qn("w:ascii"): LATIN_FONT, qn("w:hAnsi"): LATIN_FONT,
                                             qn("w:eastAsia"): BODY_FONT, qn("w:cs"): LATIN_FONT})
    lang = rpr.makeelement(qn("w:lang"), {qn("w:val"): "en-US", qn("w:eastAsia"): "zh-CN", qn("w:bidi"): "ar-SA"})
    rpr.insert(0, fonts)
    rpr.append(lang)
    for el in styles.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:eastAsiaTheme", "w:hAnsiTheme", "w:cstheme"):
            el.attrib.pop(qn(attr), None)
        if el is not fonts:
            el.set(qn("w:eastAsia"), BODY_FONT)
    doc.styles["Normal"].font.size = Pt(10.5)
