"""The monthly report as a .docx (python-docx), converted to PDF/A by LibreOffice: Chinese in
宋体/黑体 (fonts.conf maps them to Noto CJK SC), each KPI's chart a PNG (matplotlib)."""

from __future__ import annotations

import io
from pathlib import Path

from ..base.dates import now_iso
from .compute import fmt
from .report_rows import _state, _target, summary_rows
from ._matplotlib import chart

RED, GREEN = "CF222E", "1A7F37"


def _font(run, east="宋体", size=None, bold=None, color=None):
    from docx.oxml.ns import qn    # lazy: python-docx loads in ~50 ms; only reading or writing a .docx needs it
    from docx.shared import Pt, RGBColor
    run.font.name = "Times New Roman"
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east)
    if size:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold
    if color:
        run.font.color.rgb = RGBColor.from_string(color)


def _para(doc, text, *, east="宋体", size=10.5, bold=False, color=None, align=None):
    p = doc.add_paragraph()
    _font(p.add_run(text), east, size, bold, color)
    if align is not None:
        p.alignment = align
    return p


def _table(doc, header, rows, colors=None):
    t = doc.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    for i, h in enumerate(header):
        cell = t.rows[0].cells[i]
        cell.text = ""
        _font(cell.paragraphs[0].add_run(h), "黑体", 9.5, True)
    for r, row in enumerate(rows):
        cells = t.add_row().cells
        for i, v in enumerate(row):
            cells[i].text = ""
            color = (colors[r] if colors else {}).get(i)
            _font(cells[i].paragraphs[0].add_run(str(v)), "宋体", 9.5, None, color)
    return t


def _state_colors(rows, col):
    return [{col: RED if r[col] == "未达标" else GREEN if r[col] == "达标" else None} for r in rows]


def write_docx(ws, data: dict, title: str, out: Path) -> Path:
    from docx import Document    # lazy: python-docx loads in ~50 ms; only reading or writing a .docx needs it
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm    # lazy: python-docx loads in ~50 ms; only reading or writing a .docx needs it
    doc = Document()
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)
    sec.left_margin = sec.right_margin = Cm(2.2)
    _para(doc, title, east="黑体", size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"报告期间：{data['month']}　　生成时间：{now_iso()[:16].replace('T', ' ')}（由记录重新计算）",
          size=9.5, align=WD_ALIGN_PARAGRAPH.CENTER)

    _para(doc, "1 指标汇总", east="黑体", size=14, bold=True)
    rows = summary_rows(data)
    _table(doc, ["指标", "目标", "本期数值", "状态", "记录数", "缺少数据"], rows, _state_colors(rows, 3))

    _para(doc, "2 各指标趋势", east="黑体", size=14, bold=True)
    for i, item in enumerate(data["kpis"], 1):
        s = item["series"]
        k = s.kpi
        _para(doc, f"2.{i} {k.title}（{k.form.title}，目标 {_target(k)}）", east="黑体", size=12, bold=True)
        if s.cells:
            png = chart(s, "png", width_in=6.2, height_in=2.5)
            doc.add_picture(io.BytesIO(png), width=Cm(16))
        trs = [[c.period + (f" {c.group}" if c.group else ""), fmt(k, c.value), str(c.n), str(len(c.missing)),
                _state(c.met)] for c in s.cells]
        if trs:
            _table(doc, ["期间", "数值", "记录数", "缺少数据", "状态"], trs, _state_colors(trs, 4))
        else:
            _para(doc, "本期间没有记录。")

    _para(doc, "3 未达目标的记录", east="黑体", size=14, bold=True)
    any_miss = False
    for item in data["kpis"]:
        if item["misses"]:
            any_miss = True
            k = item["series"].kpi
            _para(doc, f"{k.title}（{item['period']}，目标 {_target(k)}）", east="黑体", size=11, bold=True)
            _table(doc, ["记录编号", "日期", "用户单位", "本条数值"],
                   [[m["number"], m["record_date"], m["customer"], m["value"]] for m in item["misses"]])
    if not any_miss:
        _para(doc, "本月各指标均达标，或无未达标的记录。")

    _para(doc, "4 纠正预防措施（CAPA）", east="黑体", size=14, bold=True)
    if data["proposals"]:
        _para(doc, "指标未达目标提出的纠正预防措施建议（待质量负责人处理）：", size=10.5)
        _table(doc, ["建议", "指标", "期间", "数值", "目标"],
               [[p["key"], p["title"] + (f"（{p['group']}）" if p["group"] else ""), p["period"], p["shown"],
                 p["target_shown"]] for p in data["proposals"]])
    else:
        _para(doc, "没有待处理的纠正预防措施建议。")
    if data["capas"] is None:
        _para(doc, "在办的 CAPA：本系统尚未提供 CAPA 登记。", size=10.5)
    elif data["capas"]:
        _table(doc, ["编号", "标题", "期限", "状态"], [[c.get("number", ""), c.get("title", ""), c.get("due", ""),
                                                 c.get("state", "")] for c in data["capas"]])
    else:
        _para(doc, "没有在办的 CAPA。")

    _para(doc, "5 到期的文件评审", east="黑体", size=14, bold=True)
    if data["reviews"] is None:
        _para(doc, "本系统尚未提供文件定期评审。")
    elif data["reviews"]:
        _table(doc, ["文件编号", "名称", "评审期限", "状态"], [[r.get("number", ""), r.get("title", ""), r.get("due", ""),
                                                     r.get("state", "")] for r in data["reviews"]])
    else:
        _para(doc, "本月没有到期的文件评审。")
    doc.save(out)
    return out
