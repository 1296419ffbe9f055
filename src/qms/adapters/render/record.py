"""Records: many renders of one form's template, and the blank printable form."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ._docxtpl import prepared, write

BLANK_TABLE_ROWS = 4  # empty rows a blank printed form offers for each table field


class RecordRenderer:
    """Render many records with one template: prepared once, then ~2 ms per record.

    Cheap to make: the prepared template comes from the one cache in _docxtpl (keyed by the
    file's path, mtime and size), so callers need no cache of renderers of their own.

    ctx keys: company, form_id, form_title, procedure, number, record_date, filed_at,
    note, form_revision, fields [{name, label, type, value, is_table, columns, rows, extra_lines}],
    signatures [{label, name, printed_name, signed, date}] (`name` carries an electronic signature's
    manifestation, 测试员（电子签名 2026年12月03日 16:25）; a template with its own 签字/日期 cells prints
    `printed_name` (测试员), `signed` (测试员（电子签名）) and `date` (2026年12月03日) instead),
    data {name: str | [ {col: str} ]},
    blank (bool). note may hold several lines (an amended version's signature history).
    """

    def __init__(self, template: Path):
        self.template = Path(template)
        self._prepared = prepared(self.template)

    def render(self, ctx: dict, out: Path) -> None:
        write(out, self.render_bytes(ctx))

    def render_bytes(self, ctx: dict) -> bytes:
        return self._prepared.render_bytes(_record_view(ctx))


def _record_view(ctx: Mapping[str, Any]) -> Mapping[str, Any]:
    """A blank printable form gets empty rows to write in for each table field."""
    if not ctx.get("blank"):
        return ctx
    view = dict(ctx)
    fields = []
    data = dict(view.get("data") or {})
    for f in view.get("fields") or []:
        if f.get("is_table"):
            if not f.get("rows"):
                width = max(len(f.get("columns") or []), 1)
                f = dict(f, rows=[[""] * width for _ in range(BLANK_TABLE_ROWS)])
            if not data.get(f.get("name")):
                data[f.get("name")] = [{} for _ in range(BLANK_TABLE_ROWS)]
        fields.append(f)
    view["fields"] = fields
    view["data"] = data
    return view
