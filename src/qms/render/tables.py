"""Sizing the columns of rendered tables from their content (WordprocessingML)."""

from __future__ import annotations

from lxml import etree

from ..textfmt import width as display_width   # one rule for terminal tables and docx columns

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _cell_weight(tc) -> int:
    widest = 0
    for p in tc.iter(_W + "p"):
        widest = max(widest, display_width("".join(p.itertext(_W + "t"))))
    return widest


def fit_tables(root) -> bool:
    """Size the columns of autofit tables from their content; True if anything changed.

    Column loops leave a template's three grid columns ({%tc for%} · value ·
    {%tc endfor%}) for any number of rendered cells. LibreOffice lays a table out
    by its grid, so the grid and every cell width are rebuilt: each column gets a
    share of the template's table width by its widest line (clamped, so a long
    paragraph cannot squeeze a 序号 column to nothing); the table then becomes fixed.
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
        for cells in rows:
            col = 0
            for tc, span in cells:
                if span == 1:
                    weights[col] = max(weights[col], _cell_weight(tc))
                col += span
        shares = [min(max(w, 4), 40) + 2 for w in weights]
        widths = [total * s // sum(shares) for s in shares]
        widths[-1] += total - sum(widths)
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
