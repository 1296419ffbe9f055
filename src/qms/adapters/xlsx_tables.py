"""Table fields of an XLSX import kept as rows in their own sheet, as people keep them.

The first sheet holds one record per row. A further sheet named after a table field
(its name `parts` or its label `更换零部件`) holds that field's rows: a first column
`行号` (or `row`) with the Excel row number of the record on the first sheet — the
number Excel shows at the left of that row — then the field's columns by name or label.
A record without rows in the sheet simply has none; a JSON cell on the first sheet
still works, but not both for one record.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..base.errors import QmsError

if TYPE_CHECKING:
    from ..domain.forms import FormSchema    # annotations only: the adapter does not depend on the domain

KEY_HEADERS = ("行号", "row", "记录行号")


def table_sheets(path: Path, form: FormSchema) -> dict[int, dict[str, list[dict]]]:
    """{record's row number on the first sheet: {field name: [row mapping]}} from the other sheets."""
    tables = {f.name: f for f in form.fields if f.type == "table"}
    by_label = {f.label: f for f in tables.values()}
    if not tables:
        return {}
    from openpyxl import load_workbook    # lazy: openpyxl loads in ~150 ms; only XLSX files need it
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:   # openpyxl raises many types for a damaged file
        raise QmsError(f"cannot read the workbook: {exc}", file=path) from None
    out: dict[int, dict[str, list[dict]]] = {}
    try:
        for sheet in wb.worksheets[1:]:
            f = tables.get(sheet.title.strip()) or by_label.get(sheet.title.strip())
            if f is None:
                continue
            rows = [["" if v is None else v for v in r] for r in sheet.iter_rows(values_only=True)]
            if not rows:
                continue
            header = [str(h).strip() for h in rows[0]]
            if not header or header[0] not in KEY_HEADERS:
                raise QmsError(f"sheet {sheet.title!r}: the first column must be 行号 (the record's row "
                               "number on the first sheet)", file=path, row=1, field=f.name)
            for i, r in enumerate(rows[1:], start=2):
                if not any(str(c).strip() for c in r):
                    continue
                try:
                    key = int(float(str(r[0]).strip()))
                except ValueError:
                    raise QmsError(f"sheet {sheet.title!r}: 行号 {r[0]!r} is not a row number", file=path,
                                   row=i, field=f.name) from None
                cells = {h: (r[j] if j < len(r) else "") for j, h in enumerate(header[1:], start=1) if h}
                out.setdefault(key, {}).setdefault(f.name, []).append(
                    {k: v for k, v in cells.items() if str(v).strip()})
    finally:
        wb.close()
    return out


def merge_tables(path: Path, rows: list[tuple[int, dict]], tables: dict[int, dict[str, list[dict]]],
                 form: FormSchema) -> None:
    """Put each sheet's rows into its record (in place); rows naming no record are errors."""
    by_line = {line: raw for line, raw in rows}
    for key, fields in tables.items():
        raw = by_line.get(key)
        if raw is None:
            name = next(iter(fields))
            raise QmsError(f"sheet {form.field(name).label}: 行号 {key} is not a data row of the first sheet",
                           file=path, field=name)
        for name, items in fields.items():
            f = form.field(name)
            if str(raw.get(name) or raw.get(f.label) or "").strip():
                raise QmsError(f"row {key}: {f.label} is given both in the cell and in the sheet {f.label}",
                               file=path, row=key, field=name)
            raw.pop(f.label, None)
            raw[name] = items
