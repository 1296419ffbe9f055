"""Sizing the columns of rendered tables from their content (WordprocessingML)."""

from __future__ import annotations

import re

from lxml import etree

from ...base.textfmt import width as display_width   # one rule for terminal tables and docx columns

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

# Twips per display column at the tables' 10.5 pt (a Chinese character is two columns, 210 twips),
# and what a cell adds around its text (Word's default 0.19 cm margins each side, plus slack for
# LibreOffice's rounding): a column narrower than its text's unbreakable part wraps it (序/号).
TWIPS_PER_COLUMN = 105
CELL_PADDING = 260
# A short line (a header such as 序号 or 责任部门, a 5个工作日) is read as one word: broken, it
# reads as two. Longer text may wrap between characters.
SHORT_LINE = 10
_TOKEN = re.compile(r"[\x21-\x7e\u2010-\u2011\u2060]+")     # a code, number or date in Latin letters


def _lines(tc) -> list[str]:
    return ["".join(p.itertext(_W + "t")) for p in tc.iter(_W + "p")]


def _cell_weight(tc) -> int:
    return max((display_width(t) for t in _lines(tc)), default=0)


def _cell_minimum(tc) -> int:
    """Display columns the cell cannot do with less: a short line whole, else its longest code."""
    need = 0
    for text in _lines(tc):
        text = text.strip()
        if display_width(text) <= SHORT_LINE:
            need = max(need, display_width(text))
        else:
            need = max(need, max((len(t) for t in _TOKEN.findall(text)), default=0), 2)
    return need


def column_widths(total: int, minimums: list[int], weights: list[int]) -> list[int]:
    """Twips per column: first each column's unbreakable minimum, then the rest of the table's
    width shared by what each column's longest line would like beyond it (clamped, so one
    paragraph cannot take everything)."""
    need = [m * TWIPS_PER_COLUMN + CELL_PADDING for m in minimums]
    want = [max(min(max(w, 4), 40) * TWIPS_PER_COLUMN + CELL_PADDING, n) for w, n in zip(weights, need)]
    if sum(need) >= total:          # too many columns for the page: shrink everything alike
        widths = [total * n // sum(need) for n in need]
    else:
        spare = total - sum(need)
        extra = [w - n for w, n in zip(want, need)]
        if spare <= sum(extra):
            widths = [n + (spare * e // sum(extra) if sum(extra) else 0) for n, e in zip(need, extra)]
        else:                       # everyone gets what it wants; the rest by the same measure
            left = spare - sum(extra)
            widths = [w + left * w // sum(want) for w in want]
    widths[-1] += total - sum(widths)
    return widths


def fit_tables(root) -> bool:
    """Size the columns of autofit tables from their content; True if anything changed.

    Column loops leave a template's three grid columns ({%tc for%} · value ·
    {%tc endfor%}) for any number of rendered cells. LibreOffice lays a table out
    by its grid, so the grid and every cell width are rebuilt: each column gets a
    share of the template's table width (column_widths): never less than its unbreakable
    text (a header, a short value, a code), the rest by its widest line; the table then
    becomes fixed.
    """
    changed = False
    for tbl in root.iter(_W + "tbl"):
        tbl_pr = tbl.find(_W + "tblPr")
        layout = tbl_pr.find(_W + "tblLayout") if tbl_pr is not None else None
        if layout is not None and layout.get(_W + "type") == "fixed":
            continue
        grid = tbl.find(_W + "tblGrid")
        if grid is None:
            continue
        old_cols = grid.findall(_W + "gridCol")
        total = sum(int(float(c.get(_W + "w", "0") or 0)) for c in old_cols)
        rows = []
        ncols = 0
        for tr in tbl.findall(_W + "tr"):
            cells = []
            for tc in tr.findall(_W + "tc"):
                span_el = tc.find(f"{_W}tcPr/{_W}gridSpan")
                span = int(span_el.get(_W + "val", "1")) if span_el is not None else 1
                cells.append((tc, max(span, 1)))
            rows.append(cells)
            ncols = max(ncols, sum(span for _, span in cells))
        if ncols == 0 or total <= 0:
            continue
        weights = [0] * ncols
        minimums = [0] * ncols
        for cells in rows:
            col = 0
            for tc, span in cells:
                if span == 1:
                    weights[col] = max(weights[col], _cell_weight(tc))
                    minimums[col] = max(minimums[col], _cell_minimum(tc))
                col += span
        widths = column_widths(total, minimums, weights)
        for col in old_cols:
            grid.remove(col)
        for w in widths:
            etree.SubElement(grid, _W + "gridCol", {_W + "w": str(w)})
        for cells in rows:
            col = 0
            for tc, span in cells:
                _set_cell_width(tc, sum(widths[col:col + span]))
                col += span
        if tbl_pr is not None:
            if layout is None:
                layout = etree.Element(_W + "tblLayout")
                anchor = next((tbl_pr.find(_W + t) for t in ("tblCellMar", "tblLook", "tblCaption",
                                                              "tblDescription")
                               if tbl_pr.find(_W + t) is not None), None)
                if anchor is not None:
                    anchor.addprevious(layout)
                else:
                    tbl_pr.append(layout)
            layout.set(_W + "type", "fixed")
        changed = True
    return changed


def _set_cell_width(tc, width: int) -> None:
    tc_pr = tc.find(_W + "tcPr")
    if tc_pr is None:
        tc_pr = etree.Element(_W + "tcPr")
        tc.insert(0, tc_pr)
    tc_w = tc_pr.find(_W + "tcW")
    if tc_w is None:
        tc_w = etree.Element(_W + "tcW")
        cnf = tc_pr.find(_W + "cnfStyle")
        if cnf is not None:
            cnf.addnext(tc_w)
        else:
            tc_pr.insert(0, tc_w)
    tc_w.set(_W + "w", str(width))
    tc_w.set(_W + "type", "dxa")
