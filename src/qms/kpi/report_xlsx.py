"""The monthly report as a workbook: 汇总, one sheet per KPI (its values and chart), 未达标记录."""

from __future__ import annotations

import io
import re
from pathlib import Path

from .compute import fmt
from .report_rows import _state, _target, summary_rows
from ..store.outputs import xlsx_text_cells
from ._matplotlib import chart


def _sheet_name(text: str, used: set) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "", text)[:28] or "指标"
    base, i = name, 2
    while name in used:
        name, i = f"{base}{i}", i + 1
    used.add(name)
    return name


def write_xlsx(data: dict, title: str, out: Path) -> Path:
    from openpyxl import Workbook    # lazy: openpyxl loads in ~200 ms; only writing an .xlsx needs it
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Font, PatternFill    # lazy: openpyxl loads in ~200 ms; only writing an .xlsx needs it
    red, green = PatternFill("solid", fgColor="FFEBE9"), PatternFill("solid", fgColor="DAFBE1")
    wb = Workbook()
    ws0 = wb.active
    ws0.title = "汇总"
    ws0.append([title])
    ws0["A1"].font = Font(bold=True, size=14)
    ws0.append(["指标", "目标", "本期数值", "状态", "记录数", "缺少数据"])
    for row in summary_rows(data):
        ws0.append(row)
        ws0.cell(ws0.max_row, 4).fill = red if row[3] == "未达标" else green if row[3] == "达标" else PatternFill()
    ws0.column_dimensions["A"].width = 28
    used = {"汇总", "未达标记录"}
    for item in data["kpis"]:
        s = item["series"]
        k = s.kpi
        sh = wb.create_sheet(_sheet_name(k.title, used))
        sh.append([k.title, f"目标 {_target(k)}", k.form.title])
        sh.append(["期间", "分组", "数值", "记录数", "缺少数据", "状态"])
        for c in s.cells:
            sh.append([c.period, c.group, fmt(k, c.value), c.n, len(c.missing), _state(c.met)])
            sh.cell(sh.max_row, 6).fill = red if c.met is False else green if c.met else PatternFill()
        if s.cells:
            img = Image(io.BytesIO(chart(s, "png", width_in=6.0, height_in=2.5)))
            img.width, img.height = 600, 250
            sh.add_image(img, "H2")
    miss = wb.create_sheet("未达标记录")
    miss.append(["指标", "期间", "记录编号", "日期", "用户单位", "本条数值"])
    for item in data["kpis"]:
        for m in item["misses"]:
            miss.append([item["series"].kpi.title, item["period"], m["number"], m["record_date"], m["customer"],
                         m["value"]])
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            xlsx_text_cells(row)
    wb.save(out)
    return out
