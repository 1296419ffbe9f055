"""The redline as a 修订对照表 PDF (fpdf2 with the CJK font, as the other registers): one entry
per changed clause, inserted words green and underlined, deleted words red and struck through;
a table's changed rows cell by cell. It can be attached to the change request."""

from __future__ import annotations

from pathlib import Path

from ..store import outputs
from ..base.dates import local_time, now_iso
from ..adapters.pdf import _numbered_pdf
from ..store.workspace import Workspace
from .redline import Redline, Segments, clause_label, clause_status, STATUS_ZH
import tempfile

GREEN, RED, BLACK = (10, 107, 45), (176, 0, 32), (0, 0, 0)


def _write(pdf, family: str, segs: Segments, size: float, h: float) -> None:
    for op, text in segs:
        style = {"=": "", "+": "U", "-": "S"}[op]
        pdf.set_text_color(*{"=": BLACK, "+": GREEN, "-": RED}[op])
        pdf.set_font(family, style=style, size=size)
        pdf.write(h, text)
    pdf.set_text_color(*BLACK)
    pdf.set_font(family, size=size)


def write_pdf(ws: Workspace, red: Redline, out: Path | str) -> Path:
    out = outputs.check(ws, out, (".pdf",))
    pdf, family = _numbered_pdf(footer_prefix=f"{red.number} 修订对照表    ")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(f"{red.number} 修订对照表 {red.old_revision} → {red.new_revision}")
    pdf.set_creator("qms")
    pdf.set_lang("zh-CN")
    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 9, "修订对照表", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for line in (f"文件编号：{red.number}　　文件名称：{red.title}",
                 f"修订前版本：{red.old_revision}　　修订后版本：{red.new_revision}　　生成时间：{local_time(now_iso(), ws)}",
                 f"修订说明：{red.change or '（无）'}",
                 "图例：新增文字为绿色加下划线，删除文字为红色加删除线。"):
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    changes = red.changes
    if not changes:
        pdf.multi_cell(0, 6, "两个版本内容相同。", new_x="LMARGIN", new_y="NEXT")
    for c in changes:
        pdf.ln(2)
        pdf.set_fill_color(235, 235, 235)
        pdf.set_font(family, size=10.5)
        pdf.multi_cell(0, 7, f"【{clause_status(c)}】 {clause_label(c)} {''.join(t for _, t in c.title)}".rstrip(),
                       fill=True, new_x="LMARGIN", new_y="NEXT")
        if c.title and any(op != "=" for op, _ in c.title):
            _write(pdf, family, [("=", "标题：")] + c.title, 10, 6)
            pdf.ln(7)
        for p in c.paragraphs:
            if p.status != "same":
                _write(pdf, family, p.segments, 10, 6)
                pdf.ln(7)
        for t in c.tables:
            rows = ([t.columns] if t.columns.status != "same" else []) + [r for r in t.rows if r.status != "same"]
            caption = "".join(x for _, x in t.caption) or "表"
            for r in rows:
                _write(pdf, family, [("=", f"{caption}（{STATUS_ZH[r.status]}行）：")], 10, 6)
                for k, cell in enumerate(r.cells):
                    if k:
                        _write(pdf, family, [("=", " | ")], 10, 6)
                    _write(pdf, family, cell, 10, 6)
                pdf.ln(7)
        for f in c.figures:
            if f.status != "same":
                _write(pdf, family, [("=", "图：")] + f.segments, 10, 6)
                pdf.ln(7)
    with tempfile.TemporaryDirectory(prefix="qms-redline-") as tmp:
        built = Path(tmp) / "redline.pdf"
        built.write_bytes(bytes(pdf.output()))
        return outputs.install(ws, built, out)
