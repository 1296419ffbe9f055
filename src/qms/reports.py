"""The master list of controlled documents (受控文件清单) as a terminal table, CSV or XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import QmsError
from .textfmt import table

COLUMNS = [("number", "文件编号"), ("title", "文件名称"), ("revision", "版本"), ("status", "状态"),
           ("issued", "发布日期"), ("effective", "实施日期"), ("department", "归口部门"),
           ("copies_outstanding", "在外受控副本")]


def _rows(items: list[dict]) -> list[list]:
    return [[item.get(key) if item.get(key) is not None else "" for key, _ in COLUMNS] for item in items]


def master_list(items: list[dict], fmt: str = "table", output: str | Path | None = None,
                ws=None) -> str | None:
    """Returns the text when it goes to the terminal; writes the file when `output` is given
    (through qms.outputs: never into the archive, atomically)."""
    from . import outputs
    if output:
        outputs.check(ws, output)
    headers = [label for _, label in COLUMNS]
    if fmt == "xlsx":
        if not output:
            raise QmsError("an XLSX master list needs -o FILE.xlsx", field="output")
        from openpyxl import Workbook
        from openpyxl.styles import Font
        wb = Workbook()
        sheet = wb.active
        sheet.title = "受控文件清单"
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in _rows(items):
            sheet.append(row)
        for col, width in zip("ABCDEFGH", (14, 30, 8, 12, 12, 12, 14, 12)):
            sheet.column_dimensions[col].width = width
        sheet.freeze_panes = "A2"
        buf = io.BytesIO()
        wb.save(buf)
        outputs.write(ws, output, buf.getvalue())
        return None
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(headers)
        writer.writerows(_rows(items))
        text = buf.getvalue()
        if output:
            # utf-8-sig so Excel on a Chinese Windows opens it without mojibake
            outputs.write(ws, output, text.encode("utf-8-sig"))
            return None
        return text.rstrip("\n")
    text = table(headers, _rows(items)) if items else "(no documents)"
    if output:
        outputs.write(ws, output, (text + "\n").encode("utf-8"))
        return None
    return text
