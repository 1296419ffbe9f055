"""The master list of controlled documents (受控文件清单) as a terminal table, CSV or XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..base.errors import QmsError
from ..base.textfmt import table
import datetime as dt
from ..domain.labels import status_label
from ..store import outputs
from ..base.dates import cn_date, today

COLUMNS = [("number", "文件编号"), ("title", "文件名称"), ("revision", "版本"), ("status", "状态"),
           ("issued", "发布日期"), ("effective", "实施日期"), ("department", "归口部门"),
           ("copies_outstanding", "在外受控副本")]


def _rows(items: list[dict], locale: str = "zh-CN", real_dates: bool = False) -> list[list]:
    out = []
    for item in items:
        row = []
        for key, _ in COLUMNS:
            value = item.get(key)
            if key == "status":
                value = status_label(value, locale)
            elif real_dates and key in ("issued", "effective") and value:
                value = dt.date.fromisoformat(value)     # a date cell Excel can sort and filter
            row.append("" if value is None else value)
        out.append(row)
    return out


def master_list(items: list[dict], fmt: str = "table", output: str | Path | None = None, *,
                ws=None, org: str = "", locale: str = "zh-CN", as_of=None) -> str | None:
    """Returns the text when it goes to the terminal; writes the file when `output` is given
    (through qms.store.outputs: never into the archive, atomically). Statuses read in the workspace's
    language (生效/已替代/作废 for zh-CN)."""
    stream = output if hasattr(output, "write") else None     # the web hands a buffer, not a path
    if output and stream is None:
        outputs.check(ws, output)

    def write(data: bytes) -> None:
        if stream is not None:
            stream.write(data)
        else:
            outputs.write(ws, output, data)
    headers = [label for _, label in COLUMNS]
    if fmt == "xlsx":
        if not output:
            raise QmsError("an XLSX master list needs -o FILE.xlsx", field="output")
        from openpyxl import Workbook    # lazy: openpyxl loads in ~150 ms; only XLSX files need it
        from openpyxl.styles import Alignment, Font
        wb = Workbook()
        sheet = wb.active
        sheet.title = "受控文件清单"
        ncols = len(headers)
        # title rows as on the paper list: company, 受控文件清单, the date it is valid for
        for text, size in ((org, 14), ("受控文件清单", 16),
                           (f"截至日期：{cn_date(as_of or today(), locale)}　共 {len(items)} 份文件", 10)):
            sheet.append([text])
            outputs.xlsx_text_cells(sheet[sheet.max_row])     # the organisation's name too
            r = sheet.max_row
            sheet.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
            sheet.cell(r, 1).font = Font(bold=size > 10, size=size)
            sheet.cell(r, 1).alignment = Alignment(horizontal="center" if size > 10 else "right")
        sheet.append(headers)
        head = sheet.max_row
        for cell in sheet[head]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for row in _rows(items, locale, real_dates=True):
            sheet.append(row)
            outputs.xlsx_text_cells(sheet[sheet.max_row])     # a title `=HYPERLINK(…)` stays text
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        for col, width in zip("ABCDEFGH", (16, 30, 8, 14, 12, 12, 14, 12)):
            sheet.column_dimensions[col].width = width
        sheet.freeze_panes = f"A{head + 1}"
        sheet.print_title_rows = f"{head}:{head}"
        buf = io.BytesIO()
        wb.save(buf)
        write(buf.getvalue())
        return None
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(headers)
        writer.writerows([[outputs.csv_cell(v) for v in row] for row in _rows(items, locale)])
        text = buf.getvalue()
        if output:
            # utf-8-sig so Excel on a Chinese Windows opens it without mojibake
            write(text.encode("utf-8-sig"))
            return None
        return text.rstrip("\n")
    text = table(headers, _rows(items, locale)) if items else "（无文件）"
    if output:
        write((text + "\n").encode("utf-8"))
        return None
    return text
